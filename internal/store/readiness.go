package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/readiness"
	"github.com/tsuna-sre/tsuna/internal/readiness/fact"
)

// KindReadinessReview and KindChecklist name readiness objects in the audit log.
const (
	kindReadinessReview = "ReadinessReview"
	kindChecklist       = "Checklist"
)

// PutChecklists stores the checklist versions that are new, with an audit
// record each, and returns them; a stored version with other content is a
// conflict and nothing is stored.
func (d *DB) PutChecklists(ctx context.Context, cls []*catalog.Checklist, actor audit.Actor, dryRun bool) ([]*catalog.Checklist, error) {
	var added []*catalog.Checklist
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		now := d.nowUTC()
		var recs []*audit.Record
		for _, c := range cls {
			digest := readiness.Digest(c)
			var stored string
			err := tx.QueryRowContext(ctx, `SELECT digest FROM readiness_checklists WHERE name = $1 AND version = $2`, c.Name, c.Version).Scan(&stored)
			switch {
			case err == nil && stored == digest:
				continue
			case err == nil:
				return tsuna.Errorf(tsuna.ECONFLICT, "checklist %s version %d was applied before with other content; raise its version to %d (reviews of version %d are then marked stale)", c.Name, c.Version, c.Version+1, c.Version)
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("put checklist: %w", err)
			}
			var newest sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM readiness_checklists WHERE name = $1`, c.Name).Scan(&newest); err != nil {
				return fmt.Errorf("put checklist: %w", err)
			}
			if newest.Valid && int(newest.Int64) > c.Version {
				return tsuna.Errorf(tsuna.ECONFLICT, "checklist %s version %d is older than version %d already applied; raise its version above %d", c.Name, c.Version, newest.Int64, newest.Int64)
			}
			added = append(added, c)
			if dryRun {
				continue
			}
			spec, _ := json.Marshal(c)
			if _, err := tx.ExecContext(ctx, `INSERT INTO readiness_checklists (name, version, digest, items, spec, applied_by, applied_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				c.Name, c.Version, digest, len(c.Items()), string(spec), actor.Name, now); err != nil {
				return fmt.Errorf("put checklist: %w", err)
			}
			recs = append(recs, actor.Record(now, "create", kindChecklist, fmt.Sprintf("%s/v%d", c.Name, c.Version), nil, spec))
		}
		if len(recs) == 0 {
			return nil
		}
		return d.appendAudit(ctx, tx, recs)
	})
	return added, err
}

// Checklist returns the highest stored version of checklist name.
func (d *DB) Checklist(ctx context.Context, name string) (*catalog.Checklist, error) {
	return d.checklistVersion(ctx, d.db, name, 0)
}

func (d *DB) checklistVersion(ctx context.Context, q queryer, name string, version int) (*catalog.Checklist, error) {
	var spec string
	var err error
	if version == 0 {
		err = q.QueryRowContext(ctx, `SELECT spec FROM readiness_checklists WHERE name = $1 ORDER BY version DESC LIMIT 1`, name).Scan(&spec)
	} else {
		err = q.QueryRowContext(ctx, `SELECT spec FROM readiness_checklists WHERE name = $1 AND version = $2`, name, version).Scan(&spec)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "checklist %q not found; declare it in the catalog (kind: Checklist) and apply it", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get checklist: %w", err)
	}
	var c catalog.Checklist
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		return nil, fmt.Errorf("get checklist %s: %w", name, err)
	}
	return &c, nil
}

