package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/promtest"
)

// exporter serves http_requests_total for three apps; every scrape adds
// events in a varying pattern, so ratios are not round numbers.
type exporter struct {
	mu     sync.Mutex
	scrape int
	ok     map[string]float64
	errs   map[string]float64
}

func (e *exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := float64(e.scrape % 7)
	e.scrape++
	e.errs["spike"] += 9 + k // about 45% errors: far above the page threshold (14.4%)
	e.ok["spike"] += 12 - k/2
	e.errs["mild"] += 4 + k/3 // about 5%: above the ticket factors (3 and 1), below the page ones (14.4 and 6)
	e.ok["mild"] += 90 + k
	if e.scrape%2 == 0 { // about 50% errors, but one event a second
		e.errs["quiet"]++
	} else {
		e.ok["quiet"]++
	}
	for _, app := range []string{"spike", "mild", "quiet"} {
		fmt.Fprintf(w, "http_requests_total{app=%q,code=\"200\"} %g\n", app, e.ok[app])
		fmt.Fprintf(w, "http_requests_total{app=%q,code=\"500\"} %g\n", app, e.errs[app])
	}
}

const promCatalog = `apiVersion: tsuna/v1
kind: Team
name: sre
chat: {channel: "#sre"}
---
apiVersion: tsuna/v1
kind: Service
name: shop
team: sre
links: {runbook: "https://runbooks.example.com/shop"}
slos:
  - name: spike
    objective: 99
    sli:
      ratio:
        errors: sum(rate(http_requests_total{app="spike",code="500"}[{{.window}}]))
        total: sum(rate(http_requests_total{app="spike"}[{{.window}}]))
  - name: mild
    objective: 99
    sli:
      ratio:
        good: sum(rate(http_requests_total{app="mild",code="200"}[{{.window}}]))
        total: sum(rate(http_requests_total{app="mild"}[{{.window}}]))
  - name: quiet
    objective: 99
    sli:
      ratio:
        errors: sum(rate(http_requests_total{app="quiet",code="500"}[{{.window}}]))
        total: sum(rate(http_requests_total{app="quiet"}[{{.window}}]))
    alerting:
      minEvents: 1000000
`

