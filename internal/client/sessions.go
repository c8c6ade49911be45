package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/auth"
)

// Sessions lists console sessions: the caller's own, or everyone's for
// an admin (token, when set, picks one token's); ended ones too with
// ended.
func (c *Client) Sessions(ctx context.Context, token string, ended bool) ([]*auth.Session, error) {
	q := url.Values{}
	if token != "" {
		q.Set("token", token)
	}
	if ended {
		q.Set("ended", "true")
	}
	path := "/api/v1/sessions"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out api.SessionList
	return out.Sessions, c.do(ctx, http.MethodGet, path, nil, &out)
}

// RevokeSession ends console session id.
func (c *Client) RevokeSession(ctx context.Context, id string) (*auth.Session, error) {
	var out auth.Session
	return &out, c.do(ctx, http.MethodDelete, "/api/v1/sessions/"+url.PathEscape(id), nil, &out)
}