// Checklists returns every stored checklist version.
func (d *DB) Checklists(ctx context.Context) ([]readiness.ChecklistInfo, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, version, items, digest, applied_by, applied_at FROM readiness_checklists ORDER BY name, version`)
	if err != nil {
		return nil, fmt.Errorf("list checklists: %w", err)
	}
	defer rows.Close()
	out := []readiness.ChecklistInfo{}
	for rows.Next() {
		var c readiness.ChecklistInfo
		if err := rows.Scan(&c.Name, &c.Version, &c.Items, &c.Digest, &c.AppliedBy, &c.AppliedAt); err != nil {
			return nil, fmt.Errorf("list checklists: %w", err)
		}
		c.AppliedAt = c.AppliedAt.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// CreateReview stores r as the current review of its service and
// checklist, superseding the one before, with the checklist version it
// uses (the shipped one is stored when first used) and an audit record.
func (d *DB) CreateReview(ctx context.Context, r *readiness.Review, actor audit.Actor) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		now := d.nowUTC()
		cl := r.Checklist
		spec, _ := json.Marshal(cl)
		if _, err := tx.ExecContext(ctx, `INSERT INTO readiness_checklists (name, version, digest, items, spec, applied_by, applied_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (name, version) DO NOTHING`, cl.Name, cl.Version, readiness.Digest(cl), len(cl.Items()), string(spec), "tsuna (shipped)", now); err != nil {
			return fmt.Errorf("create review: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE readiness_reviews SET status = 'superseded', updated_at = $1 WHERE checklist = $2 AND service = $3 AND status <> 'superseded'`,
			now, cl.Name, r.Service); err != nil {
			return fmt.Errorf("create review: %w", err)
		}
		body, summary, err := reviewJSON(r)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO readiness_reviews (service, checklist, version, team, tier, lifecycle, status, level, stale_reason, stale_since, valid_until, summary, spec, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
			r.Service, cl.Name, cl.Version, r.Team, r.Tier, r.Lifecycle, r.Status, r.Summary.Level, staleReason(r), staleSince(r), validUntil(r), summary, body, now).Scan(&r.ID); err != nil {
			return fmt.Errorf("create review: %w", err)
		}
		var rows [][]any
		for _, a := range r.Answers {
			rows = append(rows, answerRow(r.ID, a))
		}
		if err := d.insertRows(ctx, tx, `INSERT INTO readiness_answers (review_id, item, state, comment, evidence, answered_by, answered_at, expires_at)`, "", 8, rows); err != nil {
			return fmt.Errorf("create review: %w", err)
		}
		after, _ := json.Marshal(map[string]any{"checklist": cl.Name, "version": cl.Version, "level": r.Summary.Level, "carriedAnswers": len(r.Answers)})
		return d.appendAudit(ctx, tx, []*audit.Record{actor.Record(now, "open", kindReadinessReview, reviewName(r), nil, after)})
	})
}

func reviewName(r *readiness.Review) string {
	return fmt.Sprintf("%s/%s#%d", r.Service, r.Checklist.Name, r.ID)
}

func staleReason(r *readiness.Review) string {
	if r.Stale == nil {
		return ""
	}
	return r.Stale.Reason
}

func staleSince(r *readiness.Review) any {
	if r.Stale == nil {
		return nil
	}
	return r.Stale.Since.UTC()
}

func validUntil(r *readiness.Review) any {
	if r.Summary.ValidUntil == nil {
		return nil
	}
	return r.Summary.ValidUntil.UTC()
}

func answerRow(id int64, a readiness.Answer) []any {
	return []any{id, a.Item, a.State, a.Comment, a.Evidence, a.By, a.At.UTC(), a.ExpiresAt.UTC()}
}

// reviewJSON returns the review's spec (without its checklist and
// answers, stored apart) and summary as JSON.
func reviewJSON(r *readiness.Review) (string, string, error) {
	c := *r
	c.Checklist, c.Answers = nil, nil
	body, err := json.Marshal(&c)
	if err != nil {
		return "", "", fmt.Errorf("store review: %w", err)
	}
	sum, err := json.Marshal(r.Summary)
	if err != nil {
		return "", "", fmt.Errorf("store review: %w", err)
	}
	return string(body), string(sum), nil
}

// CurrentReview returns the current review of service against checklist.
func (d *DB) CurrentReview(ctx context.Context, service, checklist string) (*readiness.Review, error) {
	var id int64
	err := d.db.QueryRowContext(ctx, `SELECT id FROM readiness_reviews WHERE checklist = $1 AND service = $2 AND status <> 'superseded'`, checklist, service).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "service %s has no review against checklist %s", service, checklist)
	}
	if err != nil {
		return nil, fmt.Errorf("get review: %w", err)
	}
	return d.ReviewByID(ctx, id)
}

