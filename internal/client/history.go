package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tsuna-sre/tsuna/internal/api"
)

// SLOHistory returns the SLI and budget of one SLO over time; q holds
// from, to and step.
func (c *Client) SLOHistory(ctx context.Context, service, name string, q url.Values) (*api.SLOHistory, error) {
	var out api.SLOHistory
	path := "/api/v1/services/" + url.PathEscape(service) + "/slos/" + url.PathEscape(name) + "/history?" + q.Encode()
	return &out, c.do(ctx, http.MethodGet, path, nil, &out)
}
