// Package budget evaluates SLOs into error budget status: the SLI over the
// period, the budget left (below zero when overspent), the burn rate of
// each alert window and which alerts would fire. It reads any
// Prometheus-compatible query API, using the series that `tsuna slo rules`
// records when they exist (a few queries for all SLOs) and the SLI's own
// queries otherwise. It never makes up a number: no traffic is no_data, an
// unreachable Prometheus is unknown, each with the reason.
package budget

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// States of an SLO.
const (
	StateOK        = "ok"        // budget left
	StateExhausted = "exhausted" // budget spent: remaining ≤ 0
	StateNoData    = "no_data"   // no traffic in the period
	StateUnknown   = "unknown"   // the data source could not answer
)

// Sources of a status.
const (
	SourceRecorded = "recorded" // series recorded by tsuna's rules
	SourceRaw      = "raw"      // the SLI's own queries
	SourceEvents   = "events"   // tsuna's event store
)

// Status is the evaluation of one SLO at one time.
type Status struct {
	Service   string  `json:"service"`
	SLO       string  `json:"slo"`
	Team      string  `json:"team,omitempty"`
	Objective float64 `json:"objective"` // percent
	Window    string  `json:"window"`
	// PeriodStart is where the period began: now minus a rolling window,
	// or the start of the calendar month or week.
	PeriodStart time.Time `json:"periodStart"`
	State       string    `json:"state"`
	Reason      string    `json:"reason,omitempty"`
	// SLI is the share of good events over the period, in percent.
	SLI *float64 `json:"sli,omitempty"`
	// BudgetTotal is the error budget: 100 − objective, in percent of events.
	BudgetTotal float64 `json:"budgetTotal"`
	// BudgetRemaining is the share of the budget left, in percent; below
	// zero when overspent.
	BudgetRemaining *float64 `json:"budgetRemaining,omitempty"`
	// BurnRates maps each alert window ("5m", "1h", ...) to its burn rate;
	// windows without traffic are absent.
	BurnRates map[string]float64 `json:"burnRates,omitempty"`
	// Firing lists the severities whose burn-rate condition holds.
	Firing      []string  `json:"firing"`
	Source      string    `json:"source"`
	EvaluatedAt time.Time `json:"evaluatedAt"`
	// Evidence is what the budget rests on, nil where it is not measured;
	// Reason says so when it is too little to freeze deploys on.
	Evidence *Evidence `json:"-"`
}

// Evidence is how much an SLO's budget rests on: the share of its period
// with data (measured for SLOs with recordings), and the events counted
// in it (for SLOs whose events are pushed to tsuna). Either is nil when
// not measured.
type Evidence struct {
	Observed *float64 // 0 to 1
	Events   *float64
}

// String says "data over 0.01% of its period and about 240 events".
func (e *Evidence) String() string {
	var parts []string
	if e.Observed != nil {
		parts = append(parts, "data over "+FormatPercent(slo.Round(100**e.Observed, 3))+" of its period")
	}
	if e.Events != nil {
		parts = append(parts, "about "+strconv.FormatFloat(math.Round(*e.Events), 'f', -1, 64)+" events")
	}
	return strings.Join(parts, " and ")
}

// noteEvidence sets st's evidence, and its reason when that is less than
// the default policy's minimum to freeze deploys.
func noteEvidence(st *Status, e *Evidence) {
	st.Evidence = e
	if st.BudgetRemaining == nil || st.Reason != "" {
		return
	}
	if p := DefaultPolicy(); !p.enough(e) {
		st.Reason = fmt.Sprintf("new SLO: %s; the budget freezes deploys only after data over %s of the period and %s events",
			e, FormatPercent(100*p.MinObserved), strconv.FormatFloat(p.MinEvents, 'f', -1, 64))
	}
}

// Querier runs PromQL queries; the client_golang v1.API is one.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
	QueryRange(ctx context.Context, query string, r v1.Range, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
}

// EventSource sums the events pushed to tsuna's event store: for each start
// time, the good and total events since.
type EventSource interface {
	EventSums(ctx context.Context, service, slo string, since []time.Time) (good, total []int64, err error)
}

