package api

import "github.com/tsuna-sre/tsuna/internal/auth"

// SessionList is the body of GET /api/v1/sessions: console sessions,
// newest first.
type SessionList struct {
	Sessions []*auth.Session `json:"sessions"`
}