// ReviewByID returns review id with its checklist and answers.
func (d *DB) ReviewByID(ctx context.Context, id int64) (*readiness.Review, error) {
	var r *readiness.Review
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = d.loadReview(ctx, tx, id)
		return err
	})
	return r, err
}

func (d *DB) loadReview(ctx context.Context, tx *sql.Tx, id int64) (*readiness.Review, error) {
	var spec, name, status string
	var version int
	err := tx.QueryRowContext(ctx, `SELECT spec, checklist, version, status FROM readiness_reviews WHERE id = $1`, id).Scan(&spec, &name, &version, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "readiness review %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get review: %w", err)
	}
	var r readiness.Review
	if err := json.Unmarshal([]byte(spec), &r); err != nil {
		return nil, fmt.Errorf("get review %d: %w", id, err)
	}
	r.ID, r.Status = id, status
	if r.Checklist, err = d.checklistVersion(ctx, tx, name, version); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT item, state, comment, evidence, answered_by, answered_at, expires_at FROM readiness_answers WHERE review_id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("get answers: %w", err)
	}
	defer rows.Close()
	r.Answers = map[string]readiness.Answer{}
	for rows.Next() {
		var a readiness.Answer
		if err := rows.Scan(&a.Item, &a.State, &a.Comment, &a.Evidence, &a.By, &a.At, &a.ExpiresAt); err != nil {
			return nil, fmt.Errorf("get answers: %w", err)
		}
		a.At, a.ExpiresAt = a.At.UTC(), a.ExpiresAt.UTC()
		r.Answers[a.Item] = a
	}
	return &r, rows.Err()
}

