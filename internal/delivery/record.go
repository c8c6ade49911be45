package delivery

import (
	"time"

	"github.com/tsuna-sre/tsuna/internal/notify"
)

// States of an outbox message.
const (
	StatePending    = "pending"    // waiting for its first or next attempt
	StateSent       = "sent"       // the chat platform accepted it
	StateFailed     = "failed"     // given up: permanently refused, or out of attempts
	StateSuperseded = "superseded" // a later message of its thread replaced it before it was sent
)

// Record is an outbox message as it stands: what was queued for a thread
// and a channel, and how far its delivery got. The console shows it beside
// the alert that produced it.
type Record struct {
	Key       string         `json:"key"`
	Channel   string         `json:"channel"`
	Message   notify.Message `json:"message"`
	State     string         `json:"state"`
	Attempts  int            `json:"attempts"`
	LastError string         `json:"lastError,omitempty"`
	CreatedAt time.Time      `json:"createdAt"`
	SentAt    *time.Time     `json:"sentAt,omitempty"`
	// Ref names the chat message posted for the thread, once one was.
	Ref notify.Ref `json:"ref,omitzero"`
}
