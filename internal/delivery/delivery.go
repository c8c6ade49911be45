// Package delivery works the outbox: it claims due chat messages, sends
// them, and records each result, retrying with exponential backoff and
// Slack's Retry-After. Several replicas may run it on one database.
package delivery

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tsuna-sre/tsuna/internal/notify/slack"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// Outbox is the durable queue of messages.
type Outbox interface {
	ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]store.OutboxMessage, error)
	MarkSent(ctx context.Context, m store.OutboxMessage, channelID, ts string) error
	MarkRetry(ctx context.Context, m store.OutboxMessage, at time.Time, cause string, maxAttempts int) error
}

// Sender sends one message, or updates it when ts is set.
type Sender interface {
	Send(ctx context.Context, channel, channelID, ts, msg string) (gotChannelID, gotTS string, err error)
}

// Loop delivers messages until its context ends.
type Loop struct {
	Outbox      Outbox
	Sender      Sender
	Log         *slog.Logger
	Interval    time.Duration // how often to look for due messages
	Lease       time.Duration // how long a claimed message is hidden from others: longer than a send (10 s)
	MaxAttempts int           // then a message is failed and kept
	MaxBackoff  time.Duration

	wake    chan struct{}
	sent    prometheus.Counter
	retried prometheus.Counter
}

// Collectors returns the loop's metrics, to register where /metrics serves.
func (l *Loop) Collectors() []prometheus.Collector { return []prometheus.Collector{l.sent, l.retried} }

// New returns a Loop with sensible defaults, registering its metrics in reg
// when it is not nil.
func New(o Outbox, s Sender, log *slog.Logger, reg prometheus.Registerer) *Loop {
	l := &Loop{Outbox: o, Sender: s, Log: log, Interval: time.Second, Lease: 30 * time.Second, MaxAttempts: 50, MaxBackoff: 5 * time.Minute,
		wake:    make(chan struct{}, 1),
		sent:    prometheus.NewCounter(prometheus.CounterOpts{Name: "tsuna_chat_messages_sent_total", Help: "Chat messages delivered."}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{Name: "tsuna_chat_delivery_retries_total", Help: "Chat deliveries that failed and were rescheduled."}),
	}
	if reg != nil {
		reg.MustRegister(l.sent, l.retried)
	}
	return l
}

// Wake makes the loop look for messages now.
func (l *Loop) Wake() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (l *Loop) Run(ctx context.Context) {
	t := time.NewTicker(l.Interval)
	defer t.Stop()
	for {
		for l.once(ctx) > 0 && ctx.Err() == nil {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.wake:
		}
	}
}

// once claims and works one batch; it returns how many it claimed.
func (l *Loop) once(ctx context.Context) int {
	msgs, err := l.Outbox.ClaimOutbox(ctx, 10, l.Lease)
	if err != nil {
		if ctx.Err() == nil {
			l.Log.Warn("claim outbox", "err", err)
		}
		return 0
	}
	for _, m := range msgs {
		channelID, ts, err := l.Sender.Send(ctx, m.Channel, m.ChannelID, m.MessageTS, m.Message)
		if err == nil {
			if err := l.Outbox.MarkSent(context.WithoutCancel(ctx), m, channelID, ts); err != nil {
				l.Log.Error("mark sent", "id", m.ID, "err", err)
			}
			l.sent.Inc()
			continue
		}
		wait := l.backoff(m.Attempts)
		var ra *slack.RetryAfterError
		if errors.As(err, &ra) {
			wait = ra.After
		}
		l.retried.Inc()
		l.Log.Warn("chat delivery failed; will retry", "id", m.ID, "channel", m.Channel, "attempt", m.Attempts+1, "retry_in", wait, "err", err)
		if err := l.Outbox.MarkRetry(context.WithoutCancel(ctx), m, time.Now().Add(wait), err.Error(), l.MaxAttempts); err != nil {
			l.Log.Error("mark retry", "id", m.ID, "err", err)
		}
	}
	return len(msgs)
}

// backoff is 1 s, 2 s, 4 s, ... up to MaxBackoff, with ±20 % jitter.
func (l *Loop) backoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 20)
	if d > l.MaxBackoff || d <= 0 {
		d = l.MaxBackoff
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
