// Package client calls tsuna's HTTP API for the CLI.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/budget"
)

// Client calls one tsuna server with one token.
type Client struct {
	base   string
	token  string
	source string
	http   *http.Client
}

// New returns a client for the server at base, sending token and naming
// source (such as "cli") as the surface of its changes.
func New(base, token, source string) *Client {
	return &Client{base: strings.TrimRight(base, "/"), token: token, source: source,
		http: &http.Client{Timeout: 5 * time.Minute}}
}

// Error is a problem the server answered with.
type Error struct {
	Status  int
	Problem api.Problem
}

// Error returns the server's detail, never the request's credentials.
func (e *Error) Error() string {
	if e.Problem.Detail != "" {
		return fmt.Sprintf("server answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Problem.Detail)
	}
	return fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("server URL %q: %w", c.base, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.source != "" {
		req.Header.Set(api.HeaderSource, c.source)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// url.Error holds the URL only; the token is in a header.
		return fmt.Errorf("cannot reach tsuna at %s: %w", c.base, unwrapURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 400 {
		e := &Error{Status: resp.StatusCode}
		json.Unmarshal(data, &e.Problem)
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response from %s: %w", path, err)
	}
	return nil
}

func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// Apply sends catalog files to be applied.
func (c *Client) Apply(ctx context.Context, req api.ApplyRequest) (*api.ApplyResponse, error) {
	var out api.ApplyResponse
	return &out, c.do(ctx, http.MethodPost, "/api/v1/catalog", req, &out)
}

// CreateToken creates a token and returns it with its secret.
func (c *Client) CreateToken(ctx context.Context, req api.CreateTokenRequest) (*api.CreateTokenResponse, error) {
	var out api.CreateTokenResponse
	return &out, c.do(ctx, http.MethodPost, "/api/v1/tokens", req, &out)
}

// Tokens lists tokens, every page.
func (c *Client) Tokens(ctx context.Context) ([]*auth.Token, error) {
	return pages(ctx, c, "/api/v1/tokens", nil, MaxListItems, func(l *api.TokenList) ([]*auth.Token, string) { return l.Tokens, l.Next })
}

// MaxListItems bounds what a list call gathers across pages.
const MaxListItems = 100000

// pages gets path?q page after page, following "next", until the last page
// or max items.
func pages[L any, T any](ctx context.Context, c *Client, path string, q url.Values, max int, items func(*L) ([]T, string)) ([]T, error) {
	q = maps.Clone(q)
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", "1000")
	var all []T
	for {
		var l L
		if err := c.do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &l); err != nil {
			return all, err
		}
		got, next := items(&l)
		all = append(all, got...)
		if next == "" || len(all) >= max {
			return all, nil
		}
		q.Set("cursor", next)
	}
}

// RevokeToken revokes the token named name.
func (c *Client) RevokeToken(ctx context.Context, name string) (*auth.Token, error) {
	var out auth.Token
	return &out, c.do(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(name), nil, &out)
}

// Audit lists audit records matching the query parameters q.
func (c *Client) Audit(ctx context.Context, q url.Values) ([]audit.Record, error) {
	var out api.AuditList
	return out.Records, c.do(ctx, http.MethodGet, "/api/v1/audit?"+q.Encode(), nil, &out)
}

// VerifyAudit asks the server to check the audit chain.
func (c *Client) VerifyAudit(ctx context.Context, cp *audit.Checkpoint) (*api.AuditVerification, error) {
	var out api.AuditVerification
	path := "/api/v1/audit/verify"
	if cp != nil {
		path += "?checkpoint=" + url.QueryEscape(cp.String())
	}
	return &out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// AuditHead returns the newest audit record's checkpoint; nil on an empty log.
func (c *Client) AuditHead(ctx context.Context) (*audit.Checkpoint, error) {
	var out api.AuditHead
	return out.Head, c.do(ctx, http.MethodGet, "/api/v1/audit/head", nil, &out)
}

// SLOs returns the status of the SLOs matching q (team, service).
func (c *Client) SLOs(ctx context.Context, q url.Values) ([]budget.Status, error) {
	return pages(ctx, c, "/api/v1/slos", q, MaxListItems, func(l *api.SLOList) ([]budget.Status, string) { return l.SLOs, l.Next })
}

// SLO returns the status of one SLO.
func (c *Client) SLO(ctx context.Context, service, name string) (*budget.Status, error) {
	var out budget.Status
	return &out, c.do(ctx, http.MethodGet, "/api/v1/services/"+url.PathEscape(service)+"/slos/"+url.PathEscape(name), nil, &out)
}

// DeployGate asks whether service may deploy now.
func (c *Client) DeployGate(ctx context.Context, service string) (*budget.Decision, error) {
	var out budget.Decision
	return &out, c.do(ctx, http.MethodGet, "/api/v1/services/"+url.PathEscape(service)+"/deploy-gate", nil, &out)
}

// Alerts lists stored alerts matching q (state, team, service, routed),
// every page.
func (c *Client) Alerts(ctx context.Context, q url.Values) ([]alerting.StoredAlert, error) {
	return pages(ctx, c, "/api/v1/alerts", q, MaxListItems, func(l *api.AlertList) ([]alerting.StoredAlert, string) { return l.Alerts, l.Next })
}
