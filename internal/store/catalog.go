package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
)

// Teams returns every team, sorted by name.
func (d *DB) Teams(ctx context.Context) ([]*catalog.Team, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT spec FROM teams ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	return scanSpecs[catalog.Team](rows)
}

// Team returns the team named name.
func (d *DB) Team(ctx context.Context, name string) (*catalog.Team, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT spec FROM teams WHERE name = $1`, name)
	if err != nil {
		return nil, fmt.Errorf("get team: %w", err)
	}
	list, err := scanSpecs[catalog.Team](rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "team %q not found", name)
	}
	return list[0], nil
}

// Services returns the services that match f, sorted by name.
func (d *DB) Services(ctx context.Context, f catalog.ServiceFilter) ([]*catalog.Service, error) {
	w := serviceWhere(f)
	if f.After != "" {
		w.add("name > $%d", f.After)
	}
	q := `SELECT spec FROM services` + w.clause() + " ORDER BY name"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := d.db.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return scanSpecs[catalog.Service](rows)
}

// CountServices returns how many services match f, ignoring its paging.
func (d *DB) CountServices(ctx context.Context, f catalog.ServiceFilter) (int, error) {
	w := serviceWhere(f)
	var n int
	if err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM services`+w.clause(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count services: %w", err)
	}
	return n, nil
}

func serviceWhere(f catalog.ServiceFilter) filter {
	var w filter
	if f.Team != "" {
		w.add("team = $%d", f.Team)
	}
	if f.Tier != 0 {
		w.add("tier = $%d", f.Tier)
	}
	if f.Lifecycle != "" {
		w.add("lifecycle = $%d", f.Lifecycle)
	}
	return w
}

// Service returns the service named name.
func (d *DB) Service(ctx context.Context, name string) (*catalog.Service, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT spec FROM services WHERE name = $1`, name)
	if err != nil {
		return nil, fmt.Errorf("get service: %w", err)
	}
	list, err := scanSpecs[catalog.Service](rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "service %q not found", name)
	}
	return list[0], nil
}

func scanSpecs[T any](rows *sql.Rows) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var spec string
		if err := rows.Scan(&spec); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		v := new(T)
		if err := json.Unmarshal([]byte(spec), v); err != nil {
			return nil, fmt.Errorf("decode stored object: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ApplyCatalog makes the stored catalog equal to desired, in one
// transaction with one audit record per changed object, and returns the
// changes. Applying an unchanged catalog writes nothing.
func (d *DB) ApplyCatalog(ctx context.Context, desired []catalog.Object, opts catalog.ApplyOptions) ([]catalog.Change, error) {
	var changes []catalog.Change
	errDryRun := errors.New("dry run")
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		current, err := currentObjects(ctx, tx)
		if err != nil {
			return err
		}
		var rev int64
		if err := tx.QueryRowContext(ctx, `SELECT revision FROM catalog_revision WHERE id = 1`).Scan(&rev); err != nil {
			return fmt.Errorf("catalog revision: %w", err)
		}
		if opts.Revision != nil {
			*opts.Revision = rev
		}
		if b := opts.BaseRevision; b != nil && *b != rev {
			return d.staleRevision(ctx, tx, *b, rev)
		}
		changes = catalog.Diff(current, desired, opts.Prune)
		if opts.Authorize != nil {
			if err := opts.Authorize(changes); err != nil {
				return err
			}
		}
		if opts.DryRun {
			return errDryRun
		}
		if len(changes) == 0 {
			return nil
		}
		if err := d.writeChanges(ctx, tx, changes); err != nil {
			return err
		}
		now := d.nowUTC()
		recs := make([]*audit.Record, len(changes))
		for i, c := range changes {
			recs[i] = opts.Actor.Record(now, c.Action, c.Kind, c.Name, specOf(c.Before), specOf(c.After))
		}
		if err := d.appendAudit(ctx, tx, recs); err != nil {
			return err
		}
		rev = recs[len(recs)-1].Seq
		if opts.Revision != nil {
			*opts.Revision = rev
		}
		_, err = tx.ExecContext(ctx, `UPDATE catalog_revision SET revision = $1 WHERE id = 1`, rev)
		return err
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, err
	}
	return changes, nil
}

// staleRevision is the conflict of an apply based on revision base when the
// catalog is at rev: it names the changes made since, from the audit log.
func (d *DB) staleRevision(ctx context.Context, tx *sql.Tx, base, rev int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT seq, actor, action, kind, name FROM audit_log WHERE seq > $1 AND seq <= $2
		AND kind IN (SELECT DISTINCT kind FROM audit_log WHERE seq = $2 UNION SELECT 'Team' UNION SELECT 'Service') ORDER BY seq LIMIT 11`, base, rev)
	if err != nil {
		return fmt.Errorf("catalog revision: %w", err)
	}
	defer rows.Close()
	var changed []string
	for rows.Next() {
		var seq int64
		var actor, action, kind, name string
		if err := rows.Scan(&seq, &actor, &action, &kind, &name); err != nil {
			return err
		}
		changed = append(changed, fmt.Sprintf("%s %s/%s by %s", action, kind, name, actor))
	}
	more := ""
	if len(changed) > 10 {
		changed, more = changed[:10], " and more"
	}
	return &tsuna.Error{Code: tsuna.ECONFLICT, Details: changed, Message: fmt.Sprintf(
		"the catalog changed since revision %d (now %d): %s%s; nothing was applied: pull the latest catalog, check it, and apply again",
		base, rev, strings.Join(changed, ", "), more)}
}

