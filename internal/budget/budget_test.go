package budget_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/promtest"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

func client(t testing.TB, url string) v1.API {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	return v1.NewAPI(c)
}

// series is a synthetic counter history: one sample every step.
type series struct {
	times     []time.Time
	good, bad []float64
}

// history makes 35 days of counters ending at end, with a varying error
// ratio (a few bad days) and varying traffic.
func history(end time.Time) series {
	var s series
	good, bad := 5e5, 1e3
	step := 5 * time.Minute
	n := int(35 * 24 * time.Hour / step)
	for i := range n {
		t := end.Add(-time.Duration(n-1-i) * step)
		traffic := 1000 + 600*math.Sin(float64(i)/97)
		errRate := 0.002 + 0.0015*math.Sin(float64(i)/311)
		if day := i / 288; day%9 == 4 { // an incident day every 9 days
			errRate = 0.02
		}
		bad += math.Round(traffic * errRate)
		good += math.Round(traffic * (1 - errRate))
		s.times = append(s.times, t)
		s.good = append(s.good, good)
		s.bad = append(s.bad, bad)
	}
	return s
}

// remaining computes, in Go, the budget left over (from, to]: bad events
// over all events, from the first and last sample in the range.
func (s series) remaining(from, to time.Time, objective float64) float64 {
	first, last := -1, -1
	for i, t := range s.times {
		if t.After(from) && !t.After(to) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	bad := s.bad[last] - s.bad[first]
	total := bad + s.good[last] - s.good[first]
	return 100 * (1 - (bad/total)/(1-objective/100))
}

func (s series) openMetrics() string {
	var b strings.Builder
	b.WriteString("# TYPE http_requests counter\n")
	for _, code := range []string{"200", "500"} {
		for i, t := range s.times {
			v := s.good[i]
			if code == "500" {
				v = s.bad[i]
			}
			fmt.Fprintf(&b, "http_requests_total{code=%q} %g %d\n", code, v, t.Unix())
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// TestBudgetFromBackfilledMonth backfills 35 days of counters into a real
// Prometheus and checks the remaining budget of a rolling 30-day SLO and of
// a calendar-month SLO against the same numbers computed in Go.
func TestBudgetFromBackfilledMonth(t *testing.T) {
	promtool := promtest.Binary(t, "promtool")
	now := time.Now().Truncate(time.Minute)
	h := history(now.Add(-time.Minute))
	dir := t.TempDir()
	om := filepath.Join(dir, "history.om")
	os.WriteFile(om, []byte(h.openMetrics()), 0o644)
	data := filepath.Join(dir, "data")
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	prom := promtest.Start(t, "global: {scrape_interval: 1m}\n", nil, "--storage.tsdb.path="+data, "--storage.tsdb.retention.time=90d")

	ratio := &slo.Ratio{Errors: `sum(rate(http_requests_total{code="500"}[{{.window}}]))`, Total: `sum(rate(http_requests_total[{{.window}}]))`}
	rolling := &slo.SLO{Service: "shop", Name: "rolling", Objective: 99.5, Window: slo.Window{Rolling: slo.Duration(30 * slo.Day)}, SLI: slo.SLI{Ratio: ratio}}
	calendar := &slo.SLO{Service: "shop", Name: "calendar", Objective: 99, Window: slo.Window{Calendar: slo.CalendarMonth, TimeZone: "UTC"}, SLI: slo.SLI{Ratio: ratio}}
	silent := &slo.SLO{Service: "shop", Name: "silent", Objective: 99, SLI: slo.SLI{Ratio: &slo.Ratio{
		Errors: `sum(rate(nothing_total{code="500"}[{{.window}}]))`, Total: `sum(rate(nothing_total[{{.window}}]))`}}}

	st := budget.New(client(t, prom.URL), nil).Evaluate(context.Background(), []*slo.SLO{rolling, calendar, silent}, now)

	want := h.remaining(now.Add(-30*24*time.Hour), now, 99.5)
	if st[0].State == budget.StateUnknown || st[0].BudgetRemaining == nil || math.Abs(*st[0].BudgetRemaining-want) > 0.1 {
		t.Errorf("rolling 30d: remaining %v (state %s, %s), computed in Go %.4f", ptr(st[0].BudgetRemaining), st[0].State, st[0].Reason, want)
	}
	if st[0].Source != budget.SourceRaw || st[0].BurnRates["1h"] <= 0 {
		t.Errorf("rolling 30d: source %s, burn rates %v", st[0].Source, st[0].BurnRates)
	}
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	if now.Sub(monthStart) > time.Hour {
		want = h.remaining(monthStart, now, 99)
		if st[1].BudgetRemaining == nil || math.Abs(*st[1].BudgetRemaining-want) > 0.1 || !st[1].PeriodStart.Equal(monthStart) {
			t.Errorf("calendar month: remaining %v from %s (state %s, %s), computed in Go %.4f from %s", ptr(st[1].BudgetRemaining), st[1].PeriodStart, st[1].State, st[1].Reason, want, monthStart)
		}
	}
	if st[2].State != budget.StateNoData || st[2].BudgetRemaining != nil || st[2].SLI != nil {
		t.Errorf("no traffic: %+v; want no_data and no numbers", st[2])
	}
}

func ptr(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func TestPrometheusDownIsUnknown(t *testing.T) {
	dead := fmt.Sprintf("http://127.0.0.1:%d", promtest.FreePort(t))
	s := &slo.SLO{Service: "shop", Name: "a", Objective: 99, SLI: slo.SLI{Ratio: &slo.Ratio{Errors: "e", Total: "t"}}}
	st := budget.New(client(t, dead), nil).Evaluate(context.Background(), []*slo.SLO{s}, time.Now())
	if st[0].State != budget.StateUnknown || !strings.Contains(st[0].Reason, "connection refused") || st[0].BudgetRemaining != nil {
		t.Errorf("prometheus down: %+v", st[0])
	}
	st = budget.New(nil, nil).Evaluate(context.Background(), []*slo.SLO{s}, time.Now())
	if st[0].State != budget.StateUnknown || !strings.Contains(st[0].Reason, "--prometheus-url") {
		t.Errorf("no prometheus configured: %+v", st[0])
	}
}

func TestPeriodStart(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC) // a Monday, 02:30 in Paris
	for _, tc := range []struct {
		w    slo.Window
		want time.Time
	}{
		{slo.Window{Rolling: slo.Duration(28 * slo.Day)}, now.Add(-28 * 24 * time.Hour)},
		{slo.Window{Calendar: slo.CalendarMonth}, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{slo.Window{Calendar: slo.CalendarMonth, TimeZone: "Pacific/Auckland"}, time.Date(2026, 10, 31, 11, 0, 0, 0, time.UTC)},
		{slo.Window{Calendar: slo.CalendarWeek, TimeZone: "Europe/Paris"}, time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC)},
	} {
		if got := budget.PeriodStart(tc.w, now); !got.Equal(tc.want) {
			t.Errorf("%s: period start %s, want %s", tc.w, got.UTC(), tc.want)
		}
	}
}
