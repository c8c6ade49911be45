package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/incident"
)

// DeclareIncident declares an incident, or returns the one declared with
// the same idempotency key.
func (c *Client) DeclareIncident(ctx context.Context, d incident.Declaration) (*incident.Incident, error) {
	var out incident.Incident
	return &out, c.do(ctx, http.MethodPost, "/api/v1/incidents", d, &out)
}

// Incidents lists incidents matching q (status, severity, team, service,
// since, until, limit, before).
func (c *Client) Incidents(ctx context.Context, q url.Values) ([]*incident.Incident, error) {
	var out api.IncidentList
	return out.Incidents, c.do(ctx, http.MethodGet, "/api/v1/incidents?"+q.Encode(), nil, &out)
}

// Incident returns one incident by reference (INC-42).
func (c *Client) Incident(ctx context.Context, ref string) (*incident.Incident, error) {
	var out incident.Incident
	return &out, c.do(ctx, http.MethodGet, "/api/v1/incidents/"+url.PathEscape(ref), nil, &out)
}

// UpdateIncident applies a change to an incident.
func (c *Client) UpdateIncident(ctx context.Context, ref string, ch incident.Change) (*incident.Incident, error) {
	var out incident.Incident
	return &out, c.do(ctx, http.MethodPatch, "/api/v1/incidents/"+url.PathEscape(ref), ch, &out)
}

// IncidentTimeline returns an incident's timeline, oldest first.
func (c *Client) IncidentTimeline(ctx context.Context, ref string) (*api.TimelineList, error) {
	var out api.TimelineList
	return &out, c.do(ctx, http.MethodGet, "/api/v1/incidents/"+url.PathEscape(ref)+"/timeline", nil, &out)
}

// AddTimelineEntry adds a note or a status update to an incident.
func (c *Client) AddTimelineEntry(ctx context.Context, ref string, req api.TimelineRequest) (*incident.Incident, error) {
	var out incident.Incident
	return &out, c.do(ctx, http.MethodPost, "/api/v1/incidents/"+url.PathEscape(ref)+"/timeline", req, &out)
}

// IncidentMetrics returns TTD/TTA/TTM/TTR over a period (q: since, until, by).
func (c *Client) IncidentMetrics(ctx context.Context, q url.Values) (*incident.Report, error) {
	var out incident.Report
	return &out, c.do(ctx, http.MethodGet, "/api/v1/incidents/metrics?"+q.Encode(), nil, &out)
}
