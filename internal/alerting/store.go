package alerting

import (
	"context"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/notify"
)

// Notification is an Alertmanager notification, routed, with the chat
// message it sends.
type Notification struct {
	Payload *Payload
	Route   Route
	// Message is the chat message; nil sends nothing.
	Message *notify.Message
}

// StoredAlert is an alert as stored, with its routing.
type StoredAlert struct {
	Fingerprint  string            `json:"fingerprint"`
	Status       string            `json:"status"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	GroupKey     string            `json:"groupKey"`
	Service      string            `json:"service"`
	Team         string            `json:"team"`
	Channel      string            `json:"channel"`
	Routed       bool              `json:"routed"`
	UpdatedAt    time.Time         `json:"updatedAt"`
}

// Filter selects alerts; zero fields match all.
type Filter struct {
	State, Team, Service string
	Unrouted             bool
	// Offset and Limit page the list (Limit 0: 500).
	Offset, Limit int
}

// Validate checks the filter's values.
func (f Filter) Validate() error {
	if f.State != "" && f.State != StateFiring && f.State != StateResolved {
		return tsuna.Errorf(tsuna.EINVALID, "state: %q; use %s or %s", f.State, StateFiring, StateResolved)
	}
	return nil
}

// Store keeps notifications, the state of their alerts, and the chat
// messages they send.
type Store interface {
	// RecordNotifications stores several notifications in one
	// transaction; created[i] tells whether ns[i] was new (not a replay).
	RecordNotifications(ctx context.Context, ns []Notification) (created []bool, err error)
	// Alerts returns the alerts matching f, most recently changed first.
	Alerts(ctx context.Context, f Filter) ([]StoredAlert, error)
	// CountAlerts returns how many alerts match f, ignoring its paging.
	CountAlerts(ctx context.Context, f Filter) (int, error)
}
