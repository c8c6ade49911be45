package postmortem

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the open and overdue follow-up actions of each team
// as the database holds them: the same figures on every replica.
type Collector struct {
	store   Store
	log     *slog.Logger
	now     func() time.Time
	open    *prometheus.Desc
	overdue *prometheus.Desc
}

// NewCollector returns a Collector over store.
func NewCollector(store Store, log *slog.Logger) *Collector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Collector{store: store, log: log, now: time.Now,
		open:    prometheus.NewDesc("tsuna_postmortem_actions_open", "Open postmortem follow-up actions, by team.", []string{"team"}, nil),
		overdue: prometheus.NewDesc("tsuna_postmortem_actions_overdue", "Open postmortem follow-up actions past their due date, by team.", []string{"team"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) { ch <- c.open; ch <- c.overdue }

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.store.ActionCounts(ctx, c.now())
	if err != nil {
		c.log.Warn("count postmortem actions", "err", err)
		return
	}
	for _, t := range counts {
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(t.Open), t.Team)
		ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(t.Overdue), t.Team)
	}
}
