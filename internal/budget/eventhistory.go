package budget

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// maxSumsPerQuery bounds the start times of one EventSums call (two
// aggregates each): SQLite's planner compares every aggregate of a
// statement with every other, so a few short queries beat one long one.
const maxSumsPerQuery = 40

// eventHistory is History for an SLO whose events are pushed to tsuna: at
// each time, the SLI and budget over the period ending then, and the burn
// rate over the hour before, from the same sums that Evaluate reads.
func (e *Evaluator) eventHistory(ctx context.Context, s *slo.SLO, from, to time.Time, step time.Duration) ([]Point, error) {
	if e.events == nil {
		return nil, fmt.Errorf("no event store")
	}
	type bounds struct{ t, start, hour time.Time }
	var pts []bounds
	index := map[time.Time]int{}
	var since []time.Time
	add := func(t time.Time) {
		if _, ok := index[t]; !ok {
			index[t] = len(since)
			since = append(since, t)
		}
	}
	for t := from; !t.After(to); t = t.Add(step) {
		start := t.Add(-s.Window.Length())
		if s.Window.Calendar != "" {
			start = PeriodStart(s.Window, t)
		}
		b := bounds{t: t, start: start, hour: t.Add(-time.Hour)}
		pts = append(pts, b)
		add(b.t)
		add(b.start)
		add(b.hour)
	}
	slices.SortFunc(since, func(a, b time.Time) int { return a.Compare(b) }) // each query reads from its own oldest time on
	for i, t := range since {
		index[t] = i
	}
	good, total := make([]int64, len(since)), make([]int64, len(since))
	for lo := 0; lo < len(since); lo += maxSumsPerQuery {
		hi := min(lo+maxSumsPerQuery, len(since))
		g, t, err := e.events.EventSums(ctx, s.Service, s.Name, since[lo:hi])
		if err != nil {
			return nil, fmt.Errorf("event store: %w", err)
		}
		copy(good[lo:], g)
		copy(total[lo:], t)
	}
	// Sums run from a start time to now: the events in [a, b) are
	// sum(a) - sum(b).
	between := func(a, b time.Time) (bad, all int64) {
		i, j := index[a], index[b]
		all = total[i] - total[j]
		return all - (good[i] - good[j]), all
	}
	budget := s.Budget()
	var out []Point
	for _, b := range pts {
		bad, all := between(b.start, b.t)
		if all <= 0 {
			continue // no traffic in the period: no point
		}
		ratio := float64(bad) / float64(all)
		p := Point{Time: b.t.UTC(), SLI: slo.Round(100*(1-ratio), 6), BudgetRemaining: slo.Round(100*(1-ratio/budget), 6)}
		if hbad, hall := between(b.hour, b.t); hall > 0 {
			br := slo.Round(float64(hbad)/float64(hall)/budget, 6)
			p.BurnRate1h = &br
		}
		out = append(out, p)
	}
	return out, nil
}
