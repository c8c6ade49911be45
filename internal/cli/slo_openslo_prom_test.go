package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/promtest"
)

// counterExporter serves two counters, about 10% of requests failing.
type counterExporter struct {
	mu      sync.Mutex
	scrape  int
	ok, bad float64
}

func (e *counterExporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.scrape++
	e.ok += 90 + float64(e.scrape%5)
	e.bad += 10 + float64(e.scrape%3)
	fmt.Fprintf(w, "http_requests_total{app=\"counted\",code=\"200\"} %g\n", e.ok)
	fmt.Fprintf(w, "http_requests_total{app=\"counted\",code=\"500\"} %g\n", e.bad)
}

const openSLOCounter = `apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability
spec:
  service: counted
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  indicator:
    metadata:
      name: counted-availability
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{app="counted",code="200"}
        total:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{app="counted"}
  objectives:
    - target: 0.99
`

// TestOpenSLOCounterInRealPrometheus: an OpenSLO ratio of counters
// (counter: true) is turned into rates, so the SLI a real Prometheus
// records is the share of failed requests, not 0 (the raw counters
// subtracted), and the page fires on 10% errors.
func TestOpenSLOCounterInRealPrometheus(t *testing.T) {
	promtest.Binary(t, "prometheus")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "slo.yaml"), []byte(openSLOCounter), 0o644)
	out := filepath.Join(t.TempDir(), "rules")
	r := run(t, nil, "slo", "rules", "-i", dir, "-o", out)
	if r.code != 0 {
		t.Fatalf("slo rules: %s", r.stderr)
	}
	rules, _ := os.ReadFile(filepath.Join(out, "counted.yaml"))
	if !strings.Contains(string(rules), `sum(rate(http_requests_total{app="counted"}[5m]))`) {
		t.Fatalf("the counters are not rated:\n%s", rules)
	}
	exp := &counterExporter{ok: 1e6, bad: 1e5} // high starts: rate() never extrapolates to zero
	target := httptest.NewServer(exp)
	defer target.Close()
	prom := scrapeEverySecond(t, target.URL, map[string][]byte{"counted.yaml": rules})
	ctx := context.Background()

	deadline := time.Now().Add(2 * time.Minute)
	var got []promtest.Sample
	for {
		var err error
		got, err = prom.Query(ctx, `slo:sli_error:ratio_rate5m{sloth_id="counted-availability"}`, time.Time{})
		if err == nil && len(got) == 1 {
			if raw, _ := prom.Query(ctx, `http_requests_total{app="counted"}[5m]`, time.Unix(0, int64(got[0].Time*1e9))); len(raw) >= 6 {
				break // a few scrapes in the window
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recorded SLI within 2 minutes: %v %v\n%s", got, err, prom.Log())
		}
		time.Sleep(500 * time.Millisecond)
	}
	checkErrorRatio(t, prom, "counted", got[0])
	if got[0].Value < 0.05 || got[0].Value > 0.2 {
		t.Errorf("recorded error ratio = %v, want about 10%%", got[0].Value)
	}
	for {
		alerts, err := prom.Alerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fired := false
		for _, a := range alerts {
			fired = fired || a.Labels["sloth_id"] == "counted-availability" && a.Labels["sloth_severity"] == "page" && a.State == "firing"
		}
		if fired {
			break
		}
		if time.Now().After(deadline.Add(time.Minute)) {
			t.Fatalf("no page on 10%% errors against a 99%% objective\n%s", prom.Log())
		}
		time.Sleep(500 * time.Millisecond)
	}
}
