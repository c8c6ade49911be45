package incident

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// TestMetricsMatchIndependentComputation generates incidents with drills,
// declined and merged ones and missing timestamps, and checks the median
// and p90 of each interval per severity against a computation written
// here from the definitions.
func TestMetricsMatchIndependentComputation(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 42))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := base.Add(d); return &v }
	var incs []*Incident
	for i := range 500 {
		inc := &Incident{Number: int64(i + 1), Severity: []string{"SEV1", "SEV2", "SEV3", "SEV4"}[rng.IntN(4)], Status: StatusClosed}
		switch rng.IntN(10) {
		case 0:
			inc.Drill = true
		case 1:
			inc.Status = StatusDeclined
		case 2:
			inc.Status = StatusMerged
		}
		start := time.Duration(i) * time.Hour
		steps := []time.Duration{0, time.Duration(rng.IntN(3600)) * time.Second, time.Duration(rng.IntN(900)) * time.Second,
			time.Duration(rng.IntN(7200)) * time.Second, time.Duration(rng.IntN(7200)) * time.Second}
		cur := start
		ts := []**time.Time{&inc.Timestamps.ImpactStarted, &inc.Timestamps.Detected, &inc.Timestamps.Acknowledged, &inc.Timestamps.Mitigated, &inc.Timestamps.Resolved}
		for k, f := range ts {
			cur += steps[k]
			if rng.IntN(8) > 0 { // one in eight missing
				*f = at(cur)
			}
		}
		incs = append(incs, inc)
	}
	rep := Compute(incs, BySeverity)

	// The independent computation.
	pct := func(xs []float64, p float64) float64 {
		sort.Float64s(xs)
		if len(xs)%2 == 1 && p == 50 {
			return xs[len(xs)/2]
		}
		if p == 50 {
			return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
		}
		h := (float64(len(xs)) - 1) * p / 100
		f := math.Floor(h)
		if int(f)+1 >= len(xs) {
			return xs[len(xs)-1]
		}
		return xs[int(f)] + (h-f)*(xs[int(f)+1]-xs[int(f)])
	}
	type key struct{ sev, metric string }
	vals := map[key][]float64{}
	missing := map[key]int{}
	excluded := 0
	for _, inc := range incs {
		if inc.Drill || inc.Status == StatusDeclined || inc.Status == StatusMerged {
			excluded++
			continue
		}
		ts := inc.Timestamps
		for _, m := range []struct {
			name     string
			from, to *time.Time
		}{{"ttd", ts.ImpactStarted, ts.Detected}, {"tta", ts.Detected, ts.Acknowledged}, {"ttm", ts.ImpactStarted, ts.Mitigated}, {"ttr", ts.ImpactStarted, ts.Resolved}} {
			k := key{inc.Severity, m.name}
			if m.from == nil || m.to == nil {
				missing[k]++
				continue
			}
			vals[k] = append(vals[k], m.to.Sub(*m.from).Seconds())
		}
	}
	if got := rep.Excluded.Drills + rep.Excluded.Declined + rep.Excluded.Merged; got != excluded || excluded == 0 {
		t.Fatalf("excluded %d, want %d", got, excluded)
	}
	if len(rep.Groups) != 4 {
		t.Fatalf("%d groups, want 4", len(rep.Groups))
	}
	for _, g := range rep.Groups {
		for name, d := range map[string]Distribution{"ttd": g.TTD, "tta": g.TTA, "ttm": g.TTM, "ttr": g.TTR} {
			k := key{g.Key, name}
			xs := vals[k]
			if d.Count != len(xs) || d.Missing != missing[k] || missing[k] == 0 {
				t.Fatalf("%s %s: count %d missing %d, want %d and %d", g.Key, name, d.Count, d.Missing, len(xs), missing[k])
			}
			for _, c := range []struct {
				got  *float64
				p    float64
				name string
			}{{d.Median, 50, "median"}, {d.P90, 90, "p90"}} {
				if want := pct(append([]float64(nil), xs...), c.p); math.Abs(*c.got-want) > 1e-6 {
					t.Errorf("%s %s %s = %v, want %v", g.Key, name, c.name, *c.got, want)
				}
			}
		}
	}
}

func TestChannelName(t *testing.T) {
	for _, tc := range []struct {
		n     int64
		title string
		want  string
	}{
		{42, "Checkout: 5xx errors!", "inc-42-checkout-5xx-errors"},
		{7, "Ünïcode ☃ only", "inc-7-n-code-only"},
		{8, "☃", "inc-8"},
	} {
		if got := ChannelName(tc.n, tc.title); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.title, got, tc.want)
		}
	}
	long := ChannelName(1, string(make([]byte, 0))+"a very long title that goes on and on and on and on and on and on and on and on and on")
	if len(long) > 78 || SuffixedName(long, 12)[len(SuffixedName(long, 12))-3:] != "-12" || len(SuffixedName(long, 12)) > 80 {
		t.Errorf("long name %q (%d), suffixed %q", long, len(long), SuffixedName(long, 12))
	}
}