func specOf(o *catalog.Object) json.RawMessage {
	if o == nil {
		return nil
	}
	return o.Spec
}

func currentObjects(ctx context.Context, tx *sql.Tx) ([]catalog.Object, error) {
	rows, err := tx.QueryContext(ctx, `SELECT 'Team', name, name, spec FROM teams
		UNION ALL SELECT 'Service', name, team, spec FROM services
		UNION ALL SELECT 'SeverityLevel', name, '', spec FROM severity_levels`)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	defer rows.Close()
	var out []catalog.Object
	for rows.Next() {
		var o catalog.Object
		var spec string
		if err := rows.Scan(&o.Kind, &o.Name, &o.Team, &spec); err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
		o.Spec = json.RawMessage(spec)
		out = append(out, o)
	}
	return out, rows.Err()
}

// writeChanges applies changes in their order: team upserts, service
// upserts and deletes, team deletes, so foreign keys hold throughout.
func (d *DB) writeChanges(ctx context.Context, tx *sql.Tx, changes []catalog.Change) error {
	now := d.nowUTC()
	var teamUpserts, serviceUpserts, levelUpserts [][]any
	var serviceDeletes, teamDeletes, levelDeletes []string
	for _, c := range changes {
		switch {
		case c.Kind == catalog.KindSeverityLevel && c.After != nil:
			levelUpserts = append(levelUpserts, []any{c.Name, string(c.After.Spec), now})
		case c.Kind == catalog.KindSeverityLevel:
			levelDeletes = append(levelDeletes, c.Name)
		case c.Kind == catalog.KindTeam && c.After != nil:
			teamUpserts = append(teamUpserts, []any{c.Name, string(c.After.Spec), now})
		case c.Kind == catalog.KindTeam:
			teamDeletes = append(teamDeletes, c.Name)
		case c.After != nil:
			var s catalog.Service
			if err := json.Unmarshal(c.After.Spec, &s); err != nil {
				return fmt.Errorf("apply service %q: %w", c.Name, err)
			}
			serviceUpserts = append(serviceUpserts, []any{c.Name, s.Team, s.Tier, s.Lifecycle, string(c.After.Spec), now})
		default:
			serviceDeletes = append(serviceDeletes, c.Name)
		}
	}
	if err := d.insertRows(ctx, tx, `INSERT INTO teams (name, spec, updated_at)`,
		`ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`, 3, teamUpserts); err != nil {
		return fmt.Errorf("apply teams: %w", err)
	}
	if err := d.deleteNames(ctx, tx, "services", serviceDeletes); err != nil {
		return fmt.Errorf("delete services: %w", err)
	}
	if err := d.insertRows(ctx, tx, `INSERT INTO services (name, team, tier, lifecycle, spec, updated_at)`,
		`ON CONFLICT (name) DO UPDATE SET team = excluded.team, tier = excluded.tier,
		lifecycle = excluded.lifecycle, spec = excluded.spec, updated_at = excluded.updated_at`, 6, serviceUpserts); err != nil {
		return fmt.Errorf("apply services: %w", err)
	}
	if err := d.deleteNames(ctx, tx, "teams", teamDeletes); err != nil {
		return fmt.Errorf("delete teams: %w", err)
	}
	if err := d.deleteNames(ctx, tx, "severity_levels", levelDeletes); err != nil {
		return fmt.Errorf("delete severity levels: %w", err)
	}
	if err := d.insertRows(ctx, tx, `INSERT INTO severity_levels (name, spec, updated_at)`,
		`ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`, 3, levelUpserts); err != nil {
		return fmt.Errorf("apply severity levels: %w", err)
	}
	return nil
}

func (d *DB) deleteNames(ctx context.Context, tx *sql.Tx, table string, names []string) error {
	for len(names) > 0 {
		n := min(len(names), maxParams)
		args := make([]any, n)
		for i, name := range names[:n] {
			args[i] = name
		}
		marks := d.placeholders(1, n) // one row of n: "(p,p,...)"
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE name IN `+marks, args...); err != nil {
			return err
		}
		names = names[n:]
	}
	return nil
}
