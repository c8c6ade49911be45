package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/budget"
)

// AddEvents stores events for an SLO in one transaction, each once: an event
// whose key was seen with the same counts is skipped, with other counts it
// is a conflict and nothing is stored. It returns how many were new.
func (d *DB) AddEvents(ctx context.Context, service, slo string, events []budget.Event) (int, error) {
	added := 0
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var err error
		added, err = d.addEvents(ctx, tx, service, slo, events)
		return err
	})
	return added, err
}

// addEvents is AddEvents in tx.
func (d *DB) addEvents(ctx context.Context, tx *sql.Tx, service, slo string, events []budget.Event) (int, error) {
	added := 0
	err := func() error {
		now := d.nowUTC()
		for i, e := range events {
			minute := e.Timestamp.UTC().Truncate(time.Minute)
			var good, total int64
			err := tx.QueryRowContext(ctx, `SELECT good, total FROM slo_event_keys WHERE service = $1 AND slo = $2 AND key = $3`,
				service, slo, e.Key).Scan(&good, &total)
			switch {
			case err == nil && good == e.Good && total == e.Total:
				continue // a retry: already counted
			case err == nil:
				return tsuna.Errorf(tsuna.ECONFLICT, "events[%d].key: %q was already used with good=%d total=%d; a key names one count, use a new key", i, e.Key, good, total)
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("add events: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO slo_event_keys (service, slo, key, minute, good, total, received_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, service, slo, e.Key, minute, e.Good, e.Total, now); err != nil {
				return fmt.Errorf("add events: %w", err)
			}
			var sum int64
			err = tx.QueryRowContext(ctx, `SELECT total FROM slo_events WHERE service = $1 AND slo = $2 AND minute = $3`, service, slo, minute).Scan(&sum)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("add events: %w", err)
			}
			if sum+e.Total > budget.MaxMinuteCount {
				return tsuna.Errorf(tsuna.EINVALID, "events[%d].total: the minute %s would count %d+%d events, over the limit of %d; nothing was stored",
					i, minute.Format(time.RFC3339), sum, e.Total, int64(budget.MaxMinuteCount))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO slo_events (service, slo, minute, good, total) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (service, slo, minute) DO UPDATE SET good = slo_events.good + excluded.good, total = slo_events.total + excluded.total`,
				service, slo, minute, e.Good, e.Total); err != nil {
				return fmt.Errorf("add events: %w", err)
			}
			added++
		}
		return nil
	}()
	return added, err
}

// EventSums returns, for each start time, the good and total events from
// that time on: one query for every window of an SLO.
func (d *DB) EventSums(ctx context.Context, service, slo string, since []time.Time) (good, total []int64, err error) {
	if len(since) == 0 {
		return nil, nil, nil
	}
	var cols []string
	args := []any{service, slo}
	oldest := since[0]
	for _, t := range since {
		args = append(args, t.UTC())
		n := len(args)
		cols = append(cols, fmt.Sprintf("CAST(COALESCE(SUM(CASE WHEN minute >= $%d THEN good END), 0) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN minute >= $%d THEN total END), 0) AS BIGINT)", n, n))
		if t.Before(oldest) {
			oldest = t
		}
	}
	args = append(args, oldest.UTC())
	q := `SELECT ` + strings.Join(cols, ", ") + fmt.Sprintf(` FROM slo_events WHERE service = $1 AND slo = $2 AND minute >= $%d`, len(args))
	dest := make([]any, 2*len(since))
	good, total = make([]int64, len(since)), make([]int64, len(since))
	for i := range since {
		dest[2*i], dest[2*i+1] = &good[i], &total[i]
	}
	if err := d.db.QueryRowContext(ctx, q, args...).Scan(dest...); err != nil {
		return nil, nil, fmt.Errorf("sum events: %w", err)
	}
	return good, total, nil
}
