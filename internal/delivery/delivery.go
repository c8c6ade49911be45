// Package delivery works the outbox: it claims due chat messages, hands
// them to a notify.Sender, and records each result: sent (with the
// message's reference, for later updates), retried with exponential backoff
// or the platform's Retry-After, or failed at once when the sender says the
// message can never be delivered. Several replicas may run it on one
// database. It knows no chat platform and no database.
package delivery

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tsuna-sre/tsuna/internal/notify"
)

// Item is a message claimed for delivery.
type Item struct {
	ID int64
	// Key threads the messages of one subject in one channel.
	Key      string
	Channel  string
	Message  notify.Message
	Attempts int // before this one
	// Ref names the message already posted for Key in Channel: set, the
	// delivery updates it.
	Ref notify.Ref
}

// Outbox is the durable queue of messages.
type Outbox interface {
	// ClaimOutbox claims up to limit due messages, hidden from other
	// claimers for lease.
	ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]Item, error)
	// MarkSent records a delivered message and its reference.
	MarkSent(ctx context.Context, it Item, ref notify.Ref) error
	// MarkRetry schedules another attempt at at; after maxAttempts the
	// message is failed and kept.
	MarkRetry(ctx context.Context, it Item, at time.Time, cause string, maxAttempts int) error
	// MarkFailed fails the message for good, keeping why.
	MarkFailed(ctx context.Context, it Item, cause string) error
}

// Failure reasons, the values of the failures metric's reason label.
const (
	ReasonPermanent = "permanent"    // the platform refused the message for good
	ReasonRateLimit = "rate_limited" // retried after the platform's Retry-After
	ReasonTransient = "transient"    // retried with backoff
)

// Loop delivers messages until its context ends.
type Loop struct {
	Outbox      Outbox
	Sender      notify.Sender
	Log         *slog.Logger
	Interval    time.Duration // how often to look for due messages
	Lease       time.Duration // how long a claimed message is hidden from others: longer than a send (10 s)
	MaxAttempts int           // then a message is failed and kept
	MaxBackoff  time.Duration

	wake     chan struct{}
	sent     prometheus.Counter
	failures *prometheus.CounterVec
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

// New returns a Loop with sensible defaults.
func New(o Outbox, s notify.Sender, log *slog.Logger) *Loop {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Loop{Outbox: o, Sender: s, Log: log, Interval: time.Second, Lease: 30 * time.Second, MaxAttempts: 50, MaxBackoff: 5 * time.Minute,
		wake: make(chan struct{}, 1),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "tsuna_chat_messages_sent_total", Help: "Chat messages delivered."}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tsuna_chat_delivery_failures_total",
			Help: "Chat delivery attempts that failed, by reason: permanent (failed for good), rate_limited or transient (retried).",
		}, []string{"reason"}),
	}
	for _, r := range []string{ReasonPermanent, ReasonRateLimit, ReasonTransient} {
		l.failures.WithLabelValues(r)
	}
	return l
}

// Collectors returns the loop's metrics, to register where /metrics serves.
func (l *Loop) Collectors() []prometheus.Collector {
	return []prometheus.Collector{l.sent, l.failures}
}

// Wake makes the loop look for messages now.
func (l *Loop) Wake() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Start runs the loop in a goroutine until Close or ctx ends.
func (l *Loop) Start(ctx context.Context) {
	ctx, l.stop = context.WithCancel(ctx)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.Run(ctx)
	}()
}

// Close stops a started loop and waits for it; a send in flight is
// cancelled and its message retried later.
func (l *Loop) Close() {
	if l.stop != nil {
		l.stop()
	}
	l.wg.Wait()
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
	items, err := l.Outbox.ClaimOutbox(ctx, 10, l.Lease)
	if err != nil {
		if ctx.Err() == nil {
			l.Log.Warn("claim outbox", "err", err)
		}
		return 0
	}
	for _, it := range items {
		l.deliver(ctx, it)
	}
	return len(items)
}

// deliver sends one item and records the outcome.
func (l *Loop) deliver(ctx context.Context, it Item) {
	ref, err := l.Sender.Send(ctx, it.Channel, it.Ref, it.Message)
	record := context.WithoutCancel(ctx)
	if err == nil {
		if err := l.Outbox.MarkSent(record, it, ref); err != nil {
			l.Log.Error("mark sent", "id", it.ID, "err", err)
		}
		l.sent.Inc()
		return
	}
	var perm *notify.PermanentError
	if errors.As(err, &perm) {
		l.failures.WithLabelValues(ReasonPermanent).Inc()
		l.Log.Error("chat message refused for good; not retrying", "id", it.ID, "channel", it.Channel, "reason", perm.Reason)
		if err := l.Outbox.MarkFailed(record, it, perm.Reason); err != nil {
			l.Log.Error("mark failed", "id", it.ID, "err", err)
		}
		return
	}
	wait, reason := l.backoff(it.Attempts), ReasonTransient
	var ra *notify.RetryAfterError
	if errors.As(err, &ra) {
		wait, reason = ra.After, ReasonRateLimit
	}
	l.failures.WithLabelValues(reason).Inc()
	l.Log.Warn("chat delivery failed; will retry", "id", it.ID, "channel", it.Channel, "attempt", it.Attempts+1, "retry_in", wait, "err", err)
	if err := l.Outbox.MarkRetry(record, it, time.Now().Add(wait), err.Error(), l.MaxAttempts); err != nil {
		l.Log.Error("mark retry", "id", it.ID, "err", err)
	}
}

// backoff is 1 s, 2 s, 4 s, ... up to MaxBackoff, with ±20 % jitter.
func (l *Loop) backoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 20)
	if d > l.MaxBackoff || d <= 0 {
		d = l.MaxBackoff
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
