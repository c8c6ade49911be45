package incident

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
)

// Interval origins, shown wherever a metric is.
var Origins = map[string]string{
	"ttd": "time to detect: impact started → detected",
	"tta": "time to acknowledge: detected → acknowledged",
	"ttm": "time to mitigate: impact started → mitigated",
	"ttr": "time to resolve: impact started → resolved",
}

// Groupings of the metrics.
const (
	BySeverity = "severity"
	ByService  = "service"
	ByTeam     = "team"
)

// Distribution summarises one interval over a group of incidents. Count
// is the incidents with both timestamps, Missing those without one of
// them (never counted as zero); the figures are in seconds, absent when
// Count is 0. Median and P90 interpolate linearly between ranks.
type Distribution struct {
	Count   int      `json:"count"`
	Missing int      `json:"missing"`
	Median  *float64 `json:"medianSeconds,omitempty"`
	P90     *float64 `json:"p90Seconds,omitempty"`
	Max     *float64 `json:"maxSeconds,omitempty"`
}

// Group is the metrics of the incidents of one severity, service or team.
type Group struct {
	Key       string       `json:"key"`
	Incidents int          `json:"incidents"`
	TTD       Distribution `json:"ttd"`
	TTA       Distribution `json:"tta"`
	TTM       Distribution `json:"ttm"`
	TTR       Distribution `json:"ttr"`
}

// Report is the metrics over a period.
type Report struct {
	Since   time.Time         `json:"since"`
	Until   time.Time         `json:"until"`
	By      string            `json:"by"`
	Origins map[string]string `json:"origins"`
	// Excluded counts the incidents of the period left out: drills,
	// declined and merged.
	Excluded Excluded `json:"excluded"`
	Groups   []Group  `json:"groups"`
	All      Group    `json:"all"`
}

// Excluded counts incidents kept out of the metrics.
type Excluded struct {
	Drills   int `json:"drills"`
	Declined int `json:"declined"`
	Merged   int `json:"merged"`
}

// Metrics computes the report of the incidents reported in [since, until),
// grouped by by.
func (s *Service) Metrics(ctx context.Context, since, until time.Time, by string) (*Report, error) {
	if by != BySeverity && by != ByService && by != ByTeam {
		return nil, tsuna.Errorf(tsuna.EINVALID, "by: %q; use severity, service or team", tsuna.Truncate(by, 40))
	}
	if !until.After(since) {
		return nil, tsuna.Errorf(tsuna.EINVALID, "since: must be before until")
	}
	incs, err := s.store.Incidents(ctx, Filter{Since: since, Until: until, Limit: MaxMetricsIncidents, MetricsOnly: true})
	if err != nil {
		return nil, err
	}
	r := Compute(incs, by)
	r.Since, r.Until = since.UTC(), until.UTC()
	return r, nil
}

// Compute computes the metrics of incs grouped by by.
func Compute(incs []*Incident, by string) *Report {
	r := &Report{By: by, Origins: Origins, Groups: []Group{}}
	groups := map[string][]*Incident{}
	var all []*Incident
	for _, inc := range incs {
		switch {
		case inc.Drill:
			r.Excluded.Drills++
			continue
		case inc.Status == StatusDeclined:
			r.Excluded.Declined++
			continue
		case inc.Status == StatusMerged:
			r.Excluded.Merged++
			continue
		}
		all = append(all, inc)
		var keys []string
		switch by {
		case BySeverity:
			keys = []string{inc.Severity}
		case ByTeam:
			keys = []string{dash(inc.Team)}
		case ByService:
			keys = inc.Services
			if len(keys) == 0 {
				keys = []string{"-"}
			}
		}
		for _, k := range keys {
			groups[k] = append(groups[k], inc)
		}
	}
	for k, list := range groups {
		r.Groups = append(r.Groups, group(k, list))
	}
	slices.SortFunc(r.Groups, func(a, b Group) int { return strings.Compare(a.Key, b.Key) })
	r.All = group("all", all)
	return r
}

func group(key string, incs []*Incident) Group {
	g := Group{Key: key, Incidents: len(incs)}
	interval := func(from, to func(*Timestamps) *time.Time) Distribution {
		var d Distribution
		var xs []float64
		for _, inc := range incs {
			a, b := from(&inc.Timestamps), to(&inc.Timestamps)
			if a == nil || b == nil {
				d.Missing++
				continue
			}
			xs = append(xs, b.Sub(*a).Seconds())
		}
		d.Count = len(xs)
		if len(xs) == 0 {
			return d
		}
		slices.Sort(xs)
		med, p90, mx := Quantile(xs, 0.5), Quantile(xs, 0.9), xs[len(xs)-1]
		d.Median, d.P90, d.Max = &med, &p90, &mx
		return d
	}
	impact := func(t *Timestamps) *time.Time { return t.ImpactStarted }
	detected := func(t *Timestamps) *time.Time { return t.Detected }
	g.TTD = interval(impact, detected)
	g.TTA = interval(detected, func(t *Timestamps) *time.Time { return t.Acknowledged })
	g.TTM = interval(impact, func(t *Timestamps) *time.Time { return t.Mitigated })
	g.TTR = interval(impact, func(t *Timestamps) *time.Time { return t.Resolved })
	return g
}

// Quantile returns the q-quantile of sorted xs, interpolating linearly
// between the closest ranks.
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := q * float64(len(sorted)-1)
	lo := int(math.Floor(rank))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (rank-float64(lo))*(sorted[lo+1]-sorted[lo])
}
