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

// ClaimOutbox claims up to limit due messages for lease: the latest pending
// message of each alert group and channel (older ones are superseded: the
// latest content replaces them). A claimed message is invisible to other
// replicas until its lease ends; on PostgreSQL rows are locked with SKIP
// LOCKED, on SQLite the write lock is held while claiming.
func (d *DB) ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]delivery.Item, error) {
	var out []delivery.Item
	err := d.tx(ctx, func(tx *sql.Tx) error {
		now := d.nowUTC()
		// Claims are short: serialise them across replicas, so two never
		// see the same group free at once.
		if err := d.d.lock(ctx, tx, lockOutbox); err != nil {
			return fmt.Errorf("claim outbox: %w", err)
		}
		// A group with a message in flight (leased) or backing off waits:
		// its first post must land before anything updates it.
		rows, err := tx.QueryContext(ctx, `SELECT o.id, o.group_key, o.channel, o.message, o.attempts, COALESCE(t.channel_id, ''), COALESCE(t.message_ts, '')
			FROM outbox o LEFT JOIN chat_threads t ON t.group_key = o.group_key AND t.channel = o.channel
			WHERE o.state = 'pending' AND o.next_attempt_at <= $1
			AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.group_key = o.group_key AND b.channel = o.channel AND b.state = 'pending' AND b.next_attempt_at > $1)
			ORDER BY o.id LIMIT $2`+d.d.skipLocked("o"), now, limit*4)
		if err != nil {
			return fmt.Errorf("claim outbox: %w", err)
		}
		latest := map[[2]string]int{}
		var superseded []int64
		undecodable := map[int64]string{}
		for rows.Next() {
			var m delivery.Item
			var msg string
			if err := rows.Scan(&m.ID, &m.Key, &m.Channel, &msg, &m.Attempts, &m.Ref.ChannelID, &m.Ref.MessageID); err != nil {
				rows.Close()
				return fmt.Errorf("claim outbox: %w", err)
			}
			if err := json.Unmarshal([]byte(msg), &m.Message); err != nil {
				undecodable[m.ID] = "stored message is not a chat message: " + err.Error()
				continue
			}
			k := [2]string{m.Key, m.Channel}
			if i, ok := latest[k]; ok {
				superseded = append(superseded, out[i].ID)
				out[i] = m
				continue
			}
			if len(out) < limit {
				latest[k] = len(out)
				out = append(out, m)
			}
		}
		rows.Close()
		for id, cause := range undecodable {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'failed', last_error = $1 WHERE id = $2`, cause, id); err != nil {
				return err
			}
		}
		for _, id := range superseded {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'superseded', sent_at = $1 WHERE id = $2`, now, id); err != nil {
				return err
			}
		}
		for _, m := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = $1, attempts = attempts + 1 WHERE id = $2`, now.Add(lease), m.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// MarkSent records a delivered message and, for a first post, the message
// that later changes of its group update.
func (d *DB) MarkSent(ctx context.Context, m delivery.Item, ref notify.Ref) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		now := d.nowUTC()
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'sent', sent_at = $1, last_error = '' WHERE id = $2`, now, m.ID); err != nil {
			return err
		}
		if m.Ref.IsZero() && !ref.IsZero() {
			_, err := tx.ExecContext(ctx, `INSERT INTO chat_threads (group_key, channel, channel_id, message_ts) VALUES ($1, $2, $3, $4)
				ON CONFLICT (group_key, channel) DO NOTHING`, m.Key, m.Channel, ref.ChannelID, ref.MessageID)
			return err
		}
		return nil
	})
}

// MarkRetry schedules another attempt at the given time; after maxAttempts
// the message is failed and kept for inspection.
func (d *DB) MarkRetry(ctx context.Context, m delivery.Item, at time.Time, cause string, maxAttempts int) error {
	state := "pending"
	if m.Attempts+1 >= maxAttempts {
		state = "failed"
	}
	_, err := d.db.ExecContext(ctx, `UPDATE outbox SET state = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4`, state, at.UTC(), cause, m.ID)
	return err
}

// MarkFailed fails a message for good, keeping the cause.
func (d *DB) MarkFailed(ctx context.Context, m delivery.Item, cause string) error {
	_, err := d.db.ExecContext(ctx, `UPDATE outbox SET state = 'failed', last_error = $1 WHERE id = $2`, cause, m.ID)
	return err
}

// queueMessage adds a message to the outbox in tx: the way every domain
// sends chat messages, in the transaction that records what they say.
func (d *DB) queueMessage(ctx context.Context, tx *sql.Tx, channel string, m *notify.Message, now time.Time) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("queue message: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (group_key, channel, message, state, next_attempt_at, created_at) VALUES ($1, $2, $3, 'pending', $4, $4)`,
		m.Key, channel, string(b), now); err != nil {
		return fmt.Errorf("queue message: %w", err)
	}
	return nil
}

// OutboxCounts returns how many messages are in each state.
func (d *DB) OutboxCounts(ctx context.Context) (map[string]int, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM outbox GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}
