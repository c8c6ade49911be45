package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tsuna-sre/tsuna/internal/api"
)

func reviewPath(service string) string {
	return "/api/v1/readiness/services/" + url.PathEscape(service)
}

func checklistQuery(checklist string) string {
	if checklist == "" {
		return ""
	}
	return "?" + url.Values{"checklist": {checklist}}.Encode()
}

// OpenReview opens (or returns the open) readiness review of service.
func (c *Client) OpenReview(ctx context.Context, service, checklist string) (*api.ReviewView, error) {
	var out api.ReviewView
	return &out, c.do(ctx, http.MethodPost, reviewPath(service)+"/review", api.ReviewRequest{Checklist: checklist}, &out)
}

// Review returns the current readiness review of service.
func (c *Client) Review(ctx context.Context, service, checklist string) (*api.ReviewView, error) {
	var out api.ReviewView
	return &out, c.do(ctx, http.MethodGet, reviewPath(service)+checklistQuery(checklist), nil, &out)
}

// AnswerReview answers an item of the open review of service.
func (c *Client) AnswerReview(ctx context.Context, service string, req api.AnswerRequest) (*api.ReviewView, error) {
	var out api.ReviewView
	return &out, c.do(ctx, http.MethodPost, reviewPath(service)+"/answers", req, &out)
}

// CloseReview closes the open review of service with feedback on the checklist.
func (c *Client) CloseReview(ctx context.Context, service string, req api.CloseRequest) (*api.ReviewView, error) {
	var out api.ReviewView
	return &out, c.do(ctx, http.MethodPost, reviewPath(service)+"/close", req, &out)
}

// ExportReview returns the current review of service as a GitHub issue body.
func (c *Client) ExportReview(ctx context.Context, service, checklist string) (string, error) {
	var out api.ReviewExport
	return out.Body, c.do(ctx, http.MethodGet, reviewPath(service)+"/export"+checklistQuery(checklist), nil, &out)
}

// Scorecard returns every service's readiness level and blocking items (q:
// team, tier, lifecycle, checklist).
func (c *Client) Scorecard(ctx context.Context, q url.Values) (*api.Scorecard, error) {
	var out api.Scorecard
	return &out, c.do(ctx, http.MethodGet, "/api/v1/readiness/scorecard?"+q.Encode(), nil, &out)
}

// ChecklistFeedback returns the retrospectives' feedback on a checklist.
func (c *Client) ChecklistFeedback(ctx context.Context, checklist string) (*api.FeedbackList, error) {
	var out api.FeedbackList
	return &out, c.do(ctx, http.MethodGet, "/api/v1/readiness/checklists/"+url.PathEscape(checklist)+"/feedback", nil, &out)
}
