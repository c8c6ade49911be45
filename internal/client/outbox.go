package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/delivery"
)

// Outbox lists the outbox's chat messages matching q (state, limit),
// newest first.
func (c *Client) Outbox(ctx context.Context, q url.Values) ([]delivery.Entry, error) {
	var out api.OutboxList
	return out.Messages, c.do(ctx, http.MethodGet, "/api/v1/outbox?"+q.Encode(), nil, &out)
}

// OutboxStats returns the outbox's statistics across every replica.
func (c *Client) OutboxStats(ctx context.Context) (*delivery.Stats, error) {
	var out delivery.Stats
	return &out, c.do(ctx, http.MethodGet, "/api/v1/outbox/stats", nil, &out)
}
