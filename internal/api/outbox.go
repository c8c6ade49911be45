package api

import "github.com/tsuna-sre/tsuna/internal/delivery"

// OutboxList is the body of GET /api/v1/outbox: chat messages, newest
// first.
type OutboxList struct {
	Messages []delivery.Entry `json:"messages"`
}
