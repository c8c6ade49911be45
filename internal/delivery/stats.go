package delivery

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tsuna-sre/tsuna"
)

// States lists every outbox state: pending, sent, failed and superseded.
var States = []string{"pending", "sent", "failed", "superseded"}

// Reasons a failed message failed, the values of FailedByReason's keys
// besides the platform's own error codes (such as channel_not_found).
const (
	FailReasonExhausted   = "retries_exhausted" // every attempt failed with a transient error
	FailReasonUndecodable = "undecodable"       // the stored message could not be read
	FailReasonRefused     = "refused"           // refused for good without a code
)

// Entry is a stored outbox message as `tsuna outbox list` shows it: its
// delivery state, with the id and next attempt an SRE looks for.
type Entry struct {
	ID            int64      `json:"id"`
	Key           string     `json:"key"`
	Channel       string     `json:"channel"`
	Title         string     `json:"title"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"nextAttemptAt"`
	LastError     string     `json:"lastError"`
	CreatedAt     time.Time  `json:"createdAt"`
	SentAt        *time.Time `json:"sentAt"`
}

// Filter selects outbox records: State "" is every state; Limit is 1 to
// 1000 (0 means 100).
type Filter struct {
	State string
	Limit int
}

// Validate checks f, naming the query parameter to change.
func (f *Filter) Validate() error {
	if f.State != "" && !slices.Contains(States, f.State) {
		return tsuna.Errorf(tsuna.EINVALID, "state: %q; use one of %s", f.State, strings.Join(States, ", "))
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 1 || f.Limit > 1000 {
		return tsuna.Errorf(tsuna.EINVALID, "limit: %d; use 1 to 1000", f.Limit)
	}
	return nil
}

// Stats summarises the outbox across every replica: what an SRE alerts on.
type Stats struct {
	// States counts messages in each state (every state is present).
	States map[string]int64 `json:"states"`
	// Retrying counts pending messages whose last attempt failed.
	Retrying int64 `json:"retrying"`
	// OldestPending is when the oldest pending message was queued; nil
	// when none is pending.
	OldestPending *time.Time `json:"oldestPending"`
	// OldestPendingAgeSeconds is how long the oldest pending message has
	// waited, 0 when none is pending.
	OldestPendingAgeSeconds float64 `json:"oldestPendingAgeSeconds"`
	// MaxPendingAttempts is the most attempts made on any pending message.
	MaxPendingAttempts int64 `json:"maxPendingAttempts"`
	// Attempts counts every delivery attempt ever made.
	Attempts int64 `json:"attempts"`
	// FailedByReason counts failed messages by why they failed: the chat
	// platform's error code (channel_not_found, not_in_channel, ...),
	// retries_exhausted, undecodable or refused.
	FailedByReason map[string]int64 `json:"failedByReason"`
}

// FailReason turns the cause stored with a failed message into a short,
// bounded reason: a chat platform's error code when the cause ends with one
// (as "slack refused the message: channel_not_found" does), else one of the
// FailReason constants.
func FailReason(cause string) string {
	switch {
	case strings.HasPrefix(cause, "stored message is not a chat message"):
		return FailReasonUndecodable
	case strings.Contains(cause, "refused the message"):
		_, code, _ := strings.Cut(cause, "refused the message: ")
		if isCode(code) {
			return code
		}
		return FailReasonRefused
	}
	return FailReasonExhausted
}

// isCode reports whether s looks like a platform error code: 1 to 40 of
// a-z, 0-9 and _.
func isCode(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// StatsReader reads the outbox's statistics; *store.DB implements it.
type StatsReader interface {
	OutboxStats(ctx context.Context, now time.Time) (*Stats, error)
}

// Lister lists outbox messages; *store.DB implements it.
type Lister interface {
	StatsReader
	OutboxMessages(ctx context.Context, f Filter) ([]Entry, error)
}

// Collector exports the outbox's statistics as Prometheus metrics, read
// from the database at each scrape, so every replica reports the same
// cluster-wide figures.
type Collector struct {
	r   StatsReader
	log *slog.Logger
	now func() time.Time

	messages, retrying, oldest, maxAttempts, attempts, failed, up *prometheus.Desc
}

// NewCollector returns a collector reading r.
func NewCollector(r StatsReader, log *slog.Logger) *Collector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Collector{r: r, log: log, now: time.Now,
		messages: prometheus.NewDesc("tsuna_outbox_messages", "Chat messages in the outbox, by state (pending is the backlog).", []string{"state"}, nil),
		retrying: prometheus.NewDesc("tsuna_outbox_retrying_messages", "Pending chat messages whose last delivery attempt failed.", nil, nil),
		oldest: prometheus.NewDesc("tsuna_outbox_oldest_pending_age_seconds",
			"How long the oldest pending chat message has waited; 0 when none is pending.", nil, nil),
		maxAttempts: prometheus.NewDesc("tsuna_outbox_pending_max_attempts", "The most delivery attempts made on any pending chat message.", nil, nil),
		attempts:    prometheus.NewDesc("tsuna_outbox_delivery_attempts_total", "Delivery attempts of every chat message in the outbox.", nil, nil),
		failed: prometheus.NewDesc("tsuna_outbox_failed_messages",
			"Chat messages given up, by reason: the chat platform's error code, retries_exhausted, undecodable or refused.", []string{"reason"}, nil),
		up: prometheus.NewDesc("tsuna_outbox_stats_up", "1 when the outbox statistics could be read from the database, else 0.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.messages, c.retrying, c.oldest, c.maxAttempts, c.attempts, c.failed, c.up} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one query of the database,
// bounded by 5 seconds.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.r.OutboxStats(ctx, c.now())
	if err != nil {
		c.log.Warn("read outbox statistics", "err", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, s := range States {
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(st.States[s]), s)
	}
	ch <- prometheus.MustNewConstMetric(c.retrying, prometheus.GaugeValue, float64(st.Retrying))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, st.OldestPendingAgeSeconds)
	ch <- prometheus.MustNewConstMetric(c.maxAttempts, prometheus.GaugeValue, float64(st.MaxPendingAttempts))
	ch <- prometheus.MustNewConstMetric(c.attempts, prometheus.CounterValue, float64(st.Attempts))
	for reason, n := range st.FailedByReason {
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, float64(n), reason)
	}
}
