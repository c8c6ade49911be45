package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/store"
)

const (
	benchIncidents = 10000
	benchEntries   = 100 // timeline entries per incident
)

// seedIncidents writes n incidents of m timeline entries each straight
// into the tables, as years of use would leave them.
func seedIncidents(b *testing.B, db *store.DB, n, m int, now time.Time) {
	ctx := context.Background()
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	insert := func(prefix string, cols int, rows [][]any) {
		for len(rows) > 0 {
			k := min(len(rows), 500)
			var marks []string
			var args []any
			for _, r := range rows[:k] {
				ps := make([]string, cols)
				for i := range cols {
					args = append(args, r[i])
					ps[i] = fmt.Sprintf("$%d", len(args))
				}
				marks = append(marks, "("+strings.Join(ps, ", ")+")")
			}
			if _, err := tx.ExecContext(ctx, prefix+" VALUES "+strings.Join(marks, ", "), args...); err != nil {
				b.Fatal(err)
			}
			rows = rows[k:]
		}
	}
	sevs := []string{"SEV1", "SEV2", "SEV3", "SEV4"}
	var incs, svcs [][]any
	for i := 1; i <= n; i++ {
		reported := now.Add(-time.Duration(n-i) * 10 * time.Minute)
		impact, detected := reported.Add(-time.Duration(5+i%30)*time.Minute), reported.Add(-time.Duration(i%5)*time.Minute)
		ack, resolved := reported.Add(time.Duration(1+i%7)*time.Minute), reported.Add(time.Duration(30+i%90)*time.Minute)
		inc := incident.Incident{Number: int64(i), Ref: incident.RefOf(int64(i)), Title: fmt.Sprintf("Incident %d", i),
			Severity: sevs[i%4], Status: incident.StatusResolved, Services: []string{"checkout-api"}, Team: "payments",
			Timestamps: incident.Timestamps{ImpactStarted: &impact, Detected: &detected, Reported: &reported, Acknowledged: &ack, Mitigated: &resolved, Resolved: &resolved},
			Drill:      i%50 == 0, ReportedBy: "bench", Source: "api", UpdatedAt: resolved}
		spec, _ := json.Marshal(inc)
		incs = append(incs, []any{i, inc.Status, inc.Severity, inc.Team, inc.Drill, reported, string(spec), resolved})
		svcs = append(svcs, []any{"checkout-api", i})
	}
	insert(`INSERT INTO incidents (number, status, severity, team, drill, reported_at, spec, updated_at)`, 8, incs)
	insert(`INSERT INTO incident_services (service, number)`, 2, svcs)
	for i := 1; i <= n; i++ {
		reported := now.Add(-time.Duration(n-i) * 10 * time.Minute)
		rows := make([][]any, m)
		for j := range m {
			rows[j] = []any{i, reported.Add(time.Duration(j) * time.Minute), "note", "bench", "api", fmt.Sprintf("entry %d of incident %d", j, i)}
		}
		insert(`INSERT INTO incident_timeline (number, time, kind, actor, source, text)`, 6, rows)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkIncidents10k: the list, one timeline and the metrics over
// 10,000 incidents of 100 timeline entries each, on each engine (goal:
// under 200 ms each):
//
//	go test -run '^$' -bench Incidents10k -benchtime 10x ./internal/store
func BenchmarkIncidents10k(b *testing.B) {
	c, diags := catalog.Parse([]catalog.File{{Path: "c.yaml", Data: []byte(incidentCatalog)}})
	if c == nil {
		b.Fatal(diags)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	ctx := context.Background()
	benchEachEngine(b, c.Objects(), func(b *testing.B, db *store.DB) {
		seedIncidents(b, db, benchIncidents, benchEntries, now)
		svc := incident.New(db, incident.Options{})
		b.Run("list", func(b *testing.B) {
			for b.Loop() {
				list, err := svc.List(ctx, incident.Filter{Status: []string{incident.StatusResolved}, Team: "payments", Limit: 100})
				if err != nil || len(list) != 100 {
					b.Fatalf("list: %d, %v", len(list), err)
				}
			}
		})
		b.Run("timeline", func(b *testing.B) {
			for b.Loop() {
				es, err := svc.Timeline(ctx, benchIncidents/2, incident.TimelineFilter{})
				if err != nil || len(es) != benchEntries {
					b.Fatalf("timeline: %d, %v", len(es), err)
				}
			}
		})
		b.Run("metrics", func(b *testing.B) {
			for b.Loop() {
				rep, err := svc.Metrics(ctx, now.Add(-365*24*time.Hour), now.Add(time.Minute), incident.BySeverity)
				if err != nil || rep.All.TTR.Count != benchIncidents-benchIncidents/50 {
					b.Fatalf("metrics: %+v, %v", rep, err)
				}
			}
		})
	})
}
