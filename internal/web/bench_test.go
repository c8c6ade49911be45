package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/catalog/catalogtest"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/server"
	"github.com/tsuna-sre/tsuna/internal/slo"
	"github.com/tsuna-sre/tsuna/internal/store"
	"github.com/tsuna-sre/tsuna/internal/web"
)

// BenchmarkPages renders every page of the console, server-side through
// the whole HTTP handler, for an admin (every team) on a catalog of 10,000
// services in 500 teams with 30,000 SLOs (one counting pushed events, two
// read from Prometheus, per service), on SQLite and PostgreSQL. It reports
// the p50 and p99 of each page:
//
//	go test -run '^$' -bench Pages -benchtime 200x ./internal/web
func BenchmarkPages(b *testing.B) {
	c, diags := catalog.Parse(catalogtest.Generate(500, 10000))
	if c == nil {
		b.Fatal(diags)
	}
	for _, svc := range c.Services {
		svc.SLOs = []*slo.SLO{
			{Service: svc.Name, Team: svc.Team, Name: "jobs", Objective: 99, SLI: slo.SLI{Events: &struct{}{}}},
			{Service: svc.Name, Team: svc.Team, Name: "availability", Objective: 99.9, SLI: slo.SLI{Ratio: &slo.Ratio{
				Errors: fmt.Sprintf(`sum(rate(http_requests_total{job=%q,code=~"5.."}[{{.window}}]))`, svc.Name),
				Total:  fmt.Sprintf(`sum(rate(http_requests_total{job=%q}[{{.window}}]))`, svc.Name)}}},
			{Service: svc.Name, Team: svc.Team, Name: "latency", Objective: 99, SLI: slo.SLI{Latency: &slo.Latency{Metric: "http_request_duration_seconds", Threshold: 0.3,
				Selector: fmt.Sprintf(`{job=%q}`, svc.Name)}}},
		}

	}
	objects := c.Objects()
	pages := []string{"/", "/?team=team-0042", "/services", "/services?q=svc-0999", "/services?budget=no_data&page=100",
		"/services/svc-05000", "/services/svc-05000/slos/jobs", "/services/svc-05000/slos/availability",
		"/teams", "/teams/team-0042", "/alerts", "/audit", "/account"}
	for _, engine := range []string{store.SQLite, store.Postgres} {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			dsn := filepath.Join(b.TempDir(), "bench.db")
			if engine == store.Postgres {
				dsn = pgtest.DSN(b)
			}
			db, err := store.Open(ctx, dsn, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			actor := audit.Actor{Name: "bench", Source: audit.SourceCLI}
			if _, err := db.ApplyCatalog(ctx, objects, catalog.ApplyOptions{Prune: true, Actor: actor}); err != nil {
				b.Fatal(err)
			}
			// A month of daily counts for one service's events SLO.
			var events []budget.Event
			for d := range 30 {
				events = append(events, budget.Event{Key: fmt.Sprint(d), Timestamp: time.Now().Add(-time.Duration(d) * 24 * time.Hour), Good: 990, Total: 1000})
			}
			if _, err := db.AddEvents(ctx, "svc-05000", "jobs", events); err != nil {
				b.Fatal(err)
			}
			if err := db.CreateToken(ctx, &auth.Token{Name: "admin", Role: auth.RoleAdmin}, auth.HashSecret(adminSecret), actor); err != nil {
				b.Fatal(err)
			}
			secret, id := auth.NewSessionSecret()
			if err := db.CreateSession(ctx, &auth.Session{ID: id, Token: "admin", ExpiresAt: time.Now().Add(time.Hour)}, auth.HashSecret(secret), actor); err != nil {
				b.Fatal(err)
			}
			ev := budget.New(nil, db)
			cons := web.New(web.Config{Store: db, Budget: ev})
			defer cons.Close()
			srv := server.New(server.Config{Store: db, Budget: ev, Console: cons})
			get := func(path string) (time.Duration, int) {
				req := httptest.NewRequest("GET", path, nil)
				req.AddCookie(&http.Cookie{Name: "tsuna_session", Value: secret})
				w := httptest.NewRecorder()
				start := time.Now()
				srv.ServeHTTP(w, req)
				return time.Since(start), w.Code
			}
			// The first load reads the catalog and evaluates every SLO once.
			first, code := get("/")
			if code != 200 {
				b.Fatalf("GET /: %d", code)
			}
			b.Logf("%s: first page, loading 10,000 services and evaluating 30,000 SLOs: %v", engine, first.Round(time.Millisecond))
			for _, p := range pages {
				b.Run(p, func(b *testing.B) {
					var ds []time.Duration
					for b.Loop() {
						d, code := get(p)
						if code != 200 {
							b.Fatalf("GET %s: %d", p, code)
						}
						ds = append(ds, d)
					}
					slices.Sort(ds)
					b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(ds[min(len(ds)-1, len(ds)*99/100)].Microseconds())/1000, "p99-ms")
				})
			}
		})
	}
}