// TestRulesInRealPrometheus loads generated rules into Debian's Prometheus
// scraping a test exporter, and checks what a team would see: the recorded
// SLIs equal the values computed in Go from the raw samples, a page fires
// on an error spike above the factor and not on errors below it, and
// minEvents keeps a low-traffic SLO quiet.
func TestRulesInRealPrometheus(t *testing.T) {
	promtest.Binary(t, "prometheus")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "catalog.yaml"), []byte(promCatalog), 0o644)
	out := filepath.Join(t.TempDir(), "rules")
	if r := run(t, nil, "slo", "rules", "-i", dir, "-o", out); r.code != 0 {
		t.Fatalf("slo rules: %s", r.stderr)
	}
	rules, _ := os.ReadFile(filepath.Join(out, "shop.yaml"))

	// Counters start high so rate() never extrapolates to zero.
	exp := &exporter{ok: map[string]float64{"spike": 1e6, "mild": 1e6, "quiet": 1e6}, errs: map[string]float64{"spike": 1e5, "mild": 1e5, "quiet": 1e5}}
	target := httptest.NewServer(exp)
	defer target.Close()
	prom := scrapeEverySecond(t, target.URL, map[string][]byte{"shop.yaml": rules})
	ctx := context.Background()

	firing := func(slo, severity string) bool {
		alerts, err := prom.Alerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alerts {
			if a.Labels["slo"] == slo && a.Labels["severity"] == severity && a.State == "firing" {
				if a.Labels["team"] != "sre" || a.Labels["service"] != "shop" {
					t.Errorf("alert labels = %v, want team sre and service shop", a.Labels)
				}
				return true
			}
		}
		return false
	}
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(2 * time.Minute)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not happen within 2 minutes\n%s", what, prom.Log())
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	waitFor("the spike's page", func() bool { return firing("spike", "page") })
	waitFor("the mild SLO's ticket", func() bool { return firing("mild", "ticket") })
	time.Sleep(3 * time.Second) // a few more evaluations with the same data
	if firing("mild", "page") {
		t.Error("a page fired for errors below the page factor")
	}
	if firing("quiet", "page") || firing("quiet", "ticket") {
		t.Error("an alert fired for an SLO below minEvents")
	}
	quiet, _ := prom.Query(ctx, `slo:sli_error:ratio_rate5m{sloth_slo="quiet"}`, time.Time{})
	if len(quiet) != 1 || quiet[0].Value < 0.144 {
		t.Errorf("the quiet SLO's error ratio = %v; it must be above the factor for the minEvents check to mean anything", quiet)
	}

	// The 5-minute SLI: errors over all events, from the raw counter samples.
	got, err := prom.Query(ctx, `slo:sli_error:ratio_rate5m{sloth_slo="spike"}`, time.Time{})
	if err != nil || len(got) != 1 {
		t.Fatalf("recorded SLI: %v %v", got, err)
	}
	checkErrorRatio(t, prom, "spike", got[0])

	// The period SLI weighs each moment by its traffic: the sum of recorded
	// bad-event rates over the sum of recorded event rates. The rates have
	// their own group, which Prometheus may run just before or just after
	// the ratio's: the ratio may not have seen the newest rates yet.
	period, err := prom.Query(ctx, `slo:sli_error:ratio_rate30d{sloth_slo="mild"}`, time.Time{})
	if err != nil || len(period) != 1 {
		t.Fatalf("period SLI: %v %v", period, err)
	}
	at := time.Unix(0, int64(period[0].Time*1e9))
	sum := func(q string, drop int) float64 {
		samples, err := prom.Query(ctx, q, at)
		if err != nil || len(samples) <= drop {
			t.Fatalf("%s: %v %v", q, samples, err)
		}
		total := 0.0
		for _, s := range samples[:len(samples)-drop] {
			total += s.Value
		}
		return total
	}
	matched := false
	var wants []float64
	for drop := range 2 {
		want := sum(`slo:sli_errors:rate5m{sloth_slo="mild"}[30d]`, drop) / sum(`slo:sli_total:rate5m{sloth_slo="mild"}[30d]`, drop)
		wants = append(wants, want)
		matched = matched || math.Abs(period[0].Value-want) <= 1e-9 && want > 0.03 && want < 0.1
	}
	if !matched {
		t.Errorf("recorded period SLI = %v, computed in Go with and without the newest rates = %v", period[0].Value, wants)
	}
	remaining, _ := prom.Query(ctx, `slo:period_error_budget_remaining:ratio{sloth_slo="mild"}`, time.Time{})
	if len(remaining) != 1 || remaining[0].Value >= 0 {
		t.Errorf("remaining budget of an SLO at ~5%% errors against a 1%% budget = %v; it must be below zero, not clamped", remaining)
	}

	// tsuna serve evaluates the same SLOs from the recorded series.
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--catalog", dir, "--prometheus-url", prom.URL)
	vars := cliVars(srv, adminSecret)
	r := run(t, vars, "slo", "status", "shop", "--output", "json")
	var statuses []budget.Status
	if err := json.Unmarshal([]byte(r.stdout), &statuses); err != nil || len(statuses) != 3 {
		t.Fatalf("slo status: %d %s %s", r.code, r.stdout, r.stderr)
	}
	byName := map[string]budget.Status{}
	for _, st := range statuses {
		byName[st.SLO] = st
	}
	if st := byName["spike"]; st.Source != budget.SourceRecorded || st.State != budget.StateExhausted || !slices.Contains(st.Firing, "page") || st.BudgetRemaining == nil || *st.BudgetRemaining >= 0 {
		t.Errorf("spike status = %+v", st)
	}
	if st := byName["mild"]; slices.Contains(st.Firing, "page") || !slices.Contains(st.Firing, "ticket") {
		t.Errorf("mild status fires %v, want the ticket only", st.Firing)
	}
	if r := run(t, vars, "slo", "status"); r.code != 0 || !strings.Contains(r.stdout, "shop/spike") || !strings.Contains(r.stdout, "exhausted") {
		t.Errorf("slo status table: %s %s", r.stdout, r.stderr)
	}
	// A pipeline asks before it ships. The spike's budget is spent, but
	// its rules began seconds ago: too little evidence to freeze on (issue
	// 9, item 10), which the status and the gate's answer say.
	if st := byName["spike"]; !strings.HasPrefix(st.Reason, "new SLO: data over ") {
		t.Errorf("spike status reason = %q, want it to say the SLO is new", st.Reason)
	}
	r = run(t, vars, "slo", "gate", "shop")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "allow") || !strings.Contains(r.stdout, "not frozen yet: ") || !strings.Contains(r.stdout, "spike has") || !strings.Contains(r.stdout, "minimum of evidence") {
		t.Errorf("deploy gate: %d %s %s", r.code, r.stdout, r.stderr)
	}
	var hist struct{ Points []budget.Point }
	resp := call(t, "GET", srv.url+"/api/v1/services/shop/slos/mild/history?from=5m&step=1s", adminSecret, "", &hist)
	if resp.StatusCode != 200 || len(hist.Points) < 2 || hist.Points[len(hist.Points)-1].BudgetRemaining >= 0 {
		t.Errorf("history: %d %+v", resp.StatusCode, hist.Points)
	}

	// A team that wants no minimum of evidence says so: the same spent
	// budget then freezes at once.
	strict := startServer(t, filepath.Join(t.TempDir(), "strict.db"), "--catalog", dir, "--prometheus-url", prom.URL, "--freeze-min-observed", "0", "--freeze-min-events", "0")
	r = run(t, cliVars(strict, adminSecret), "slo", "gate", "shop")
	if r.code == 0 || !strings.HasPrefix(r.stdout, "deny") || strings.Contains(r.stdout, "minimum of evidence") {
		t.Errorf("deploy gate without a minimum of evidence: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestSLOStatusWithoutPrometheus: an unreachable Prometheus gives unknown,
// never a number, and the gate follows the policy for unknown budgets.
func TestSLOStatusWithoutPrometheus(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		dead := fmt.Sprintf("http://127.0.0.1:%d", promtest.FreePort(t))
		srv := startServer(t, dsn, "--catalog", exampleCatalog, "--prometheus-url", dead)
		vars := cliVars(srv, adminSecret)
		var st budget.Status
		resp := call(t, "GET", srv.url+"/api/v1/services/checkout-api/slos/availability", adminSecret, "", &st)
		if resp.StatusCode != 200 || st.State != budget.StateUnknown || !strings.Contains(st.Reason, "connection refused") || st.BudgetRemaining != nil || st.Objective != 99.9 || st.Window != "28d" {
			t.Errorf("status with Prometheus down: %d %+v", resp.StatusCode, st)
		}
		if r := run(t, vars, "slo", "gate", "checkout-api"); r.code != 0 || !strings.HasPrefix(r.stdout, "allow: allowed although budget unknown") {
			t.Errorf("gate with an unknown budget: %d %s", r.code, r.stdout)
		}
		if r := run(t, vars, "slo", "gate", "postgres-main"); r.code != 0 || !strings.Contains(r.stdout, "no SLO") {
			t.Errorf("gate of a service without SLO: %d %s", r.code, r.stdout)
		}
		var list struct{ SLOs []budget.Status }
		call(t, "GET", srv.url+"/api/v1/slos?team=identity", adminSecret, "", &list)
		if len(list.SLOs) != 1 || list.SLOs[0].SLO != "login-success" || list.SLOs[0].Window != "calendar month (Europe/Berlin)" {
			t.Errorf("SLOs of team identity: %+v", list.SLOs)
		}
		if resp := call(t, "GET", srv.url+"/api/v1/services/checkout-api/slos/nope", adminSecret, "", nil); resp.StatusCode != 404 {
			t.Errorf("unknown SLO: %d", resp.StatusCode)
		}
		if resp := call(t, "GET", srv.url+"/api/v1/services/checkout-api/slos/availability/history?from=1h&to=2h", adminSecret, "", nil); resp.StatusCode != 422 {
			t.Errorf("history with from after to: %d", resp.StatusCode)
		}

		strict := startServer(t, dsn, "--prometheus-url", dead, "--deny-unknown")
		if r := run(t, cliVars(strict, adminSecret), "slo", "gate", "checkout-api", "--output", "json"); r.code != 1 || !strings.Contains(r.stdout, `"decision": "deny"`) {
			t.Errorf("gate with --deny-unknown: %d %s", r.code, r.stdout)
		}
	})
}

