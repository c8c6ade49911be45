package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/jobs"
)

// The DB is the jobs runner's store.
var (
	_ jobs.Store   = (*DB)(nil)
	_ jobs.Backlog = (*DB)(nil)
)

// Enqueue adds j as a pending job and reports whether it was added: false
// when a job of its kind and key exists, in any state, which is kept.
func (d *DB) Enqueue(ctx context.Context, j jobs.Job) (bool, error) {
	res, err := enqueueJob(ctx, d.db, j, d.nowUTC())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("enqueue job: %w", err)
	}
	return n > 0, nil
}

// enqueueJob validates j and inserts it through q as a pending job made
// at now, unless a job of its kind and key exists (then it inserts no row).
func enqueueJob(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, j jobs.Job, now time.Time) (sql.Result, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	runAt := now
	if !j.RunAt.IsZero() {
		runAt = j.RunAt.UTC().Truncate(time.Microsecond)
	}
	maxAttempts := j.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = jobs.DefaultMaxAttempts
	}
	res, err := q.ExecContext(ctx, `INSERT INTO jobs (kind, key, state, run_at, payload, max_attempts, created_at)
		VALUES ($1, $2, 'pending', $3, $4, $5, $6) ON CONFLICT (kind, key) DO NOTHING`,
		j.Kind, j.Key, runAt, string(j.Payload), maxAttempts, now)
	if err != nil {
		return nil, fmt.Errorf("enqueue job: %w", err)
	}
	return res, nil
}

const jobColumns = `id, kind, key, state, run_at, payload, attempts, max_attempts, last_error`

func scanJob(s interface{ Scan(...any) error }) (jobs.Job, error) {
	var j jobs.Job
	var payload, state string
	if err := s.Scan(&j.ID, &j.Kind, &j.Key, &state, &j.RunAt, &payload, &j.Attempts, &j.MaxAttempts, &j.LastError); err != nil {
		return j, err
	}
	j.State = jobs.State(state)
	j.RunAt = j.RunAt.UTC()
	if payload != "" {
		j.Payload = json.RawMessage(payload)
	}
	return j, nil
}

// Claim leases up to limit due jobs of kinds to owner until lease from
// now, oldest due first, counting an attempt for each; jobs whose last
// attempt's lease ended are failed instead. On PostgreSQL the due rows are
// locked with SKIP LOCKED, so concurrent claims take disjoint jobs without
// waiting for each other; on SQLite the transaction holds the write lock
// from its start, so claims are serial.
func (d *DB) Claim(ctx context.Context, owner string, kinds []string, limit int, lease time.Duration) ([]jobs.Job, error) {
	if owner == "" {
		return nil, errors.New("claim jobs: no owner")
	}
	if len(kinds) == 0 || limit <= 0 {
		return nil, nil
	}
	var out []jobs.Job
	err := d.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		now := d.nowUTC()
		args := []any{now, limit}
		q := `SELECT ` + jobColumns + ` FROM jobs WHERE state IN ('pending', 'running') AND run_at <= $1 AND kind IN (`
		for i, k := range kinds {
			if i > 0 {
				q += ", "
			}
			args = append(args, k)
			q += "$" + strconv.Itoa(len(args))
		}
		q += `) ORDER BY run_at, id LIMIT $2` + d.d.skipLocked("")
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		var claim, exhausted []any
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				rows.Close()
				return err
			}
			if j.State == jobs.Running && j.Attempts >= j.MaxAttempts {
				exhausted = append(exhausted, j.ID)
				continue
			}
			claim = append(claim, j.ID)
			j.State = jobs.Running
			j.Attempts++
			out = append(out, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(exhausted) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'failed', lease_owner = '', finished_at = $1,
				last_error = 'the lease of its last attempt ended before a result was recorded' WHERE id IN (`+jobParams(2, len(exhausted))+`)`,
				append([]any{now}, exhausted...)...); err != nil {
				return err
			}
		}
		if len(claim) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'running', lease_owner = $1, run_at = $2, attempts = attempts + 1
				WHERE id IN (`+jobParams(3, len(claim))+`)`,
				append([]any{owner, now.Add(lease)}, claim...)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	return out, nil
}

// jobParams returns "$first, $first+1, ..." for n parameters.
func jobParams(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(first+i))
	}
	return b.String()
}

// Complete marks the job done if it is still leased to owner, and returns
// jobs.ErrLeaseLost otherwise.
func (d *DB) Complete(ctx context.Context, id int64, owner string) error {
	return d.finishJob(ctx, "complete", `state = 'done', finished_at = $3, last_error = ''`, id, owner, d.nowUTC())
}

// Retry makes the job pending again, due at at, if it is still leased to
// owner, and returns jobs.ErrLeaseLost otherwise.
func (d *DB) Retry(ctx context.Context, id int64, owner string, at time.Time, cause string) error {
	return d.finishJob(ctx, "retry", `state = 'pending', run_at = $3, last_error = $4`, id, owner, at.UTC().Truncate(time.Microsecond), cause)
}

// Fail marks the job failed with cause if it is still leased to owner, and
// returns jobs.ErrLeaseLost otherwise.
func (d *DB) Fail(ctx context.Context, id int64, owner string, cause string) error {
	return d.finishJob(ctx, "fail", `state = 'failed', finished_at = $3, last_error = $4`, id, owner, d.nowUTC(), cause)
}

// finishJob ends a lease with the assignments set, whose parameters start
// at $3.
func (d *DB) finishJob(ctx context.Context, what, set string, id int64, owner string, args ...any) error {
	res, err := d.db.ExecContext(ctx, `UPDATE jobs SET lease_owner = '', `+set+`
		WHERE id = $1 AND state = 'running' AND lease_owner = $2`, append([]any{id, owner}, args...)...)
	if err != nil {
		return fmt.Errorf("%s job %d: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s job %d: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%s job %d: %w", what, id, jobs.ErrLeaseLost)
	}
	return nil
}

// Cancel cancels the pending or running job of kind and key, and reports
// whether there was one.
func (d *DB) Cancel(ctx context.Context, kind, key string) (bool, error) {
	res, err := d.db.ExecContext(ctx, `UPDATE jobs SET state = 'cancelled', lease_owner = '', finished_at = $1
		WHERE kind = $2 AND key = $3 AND state IN ('pending', 'running')`, d.nowUTC(), kind, key)
	if err != nil {
		return false, fmt.Errorf("cancel job: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("cancel job: %w", err)
	}
	return n > 0, nil
}

// DueJobs counts the jobs due and not running: pending ones whose time has
// come and running ones whose lease has ended.
func (d *DB) DueJobs(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE state IN ('pending', 'running') AND run_at <= $1`, d.nowUTC()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count due jobs: %w", err)
	}
	return n, nil
}

// Job returns the job of kind and key. Its RunAt is when it is due or, while
// it runs, when its lease ends.
func (d *DB) Job(ctx context.Context, kind, key string) (jobs.Job, error) {
	j, err := scanJob(d.db.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE kind = $1 AND key = $2`, kind, key))
	if errors.Is(err, sql.ErrNoRows) {
		return j, tsuna.Errorf(tsuna.ENOTFOUND, "no job %s %q", kind, key)
	}
	if err != nil {
		return j, fmt.Errorf("get job: %w", err)
	}
	return j, nil
}