// Evaluator computes statuses.
type Evaluator struct {
	prom   Querier     // nil when no Prometheus is configured
	events EventSource // nil leaves events SLOs unknown
	// Parallel bounds the raw queries in flight.
	Parallel int
}

// New returns an Evaluator reading prom for Prometheus SLOs and events for
// events SLOs; either may be nil, which leaves those SLOs unknown.
func New(prom Querier, events EventSource) *Evaluator {
	return &Evaluator{prom: prom, events: events, Parallel: 8}
}

// PeriodStart returns where the period of w that contains now began.
func PeriodStart(w slo.Window, now time.Time) time.Time {
	switch w.Calendar {
	case slo.CalendarMonth, slo.CalendarWeek:
		loc, err := time.LoadLocation(w.TimeZone)
		if err != nil || w.TimeZone == "" {
			loc = time.UTC
		}
		t := now.In(loc)
		if w.Calendar == slo.CalendarMonth {
			return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
		}
		wd := (int(t.Weekday()) + 6) % 7 // weeks start on Monday (ISO 8601)
		return time.Date(t.Year(), t.Month(), t.Day()-wd, 0, 0, 0, 0, loc)
	}
	return now.Add(-w.Length())
}

// Evaluate returns the status of each SLO at now, in the order given.
func (e *Evaluator) Evaluate(ctx context.Context, slos []*slo.SLO, now time.Time) []Status {
	out := make([]Status, len(slos))
	var prom []int
	for i, s := range slos {
		out[i] = Status{Service: s.Service, SLO: s.Name, Team: s.Team, Objective: s.Objective, Window: s.Window.String(),
			PeriodStart: PeriodStart(s.Window, now).UTC(), BudgetTotal: slo.Round(100-s.Objective, 9), Firing: []string{}, EvaluatedAt: now.UTC()}
		if s.SLI.Events != nil {
			out[i].Source = SourceEvents
			e.fromEvents(ctx, &out[i], s, now)
			continue
		}
		prom = append(prom, i)
	}
	if len(prom) == 0 {
		return out
	}
	if e.prom == nil {
		for _, i := range prom {
			out[i].State, out[i].Reason = StateUnknown, "no Prometheus configured: start tsuna serve with --prometheus-url"
		}
		return out
	}
	ratios, err := e.recorded(ctx, slos, prom, now)
	if err != nil {
		for _, i := range prom {
			out[i].State, out[i].Reason = StateUnknown, "prometheus: "+err.Error()
		}
		return out
	}
	var raw, rec []int
	for _, i := range prom {
		if r, ok := ratios[slos[i].ID()]; ok {
			out[i].Source = SourceRecorded
			finish(&out[i], slos[i], r)
			rec = append(rec, i)
		} else {
			raw = append(raw, i)
		}
	}
	if ev, err := e.evidence(ctx, slos, rec, now); err == nil {
		for _, i := range rec {
			noteEvidence(&out[i], ev[slos[i].ID()])
		}
	}
	var g errgroup.Group
	g.SetLimit(max(1, e.Parallel))
	for _, i := range raw {
		g.Go(func() error {
			out[i].Source = SourceRaw
			r, err := e.rawRatios(ctx, slos[i], now)
			if err != nil {
				out[i].State, out[i].Reason = StateUnknown, "prometheus: "+err.Error()
				return nil
			}
			finish(&out[i], slos[i], r)
			return nil
		})
	}
	g.Wait()
	return out
}

// fromEvents evaluates an SLO from the event store: the same ratios as from
// Prometheus, over the same windows.
func (e *Evaluator) fromEvents(ctx context.Context, st *Status, s *slo.SLO, now time.Time) {
	if e.events == nil {
		st.State, st.Reason = StateUnknown, "no event store"
		return
	}
	windows := s.Windows()
	since := make([]time.Time, 0, len(windows)+1)
	for _, w := range windows {
		since = append(since, now.Add(-w))
	}
	since = append(since, PeriodStart(s.Window, now))
	good, total, err := e.events.EventSums(ctx, s.Service, s.Name, since)
	if err != nil {
		st.State, st.Reason = StateUnknown, "event store: "+err.Error()
		return
	}
	r := ratios{}
	for i, t := range total {
		if t == 0 {
			continue // no traffic: no ratio
		}
		ratio := float64(t-good[i]) / float64(t)
		if i == len(windows) {
			r[periodKey] = ratio
		} else {
			r[slo.FormatDuration(windows[i])] = ratio
		}
	}
	finish(st, s, r)
	events := float64(total[len(total)-1])
	noteEvidence(st, &Evidence{Events: &events})
}