const eventsCatalog = `apiVersion: tsuna/v1
kind: Team
name: batch
---
apiVersion: tsuna/v1
kind: Team
name: other
---
apiVersion: tsuna/v1
kind: Service
name: nightly
team: batch
tier: 1
chat: {channel: "#batch"}
slos:
  - name: jobs
    objective: 90
    window: 7d
    sli:
      events: {}
`

// TestEventStoreSLO pushes events for an SLO without Prometheus and reads
// its budget: computed the same way, retries counted once, bad pushes
// refused whole.
func TestEventStoreSLO(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(eventsCatalog), 0o644)
		srv := startServer(t, dsn, "--catalog", dir)
		admin := cliVars(srv, adminSecret)
		mk := func(args ...string) string {
			return strings.TrimSpace(run(t, admin, append([]string{"token", "create"}, args...)...).stdout)
		}
		batch := mk("--name", "batch-ci", "--role", "editor", "--team", "batch")
		other := mk("--name", "other-ci", "--role", "editor", "--team", "other")
		viewer := mk("--name", "v", "--role", "viewer")
		url := srv.url + "/api/v1/services/nightly/slos/jobs/events"
		now := time.Now().UTC()
		body := fmt.Sprintf(`{"events":[{"key":"run-1","timestamp":%q,"good":95,"total":100},{"key":"run-2","timestamp":%q,"good":80,"total":100}]}`,
			now.Add(-2*time.Hour).Format(time.RFC3339), now.Add(-time.Minute).Format(time.RFC3339))
		for tok, want := range map[string]int{viewer: 403, other: 403, "": 401} {
			if resp := call(t, "POST", url, tok, body, nil); resp.StatusCode != want {
				t.Errorf("push with the wrong token: %d, want %d", resp.StatusCode, want)
			}
		}
		var res map[string]int
		if resp := call(t, "POST", url, batch, body, &res); resp.StatusCode != 200 || res["added"] != 2 {
			t.Fatalf("push: %d %v", resp.StatusCode, res)
		}
		if call(t, "POST", url, batch, body, &res); res["added"] != 0 || res["duplicates"] != 2 {
			t.Errorf("retried push: %v", res)
		}
		for bad, want := range map[string]string{
			`{"events":[{"key":"x","timestamp":"2020-01-01T00:00:00Z","good":1,"total":1}]}`:                                                                                  "before this SLO's period",
			fmt.Sprintf(`{"events":[{"key":"x","timestamp":%q,"good":5,"total":1}]}`, now.Format(time.RFC3339)):                                                               "0 <= good <= total",
			fmt.Sprintf(`{"events":[{"key":"x","timestamp":%q,"good":1,"total":1},{"timestamp":%q,"good":1,"total":1}]}`, now.Format(time.RFC3339), now.Format(time.RFC3339)): "events[1].key",
			`{"events":[{"key":"x","timestamp":"yesterday","good":1,"total":1}]}`:                                                                                             `timestamp "yesterday" is not in RFC 3339`,
		} {
			var p struct{ Detail string }
			if resp := call(t, "POST", url, batch, bad, &p); resp.StatusCode != 422 || !strings.Contains(p.Detail, want) {
				t.Errorf("bad push %s: %d %q, want 422 %q", bad, resp.StatusCode, p.Detail, want)
			}
		}
		// 25 bad of 200 over the 7-day period (12.5%) against a 10% budget:
		// overspent by a quarter, shown as -25%, not clamped to 0.
		var st budget.Status
		call(t, "GET", srv.url+"/api/v1/services/nightly/slos/jobs", adminSecret, "", &st)
		if st.Source != budget.SourceEvents || st.State != budget.StateExhausted || st.BudgetRemaining == nil || math.Abs(*st.BudgetRemaining+25) > 1e-9 || math.Abs(*st.SLI-87.5) > 1e-9 {
			t.Errorf("event SLO status = %+v", st)
		}
		// 20% errors in the last hour: burn rate 2; 12.5% over 3 days: 1.25.
		if st.BurnRates["1h"] != 2 || st.BurnRates["3d"] != 1.25 || !slices.Equal(st.Firing, []string{"ticket"}) {
			t.Errorf("burn rates = %v, firing %v", st.BurnRates, st.Firing)
		}
		if r := run(t, cliVars(srv, adminSecret), "slo", "gate", "nightly"); r.code != 1 || !strings.Contains(r.stdout, "jobs has -25% of its error budget left") {
			t.Errorf("gate: %d %s", r.code, r.stdout)
		}
		// A policy that tolerates overspending a tier 1 service by half allows it.
		lenient := startServer(t, dsn, "--freeze-below", "1=-50")
		if r := run(t, cliVars(lenient, adminSecret), "slo", "gate", "nightly"); r.code != 0 || !strings.HasPrefix(r.stdout, "allow:") {
			t.Errorf("lenient gate: %d %s", r.code, r.stdout)
		}
	})
}

// TestServeRefusesABadMinimumOfEvidence: a minimum of evidence that cannot
// be a share of a period, or a count, is refused at start with what to
// give, before anything is opened.
func TestServeRefusesABadMinimumOfEvidence(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	for _, args := range [][]string{{"--freeze-min-observed", "150"}, {"--freeze-min-observed", "-1"}, {"--freeze-min-events", "-5"}} {
		r := run(t, nil, append([]string{"serve", "--db", db}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, args[0]+" ") || !strings.Contains(r.stderr, "give ") {
			t.Errorf("serve %v: %d %s", args, r.code, r.stderr)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("a refused serve created the database")
	}
}
