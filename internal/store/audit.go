package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tsuna-sre/tsuna/internal/audit"
)

const auditColumns = `seq, time, actor, source, action, kind, name, before, after, request_id, prev_hash, hash, mac`

// appendAudit seals recs onto the end of the chain and inserts them. The
// caller holds the audit lock (lockAudit) in tx.
func (d *DB) appendAudit(ctx context.Context, tx *sql.Tx, recs []*audit.Record) error {
	var prev *audit.Record
	row := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`)
	var last audit.Record
	switch err := row.Scan(&last.Seq, &last.Hash); {
	case err == nil:
		prev = &last
	case errors.Is(err, sql.ErrNoRows):
	default:
		return fmt.Errorf("audit: read last record: %w", err)
	}
	rows := make([][]any, len(recs))
	for i, r := range recs {
		audit.Seal(r, prev, d.auditKey)
		prev = r
		rows[i] = []any{r.Seq, r.Time, r.Actor, r.Source, r.Action, r.Kind, r.Name,
			nullJSON(r.Before), nullJSON(r.After), r.RequestID, r.PrevHash, r.Hash, r.MAC}
	}
	if err := d.insertRows(ctx, tx, `INSERT INTO audit_log (`+auditColumns+`)`, "", 13, rows); err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	return nil
}

func nullJSON(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return string(m)
}

// AuditRecords returns the records that match f, newest first.
func (d *DB) AuditRecords(ctx context.Context, f audit.Filter) ([]audit.Record, error) {
	var w filter
	if f.Actor != "" {
		w.add("actor = $%d", f.Actor)
	}
	if f.Kind != "" {
		w.add("kind = $%d", f.Kind)
	}
	if f.Name != "" {
		w.add("name = $%d", f.Name)
	}
	w.during("time", f.Since, f.Until)
	if f.Before > 0 {
		w.add("seq < $%d", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log` + w.clause() + fmt.Sprintf(" ORDER BY seq DESC LIMIT %d", limit)
	rows, err := d.db.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list audit records: %w", err)
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

func scanAudit(rows *sql.Rows) (audit.Record, error) {
	var r audit.Record
	var before, after sql.NullString
	if err := rows.Scan(&r.Seq, &r.Time, &r.Actor, &r.Source, &r.Action, &r.Kind, &r.Name,
		&before, &after, &r.RequestID, &r.PrevHash, &r.Hash, &r.MAC); err != nil {
		return r, fmt.Errorf("scan audit record: %w", err)
	}
	r.Time = r.Time.UTC()
	if before.Valid {
		r.Before = json.RawMessage(before.String)
	}
	if after.Valid {
		r.After = json.RawMessage(after.String)
	}
	return r, nil
}

// SetAuditKey sets the key whose HMAC every new audit record carries, and
// that VerifyAudit checks.
func (d *DB) SetAuditKey(key []byte) { d.auditKey = key }

// AuditHead returns the newest record's checkpoint, or nil on an empty log.
func (d *DB) AuditHead(ctx context.Context) (*audit.Checkpoint, error) {
	var c audit.Checkpoint
	err := d.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&c.Seq, &c.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit head: %w", err)
	}
	return &c, nil
}

// VerifyAudit walks the whole audit log in order and checks its hash
// chain, the MAC of each record when the store has the audit key, and that
// cp (when not nil) is still in the log, unchanged.
func (d *DB) VerifyAudit(ctx context.Context, cp *audit.Checkpoint) (audit.Verification, error) {
	v := audit.Verifier{Key: d.auditKey, Checkpoint: cp}
	res := audit.Verification{Keyed: len(d.auditKey) > 0}
	finish := func(b *audit.Break, last *audit.Record) (audit.Verification, error) {
		if b == nil {
			b = v.Finish()
		}
		res.Verified, res.Unkeyed, res.Break, res.OK = v.Checked(), v.Unkeyed(), b, b == nil
		if last != nil && b == nil {
			res.Head = &audit.Checkpoint{Seq: last.Seq, Hash: last.Hash}
		}
		return res, nil
	}
	const page = 5000
	after := int64(0)
	var last *audit.Record
	for {
		rows, err := d.db.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, after, page)
		if err != nil {
			return res, fmt.Errorf("verify audit log: %w", err)
		}
		n := 0
		for rows.Next() {
			r, err := scanAudit(rows)
			if err != nil {
				rows.Close()
				return res, err
			}
			n++
			after = r.Seq
			if b := v.Check(&r); b != nil {
				rows.Close()
				return finish(b, nil)
			}
			last = &r
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return res, fmt.Errorf("verify audit log: %w", err)
		}
		rows.Close()
		if n < page {
			return finish(nil, last)
		}
	}
}