// ratios are error ratios by window; key "period" is the SLO period.
type ratios map[string]float64

const periodKey = "period"

// finish turns error ratios into the status fields.
func finish(st *Status, s *slo.SLO, r ratios) {
	budget := s.Budget()
	st.BurnRates = map[string]float64{}
	for w, v := range r {
		if w != periodKey {
			st.BurnRates[w] = slo.Round(v/budget, 6)
		}
	}
	period, ok := r[periodKey]
	if !ok {
		st.State, st.Reason = StateNoData, "no traffic in the period: the SLI is undefined, not 100% and not 0%"
		return
	}
	sli := slo.Round(100*(1-period), 6)
	remaining := slo.Round(100*(1-period/budget), 6)
	st.SLI, st.BudgetRemaining = &sli, &remaining
	st.State = StateOK
	if remaining <= 0 {
		st.State = StateExhausted
	}
	for _, sev := range slo.Severities {
		for _, bw := range s.BurnWindows() {
			short, okS := st.BurnRates[slo.FormatDuration(bw.Short)]
			long, okL := st.BurnRates[slo.FormatDuration(bw.Long)]
			if bw.Severity == sev && okS && okL && short > bw.Factor && long > bw.Factor && !slices.Contains(st.Firing, sev) {
				st.Firing = append(st.Firing, sev)
			}
		}
	}
}

// recorded reads the recorded ratios of every SLO that has them: one query
// per window and one per calendar period, whatever the number of SLOs.
func (e *Evaluator) recorded(ctx context.Context, slos []*slo.SLO, idx []int, now time.Time) (map[string]ratios, error) {
	// Which SLOs have recordings, with or without traffic.
	present, err := e.vector(ctx, `count by (sloth_id) (last_over_time(`+slo.SeriesTotal+`[15m]))`, now)
	if err != nil {
		return nil, err
	}
	out := map[string]ratios{}
	for id := range present {
		out[id] = ratios{}
	}
	if len(out) == 0 {
		return out, nil
	}
	windows := map[string]time.Duration{}
	calendars := map[slo.Window]bool{}
	for _, i := range idx {
		for _, w := range slos[i].Windows() {
			windows[slo.FormatDuration(w)] = w
		}
		if slos[i].Window.Calendar != "" {
			calendars[slos[i].Window] = true
		}
	}
	periodOf := map[string]string{} // sloth_id -> its rolling period window
	for _, i := range idx {
		if slos[i].Window.Calendar == "" {
			periodOf[slos[i].ID()] = slo.FormatDuration(slos[i].Window.Length())
		}
	}
	for _, w := range slices.Sorted(maps.Keys(windows)) {
		v, err := e.vector(ctx, slo.RatioSeries(windows[w]), now)
		if err != nil {
			return nil, err
		}
		for id, val := range v {
			if r, ok := out[id]; ok {
				r[w] = val
				if periodOf[id] == w {
					r[periodKey] = val
				}
			}
		}
	}
	for cal := range calendars {
		secs := int(now.Sub(PeriodStart(cal, now)).Seconds())
		if secs < 60 {
			continue // the period just began: no data yet
		}
		q := fmt.Sprintf(`sum by (sloth_id) (sum_over_time(%s[%ds])) / (sum by (sloth_id) (sum_over_time(%s[%ds])) > 0)`, slo.SeriesErrors, secs, slo.SeriesTotal, secs)
		v, err := e.vector(ctx, q, now)
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			if slos[i].Window == cal {
				if val, ok := v[slos[i].ID()]; ok && out[slos[i].ID()] != nil {
					out[slos[i].ID()][periodKey] = val
				}
			}
		}
	}
	return out, nil
}

