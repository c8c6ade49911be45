package budget_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/promtest"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// manyApps serves counters for n apps, growing at each scrape.
type manyApps struct {
	mu sync.Mutex
	n  int
	k  float64
}

func (m *manyApps) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	m.k++
	k := m.k
	m.mu.Unlock()
	var b strings.Builder
	for i := range m.n {
		fmt.Fprintf(&b, "req_total{app=\"a%d\",code=\"200\"} %g\nreq_total{app=\"a%d\",code=\"500\"} %g\n", i, 1e6+k*100, i, 1e4+k*float64(i%7))
	}
	w.Write([]byte(b.String()))
}

// BenchmarkEvaluate1000 evaluates 1,000 SLOs (100 services of 10) against a
// real Prometheus: from the recorded series of tsuna's rules, and from the
// SLIs' raw queries.
//
//	go test -run '^$' -bench Evaluate1000 -benchtime 5x ./internal/budget
func BenchmarkEvaluate1000(b *testing.B) {
	const n = 1000
	exp := httptest.NewServer(&manyApps{n: n})
	defer exp.Close()
	var slos []*slo.SLO
	rules := map[string][]byte{}
	for svc := range n / 10 {
		var group []*slo.SLO
		for i := range 10 {
			app := svc*10 + i
			s := &slo.SLO{Service: fmt.Sprintf("svc%d", svc), Name: fmt.Sprintf("slo%d", i), Objective: 99, Source: slo.SourceTsuna,
				Window: slo.Window{Rolling: slo.Duration(30 * slo.Day)}, SLI: slo.SLI{Ratio: &slo.Ratio{
					Errors: fmt.Sprintf(`sum(rate(req_total{app="a%d",code="500"}[{{.window}}]))`, app),
					Total:  fmt.Sprintf(`sum(rate(req_total{app="a%d"}[{{.window}}]))`, app)}}}
			group = append(group, s)
		}
		slos = append(slos, group...)
		var data bytes.Buffer
		if err := slo.WriteRules(&data, group, slo.Options{GroupPrefix: slo.DefaultGroupPrefix}, slo.FormatPrometheus, ""); err != nil {
			b.Fatal(err)
		}
		rules[fmt.Sprintf("svc%d.yaml", svc)] = data.Bytes()
	}
	prom := promtest.Start(b, fmt.Sprintf("global: {scrape_interval: 2s, evaluation_interval: 2s}\nrule_files: [\"rules/*.yaml\"]\nscrape_configs:\n  - job_name: apps\n    static_configs: [{targets: [%q]}]\n",
		strings.TrimPrefix(exp.URL, "http://")), rules)
	ev := budget.New(client(b, prom.URL), nil)
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st := ev.Evaluate(ctx, slos, time.Now())
		ready := 0
		for _, s := range st {
			if s.Source == budget.SourceRecorded && s.BudgetRemaining != nil {
				ready++
			}
		}
		if ready == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d SLOs have recorded series after 3 minutes", ready, n)
		}
		time.Sleep(2 * time.Second)
	}
	b.Run("recorded", func(b *testing.B) {
		for b.Loop() {
			st := ev.Evaluate(ctx, slos, time.Now())
			if st[n-1].Source != budget.SourceRecorded || st[n-1].BudgetRemaining == nil {
				b.Fatalf("status = %+v", st[n-1])
			}
		}
	})
	raw := make([]*slo.SLO, n) // the same SLOs under other names: no recordings
	for i, s := range slos {
		c := *s
		c.Name = "raw-" + s.Name
		raw[i] = &c
	}
	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			st := ev.Evaluate(ctx, raw, time.Now())
			if st[n-1].Source != budget.SourceRaw || st[n-1].BudgetRemaining == nil {
				b.Fatalf("status = %+v", st[n-1])
			}
		}
	})
}