// MutateReview changes review id with fn under the audit lock, and stores
// the review, the answer, the feedback, the chat messages and the audit
// record of the mutation in one transaction.
func (d *DB) MutateReview(ctx context.Context, id int64, actor audit.Actor, fn func(*readiness.Review, time.Time) (*readiness.Mutation, error)) (*readiness.Review, error) {
	var out *readiness.Review
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		r, err := d.loadReview(ctx, tx, id)
		if err != nil {
			return err
		}
		orig, _ := d.loadReview(ctx, tx, id)
		now := d.nowUTC()
		m, err := fn(r, now)
		if err != nil {
			return err
		}
		if m == nil {
			out = orig
			return nil
		}
		body, summary, err := reviewJSON(r)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE readiness_reviews SET team = $1, tier = $2, lifecycle = $3, status = $4, level = $5, stale_reason = $6,
			stale_since = $7, valid_until = $8, summary = $9, spec = $10, updated_at = $11 WHERE id = $12`,
			r.Team, r.Tier, r.Lifecycle, r.Status, r.Summary.Level, staleReason(r), staleSince(r), validUntil(r), summary, body, now, id); err != nil {
			return fmt.Errorf("update review: %w", err)
		}
		var after any
		if a := m.Answer; a != nil {
			if _, err := tx.ExecContext(ctx, `DELETE FROM readiness_answers WHERE review_id = $1 AND item = $2`, id, a.Item); err != nil {
				return fmt.Errorf("answer: %w", err)
			}
			if err := d.insertRows(ctx, tx, `INSERT INTO readiness_answers (review_id, item, state, comment, evidence, answered_by, answered_at, expires_at)`, "", 8, [][]any{answerRow(id, *a)}); err != nil {
				return fmt.Errorf("answer: %w", err)
			}
			after = a
		}
		if f := m.Feedback; f != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO readiness_feedback (checklist, version, review_id, service, text, given_by, given_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				f.Checklist, f.Version, id, f.Service, f.Text, f.By, f.At.UTC()); err != nil {
				return fmt.Errorf("feedback: %w", err)
			}
			after = f
		}
		for i := range m.Messages {
			if err := d.queueMessage(ctx, tx, m.Messages[i].Channel, &m.Messages[i].Message, now); err != nil {
				return err
			}
		}
		out = r
		if m.Action == "" {
			return nil
		}
		if after == nil {
			after = map[string]any{"level": r.Summary.Level, "stale": r.Stale}
		}
		a, _ := json.Marshal(after)
		return d.appendAudit(ctx, tx, []*audit.Record{actor.Record(now, m.Action, kindReadinessReview, reviewName(r), nil, a)})
	})
	return out, err
}

// OpenReviews returns the IDs of every open review.
func (d *DB) OpenReviews(ctx context.Context) ([]int64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id FROM readiness_reviews WHERE status = 'open' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("open reviews: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Scorecard returns every service of the catalog that matches f, with
// its current review against f.Checklist (ReviewID 0 and status none when
// it has none), by service. Team, tier and lifecycle are the catalog's.
func (d *DB) Scorecard(ctx context.Context, f readiness.Filter) ([]readiness.Row, error) {
	var where []string
	args := []any{f.Checklist}
	if f.Team != "" {
		args = append(args, f.Team)
		where = append(where, fmt.Sprintf("s.team = $%d", len(args)))
	}
	if f.Tier != 0 {
		args = append(args, f.Tier)
		where = append(where, fmt.Sprintf("s.tier = $%d", len(args)))
	}
	if f.Lifecycle != "" {
		args = append(args, f.Lifecycle)
		where = append(where, fmt.Sprintf("s.lifecycle = $%d", len(args)))
	}
	q := `SELECT s.name, s.team, s.tier, s.lifecycle, COALESCE(r.id, 0), COALESCE(r.version, 0), COALESCE(r.status, 'none'), COALESCE(r.stale_reason, ''), r.stale_since, COALESCE(r.summary, '')
		FROM services s LEFT JOIN readiness_reviews r ON r.service = s.name AND r.checklist = $1 AND r.status <> 'superseded'`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := d.db.QueryContext(ctx, q+" ORDER BY s.name", args...)
	if err != nil {
		return nil, fmt.Errorf("scorecard: %w", err)
	}
	defer rows.Close()
	out := []readiness.Row{}
	for rows.Next() {
		r := readiness.Row{Checklist: f.Checklist}
		var stale, summary string
		var since sql.NullTime
		if err := rows.Scan(&r.Service, &r.Team, &r.Tier, &r.Lifecycle, &r.ReviewID, &r.Version, &r.Status, &stale, &since, &summary); err != nil {
			return nil, fmt.Errorf("scorecard: %w", err)
		}
		if summary != "" {
			if err := json.Unmarshal([]byte(summary), &r.Summary); err != nil {
				return nil, fmt.Errorf("scorecard: review %d: %w", r.ReviewID, err)
			}
		}
		if stale != "" {
			r.Stale = &readiness.Staleness{Reason: stale}
			if since.Valid {
				r.Stale.Since = since.Time.UTC()
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReviewsToScore returns the reviews of ids, with their checklists and
// answers, read in a few queries, as far as readiness.Summarize reads them:
// the checks' results without their evidence, the answers' states and
// expiry. Decoding the rest took most of the time of a scorecard whose
// summaries had all expired.
func (d *DB) ReviewsToScore(ctx context.Context, ids []int64) ([]*readiness.Review, error) {
	out := make([]*readiness.Review, 0, len(ids))
	checklists := map[string]*catalog.Checklist{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		in := d.placeholders(1, len(chunk))
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		// The answers are read on another connection meanwhile: decoding
		// the reviews and parsing the answers' times each take a core.
		var answers []scoredAnswer
		var answersErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			answers, answersErr = d.scoredAnswers(ctx, in, args)
		}()
		reviews, err := d.scoredReviews(ctx, in, args, checklists)
		<-done
		if err != nil {
			return nil, err
		}
		if answersErr != nil {
			return nil, answersErr
		}
		byID := make(map[int64]*readiness.Review, len(reviews))
		for _, r := range reviews {
			byID[r.ID] = r
		}
		for _, a := range answers {
			if r := byID[a.review]; r != nil {
				r.Answers[a.item] = readiness.Answer{Item: a.item, State: a.state, ExpiresAt: a.expires}
			}
		}
		out = append(out, reviews...)
	}
	for _, c := range checklists {
		full, err := d.checklistVersion(ctx, d.db, c.Name, c.Version)
		if err != nil {
			return nil, err
		}
		*c = *full
	}
	return out, nil
}

// scoredReviews reads what scoring needs of the reviews whose IDs are args,
// in the placeholders in, without their answers; their checklists are
// those of checklists by name and version, added there when missing and
// filled by the caller.
func (d *DB) scoredReviews(ctx context.Context, in string, args []any, checklists map[string]*catalog.Checklist) ([]*readiness.Review, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, spec, checklist, version, status FROM readiness_reviews WHERE id IN `+in, args...)
	if err != nil {
		return nil, fmt.Errorf("get reviews: %w", err)
	}
	defer rows.Close()
	var out []*readiness.Review
	for rows.Next() {
		var id int64
		var spec, name, status string
		var version int
		if err := rows.Scan(&id, &spec, &name, &version, &status); err != nil {
			return nil, fmt.Errorf("get reviews: %w", err)
		}
		r := &readiness.Review{}
		brief := struct {
			*readiness.Review
			Auto    map[string]scoredAuto `json:"auto"`
			Summary struct{}              `json:"summary"` // computed again
		}{Review: r}
		if err := json.Unmarshal([]byte(spec), &brief); err != nil {
			return nil, fmt.Errorf("get review %d: %w", id, err)
		}
		r.Auto = make(map[string]readiness.Auto, len(brief.Auto))
		for item, a := range brief.Auto {
			r.Auto[item] = readiness.Auto{Result: a.Result, Error: a.Error}
		}
		r.ID, r.Status, r.Answers = id, status, map[string]readiness.Answer{}
		key := fmt.Sprintf("%s\x00%d", name, version)
		if checklists[key] == nil {
			checklists[key] = &catalog.Checklist{Name: name, Version: version}
		}
		r.Checklist = checklists[key]
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get reviews: %w", err)
	}
	return out, nil
}

