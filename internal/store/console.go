package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/delivery"
)

// KindEvents is the audit kind of events recorded by a person, named
// service/slo.
const KindEvents = "SLOEvents"

// LatestDeliveries returns, for each thread key given, the newest outbox
// message of each of its channels and its delivery state, newest first.
// At most 500 keys are read.
func (d *DB) LatestDeliveries(ctx context.Context, keys []string) ([]delivery.Record, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	keys = keys[:min(len(keys), 500)]
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := d.db.QueryContext(ctx, `SELECT o.group_key, o.channel, o.message, o.state, o.attempts, o.last_error, o.created_at, o.sent_at,
		COALESCE(t.channel_id, ''), COALESCE(t.message_ts, '')
		FROM outbox o LEFT JOIN chat_threads t ON t.group_key = o.group_key AND t.channel = o.channel
		WHERE o.id IN (SELECT MAX(id) FROM outbox WHERE group_key IN `+d.placeholders(1, len(keys))+` GROUP BY group_key, channel)
		ORDER BY o.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("read deliveries: %w", err)
	}
	defer rows.Close()
	var out []delivery.Record
	for rows.Next() {
		var r delivery.Record
		var msg string
		var sent sql.NullTime
		if err := rows.Scan(&r.Key, &r.Channel, &msg, &r.State, &r.Attempts, &r.LastError, &r.CreatedAt, &sent, &r.Ref.ChannelID, &r.Ref.MessageID); err != nil {
			return nil, fmt.Errorf("read deliveries: %w", err)
		}
		r.CreatedAt = r.CreatedAt.UTC()
		if sent.Valid {
			t := sent.Time.UTC()
			r.SentAt = &t
		}
		if err := json.Unmarshal([]byte(msg), &r.Message); err != nil {
			r.Message.Title = "(stored message unreadable: " + err.Error() + ")"
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddEventsAudited is AddEvents with an audit record of who recorded the
// events, in the same transaction: for events a person enters by hand.
func (d *DB) AddEventsAudited(ctx context.Context, service, slo string, events []budget.Event, actor audit.Actor) (int, error) {
	added := 0
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		var err error
		if added, err = d.addEvents(ctx, tx, service, slo, events); err != nil || added == 0 {
			return err
		}
		after, _ := json.Marshal(events)
		return d.appendAudit(ctx, tx, []*audit.Record{actor.Record(d.nowUTC(), "record", KindEvents, service+"/"+slo, nil, after)})
	})
	return added, err
}
