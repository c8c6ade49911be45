package budget

import (
	"context"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// Event is a count of good and total events at a time, pushed by a client
// with a key that makes retries safe.
type Event struct {
	Key       string    `json:"key"`
	Timestamp time.Time `json:"timestamp"`
	Good      int64     `json:"good"`
	Total     int64     `json:"total"`
}

// Limits on pushed events. A count per event and a sum per minute far
// beyond any real service's traffic are refused, so no push can overflow a
// sum and wash out the bad events before it.
const (
	MaxEvents      = 1000    // events in one push
	MaxEventCount  = 1 << 40 // good or total of one event (about 10^12)
	MaxMinuteCount = 1 << 50 // total of one SLO in one minute (about 10^15)
	MaxKeyLen      = 128
)

// EventStore keeps pushed events.
type EventStore interface {
	// AddEvents stores events for an SLO in one transaction, each once,
	// and returns how many were new.
	AddEvents(ctx context.Context, service, slo string, events []Event) (int, error)
}

// ValidateEvents checks a push of events for o at now: a key per count,
// timestamps inside the SLO's period and not in the future, and
// 0 <= good <= total. Its error names the field of the first bad event.
func ValidateEvents(o *slo.SLO, events []Event, now time.Time) error {
	if o.SLI.Events == nil {
		return tsuna.Errorf(tsuna.EINVALID, "SLO %s/%s reads Prometheus: declare `sli: {events: {}}` to push events to tsuna", o.Service, o.Name)
	}
	switch {
	case len(events) == 0:
		return tsuna.Errorf(tsuna.EINVALID, "events: empty; send at least one {key, timestamp, good, total}")
	case len(events) > MaxEvents:
		return tsuna.Errorf(tsuna.EINVALID, "events: %d events; send at most %d per request", len(events), MaxEvents)
	}
	oldest := PeriodStart(o.Window, now).Add(-slo.Day)
	for i, e := range events {
		var msg string
		switch {
		case e.Key == "" || len(e.Key) > MaxKeyLen:
			msg = fmt.Sprintf("events[%d].key: give a key of 1 to %d characters, unique per count, so a retry counts once", i, MaxKeyLen)
		case !printable(e.Key):
			msg = fmt.Sprintf("events[%d].key: only printable characters (no control characters or NUL)", i)
		case e.Timestamp.IsZero():
			msg = fmt.Sprintf("events[%d].timestamp: required, in RFC 3339 (2026-01-02T15:04:05Z)", i)
		case e.Timestamp.After(now.Add(5 * time.Minute)):
			msg = fmt.Sprintf("events[%d].timestamp: %s is in the future; check the client's clock", i, e.Timestamp.Format(time.RFC3339))
		case e.Timestamp.Before(oldest):
			msg = fmt.Sprintf("events[%d].timestamp: %s is before this SLO's period; it would count for nothing", i, e.Timestamp.Format(time.RFC3339))
		case e.Good < 0 || e.Total < 0 || e.Good > e.Total:
			msg = fmt.Sprintf("events[%d]: good (%d) and total (%d) must satisfy 0 <= good <= total", i, e.Good, e.Total)
		case e.Total > MaxEventCount:
			msg = fmt.Sprintf("events[%d].total: %d is over the limit of %d events in one count; split it across keys and minutes", i, e.Total, int64(MaxEventCount))
		}
		if msg != "" {
			return tsuna.Errorf(tsuna.EINVALID, "%s; nothing was stored", msg)
		}
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
