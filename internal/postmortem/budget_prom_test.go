package postmortem

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

// TestBudgetSpentFromBackfilledPrometheus backfills the series tsuna's
// rules record for an SLO into a real Prometheus: the 30-day error ratio
// climbs from 0.02 % to 0.08 % during a two-hour incident. The draft's
// budget spent is what the history says it lost, computed here in Go.
func TestBudgetSpentFromBackfilledPrometheus(t *testing.T) {
	promtool := promtest.Binary(t, "promtool")
	o := &slo.SLO{Service: "shop", Name: "availability", Objective: 99.9, Window: slo.Window{Rolling: slo.Duration(30 * slo.Day)},
		SLI: slo.SLI{Ratio: &slo.Ratio{Errors: "x", Total: "y"}}}
	now := time.Now().Truncate(time.Minute)
	start, end := now.Add(-3*time.Hour), now.Add(-time.Hour) // the incident
	ratio := func(t time.Time) float64 {
		switch {
		case t.Before(start):
			return 0.0002
		case t.After(end):
			return 0.0008
		}
		return 0.0002 + 0.0006*float64(t.Sub(start))/float64(end.Sub(start))
	}
	var b strings.Builder
	period := slo.SeriesRatioPrefix + slo.SeriesWindow(o.Window.Length())
	for _, name := range []string{period, slo.SeriesRatioPrefix + "1h"} {
		fmt.Fprintf(&b, "# TYPE %s gauge\n", name)
		for ts := now.Add(-6 * time.Hour); !ts.After(now); ts = ts.Add(time.Minute) {
			fmt.Fprintf(&b, "%s{sloth_id=%q} %g %d\n", name, o.ID(), ratio(ts), ts.Unix())
		}
	}
	b.WriteString("# EOF\n")
	dir := t.TempDir()
	om := filepath.Join(dir, "recorded.om")
	os.WriteFile(om, []byte(b.String()), 0o644)
	data := filepath.Join(dir, "data")
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	prom := promtest.Start(t, "global: {scrape_interval: 1m}\n", nil, "--storage.tsdb.path="+data, "--storage.tsdb.retention.time=90d")
	c, err := api.NewClient(api.Config{Address: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{opts: Options{Budget: budget.New(v1.NewAPI(c), nil)}}
	got := s.budgetSpent(context.Background(), "shop", o, &start, end)
	// Remaining = 1 - ratio / (1 - objective): 80 % before, 20 % after.
	want := 100*(1-ratio(start)/0.001) - 100*(1-ratio(end)/0.001)
	if got.Spent == nil || math.Abs(*got.Spent-want) > 0.5 || got.RemainingBefore == nil || math.Abs(*got.RemainingBefore-80) > 0.5 {
		t.Fatalf("budget spent = %+v (reason %q); want %.2f pp spent, from 80 %% left", got, got.Reason, want)
	}
	if len(got.Points) < 2 {
		t.Errorf("no chart points: %+v", got.Points)
	}
}
