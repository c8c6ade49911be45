package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
)

// KindIncident is the audit kind of incident changes.
const KindIncident = "Incident"

var _ incident.Store = (*DB)(nil)

// CreateIncident assigns the next incident number and stores what build
// returns, in one transaction. Writers of incidents hold the audit lock
// (every change is audited), so two declarations never take one number;
// on SQLite the immediate transaction holds the write lock. A key seen
// before returns the incident declared with it.
func (d *DB) CreateIncident(ctx context.Context, key string, actor audit.Actor, build func(number int64, now time.Time) (*incident.Incident, *incident.Mutation, error)) (*incident.Incident, bool, error) {
	var out *incident.Incident
	created := false
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		if key != "" {
			inc, err := d.loadIncident(ctx, tx, `declaration_key = $1`, key)
			if err == nil {
				out = inc
				return nil
			} else if tsuna.ErrorCode(err) != tsuna.ENOTFOUND {
				return err
			}
		}
		var number int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM incidents`).Scan(&number); err != nil {
			return fmt.Errorf("declare incident: %w", err)
		}
		now := d.nowUTC()
		inc, m, err := build(number, now)
		if err != nil {
			return err
		}
		inc.Key = key
		spec, err := json.Marshal(inc)
		if err != nil {
			return fmt.Errorf("declare incident: %w", err)
		}
		var dkey any
		if key != "" {
			dkey = key
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incidents (number, status, severity, team, drill, reported_at, declaration_key, spec, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			number, inc.Status, inc.Severity, inc.Team, inc.Drill, *inc.Timestamps.Reported, dkey, string(spec), now); err != nil {
			return fmt.Errorf("declare incident: %w", err)
		}
		if err := d.setIncidentServices(ctx, tx, number, inc.Services); err != nil {
			return err
		}
		if _, err := d.applyMutation(ctx, tx, inc, nil, spec, m, actor, now); err != nil {
			return err
		}
		out, created = inc, true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// MutateIncident changes incident number with fn under the audit lock,
// and stores the incident, timeline entries, audit record, chat messages
// and jobs of the mutation in one transaction.
func (d *DB) MutateIncident(ctx context.Context, number int64, actor audit.Actor, fn func(*incident.Incident, time.Time) (*incident.Mutation, error)) (*incident.Incident, error) {
	var out *incident.Incident
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		inc, err := d.loadIncident(ctx, tx, `number = $1`, number)
		if err != nil {
			return err
		}
		before, _ := json.Marshal(inc)
		now := d.nowUTC()
		orig := inc.Clone()
		m, err := fn(inc, now)
		if err != nil {
			return err
		}
		if m == nil {
			out = orig
			return nil
		}
		after, err := json.Marshal(inc)
		if err != nil {
			return fmt.Errorf("update incident: %w", err)
		}
		done, err := d.applyMutation(ctx, tx, inc, before, after, m, actor, now)
		if err != nil {
			return err
		}
		if !done {
			out = orig
			return nil
		}
		if !slices.Equal(orig.Services, inc.Services) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM incident_services WHERE number = $1`, number); err != nil {
				return fmt.Errorf("update incident: %w", err)
			}
			if err := d.setIncidentServices(ctx, tx, number, inc.Services); err != nil {
				return err
			}
		}
		if string(before) != string(after) {
			var channel any
			if inc.Channel != nil && inc.Channel.ID != "" {
				channel = inc.Channel.ID
			}
			if _, err := tx.ExecContext(ctx, `UPDATE incidents SET status = $1, severity = $2, team = $3, drill = $4, spec = $5, updated_at = $6, channel_id = $7 WHERE number = $8`,
				inc.Status, inc.Severity, inc.Team, inc.Drill, string(after), now, channel, number); err != nil {
				return fmt.Errorf("update incident: %w", err)
			}
		}
		out = inc
		return nil
	})
	return out, err
}

func (d *DB) setIncidentServices(ctx context.Context, tx *sql.Tx, number int64, services []string) error {
	rows := make([][]any, len(services))
	for i, s := range services {
		rows[i] = []any{s, number}
	}
	if err := d.insertRows(ctx, tx, `INSERT INTO incident_services (service, number)`, `ON CONFLICT DO NOTHING`, 2, rows); err != nil {
		return fmt.Errorf("incident services: %w", err)
	}
	return nil
}

