package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
)

const sessionColumns = `s.id, s.token, s.via, s.created_at, s.last_seen_at, s.expires_at, s.revoked_at`

func scanSession(dest ...any) func(s interface{ Scan(...any) error }) (*auth.Session, error) {
	return func(row interface{ Scan(...any) error }) (*auth.Session, error) {
		var s auth.Session
		var revoked sql.NullTime
		if err := row.Scan(append([]any{&s.ID, &s.Token, &s.Via, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &revoked}, dest...)...); err != nil {
			return nil, err
		}
		s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
		if revoked.Valid {
			r := revoked.Time.UTC()
			s.RevokedAt = &r
		}
		return &s, nil
	}
}

// CreateSession stores s with the hash of its secret (never the secret)
// and records the sign-in in the audit log, in one transaction.
func (d *DB) CreateSession(ctx context.Context, s *auth.Session, secretHash string, actor audit.Actor) error {
	if s.ID == "" || s.Token == "" || secretHash == "" || s.ExpiresAt.IsZero() {
		return tsuna.Errorf(tsuna.EINVALID, "session: id, token, hash and expiry are required")
	}
	if s.Via == "" {
		s.Via = "token"
	}
	now := d.nowUTC()
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = now, now, s.ExpiresAt.UTC().Truncate(time.Microsecond)
	return d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, hash, token, via, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			s.ID, secretHash, s.Token, s.Via, s.CreatedAt, s.LastSeenAt, s.ExpiresAt); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		after, _ := json.Marshal(s)
		return d.appendAudit(ctx, tx, []*audit.Record{actor.Record(now, "create", auth.KindSession, s.ID, nil, after)})
	})
}

// SessionBySecretHash returns the live session whose secret hashes to h,
// and its token, which must be live too.
func (d *DB) SessionBySecretHash(ctx context.Context, h string, now time.Time) (*auth.Session, *auth.Token, error) {
	var t auth.Token
	var tokRevoked sql.NullTime
	s, err := scanSession(&t.Name, &t.Role, &t.Team, &t.CreatedAt, &t.CreatedBy, &tokRevoked)(d.db.QueryRowContext(ctx,
		`SELECT `+sessionColumns+`, t.name, t.role, t.team, t.created_at, t.created_by, t.revoked_at
		FROM sessions s JOIN tokens t ON t.name = s.token WHERE s.hash = $1`, h))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, tsuna.Errorf(tsuna.EUNAUTHORIZED, "no such session: sign in again")
	} else if err != nil {
		return nil, nil, fmt.Errorf("look up session: %w", err)
	}
	switch {
	case s.RevokedAt != nil:
		return nil, nil, tsuna.Errorf(tsuna.EUNAUTHORIZED, "the session was ended: sign in again")
	case tokRevoked.Valid:
		return nil, nil, tsuna.Errorf(tsuna.EUNAUTHORIZED, "the token of this session was revoked: sign in with a live token")
	case !now.Before(s.ExpiresAt):
		return nil, nil, tsuna.Errorf(tsuna.EUNAUTHORIZED, "the session expired: sign in again")
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return s, &t, nil
}

// TouchSession records that session id was used at now.
func (d *DB) TouchSession(ctx context.Context, id string, now time.Time) error {
	if _, err := d.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, now.UTC().Truncate(time.Microsecond), id); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// Sessions returns the sessions of token (of every token when ""), newest
// first: live ones only, unless all is set.
func (d *DB) Sessions(ctx context.Context, token string, all bool) ([]*auth.Session, error) {
	var w filter
	if token != "" {
		w.add("s.token = $%d", token)
	}
	if !all {
		w.add("s.expires_at > $%d", d.nowUTC())
		w.where = append(w.where, "s.revoked_at IS NULL")
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions s`+w.clause()+` ORDER BY s.created_at DESC, s.id LIMIT 1000`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []*auth.Session
	for rows.Next() {
		s, err := scanSession()(rows)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RevokeSession ends session id and records it in the audit log; ending an
// ended session changes nothing.
func (d *DB) RevokeSession(ctx context.Context, id string, actor audit.Actor) (*auth.Session, error) {
	var out *auth.Session
	err := d.tx(ctx, func(tx *sql.Tx) error {
		if err := d.lockAudit(ctx, tx); err != nil {
			return err
		}
		s, err := scanSession()(tx.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE s.id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return tsuna.Errorf(tsuna.ENOTFOUND, "session %q not found; tsuna session list shows them", id)
		} else if err != nil {
			return fmt.Errorf("revoke session: %w", err)
		}
		out = s
		if s.RevokedAt != nil {
			return nil // already ended: nothing changes, nothing to audit
		}
		before, _ := json.Marshal(s)
		now := d.nowUTC()
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2`, now, id); err != nil {
			return fmt.Errorf("revoke session: %w", err)
		}
		s.RevokedAt = &now
		after, _ := json.Marshal(s)
		return d.appendAudit(ctx, tx, []*audit.Record{actor.Record(now, "revoke", auth.KindSession, id, before, after)})
	})
	return out, err
}
