// Package auth defines API tokens, their roles and what each role may do.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
)

// Roles, from least to most privileged.
const (
	RoleViewer = "viewer" // reads everything
	RoleEditor = "editor" // changes the objects of its own team
	RoleAdmin  = "admin"  // changes everything, manages tokens
)

// TokenPrefix starts every token, so secret scanners can recognise one.
const TokenPrefix = "tsuna_"

// Token is an API credential. Its secret is never stored: only its hash.
type Token struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Team      string     `json:"team,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	CreatedBy string     `json:"createdBy"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// Validate checks a token about to be created.
func (t *Token) Validate() error {
	switch {
	case t.Name == "" || len(t.Name) > 64 || strings.ContainsFunc(t.Name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}):
		return tsuna.Errorf(tsuna.EINVALID, "name: %q is not a token name; use 1-64 lowercase letters, digits, '-', '_' or '.'", t.Name)
	case t.Role != RoleViewer && t.Role != RoleEditor && t.Role != RoleAdmin:
		return tsuna.Errorf(tsuna.EINVALID, "role: %q is not a role; use viewer, editor or admin", t.Role)
	case t.Role == RoleEditor && t.Team == "":
		return tsuna.Errorf(tsuna.EINVALID, "team: an editor changes the objects of one team; give --team")
	case t.Role == RoleAdmin && t.Team != "":
		return tsuna.Errorf(tsuna.EINVALID, "team: an admin token is not scoped to a team; drop --team or use --role editor")
	}
	return nil
}

// NewSecret returns a new random token secret.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// HashSecret returns the stored form of a secret. Secrets carry 256 random
// bits, so a fast hash is enough: there is nothing to brute-force.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CanRead reports whether t may read catalog, audit and other non-secret data.
func (t *Token) CanRead() bool { return t != nil && t.RevokedAt == nil }

// CanChangeTeam reports whether t may change objects owned by team.
func (t *Token) CanChangeTeam(team string) bool {
	if t == nil || t.RevokedAt != nil {
		return false
	}
	switch t.Role {
	case RoleAdmin:
		return true
	case RoleEditor:
		return team != "" && team == t.Team
	}
	return false
}

// IsAdmin reports whether t may manage tokens and change everything.
func (t *Token) IsAdmin() bool { return t != nil && t.RevokedAt == nil && t.Role == RoleAdmin }

// Store keeps tokens.
type Store interface {
	TokenBySecretHash(ctx context.Context, hash string) (*Token, error)
	CreateToken(ctx context.Context, t *Token, secretHash string, actor audit.Actor) error
	Tokens(ctx context.Context) ([]*Token, error)
	RevokeToken(ctx context.Context, name string, actor audit.Actor) (*Token, error)
}