// applyMutation stores m's timeline entries, messages, jobs and audit
// record. It reports false, having written nothing, when m was done
// before (Once) or removes nothing that exists.
func (d *DB) applyMutation(ctx context.Context, tx *sql.Tx, inc *incident.Incident, before, after json.RawMessage, m *incident.Mutation, actor audit.Actor, now time.Time) (bool, error) {
	if m.Once && len(m.Entries) > 0 && m.Entries[0].ExternalID != "" {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM incident_timeline WHERE number = $1 AND external_id = $2`,
			inc.Number, m.Entries[0].ExternalID).Scan(&n); err != nil {
			return false, fmt.Errorf("timeline: %w", err)
		}
		if n > 0 {
			return false, nil
		}
	}
	var removed []incident.Entry
	for _, ext := range m.RemoveExternal {
		e, err := scanEntry(tx.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM incident_timeline WHERE number = $1 AND external_id = $2`, inc.Number, ext))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return false, fmt.Errorf("timeline: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM incident_timeline WHERE id = $1`, e.ID); err != nil {
			return false, fmt.Errorf("timeline: %w", err)
		}
		removed = append(removed, e)
	}
	if len(m.RemoveExternal) > 0 && len(removed) == 0 && len(m.Entries) == 0 {
		return false, nil
	}
	rows := make([][]any, 0, len(m.Entries))
	for i := range m.Entries {
		e := &m.Entries[i]
		e.Incident = inc.Number
		e.Time = e.Time.UTC().Truncate(time.Microsecond)
		var ext any
		if e.ExternalID != "" {
			ext = e.ExternalID
		}
		rows = append(rows, []any{inc.Number, e.Time, e.Kind, e.Actor, e.Source, e.Text, ext})
	}
	if err := d.insertRows(ctx, tx, `INSERT INTO incident_timeline (number, time, kind, actor, source, text, external_id)`,
		`ON CONFLICT (number, external_id) DO NOTHING`, 7, rows); err != nil {
		return false, fmt.Errorf("timeline: %w", err)
	}
	for i := range m.Messages {
		if err := d.queueMessage(ctx, tx, m.Messages[i].Channel, &m.Messages[i].Message, now); err != nil {
			return false, err
		}
	}
	for _, c := range m.Cancel {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'cancelled', lease_owner = '', finished_at = $1
			WHERE kind = $2 AND key = $3 AND state IN ('pending', 'running')`, now, c.Kind, c.Key); err != nil {
			return false, fmt.Errorf("cancel job: %w", err)
		}
	}
	for _, j := range m.Jobs {
		if _, err := enqueueJob(ctx, tx, j, now); err != nil {
			return false, err
		}
	}
	if m.Action == "" {
		return true, nil
	}
	rec := actor.Record(now, m.Action, KindIncident, inc.Ref, nil, nil)
	switch {
	case len(m.Entries) > 0 && string(before) == string(after):
		rec.After, _ = json.Marshal(map[string]any{"entries": m.Entries}) // a note, a pin, a reminder
	case len(removed) > 0 && string(before) == string(after):
		rec.Before, _ = json.Marshal(map[string]any{"entries": removed})
	default:
		rec.Before, rec.After = before, after
	}
	return true, d.appendAudit(ctx, tx, []*audit.Record{rec})
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (d *DB) loadIncident(ctx context.Context, q queryer, where string, arg any) (*incident.Incident, error) {
	var spec string
	var key sql.NullString
	err := q.QueryRowContext(ctx, `SELECT spec, declaration_key FROM incidents WHERE `+where, arg).Scan(&spec, &key)
	if errors.Is(err, sql.ErrNoRows) {
		if n, ok := arg.(int64); ok {
			return nil, tsuna.Errorf(tsuna.ENOTFOUND, "incident %s not found", incident.RefOf(n))
		}
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "incident not found")
	} else if err != nil {
		return nil, fmt.Errorf("read incident: %w", err)
	}
	var inc incident.Incident
	if err := json.Unmarshal([]byte(spec), &inc); err != nil {
		return nil, fmt.Errorf("decode stored incident: %w", err)
	}
	inc.Key = key.String
	return &inc, nil
}

// Incident returns incident number.
func (d *DB) Incident(ctx context.Context, number int64) (*incident.Incident, error) {
	return d.loadIncident(ctx, d.db, `number = $1`, number)
}

// Incidents returns the incidents matching f, highest number first.
func (d *DB) Incidents(ctx context.Context, f incident.Filter) ([]*incident.Incident, error) {
	var w filter
	if len(f.Status) > 0 {
		marks := make([]string, len(f.Status))
		for i, s := range f.Status {
			w.args = append(w.args, s)
			marks[i] = fmt.Sprintf("$%d", len(w.args))
		}
		w.where = append(w.where, "i.status IN ("+strings.Join(marks, ", ")+")")
	}
	if f.Severity != "" {
		w.add("i.severity = $%d", f.Severity)
	}
	if f.Team != "" {
		w.add("i.team = $%d", f.Team)
	}
	if f.Service != "" {
		w.add("i.number IN (SELECT number FROM incident_services WHERE service = $%d)", f.Service)
	}
	w.during("i.reported_at", f.Since, f.Until)
	if f.Before > 0 {
		w.add("i.number < $%d", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, incident.MaxMetricsIncidents)
	rows, err := d.db.QueryContext(ctx, `SELECT i.spec FROM incidents i`+w.clause()+fmt.Sprintf(" ORDER BY i.number DESC LIMIT %d", limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	if f.MetricsOnly {
		return scanMetricIncidents(rows)
	}
	out, err := scanSpecs[incident.Incident](rows)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return out, nil
}

const entryColumns = `id, number, time, kind, actor, source, text, COALESCE(external_id, '')`

func scanEntry(s interface{ Scan(...any) error }) (incident.Entry, error) {
	var e incident.Entry
	err := s.Scan(&e.ID, &e.Incident, &e.Time, &e.Kind, &e.Actor, &e.Source, &e.Text, &e.ExternalID)
	e.Time = e.Time.UTC()
	return e, err
}

// Timeline returns incident number's timeline, oldest first.
func (d *DB) Timeline(ctx context.Context, number int64, f incident.TimelineFilter) ([]incident.Entry, error) {
	limit := f.Limit
	if limit <= 0 || limit > incident.MaxTimeline {
		limit = incident.MaxTimeline
	}
	var since time.Time
	if !f.Since.IsZero() {
		since = f.Since.UTC()
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+entryColumns+` FROM incident_timeline WHERE number = $1 AND time >= $2 ORDER BY time, id LIMIT $3`,
		number, since, limit)
	if err != nil {
		return nil, fmt.Errorf("read timeline: %w", err)
	}
	defer rows.Close()
	out := []incident.Entry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("read timeline: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AlertByFingerprint returns the latest stored alert of fingerprint.
func (d *DB) AlertByFingerprint(ctx context.Context, fingerprint string) (*alerting.StoredAlert, error) {
	a, err := scanAlert(d.db.QueryRowContext(ctx, `SELECT `+alertColumns+`
		FROM alerts WHERE fingerprint = $1 ORDER BY starts_at DESC LIMIT 1`, fingerprint))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "no alert with fingerprint %q; tsuna alerts list shows the stored ones", fingerprint)
	} else if err != nil {
		return nil, fmt.Errorf("read alert: %w", err)
	}
	return &a, nil
}

// SeenChatRequest records a request from chat by key and reports whether
// it was seen before: Slack retries events and interactions.
func (d *DB) SeenChatRequest(ctx context.Context, key string) (bool, error) {
	res, err := d.db.ExecContext(ctx, `INSERT INTO chat_requests (key, received_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, d.nowUTC())
	if err != nil {
		return false, fmt.Errorf("record chat request: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record chat request: %w", err)
	}
	return n == 0, nil
}

