package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/notify"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

// Audit kinds of postmortem changes.
const (
	KindPostmortem = "Postmortem"
	KindAction     = "PostmortemAction"
)

var _ postmortem.Store = (*DB)(nil)

// pmSpec is what the spec column holds: the postmortem without its id,
// reference and text, which have their own columns.
func pmSpec(p *postmortem.Postmortem) (string, error) {
	c := *p
	c.ID, c.Ref, c.Body = 0, "", ""
	b, err := json.Marshal(&c)
	return string(b), err
}

// CreatePostmortem stores p unless its incident has a postmortem: that
// one is returned with created false. The insert, the audit record and
// m's messages and jobs are one transaction.
func (d *DB) CreatePostmortem(ctx context.Context, p *postmortem.Postmortem, actor audit.Actor, m *postmortem.Mutation) (*postmortem.Postmortem, bool, error) {
	var out *postmortem.Postmortem
	created := false
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		existing, err := d.loadPostmortem(ctx, tx, `incident = $1`, p.Incident)
		if err == nil {
			out = existing
			return nil
		} else if tsuna.ErrorCode(err) != tsuna.ENOTFOUND {
			return err
		}
		now := d.nowUTC()
		c := *p
		drafted := now // the domain's time when it gives one, as for an incident's declaration
		if !c.CreatedAt.IsZero() {
			drafted = c.CreatedAt.UTC().Truncate(time.Microsecond)
		}
		c.CreatedAt, c.UpdatedAt = drafted, drafted
		spec, err := pmSpec(&c)
		if err != nil {
			return fmt.Errorf("draft postmortem: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO postmortems (incident, status, severity, team, title, body, spec, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
			c.Incident, c.Status, c.Severity, c.Team, c.Title, c.Body, spec, drafted).Scan(&c.ID); err != nil {
			return fmt.Errorf("draft postmortem: %w", err)
		}
		c.Ref = postmortem.RefOf(c.ID)
		if err := d.indexPostmortem(ctx, tx, nil, &c); err != nil {
			return err
		}
		after, _ := json.Marshal(&c)
		if err := d.applyPMMutation(ctx, tx, KindPostmortem, c.Ref, nil, after, m, actor, now); err != nil {
			return err
		}
		out, created = &c, true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// MutatePostmortem changes postmortem id with fn under the audit lock,
// and stores it, the previous text as a revision when it changed, its
// search index, the audit record (before and after, so the previous text
// is there too) and m's messages and jobs in one transaction.
func (d *DB) MutatePostmortem(ctx context.Context, id int64, actor audit.Actor, fn func(*postmortem.Postmortem, time.Time) (*postmortem.Mutation, error)) (*postmortem.Postmortem, error) {
	var out *postmortem.Postmortem
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		p, err := d.loadPostmortem(ctx, tx, `id = $1`, id)
		if err != nil {
			return err
		}
		before, _ := json.Marshal(p)
		orig := *p
		orig.Services, orig.Labels = slices.Clone(p.Services), slices.Clone(p.Labels)
		orig.Authors, orig.Reviewers = slices.Clone(p.Authors), slices.Clone(p.Reviewers)
		now := d.nowUTC()
		m, err := fn(p, now)
		if err != nil {
			return err
		}
		if m == nil {
			out = &orig
			return nil
		}
		spec, err := pmSpec(p)
		if err != nil {
			return fmt.Errorf("update postmortem: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE postmortems SET status = $1, severity = $2, team = $3, title = $4, body = $5, spec = $6, updated_at = $7 WHERE id = $8`,
			p.Status, p.Severity, p.Team, p.Title, p.Body, spec, now, id); err != nil {
			return fmt.Errorf("update postmortem: %w", err)
		}
		if orig.Body != p.Body || orig.Title != p.Title {
			if _, err := tx.ExecContext(ctx, `INSERT INTO postmortem_revisions (postmortem, revision, title, body, actor, time) VALUES ($1, $2, $3, $4, $5, $6)`,
				id, orig.Revision, orig.Title, orig.Body, actor.Name, now); err != nil {
				return fmt.Errorf("keep revision: %w", err)
			}
		}
		if err := d.indexPostmortem(ctx, tx, &orig, p); err != nil {
			return err
		}
		after, _ := json.Marshal(p)
		if err := d.applyPMMutation(ctx, tx, KindPostmortem, p.Ref, before, after, m, actor, now); err != nil {
			return err
		}
		out = p
		return nil
	})
	return out, err
}

// indexPostmortem keeps the service and label tables, and on SQLite the
// full-text index of published postmortems, in step with p.
func (d *DB) indexPostmortem(ctx context.Context, tx *sql.Tx, before, p *postmortem.Postmortem) error {
	for _, t := range []struct {
		table, col   string
		before, next []string
	}{{"postmortem_services", "service", nil, p.Services}, {"postmortem_labels", "label", nil, p.Labels}} {
		if before != nil {
			if t.table == "postmortem_services" {
				t.before = before.Services
			} else {
				t.before = before.Labels
			}
			if slices.Equal(t.before, t.next) {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.table+` WHERE postmortem = $1`, p.ID); err != nil {
				return fmt.Errorf("index postmortem: %w", err)
			}
		}
		rows := make([][]any, len(t.next))
		for i, v := range t.next {
			rows[i] = []any{v, p.ID}
		}
		if err := d.insertRows(ctx, tx, `INSERT INTO `+t.table+` (`+t.col+`, postmortem)`, `ON CONFLICT DO NOTHING`, 2, rows); err != nil {
			return fmt.Errorf("index postmortem: %w", err)
		}
	}
	if d.d.postgres() {
		return nil // the generated search column follows the row
	}
	wasIndexed := before != nil && before.Status == postmortem.StatusPublished
	indexed := p.Status == postmortem.StatusPublished
	if wasIndexed && indexed && before.Title == p.Title && before.Body == p.Body {
		return nil
	}
	if wasIndexed {
		if _, err := tx.ExecContext(ctx, `DELETE FROM postmortems_fts WHERE rowid = $1`, p.ID); err != nil {
			return fmt.Errorf("search index: %w", err)
		}
	}
	if indexed {
		if _, err := tx.ExecContext(ctx, `INSERT INTO postmortems_fts (rowid, title, body) VALUES ($1, $2, $3)`, p.ID, p.Title, p.Body); err != nil {
			return fmt.Errorf("search index: %w", err)
		}
	}
	return nil
}

// applyPMMutation queues m's messages, enqueues its jobs and appends its
// audit record.
func (d *DB) applyPMMutation(ctx context.Context, tx *sql.Tx, kind, name string, before, after json.RawMessage, m *postmortem.Mutation, actor audit.Actor, now time.Time) error {
	if m == nil {
		return nil
	}
	for i := range m.Messages {
		if err := d.queueMessage(ctx, tx, m.Messages[i].Channel, &m.Messages[i].Message, now); err != nil {
			return err
		}
	}
	for _, j := range m.Jobs {
		if err := d.enqueueTx(ctx, tx, j, now); err != nil {
			return err
		}
	}
	if m.Action == "" {
		return nil
	}
	return d.appendAudit(ctx, tx, []*audit.Record{actor.Record(now, m.Action, kind, name, before, after)})
}

// enqueueTx enqueues j in tx, idempotently by kind and key.
func (d *DB) enqueueTx(ctx context.Context, tx *sql.Tx, j jobs.Job, now time.Time) error {
	_, err := enqueueJob(ctx, tx, j, now)
	return err
}

const pmColumns = `p.id, p.body, p.spec`

func scanPostmortem(s interface{ Scan(...any) error }, extra ...any) (*postmortem.Postmortem, error) {
	var id int64
	var body, spec string
	if err := s.Scan(append([]any{&id, &body, &spec}, extra...)...); err != nil {
		return nil, err
	}
	var p postmortem.Postmortem
	if err := json.Unmarshal([]byte(spec), &p); err != nil {
		return nil, fmt.Errorf("decode stored postmortem: %w", err)
	}
	p.ID, p.Ref, p.Body = id, postmortem.RefOf(id), body
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

func (d *DB) loadPostmortem(ctx context.Context, q queryer, where string, arg any) (*postmortem.Postmortem, error) {
	p, err := scanPostmortem(q.QueryRowContext(ctx, `SELECT `+pmColumns+` FROM postmortems p WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		switch v := arg.(type) {
		case int64:
			return nil, tsuna.Errorf(tsuna.ENOTFOUND, "postmortem %s not found", postmortem.RefOf(v))
		case string:
			return nil, tsuna.Errorf(tsuna.ENOTFOUND, "%s has no postmortem; draft one with tsuna postmortem create %s", v, v)
		}
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "postmortem not found")
	} else if err != nil {
		return nil, fmt.Errorf("read postmortem: %w", err)
	}
	return p, nil
}

// Postmortem returns postmortem id.
func (d *DB) Postmortem(ctx context.Context, id int64) (*postmortem.Postmortem, error) {
	return d.loadPostmortem(ctx, d.db, `p.id = $1`, id)
}

// PostmortemByIncident returns the postmortem of incident ref (INC-42).
func (d *DB) PostmortemByIncident(ctx context.Context, ref string) (*postmortem.Postmortem, error) {
	return d.loadPostmortem(ctx, d.db, `p.incident = $1`, ref)
}

// pmWhere builds the WHERE clause of f.
func pmWhere(f postmortem.Filter) filter {
	var w filter
	if f.Status != "" {
		w.add("p.status = $%d", f.Status)
	}
	if f.Team != "" {
		w.add("p.team = $%d", f.Team)
	}
	if f.Severity != "" {
		w.add("p.severity = $%d", f.Severity)
	}
	if f.Service != "" {
		w.add("p.id IN (SELECT postmortem FROM postmortem_services WHERE service = $%d)", f.Service)
	}
	if f.Label != "" {
		w.add("p.id IN (SELECT postmortem FROM postmortem_labels WHERE label = $%d)", f.Label)
	}
	if !f.Since.IsZero() {
		w.add("p.created_at >= $%d", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		w.add("p.created_at < $%d", f.Until.UTC())
	}
	if f.Exclude > 0 {
		w.add("p.id <> $%d", f.Exclude)
	}
	if f.Before > 0 {
		w.add("p.id < $%d", f.Before)
	}
	var related []string
	in := func(table, col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		marks := make([]string, len(vals))
		for i, v := range vals {
			w.args = append(w.args, v)
			marks[i] = fmt.Sprintf("$%d", len(w.args))
		}
		related = append(related, fmt.Sprintf("p.id IN (SELECT postmortem FROM %s WHERE %s IN (%s))", table, col, strings.Join(marks, ", ")))
	}
	in("postmortem_services", "service", f.RelatedServices)
	in("postmortem_labels", "label", f.RelatedLabels)
	if len(related) > 0 {
		w.where = append(w.where, "("+strings.Join(related, " OR ")+")")
	}
	return w
}

func pmLimit(n int) int {
	if n <= 0 || n > postmortem.MaxList {
		return 50
	}
	return n
}

// Postmortems returns the postmortems matching f, newest first.
func (d *DB) Postmortems(ctx context.Context, f postmortem.Filter) ([]*postmortem.Postmortem, error) {
	w := pmWhere(f)
	rows, err := d.db.QueryContext(ctx, `SELECT `+pmColumns+` FROM postmortems p`+w.clause()+fmt.Sprintf(" ORDER BY p.id DESC LIMIT %d", pmLimit(f.Limit)), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list postmortems: %w", err)
	}
	defer rows.Close()
	out := []*postmortem.Postmortem{}
	for rows.Next() {
		p, err := scanPostmortem(rows)
		if err != nil {
			return nil, fmt.Errorf("list postmortems: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Markers of matches in excerpts: control characters, which a
// postmortem's text cannot hold.
const (
	markStart = "\x02"
	markEnd   = "\x03"
)

// searchCandidates bounds the matches PostgreSQL ranks: ts_rank reads
// each match's whole tsvector (out of line, compressed), which costs
// about as much as everything else of a search together. The candidates
// are the matches whose title holds a word of the query, then the
// newest; a word in more postmortems than this is ranked among those.
const searchCandidates = 1000

// headlineWindow is the text, in characters, PostgreSQL writes an excerpt
// from: ts_headline parses all it is given, so it gets a window that
// starts a little before the first literal occurrence of the query's
// first word (or the text's start when it has none), not a whole body of
// up to 256 KiB.
const headlineWindow = 4096

// SearchPostmortems searches published postmortems for all of terms
// (words of letters and digits, stemmed by the engine), best first:
// SQLite FTS5's BM25 or PostgreSQL's ts_rank, the title weighing more
// than the text, with an excerpt of the text around the matches. Only
// the postmortems returned get an excerpt.
func (d *DB) SearchPostmortems(ctx context.Context, terms []string, f postmortem.Filter) ([]postmortem.Hit, error) {
	for _, t := range terms {
		if t == "" || strings.ContainsFunc(t, func(r rune) bool { return r == '"' || r == '\'' || r == '%' || r == '_' || r == '\\' || r < 0x20 }) {
			return nil, tsuna.Errorf(tsuna.EINVALID, "q: %q is not a word", t)
		}
	}
	// The status is written as a literal, so that PostgreSQL may use the
	// partial GIN index of published postmortems whatever the plan.
	f.Status = ""
	w := pmWhere(f)
	w.where = append(w.where, "p.status = '"+postmortem.StatusPublished+"'")
	limit := pmLimit(f.Limit)
	if d.d.postgres() {
		return d.searchPostgres(ctx, terms, w, limit)
	}
	return d.searchSQLite(ctx, terms, w, limit)
}

func (d *DB) searchPostgres(ctx context.Context, terms []string, w filter, limit int) ([]postmortem.Hit, error) {
	w.args = append(w.args, strings.Join(terms, " "))
	tsq := fmt.Sprintf("plainto_tsquery('english', $%d)", len(w.args))
	w.where = append(w.where, "p.search @@ "+tsq)
	var inTitle []string
	for _, t := range terms {
		w.args = append(w.args, "%"+t+"%")
		inTitle = append(inTitle, fmt.Sprintf("lower(p.title) LIKE $%d", len(w.args)))
	}
	w.args = append(w.args, terms[0])
	first := len(w.args)
	q := `WITH cand AS (SELECT p.id FROM postmortems p` + w.clause() + `
			ORDER BY (` + strings.Join(inTitle, " OR ") + `) DESC, p.id DESC LIMIT ` + fmt.Sprint(searchCandidates) + `),
		top AS (SELECT p.id, ts_rank(p.search, ` + tsq + `) AS rank FROM postmortems p JOIN cand ON cand.id = p.id
			ORDER BY rank DESC, p.id DESC LIMIT ` + fmt.Sprint(limit) + `)
		SELECT p.id, p.body, p.spec, top.rank, ts_headline('english',
				substr(p.body, greatest(1, strpos(lower(p.body), $` + fmt.Sprint(first) + `) - 300), ` + fmt.Sprint(headlineWindow) + `), ` + tsq + `,
				'StartSel=` + markStart + `, StopSel=` + markEnd + `, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "')
		FROM top JOIN postmortems p ON p.id = top.id ORDER BY top.rank DESC, p.id DESC`
	rows, err := d.db.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("search postmortems: %w", err)
	}
	defer rows.Close()
	out := []postmortem.Hit{}
	for rows.Next() {
		var rank float64
		var excerpt string
		p, err := scanPostmortem(rows, &rank, &excerpt)
		if err != nil {
			return nil, fmt.Errorf("search postmortems: %w", err)
		}
		text, marks := splitMarks(excerpt)
		out = append(out, postmortem.Hit{Postmortem: p, Rank: rank, Excerpt: text, Marks: marks})
	}
	return out, rows.Err()
}

// searchSQLite ranks every match with BM25, which reads only the index,
// then writes the excerpts of the returned ones: snippet() reads and
// tokenizes a whole text, and SQLite computes a query's columns before
// it sorts, so one query would write an excerpt for every match.
func (d *DB) searchSQLite(ctx context.Context, terms []string, w filter, limit int) ([]postmortem.Hit, error) {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + t + `"`
	}
	match := strings.Join(quoted, " ")
	w.args = append(w.args, match)
	w.where = append(w.where, fmt.Sprintf("postmortems_fts MATCH $%d", len(w.args)))
	rows, err := d.db.QueryContext(ctx, `SELECT p.id, p.body, p.spec, -bm25(postmortems_fts, 4.0, 1.0)
		FROM postmortems_fts JOIN postmortems p ON p.id = postmortems_fts.rowid`+w.clause()+
		fmt.Sprintf(` ORDER BY bm25(postmortems_fts, 4.0, 1.0), p.id DESC LIMIT %d`, limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("search postmortems: %w", err)
	}
	out := []postmortem.Hit{}
	for rows.Next() {
		var rank float64
		p, err := scanPostmortem(rows, &rank)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("search postmortems: %w", err)
		}
		out = append(out, postmortem.Hit{Postmortem: p, Rank: rank, Marks: [][2]int{}})
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	args := []any{match}
	marks := make([]string, len(out))
	at := map[int64]int{}
	for i, h := range out {
		args = append(args, h.Postmortem.ID)
		marks[i] = fmt.Sprintf("$%d", len(args))
		at[h.Postmortem.ID] = i
	}
	rows, err = d.db.QueryContext(ctx, `SELECT rowid, snippet(postmortems_fts, 1, char(2), char(3), ' … ', 24)
		FROM postmortems_fts WHERE postmortems_fts MATCH $1 AND rowid IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("search postmortems: excerpts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var excerpt string
		if err := rows.Scan(&id, &excerpt); err != nil {
			return nil, fmt.Errorf("search postmortems: excerpts: %w", err)
		}
		if i, ok := at[id]; ok {
			out[i].Excerpt, out[i].Marks = splitMarks(excerpt)
		}
	}
	return out, rows.Err()
}

// splitMarks removes the match markers from an excerpt and returns the
// byte ranges they enclosed, with runs of white space made one space.
func splitMarks(s string) (string, [][2]int) {
	var b strings.Builder
	marks := [][2]int{}
	start := -1
	space := false
	for _, r := range s {
		switch {
		case string(r) == markStart:
			start = b.Len()
		case string(r) == markEnd:
			if start >= 0 {
				marks = append(marks, [2]int{start, b.Len()})
			}
			start = -1
		case r == '\n' || r == '\r' || r == '\t' || r == ' ':
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = true
			continue
		default:
			b.WriteRune(r)
		}
		space = false
	}
	return strings.TrimRight(b.String(), " "), marks
}

// PostmortemRevisions returns the previous texts of postmortem id, newest
// first.
func (d *DB) PostmortemRevisions(ctx context.Context, id int64) ([]postmortem.Revision, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT revision, title, body, actor, time FROM postmortem_revisions WHERE postmortem = $1 ORDER BY id DESC LIMIT 1000`, id)
	if err != nil {
		return nil, fmt.Errorf("read revisions: %w", err)
	}
	defer rows.Close()
	out := []postmortem.Revision{}
	for rows.Next() {
		var r postmortem.Revision
		if err := rows.Scan(&r.Revision, &r.Title, &r.Body, &r.Actor, &r.Time); err != nil {
			return nil, fmt.Errorf("read revisions: %w", err)
		}
		r.Time = r.Time.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

func actionSpec(a *postmortem.Action) (string, error) {
	c := *a
	c.ID = 0
	b, err := json.Marshal(&c)
	return string(b), err
}

func issueCols(a *postmortem.Action) (repo, number any) {
	if a.Issue == nil {
		return nil, nil
	}
	return a.Issue.Repo, a.Issue.Number
}

func dueCol(a *postmortem.Action) any {
	if a.Due == nil {
		return nil
	}
	return a.Due.UTC()
}

// CreateAction stores a new follow-up action, audited.
func (d *DB) CreateAction(ctx context.Context, a *postmortem.Action, actor audit.Actor) (*postmortem.Action, error) {
	c := *a
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		now := d.nowUTC()
		c.CreatedAt, c.UpdatedAt = now, now
		spec, err := actionSpec(&c)
		if err != nil {
			return fmt.Errorf("add action: %w", err)
		}
		repo, num := issueCols(&c)
		if err := tx.QueryRowContext(ctx, `INSERT INTO postmortem_actions (postmortem, team, owner, status, due, issue_repo, issue_number, spec, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
			c.Postmortem, c.Team, c.Owner, c.Status, dueCol(&c), repo, num, spec, now).Scan(&c.ID); err != nil {
			return fmt.Errorf("add action: %w", err)
		}
		after, _ := json.Marshal(&c)
		return d.appendAudit(ctx, tx, []*audit.Record{actor.Record(now, "add-action", KindAction, fmt.Sprintf("%s/%d", c.PostmortemRef, c.ID), nil, after)})
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// MutateAction changes action id with fn and stores it with its audit
// record in one transaction.
func (d *DB) MutateAction(ctx context.Context, id int64, actor audit.Actor, fn func(*postmortem.Action, time.Time) (*postmortem.Mutation, error)) (*postmortem.Action, error) {
	var out *postmortem.Action
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		a, err := d.loadAction(ctx, tx, `id = $1`, id)
		if err != nil {
			return err
		}
		before, _ := json.Marshal(a)
		orig := *a
		now := d.nowUTC()
		m, err := fn(a, now)
		if err != nil {
			return err
		}
		if m == nil {
			out = &orig
			return nil
		}
		spec, err := actionSpec(a)
		if err != nil {
			return fmt.Errorf("update action: %w", err)
		}
		repo, num := issueCols(a)
		if _, err := tx.ExecContext(ctx, `UPDATE postmortem_actions SET owner = $1, status = $2, due = $3, issue_repo = $4, issue_number = $5, spec = $6, updated_at = $7 WHERE id = $8`,
			a.Owner, a.Status, dueCol(a), repo, num, spec, now, id); err != nil {
			if d.d.isUniqueViolation(err) {
				return tsuna.Errorf(tsuna.ECONFLICT, "issue %s#%d already tracks another action", a.Issue.Repo, a.Issue.Number)
			}
			return fmt.Errorf("update action: %w", err)
		}
		after, _ := json.Marshal(a)
		if err := d.applyPMMutation(ctx, tx, KindAction, fmt.Sprintf("%s/%d", a.PostmortemRef, a.ID), before, after, m, actor, now); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

func (d *DB) loadAction(ctx context.Context, q queryer, where string, args ...any) (*postmortem.Action, error) {
	var id int64
	var spec string
	var err error
	switch len(args) {
	case 1:
		err = q.QueryRowContext(ctx, `SELECT id, spec FROM postmortem_actions WHERE `+where, args[0]).Scan(&id, &spec)
	default:
		err = d.db.QueryRowContext(ctx, `SELECT id, spec FROM postmortem_actions WHERE `+where, args...).Scan(&id, &spec)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "action not found")
	} else if err != nil {
		return nil, fmt.Errorf("read action: %w", err)
	}
	return decodeAction(id, spec)
}

func decodeAction(id int64, spec string) (*postmortem.Action, error) {
	var a postmortem.Action
	if err := json.Unmarshal([]byte(spec), &a); err != nil {
		return nil, fmt.Errorf("decode stored action: %w", err)
	}
	a.ID = id
	return &a, nil
}

// Action returns action id.
func (d *DB) Action(ctx context.Context, id int64) (*postmortem.Action, error) {
	a, err := d.loadAction(ctx, d.db, `id = $1`, id)
	if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "action %d not found", id)
	}
	return a, err
}

// ActionByIssue returns the action tracked by repo's issue number.
func (d *DB) ActionByIssue(ctx context.Context, repo string, number int) (*postmortem.Action, error) {
	return d.loadAction(ctx, d.db, `issue_repo = $1 AND issue_number = $2`, repo, number)
}

// overdueBefore is the due day before which an open action is overdue at
// now: its due day has passed entirely.
func overdueBefore(now time.Time) time.Time { return now.UTC().AddDate(0, 0, -1) }

// Actions returns the actions matching f, by due date (none last), then id.
func (d *DB) Actions(ctx context.Context, f postmortem.ActionFilter) ([]*postmortem.Action, error) {
	var w filter
	if f.Postmortem > 0 {
		w.add("postmortem = $%d", f.Postmortem)
	}
	if f.Team != "" {
		w.add("team = $%d", f.Team)
	}
	if f.Owner != "" {
		w.add("owner = $%d", f.Owner)
	}
	if f.Status != "" {
		w.add("status = $%d", f.Status)
	}
	if !f.OverdueAt.IsZero() {
		w.add("status = $%d", postmortem.ActionOpen)
		w.add("due < $%d", overdueBefore(f.OverdueAt))
	}
	if f.Tracked {
		w.where = append(w.where, "issue_repo IS NOT NULL")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 200
	}
	rows, err := d.db.QueryContext(ctx, `SELECT id, spec FROM postmortem_actions`+w.clause()+
		fmt.Sprintf(" ORDER BY CASE WHEN due IS NULL THEN 1 ELSE 0 END, due, id LIMIT %d", limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list actions: %w", err)
	}
	defer rows.Close()
	out := []*postmortem.Action{}
	for rows.Next() {
		var id int64
		var spec string
		if err := rows.Scan(&id, &spec); err != nil {
			return nil, fmt.Errorf("list actions: %w", err)
		}
		a, err := decodeAction(id, spec)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ActionCounts returns the open and overdue actions of each team that has
// open ones.
func (d *DB) ActionCounts(ctx context.Context, now time.Time) ([]postmortem.TeamCounts, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT team, COUNT(*), COALESCE(SUM(CASE WHEN due < $1 THEN 1 ELSE 0 END), 0)
		FROM postmortem_actions WHERE status = $2 GROUP BY team ORDER BY team`, overdueBefore(now), postmortem.ActionOpen)
	if err != nil {
		return nil, fmt.Errorf("count actions: %w", err)
	}
	defer rows.Close()
	out := []postmortem.TeamCounts{}
	for rows.Next() {
		var c postmortem.TeamCounts
		if err := rows.Scan(&c.Team, &c.Open, &c.Overdue); err != nil {
			return nil, fmt.Errorf("count actions: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SendOnce queues msg for channel unless key was sent before, in one
// transaction: two replicas, or a job retried after a crash, send once.
func (d *DB) SendOnce(ctx context.Context, key, channel string, msg notify.Message) (bool, error) {
	sent := false
	err := d.tx(ctx, func(tx *sql.Tx) error {
		now := d.nowUTC()
		res, err := tx.ExecContext(ctx, `INSERT INTO sent_once (key, sent_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, now)
		if err != nil {
			return fmt.Errorf("send once: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		sent = true
		return d.queueMessage(ctx, tx, channel, &msg, now)
	})
	return sent, err
}

// Cursor returns the named audit position, set to the audit log's head
// the first time.
func (d *DB) Cursor(ctx context.Context, name string) (int64, error) {
	if _, err := d.db.ExecContext(ctx, `INSERT INTO audit_cursors (name, seq) SELECT $1, COALESCE(MAX(seq), 0) FROM audit_log WHERE true ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return 0, fmt.Errorf("audit cursor: %w", err)
	}
	var seq int64
	if err := d.db.QueryRowContext(ctx, `SELECT seq FROM audit_cursors WHERE name = $1`, name).Scan(&seq); err != nil {
		return 0, fmt.Errorf("audit cursor: %w", err)
	}
	return seq, nil
}

// SetCursor moves the named audit position forward to seq (never back).
func (d *DB) SetCursor(ctx context.Context, name string, seq int64) error {
	if _, err := d.db.ExecContext(ctx, `UPDATE audit_cursors SET seq = $1 WHERE name = $2 AND seq < $1`, seq, name); err != nil {
		return fmt.Errorf("audit cursor: %w", err)
	}
	return nil
}

// TeamChanges returns the audit records of Team objects after seq,
// oldest first.
func (d *DB) TeamChanges(ctx context.Context, after int64, limit int) ([]audit.Record, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE kind = $1 AND seq > $2 ORDER BY seq LIMIT $3`, catalog.KindTeam, after, max(1, min(limit, 1000)))
	if err != nil {
		return nil, fmt.Errorf("team changes: %w", err)
	}
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// kindPMTemplate is the audit kind of an applied postmortem template.
const kindPMTemplate = catalog.KindPostmortemTemplate

// PutPostmortemTemplates stores the template versions not stored yet,
// each audited (name "name/vN"), and returns them; with dryRun it only
// returns them. A version stored before with other content is refused:
// a postmortem names the version it was drafted from, so a version never
// changes.
func (d *DB) PutPostmortemTemplates(ctx context.Context, ts []catalog.PostmortemTemplate, actor audit.Actor, dryRun bool) ([]catalog.PostmortemTemplate, error) {
	var added []catalog.PostmortemTemplate
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		now := d.nowUTC()
		var recs []*audit.Record
		for _, t := range ts {
			spec, err := json.Marshal(t)
			if err != nil {
				return fmt.Errorf("put postmortem template: %w", err)
			}
			digest := digestOf(spec)
			var stored string
			err = tx.QueryRowContext(ctx, `SELECT digest FROM postmortem_templates WHERE name = $1 AND version = $2`, t.Name, t.Version).Scan(&stored)
			switch {
			case err == nil && stored == digest:
				continue
			case err == nil:
				return tsuna.Errorf(tsuna.ECONFLICT, "postmortem template %s version %d was applied before with other content; raise its version to %d (postmortems drafted from version %d keep naming it)",
					t.Name, t.Version, t.Version+1, t.Version)
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("put postmortem template: %w", err)
			}
			var newest sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM postmortem_templates WHERE name = $1`, t.Name).Scan(&newest); err != nil {
				return fmt.Errorf("put postmortem template: %w", err)
			}
			if newest.Valid && int(newest.Int64) > t.Version {
				return tsuna.Errorf(tsuna.ECONFLICT, "postmortem template %s version %d is older than version %d already applied; raise its version above %d",
					t.Name, t.Version, newest.Int64, newest.Int64)
			}
			added = append(added, t)
			if dryRun {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO postmortem_templates (name, version, digest, spec, applied_by, applied_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				t.Name, t.Version, digest, string(spec), actor.Name, now); err != nil {
				return fmt.Errorf("put postmortem template: %w", err)
			}
			recs = append(recs, actor.Record(now, "create", kindPMTemplate, fmt.Sprintf("%s/v%d", t.Name, t.Version), nil, spec))
		}
		if len(recs) == 0 {
			return nil
		}
		return d.appendAudit(ctx, tx, recs)
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// PostmortemTemplates returns the newest stored version of each
// postmortem template, by name.
func (d *DB) PostmortemTemplates(ctx context.Context) ([]catalog.PostmortemTemplate, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT t.spec FROM postmortem_templates t
		WHERE t.version = (SELECT MAX(version) FROM postmortem_templates n WHERE n.name = t.name) ORDER BY t.name`)
	if err != nil {
		return nil, fmt.Errorf("read postmortem templates: %w", err)
	}
	list, err := scanSpecs[catalog.PostmortemTemplate](rows)
	if err != nil {
		return nil, fmt.Errorf("read postmortem templates: %w", err)
	}
	out := make([]catalog.PostmortemTemplate, len(list))
	for i, t := range list {
		out[i] = *t
	}
	return out, nil
}

// digestOf is the SHA-256 of a stored spec, in hex.
func digestOf(spec []byte) string {
	sum := sha256.Sum256(spec)
	return hex.EncodeToString(sum[:])
}
