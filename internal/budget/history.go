package budget

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// Point is an SLO's state at one time of its history.
type Point struct {
	Time time.Time `json:"time"`
	// SLI over the rolling period ending at Time, in percent.
	SLI float64 `json:"sli"`
	// BudgetRemaining over that period, in percent; below zero when overspent.
	BudgetRemaining float64 `json:"budgetRemaining"`
	// BurnRate1h is the burn rate over the hour before Time.
	BurnRate1h *float64 `json:"burnRate1h,omitempty"`
}

// maxPoints bounds a history, as Prometheus bounds a range query.
const maxPoints = 11000

// History returns the SLO's state from from to to every step, from the
// series its rules record, or from the event store for an SLO whose events
// are pushed. Times without traffic have no point.
func (e *Evaluator) History(ctx context.Context, s *slo.SLO, from, to time.Time, step time.Duration) ([]Point, error) {
	if !to.After(from) || step <= 0 || int(to.Sub(from)/step) > maxPoints {
		return nil, fmt.Errorf("from must be before to, and (to - from) / step at most %d points", maxPoints)
	}
	if s.SLI.Events != nil {
		return e.eventHistory(ctx, s, from, to, step)
	}
	if e.prom == nil {
		return nil, fmt.Errorf("no Prometheus configured: start tsuna serve with --prometheus-url")
	}
	r := v1.Range{Start: from, End: to, Step: step}
	period := slo.SeriesWindow(s.Window.Length())
	sel := fmt.Sprintf(`{sloth_id=%q}`, s.ID())
	ratio, err := e.rangeSeries(ctx, slo.SeriesRatioPrefix+period+sel, r)
	if err != nil {
		return nil, err
	}
	burn, err := e.rangeSeries(ctx, slo.SeriesRatioPrefix+"1h"+sel, r)
	if err != nil {
		return nil, err
	}
	budget := s.Budget()
	var out []Point
	for _, t := range sortedTimes(ratio) {
		v := ratio[t]
		p := Point{Time: t.UTC(), SLI: slo.Round(100*(1-v), 6), BudgetRemaining: slo.Round(100*(1-v/budget), 6)}
		if b, ok := burn[t]; ok {
			br := slo.Round(b/budget, 6)
			p.BurnRate1h = &br
		}
		out = append(out, p)
	}
	return out, nil
}

func (e *Evaluator) rangeSeries(ctx context.Context, q string, r v1.Range) (map[time.Time]float64, error) {
	val, _, _, err := e.prom.QueryRange(ctx, q, r)
	if err != nil {
		return nil, cleanErr(err)
	}
	out := map[time.Time]float64{}
	if m, ok := val.(model.Matrix); ok {
		for _, ss := range m {
			for _, p := range ss.Values {
				if f := float64(p.Value); !math.IsNaN(f) && !math.IsInf(f, 0) {
					out[p.Timestamp.Time()] = f
				}
			}
		}
	}
	return out, nil
}

func sortedTimes(m map[time.Time]float64) []time.Time {
	ts := make([]time.Time, 0, len(m))
	for t := range m {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	return ts
}