// scoredAnswer is what scoring reads of an answer.
type scoredAnswer struct {
	review      int64
	item, state string
	expires     time.Time
}

// scoredAnswers reads what scoring needs of the answers of the reviews
// whose IDs are args, in the placeholders in.
func (d *DB) scoredAnswers(ctx context.Context, in string, args []any) ([]scoredAnswer, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT review_id, item, state, expires_at FROM readiness_answers WHERE review_id IN `+in, args...)
	if err != nil {
		return nil, fmt.Errorf("get answers: %w", err)
	}
	defer rows.Close()
	var out []scoredAnswer
	for rows.Next() {
		var a scoredAnswer
		if err := rows.Scan(&a.review, &a.item, &a.state, &a.expires); err != nil {
			return nil, fmt.Errorf("get answers: %w", err)
		}
		a.expires = a.expires.UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get answers: %w", err)
	}
	return out, nil
}

// scoredAuto is what scoring reads of a check's result.
type scoredAuto struct {
	Result fact.Result `json:"result"`
	Error  string      `json:"error,omitempty"`
}

// Feedback returns the feedback on checklist name, newest first.
func (d *DB) Feedback(ctx context.Context, checklist string) ([]readiness.Feedback, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT checklist, version, review_id, service, text, given_by, given_at FROM readiness_feedback WHERE checklist = $1 ORDER BY id DESC LIMIT 1000`, checklist)
	if err != nil {
		return nil, fmt.Errorf("feedback: %w", err)
	}
	defer rows.Close()
	out := []readiness.Feedback{}
	for rows.Next() {
		var f readiness.Feedback
		if err := rows.Scan(&f.Checklist, &f.Version, &f.ReviewID, &f.Service, &f.Text, &f.By, &f.At); err != nil {
			return nil, fmt.Errorf("feedback: %w", err)
		}
		f.At = f.At.UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}
