package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/tsuna-sre/tsuna/internal/audit"
)

// KindSession is the audit kind of console sessions.
const KindSession = "Session"

// DefaultSessionTTL is how long a console session lasts after sign-in.
const DefaultSessionTTL = 12 * time.Hour

// Session is a signed-in person's session in the web console. It acts with
// the rights of the token it was created from: revoking that token ends
// it. Its secret (the cookie) is never stored: only its hash. ID is a
// public name for listing and revoking, not a credential.
type Session struct {
	ID         string     `json:"id"`
	Token      string     `json:"token"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastSeenAt time.Time  `json:"lastSeenAt"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	// Via says how the person signed in: "token" (a pasted API token);
	// room for single sign-on later.
	Via string `json:"via"`
}

// Live reports whether s may still be used at now.
func (s *Session) Live(now time.Time) bool {
	return s != nil && s.RevokedAt == nil && now.Before(s.ExpiresAt)
}

// NewSessionSecret returns a new random session secret and its public ID.
func NewSessionSecret() (secret, id string) {
	b := make([]byte, 40)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return hex.EncodeToString(b[:32]), hex.EncodeToString(b[32:])
}

// SessionStore keeps console sessions.
type SessionStore interface {
	// CreateSession stores s with the hash of its secret and records it
	// in the audit log.
	CreateSession(ctx context.Context, s *Session, secretHash string, actor audit.Actor) error
	// SessionBySecretHash returns the live session whose secret hashes to
	// hash and the live token it acts for; EUNAUTHORIZED when there is
	// none, it expired or was revoked, or its token was revoked.
	SessionBySecretHash(ctx context.Context, hash string, now time.Time) (*Session, *Token, error)
	// TouchSession records that the session was used at now.
	TouchSession(ctx context.Context, id string, now time.Time) error
	// Sessions returns the sessions of token (every token when ""),
	// newest first, ended ones included when all is set.
	Sessions(ctx context.Context, token string, all bool) ([]*Session, error)
	// RevokeSession ends the session id, recording it in the audit log.
	RevokeSession(ctx context.Context, id string, actor audit.Actor) (*Session, error)
}