// evidence measures, for SLOs with recordings, the share of their period
// with data: from the first hour at which the recorded event rate has a
// sample. One query per period length, whatever the number of SLOs.
func (e *Evaluator) evidence(ctx context.Context, slos []*slo.SLO, idx []int, now time.Time) (map[string]*Evidence, error) {
	byPeriod := map[int][]int{}
	for _, i := range idx {
		secs := int(now.Sub(PeriodStart(slos[i].Window, now)).Seconds())
		byPeriod[secs] = append(byPeriod[secs], i)
	}
	out := map[string]*Evidence{}
	for _, secs := range slices.Sorted(maps.Keys(byPeriod)) {
		if secs < 60 {
			continue // the period just began: no data yet
		}
		first, err := e.vector(ctx, fmt.Sprintf(`min by (sloth_id) (min_over_time(timestamp(%s)[%ds:1h]))`, slo.SeriesTotal, secs), now)
		if err != nil {
			return nil, err
		}
		for _, i := range byPeriod[secs] {
			observed := 0.0
			if t, ok := first[slos[i].ID()]; ok {
				observed = min(max(float64(now.Unix())-t, 0)/float64(secs), 1)
			}
			out[slos[i].ID()] = &Evidence{Observed: &observed}
		}
	}
	return out, nil
}

// rawRatios evaluates the SLI's own queries for each window and the period.
func (e *Evaluator) rawRatios(ctx context.Context, s *slo.SLO, now time.Time) (ratios, error) {
	r := ratios{}
	query := func(key string, dur time.Duration) error {
		var q string
		if errs, total, ok := s.Queries(dur); ok {
			q = fmt.Sprintf("((%s) or (0 * (%s))) / ((%s) > 0)", errs, total, total)
		} else {
			q = slo.Expand(s.SLI.Raw, dur)
		}
		v, err := e.scalar(ctx, q, now)
		if err == nil && v != nil {
			r[key] = *v
		}
		return err
	}
	for _, w := range s.Windows() { // the alert windows and a rolling period
		if err := query(slo.FormatDuration(w), w); err != nil {
			return nil, err
		}
	}
	if s.Window.Calendar == "" {
		if v, ok := r[slo.FormatDuration(s.Window.Length())]; ok {
			r[periodKey] = v
		}
	} else if d := now.Sub(PeriodStart(s.Window, now)).Truncate(time.Second); d >= time.Minute {
		if err := query(periodKey, d); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// vector runs q and returns its samples by sloth_id, NaN and Inf dropped.
func (e *Evaluator) vector(ctx context.Context, q string, at time.Time) (map[string]float64, error) {
	val, _, _, err := e.prom.Query(ctx, q, at)
	if err != nil {
		return nil, cleanErr(err)
	}
	vec, ok := val.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query %s: want a vector, got %s", q, val.Type())
	}
	out := make(map[string]float64, len(vec))
	for _, smp := range vec {
		if f := float64(smp.Value); !math.IsNaN(f) && !math.IsInf(f, 0) {
			out[string(smp.Metric["sloth_id"])] = f
		}
	}
	return out, nil
}

// scalar runs q, which must give at most one sample; nil means no data.
func (e *Evaluator) scalar(ctx context.Context, q string, at time.Time) (*float64, error) {
	val, _, _, err := e.prom.Query(ctx, q, at)
	if err != nil {
		return nil, cleanErr(err)
	}
	vec, ok := val.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("want a vector, got %s", val.Type())
	}
	if len(vec) > 1 {
		return nil, fmt.Errorf("the SLI query gives %d series: aggregate it to one, such as with sum(...)", len(vec))
	}
	if len(vec) == 0 {
		return nil, nil
	}
	f := float64(vec[0].Value)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, nil
	}
	return &f, nil
}

// cleanErr shortens a client error and removes credentials from URLs in it.
func cleanErr(err error) error {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.User != nil {
			msg = strings.ReplaceAll(msg, u.User.String()+"@", "")
		}
	}
	return errors.New(msg)
}

// FormatPercent writes a percentage for people: 99.912%.
func FormatPercent(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) + "%" }
