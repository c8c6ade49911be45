// Package slo models service level objectives and turns them into
// Prometheus rules: error-ratio recordings per alert window, an
// event-weighted period SLI, metadata, and multi-window multi-burn-rate
// alerts whose factors are scaled to each SLO's period.
package slo

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Sources: the format an SLO was read from.
const (
	SourceTsuna        = "tsuna/v1"
	SourceSloth        = "prometheus/v1"
	SourceSlothCRD     = "sloth.slok.dev/v1"
	SourceOpenSLO      = "openslo/v1"
	SourceOpenSLOAlpha = "openslo/v1alpha"
	WindowPlaceholder  = "{{.window}}"
	DefaultPeriod      = 30 * Day
	Day                = 24 * time.Hour
	CalendarMonth      = "month"
	CalendarWeek       = "week"
)

// Alert severities of the burn-rate alerts: a page wakes someone, a ticket
// waits for working hours.
const (
	SeverityPage   = "page"
	SeverityTicket = "ticket"
)

// Severities lists the alert severities, page first.
var Severities = []string{SeverityPage, SeverityTicket}

// SLO is one objective of one service, whatever format declared it.
type SLO struct {
	Service     string            `json:"service"`
	Team        string            `json:"team,omitempty"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Objective   float64           `json:"objective"` // percent, such as 99.9
	Window      Window            `json:"window"`
	SLI         SLI               `json:"sli"`
	Labels      map[string]string `json:"labels,omitempty"` // added to every rule
	Alerting    Alerting          `json:"alerting,omitzero"`
	// AlertWindows are the team's own alert windows (Sloth's AlertWindows
	// document) for the SLO's period; nil uses tsuna's (BurnWindows).
	AlertWindows *WindowSet `json:"alertWindows,omitempty"`
	Runbook      string     `json:"-"` // the service's runbook link
	Source       string     `json:"-"`
	// K8s is the Kubernetes object the SLO was declared in (Sloth's
	// PrometheusServiceLevel): its rules go in a PrometheusRule of the same
	// name, namespace and labels.
	K8s *K8sMeta `json:"-"`
}

// K8sMeta is the metadata of a Kubernetes object.
type K8sMeta struct {
	Name        string
	Namespace   string
	Labels      map[string]string
	Annotations map[string]string
}

// ID is service-slo, unique across a catalog.
func (s *SLO) ID() string { return s.Service + "-" + s.Name }

// Budget is the error budget as a ratio: 1 - objective.
func (s *SLO) Budget() float64 { return 1 - s.Objective/100 }

// Window is the SLO period: rolling over Rolling, or a calendar month or
// week in a time zone.
type Window struct {
	Rolling  Duration `json:"rolling,omitzero"`
	Calendar string   `json:"calendar,omitempty"`
	TimeZone string   `json:"timeZone,omitempty"`
}

// Length is the period used to scale burn factors: the rolling duration,
// 30 days for a calendar month and 7 for a week.
func (w Window) Length() time.Duration {
	switch w.Calendar {
	case CalendarMonth:
		return 30 * Day
	case CalendarWeek:
		return 7 * Day
	}
	if w.Rolling == 0 {
		return DefaultPeriod
	}
	return time.Duration(w.Rolling)
}

// String returns "30d" or "calendar month (Europe/Paris)".
func (w Window) String() string {
	if w.Calendar != "" {
		tz := w.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		return "calendar " + w.Calendar + " (" + tz + ")"
	}
	return FormatDuration(w.Length())
}

// SLI says how good and bad events are counted. Exactly one field is set.
type SLI struct {
	// Ratio counts events with two PromQL expressions holding the
	// {{.window}} placeholder: Errors and Total, or Good and Total.
	Ratio *Ratio `json:"ratio,omitempty"`
	// Raw gives the error ratio directly (Sloth's raw SLI); it carries no
	// event counts, so its period SLI is time-weighted.
	Raw string `json:"raw,omitempty"`
	// Latency counts requests slower than Threshold seconds as errors.
	Latency *Latency `json:"latency,omitempty"`
	// Events are pushed to tsuna's event store, not read from Prometheus.
	Events *struct{} `json:"events,omitempty"`
}

// Ratio is an event-counting SLI.
type Ratio struct {
	Errors string `json:"errors,omitempty"`
	Good   string `json:"good,omitempty"`
	Total  string `json:"total"`
}

// Latency is a histogram-based SLI.
type Latency struct {
	Metric    string  `json:"metric"`
	Threshold float64 `json:"threshold"`
	Selector  string  `json:"selector,omitempty"`
}

// Alerting configures the burn-rate alerts of an SLO.
type Alerting struct {
	Name        string            `json:"name,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Page        AlertSpec         `json:"page,omitzero"`
	Ticket      AlertSpec         `json:"ticket,omitzero"`
	// MinEvents is the least traffic in an alert's long window for it to fire.
	MinEvents float64 `json:"minEvents,omitempty"`
}

// AlertSpec configures one severity.
type AlertSpec struct {
	Disabled    bool              `json:"disabled,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Round rounds f to digits decimal places, as its decimal form reads.
func Round(f float64, digits int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', digits, 64), 64)
	return v
}

// Duration is a time.Duration that reads and writes Prometheus style
// ("5m", "28d", "2w").
type Duration time.Duration

// MarshalText writes d as "28d", "6h" or "5m".
func (d Duration) MarshalText() ([]byte, error) { return []byte(FormatDuration(time.Duration(d))), nil }

// UnmarshalText reads a Prometheus duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// ParseDuration reads a Prometheus duration: a number and a unit of
// ms, s, m, h, d, w or y, possibly several, largest first ("1d12h"). Its
// error says how to write one.
func ParseDuration(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	if err != nil {
		if s == "" {
			return 0, fmt.Errorf("empty duration")
		}
		return 0, fmt.Errorf("%q is not a duration: write a number and a unit (ms, s, m, h, d, w or y), such as 30d, 28d or 7d", s)
	}
	return time.Duration(d), nil
}

// FormatDuration writes d in the largest Prometheus unit that divides it.
func FormatDuration(d time.Duration) string {
	for _, u := range []struct {
		suffix string
		d      time.Duration
	}{{"w", 7 * Day}, {"d", Day}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if d >= u.d && d%u.d == 0 {
			if u.suffix == "w" { // days read better: 28d, 14d
				return strconv.FormatInt(int64(d/Day), 10) + "d"
			}
			return strconv.FormatInt(int64(d/u.d), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
}

// Expand replaces the {{.window}} placeholder of a query with w.
func Expand(query string, w time.Duration) string {
	return strings.ReplaceAll(query, WindowPlaceholder, SeriesWindow(w))
}