// IncidentByChannel returns the incident whose own chat channel is
// channelID.
func (d *DB) IncidentByChannel(ctx context.Context, channelID string) (*incident.Incident, error) {
	inc, err := d.loadIncident(ctx, d.db, `channel_id = $1`, channelID)
	if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "no incident has channel %s", channelID)
	}
	return inc, err
}

// SeverityLevels returns the severity levels the applied catalog declares,
// by name; none when it declares none.
func (d *DB) SeverityLevels(ctx context.Context) ([]catalog.SeverityLevel, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT spec FROM severity_levels ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read severity levels: %w", err)
	}
	out, err := scanSpecs[catalog.SeverityLevel](rows)
	if err != nil {
		return nil, fmt.Errorf("read severity levels: %w", err)
	}
	levels := make([]catalog.SeverityLevel, len(out))
	for i, l := range out {
		levels[i] = *l
	}
	return levels, nil
}

// HasChatRequest reports whether key was recorded by SeenChatRequest or
// MarkChatRequest.
func (d *DB) HasChatRequest(ctx context.Context, key string) (bool, error) {
	var n int
	if err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM chat_requests WHERE key = $1`, key).Scan(&n); err != nil {
		return false, fmt.Errorf("read chat request: %w", err)
	}
	return n > 0, nil
}

// MarkChatRequest records key, once: a step of chat work done.
func (d *DB) MarkChatRequest(ctx context.Context, key string) error {
	_, err := d.SeenChatRequest(ctx, key)
	return err
}

// metricIncident is what metrics read of an incident's spec: decoding only
// these fields is several times cheaper than the whole incident.
type metricIncident struct {
	Number     int64               `json:"number"`
	Severity   string              `json:"severity"`
	Status     string              `json:"status"`
	Services   []string            `json:"services"`
	Team       string              `json:"team"`
	Drill      bool                `json:"drill"`
	Timestamps incident.Timestamps `json:"timestamps"`
}

func scanMetricIncidents(rows *sql.Rows) ([]*incident.Incident, error) {
	defer rows.Close()
	var out []*incident.Incident
	var spec []byte
	for rows.Next() {
		if err := rows.Scan(&spec); err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		var m metricIncident
		if err := json.Unmarshal(spec, &m); err != nil {
			return nil, fmt.Errorf("decode stored incident: %w", err)
		}
		out = append(out, &incident.Incident{Number: m.Number, Severity: m.Severity, Status: m.Status, Services: m.Services,
			Team: m.Team, Drill: m.Drill, Timestamps: m.Timestamps})
	}
	return out, rows.Err()
}
