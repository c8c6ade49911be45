package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tsuna-sre/tsuna/internal/delivery"
	"github.com/tsuna-sre/tsuna/internal/notify"
)

// OutboxStats summarises the outbox for /metrics and `tsuna outbox stats`:
// messages by state, the retrying ones, the age of the oldest pending one,
// attempts, and failed messages by reason. A few indexed aggregate queries,
// in one read transaction so the figures agree.
func (d *DB) OutboxStats(ctx context.Context, now time.Time) (*delivery.Stats, error) {
	st := &delivery.Stats{States: map[string]int64{}, FailedByReason: map[string]int64{}}
	for _, s := range delivery.States {
		st.States[s] = 0
	}
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: d.d.postgres()})
	if err != nil {
		return nil, fmt.Errorf("outbox stats: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT state, COUNT(*), COALESCE(SUM(attempts), 0), COALESCE(MAX(attempts), 0),
		SUM(CASE WHEN last_error <> '' THEN 1 ELSE 0 END) FROM outbox GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("outbox stats: %w", err)
	}
	for rows.Next() {
		var state string
		var n, attempts, maxAttempts, withError int64
		if err := rows.Scan(&state, &n, &attempts, &maxAttempts, &withError); err != nil {
			rows.Close()
			return nil, fmt.Errorf("outbox stats: %w", err)
		}
		st.States[state] = n
		st.Attempts += attempts
		if state == "pending" {
			st.MaxPendingAttempts, st.Retrying = maxAttempts, withError
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox stats: %w", err)
	}
	// The column itself, not MIN(): SQLite keeps its timestamp type then.
	var oldest time.Time
	err = tx.QueryRowContext(ctx, `SELECT created_at FROM outbox WHERE state = 'pending' ORDER BY created_at LIMIT 1`).Scan(&oldest)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return nil, fmt.Errorf("outbox stats: %w", err)
	default:
		oldest = oldest.UTC()
		st.OldestPending = &oldest
		st.OldestPendingAgeSeconds = max(0, now.Sub(oldest).Seconds())
	}
	// Causes are free text: group them in SQL, then fold them into bounded
	// reasons.
	rows, err = tx.QueryContext(ctx, `SELECT last_error, COUNT(*) FROM outbox WHERE state = 'failed' GROUP BY last_error`)
	if err != nil {
		return nil, fmt.Errorf("outbox stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cause string
		var n int64
		if err := rows.Scan(&cause, &n); err != nil {
			return nil, fmt.Errorf("outbox stats: %w", err)
		}
		st.FailedByReason[delivery.FailReason(cause)] += n
	}
	return st, rows.Err()
}

// OutboxMessages lists outbox messages matching f, newest first.
func (d *DB) OutboxMessages(ctx context.Context, f delivery.Filter) ([]delivery.Entry, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	q := `SELECT id, group_key, channel, message, state, attempts, next_attempt_at, last_error, created_at, sent_at FROM outbox`
	var args []any
	if f.State != "" {
		q += ` WHERE state = $1`
		args = append(args, f.State)
	}
	rows, err := d.db.QueryContext(ctx, q+fmt.Sprintf(" ORDER BY id DESC LIMIT %d", f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	defer rows.Close()
	out := []delivery.Entry{}
	for rows.Next() {
		var r delivery.Entry
		var msg string
		var sent sql.NullTime
		if err := rows.Scan(&r.ID, &r.Key, &r.Channel, &msg, &r.State, &r.Attempts, &r.NextAttemptAt, &r.LastError, &r.CreatedAt, &sent); err != nil {
			return nil, fmt.Errorf("list outbox: %w", err)
		}
		var m notify.Message
		if json.Unmarshal([]byte(msg), &m) == nil {
			r.Title = m.Title
		}
		r.NextAttemptAt, r.CreatedAt = r.NextAttemptAt.UTC(), r.CreatedAt.UTC()
		if sent.Valid {
			t := sent.Time.UTC()
			r.SentAt = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
