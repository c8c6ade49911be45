package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

func pmPath(ref string) string { return "/api/v1/postmortems/" + url.PathEscape(ref) }

// DraftPostmortem drafts the postmortem of an incident, or returns the one
// it has.
func (c *Client) DraftPostmortem(ctx context.Context, req postmortem.DraftRequest) (*postmortem.Postmortem, error) {
	var out postmortem.Postmortem
	return &out, c.do(ctx, http.MethodPost, "/api/v1/postmortems", req, &out)
}

// Postmortems lists postmortems (q: status, service, team, severity,
// label, since, until, limit, before): the library by default.
func (c *Client) Postmortems(ctx context.Context, q url.Values) ([]*postmortem.Postmortem, error) {
	var out api.PostmortemList
	return out.Postmortems, c.do(ctx, http.MethodGet, "/api/v1/postmortems?"+q.Encode(), nil, &out)
}

// SearchPostmortems searches the library (q holds q and the filters).
func (c *Client) SearchPostmortems(ctx context.Context, q url.Values) (*api.SearchResults, error) {
	var out api.SearchResults
	return &out, c.do(ctx, http.MethodGet, "/api/v1/postmortems/search?"+q.Encode(), nil, &out)
}

// Postmortem returns a postmortem by PM-7 or its incident's INC-42.
func (c *Client) Postmortem(ctx context.Context, ref string) (*postmortem.Postmortem, error) {
	var out postmortem.Postmortem
	return &out, c.do(ctx, http.MethodGet, pmPath(ref), nil, &out)
}

// EditPostmortem changes a postmortem.
func (c *Client) EditPostmortem(ctx context.Context, ref string, ch postmortem.Change) (*postmortem.Postmortem, error) {
	var out postmortem.Postmortem
	return &out, c.do(ctx, http.MethodPatch, pmPath(ref), ch, &out)
}

// SetPostmortemStatus moves a postmortem to in_review (with reviewers),
// published or draft.
func (c *Client) SetPostmortemStatus(ctx context.Context, ref string, req api.StatusRequest) (*postmortem.Postmortem, error) {
	var out postmortem.Postmortem
	return &out, c.do(ctx, http.MethodPost, pmPath(ref)+"/status", req, &out)
}

// ExportPostmortem exports a postmortem to the configured GitHub
// repository.
func (c *Client) ExportPostmortem(ctx context.Context, ref string) (*postmortem.Postmortem, error) {
	var out postmortem.Postmortem
	return &out, c.do(ctx, http.MethodPost, pmPath(ref)+"/export", nil, &out)
}

// PostmortemRevisions returns a postmortem's previous texts.
func (c *Client) PostmortemRevisions(ctx context.Context, ref string) ([]postmortem.Revision, error) {
	var out api.RevisionList
	return out.Revisions, c.do(ctx, http.MethodGet, pmPath(ref)+"/revisions", nil, &out)
}

// PostmortemActions returns a postmortem's follow-up actions.
func (c *Client) PostmortemActions(ctx context.Context, ref string) ([]*postmortem.Action, error) {
	var out api.ActionList
	return out.Actions, c.do(ctx, http.MethodGet, pmPath(ref)+"/actions", nil, &out)
}

// AddAction adds a follow-up action to a postmortem.
func (c *Client) AddAction(ctx context.Context, ref string, na postmortem.NewAction) (*postmortem.Action, error) {
	var out postmortem.Action
	return &out, c.do(ctx, http.MethodPost, pmPath(ref)+"/actions", na, &out)
}

// Actions lists follow-up actions (q: team, owner, status, overdue).
func (c *Client) Actions(ctx context.Context, q url.Values) ([]*postmortem.Action, error) {
	var out api.ActionList
	return out.Actions, c.do(ctx, http.MethodGet, "/api/v1/actions?"+q.Encode(), nil, &out)
}

// UpdateAction changes a follow-up action.
func (c *Client) UpdateAction(ctx context.Context, id int64, ch postmortem.ActionChange) (*postmortem.Action, error) {
	var out postmortem.Action
	return &out, c.do(ctx, http.MethodPatch, "/api/v1/actions/"+strconv.FormatInt(id, 10), ch, &out)
}

// PostmortemHints renders Markdown safely and returns its blameless hints.
func (c *Client) PostmortemHints(ctx context.Context, body string) (*api.HintsResponse, error) {
	var out api.HintsResponse
	return &out, c.do(ctx, http.MethodPost, "/api/v1/postmortems/hints", api.HintsRequest{Body: body}, &out)
}

// OnboardingPreview returns the welcome a new member of team gets.
func (c *Client) OnboardingPreview(ctx context.Context, team string) (*api.OnboardingPreview, error) {
	var out api.OnboardingPreview
	return &out, c.do(ctx, http.MethodGet, "/api/v1/onboarding/preview?team="+url.QueryEscape(team), nil, &out)
}
