package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
)

// KindToken is the audit kind of token changes.
const KindToken = "Token"

// CreateToken stores t with the hash of its secret and records it in the
// audit log (never the secret nor its hash).
func (d *DB) CreateToken(ctx context.Context, t *auth.Token, secretHash string, actor audit.Actor) error {
	if err := t.Validate(); err != nil {
		return err
	}
	t.CreatedAt = d.nowUTC()
	t.CreatedBy = actor.Name
	return d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (name, role, team, hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)`,
			t.Name, t.Role, t.Team, secretHash, t.CreatedAt, t.CreatedBy)
		if d.d.isUniqueViolation(err) {
			return tsuna.Errorf(tsuna.ECONFLICT, "a token named %q exists or existed; token names are never reused, pick another", t.Name)
		} else if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		after, _ := json.Marshal(t)
		return d.appendAudit(ctx, tx, []*audit.Record{actor.Record(t.CreatedAt, "create", KindToken, t.Name, nil, after)})
	})
}

// HasTokens reports whether any token was ever created.
func (d *DB) HasTokens(ctx context.Context) (bool, error) {
	var n int
	if err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens`).Scan(&n); err != nil {
		return false, fmt.Errorf("count tokens: %w", err)
	}
	return n > 0, nil
}

const tokenColumns = `name, role, team, created_at, created_by, revoked_at`

func scanToken(s interface{ Scan(...any) error }) (*auth.Token, error) {
	var t auth.Token
	var revoked sql.NullTime
	if err := s.Scan(&t.Name, &t.Role, &t.Team, &t.CreatedAt, &t.CreatedBy, &revoked); err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if revoked.Valid {
		r := revoked.Time.UTC()
		t.RevokedAt = &r
	}
	return &t, nil
}

// TokenBySecretHash returns the live token whose secret hashes to h.
func (d *DB) TokenBySecretHash(ctx context.Context, h string) (*auth.Token, error) {
	t, err := scanToken(d.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1 AND revoked_at IS NULL`, h))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tsuna.Errorf(tsuna.EUNAUTHORIZED, "unknown or revoked token")
	} else if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	return t, nil
}

// Tokens returns every token, revoked ones included, sorted by name.
func (d *DB) Tokens(ctx context.Context) ([]*auth.Token, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []*auth.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes the token named name, so it authenticates no more.
func (d *DB) RevokeToken(ctx context.Context, name string, actor audit.Actor) (*auth.Token, error) {
	var out *auth.Token
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		t, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE name = $1`, name))
		if errors.Is(err, sql.ErrNoRows) {
			return tsuna.Errorf(tsuna.ENOTFOUND, "token %q not found", name)
		} else if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if t.RevokedAt != nil {
			out = t
			return nil // already revoked: nothing changes, nothing to audit
		}
		if t.Role == auth.RoleAdmin {
			var admins int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE role = $1 AND revoked_at IS NULL`, auth.RoleAdmin).Scan(&admins); err != nil {
				return fmt.Errorf("revoke token: %w", err)
			}
			if admins <= 1 {
				return tsuna.Errorf(tsuna.ECONFLICT, "token %q is the last active admin token; create another admin token first (tsuna token create --role admin), then revoke this one", name)
			}
		}
		before, _ := json.Marshal(t)
		now := d.nowUTC()
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $1 WHERE name = $2`, now, name); err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		t.RevokedAt = &now
		after, _ := json.Marshal(t)
		out = t
		return d.appendAudit(ctx, tx, []*audit.Record{actor.Record(now, "revoke", KindToken, name, before, after)})
	})
	return out, err
}
