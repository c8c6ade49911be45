package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/tsuna-sre/tsuna/internal/alerting"
)

// RecordNotification stores n in one transaction: the notification (once:
// a dedup key seen before stores nothing and returns false), the state of
// its alerts, and the chat message to deliver.
func (d *DB) RecordNotification(ctx context.Context, n alerting.Notification) (bool, error) {
	created, err := d.RecordNotifications(ctx, []alerting.Notification{n})
	if err != nil {
		return false, err
	}
	return created[0], nil
}

// RecordNotifications stores several notifications in one transaction, so
// one commit (one fsync) acknowledges them all; created[i] tells whether
// ns[i] was new.
func (d *DB) RecordNotifications(ctx context.Context, ns []alerting.Notification) ([]bool, error) {
	created := make([]bool, len(ns))
	err := d.tx(ctx, func(tx *sql.Tx) error {
		for i, n := range ns {
			c, err := d.recordNotification(ctx, tx, n)
			if err != nil {
				return err
			}
			created[i] = c
		}
		return nil
	})
	return created, err
}

func (d *DB) recordNotification(ctx context.Context, tx *sql.Tx, n alerting.Notification) (bool, error) {
	created := false
	err := func() error {
		now := d.nowUTC()
		raw, err := json.Marshal(n.Payload)
		if err != nil {
			return err
		}
		p, r := n.Payload, n.Route
		res, err := tx.ExecContext(ctx, `INSERT INTO alert_notifications (dedup_key, group_key, status, receiver, service, team, channel, routed, payload, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (dedup_key) DO NOTHING`,
			p.DedupKey(), p.GroupKey, p.Status, p.Receiver, r.Service, r.Team, r.Channel, r.Routed, string(raw), now)
		if err != nil {
			return fmt.Errorf("record notification: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // a replay, or the other Alertmanager of an HA pair
		}
		created = true
		for _, a := range p.Alerts {
			labels, _ := json.Marshal(a.Labels)
			ann, _ := json.Marshal(a.Annotations)
			var ends any
			if !a.EndsAt.IsZero() && a.EndsAt.Year() > 1 {
				ends = a.EndsAt.UTC()
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO alerts (fingerprint, starts_at, ends_at, status, labels, annotations, generator_url, group_key, service, team, channel, routed, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
				ON CONFLICT (fingerprint, starts_at) DO UPDATE SET ends_at = excluded.ends_at, status = excluded.status, labels = excluded.labels,
				annotations = excluded.annotations, generator_url = excluded.generator_url, group_key = excluded.group_key, service = excluded.service,
				team = excluded.team, channel = excluded.channel, routed = excluded.routed, updated_at = excluded.updated_at`,
				a.Fingerprint, a.StartsAt.UTC(), ends, a.Status, string(labels), string(ann), a.GeneratorURL, p.GroupKey, r.Service, r.Team, r.Channel, r.Routed, now); err != nil {
				return fmt.Errorf("record alert: %w", err)
			}
		}
		if n.Message != nil && r.Channel != "" {
			if err := d.queueMessage(ctx, tx, r.Channel, n.Message, now); err != nil {
				return err
			}
		}
		return nil
	}()
	return created, err
}

// Alerts returns the alerts matching f, most recently changed first.
func (d *DB) Alerts(ctx context.Context, f alerting.Filter) ([]alerting.StoredAlert, error) {
	w := alertWhere(f)
	q := `SELECT ` + alertColumns + ` FROM alerts` + w.clause()
	limit := f.Limit
	if limit <= 0 {
		limit = 500
	}
	rows, err := d.db.QueryContext(ctx, q+fmt.Sprintf(" ORDER BY updated_at DESC, fingerprint, starts_at LIMIT %d OFFSET %d", limit, max(0, f.Offset)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []alerting.StoredAlert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const alertColumns = `fingerprint, status, starts_at, ends_at, labels, annotations, generator_url, group_key, service, team, channel, routed, updated_at`

// scanAlert reads a row of alertColumns.
func scanAlert(s interface{ Scan(...any) error }) (alerting.StoredAlert, error) {
	var a alerting.StoredAlert
	var ends sql.NullTime
	var labels, ann string
	if err := s.Scan(&a.Fingerprint, &a.Status, &a.StartsAt, &ends, &labels, &ann, &a.GeneratorURL, &a.GroupKey, &a.Service, &a.Team, &a.Channel, &a.Routed, &a.UpdatedAt); err != nil {
		return a, err
	}
	if ends.Valid {
		t := ends.Time.UTC()
		a.EndsAt = &t
	}
	a.StartsAt, a.UpdatedAt = a.StartsAt.UTC(), a.UpdatedAt.UTC()
	json.Unmarshal([]byte(labels), &a.Labels)
	json.Unmarshal([]byte(ann), &a.Annotations)
	return a, nil
}

// CountAlerts returns how many alerts match f, ignoring its paging.
func (d *DB) CountAlerts(ctx context.Context, f alerting.Filter) (int, error) {
	w := alertWhere(f)
	var n int
	if err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM alerts`+w.clause(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count alerts: %w", err)
	}
	return n, nil
}

func alertWhere(f alerting.Filter) filter {
	var w filter
	if f.State != "" {
		w.add("status = $%d", f.State)
	}
	if f.Team != "" {
		w.add("team = $%d", f.Team)
	}
	if f.Service != "" {
		w.add("service = $%d", f.Service)
	}
	if f.Unrouted {
		w.add("routed = $%d", false)
	}
	return w
}

// NotificationCount returns how many distinct notifications were stored.
func (d *DB) NotificationCount(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM alert_notifications`).Scan(&n)
	return n, err
}
