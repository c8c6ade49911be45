package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/catalog/catalogtest"
	"github.com/tsuna-sre/tsuna/internal/readiness"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// benchChecklist has 40 items over 3 levels, half checked, half manual.
func benchChecklist(b *testing.B) *catalog.Checklist {
	var y strings.Builder
	y.WriteString("apiVersion: tsuna/v1\nkind: Checklist\nname: production-readiness\nversion: 1\nlevels: [bronze, silver, gold]\ncategories:\n")
	for c := range 5 {
		fmt.Fprintf(&y, "  - name: Category %d\n    items:\n", c)
		for i := range 8 {
			n := c*8 + i
			fmt.Fprintf(&y, "      - id: item-%d\n        question: Question %d?\n        level: %s\n", n, n, []string{"bronze", "silver", "gold"}[n%3])
			if n%2 == 0 {
				y.WriteString("        check: catalog.runbook != \"\" && size(catalog.oncall) > 0\n")
			}
		}
	}
	cls, err := catalog.ChecklistsOf([]catalog.File{{Path: "b.yaml", Data: []byte(y.String())}})
	if err != nil {
		b.Fatal(err)
	}
	return cls[0]
}

// BenchmarkScorecard10k: the scorecard of 10,000 reviewed services against
// a checklist of 40 items, on each engine; "expired" has every summary past
// its validity, so every review is read again and assessed:
//
//	go test -run '^$' -bench Scorecard10k -benchtime 5x ./internal/store
func BenchmarkScorecard10k(b *testing.B) {
	c, _ := catalog.Parse(catalogtest.Generate(500, 10000))
	objects := c.Objects()
	cl := benchChecklist(b)
	now := time.Now().UTC().Truncate(time.Second)
	ctx := context.Background()
	benchEachEngine(b, objects, func(b *testing.B, db *store.DB) {
		seedReviews(b, db, c, cl, now)
		clock := now
		svc := readiness.New(db, readiness.Options{Now: func() time.Time { return clock }})
		for _, mode := range []string{"fresh", "expired"} {
			b.Run(mode, func(b *testing.B) {
				clock = now
				if mode == "expired" {
					clock = now.Add(400 * 24 * time.Hour)
				}
				start := cpuTime()
				for b.Loop() {
					rows, err := svc.Scorecard(ctx, readiness.Filter{})
					if err != nil || len(rows) != 10000 || rows[0].ReviewID == 0 {
						b.Fatalf("scorecard: %d rows, %v", len(rows), err)
					}
				}
				// The machine is shared: CPU time says what wall time cannot.
				b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
			})
		}
	})
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// seedReviews stores a review of every service, 20 answers each, in one
// transaction of plain inserts.
func seedReviews(b *testing.B, db *store.DB, c *catalog.Catalog, cl *catalog.Checklist, now time.Time) {
	b.Helper()
	spec, _ := json.Marshal(cl)
	tx, err := db.SQL().Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO readiness_checklists (name, version, digest, items, spec, applied_by, applied_at) VALUES ($1, 1, $2, 40, $3, 'bench', $4)`,
		cl.Name, readiness.Digest(cl), string(spec), now); err != nil {
		b.Fatal(err)
	}
	for i, s := range c.Services {
		r := &readiness.Review{Service: s.Name, Team: s.Team, Tier: s.Tier, Lifecycle: s.Lifecycle, Checklist: cl, Status: readiness.StatusOpen,
			OpenedBy: "bench", OpenedAt: now, EvaluatedAt: now, Auto: map[string]readiness.Auto{}, Answers: map[string]readiness.Answer{}}
		for j, it := range cl.Items() {
			if it.Check != "" {
				res := "true"
				if (i+j)%7 == 0 {
					res = "false"
				}
				r.Auto[it.ID] = readiness.Auto{Result: "true", Evidence: map[string]any{"catalog.runbook": "https://r", "catalog.oncall": []string{"a@x"}}}
				_ = res
			} else if (i+j)%5 != 0 {
				r.Answers[it.ID] = readiness.Answer{Item: it.ID, State: readiness.Done, By: "ana", At: now, ExpiresAt: now.Add(180 * 24 * time.Hour)}
			}
		}
		_, r.Summary = readiness.Assess(r, now)
		body, _ := json.Marshal(struct {
			*readiness.Review
			Checklist any `json:"checklist,omitempty"`
			Answers   any `json:"answers,omitempty"`
		}{Review: r})
		sum, _ := json.Marshal(r.Summary)
		var id int64
		if err := tx.QueryRow(`INSERT INTO readiness_reviews (service, checklist, version, team, tier, lifecycle, status, level, stale_reason, valid_until, summary, spec, updated_at)
			VALUES ($1, $2, 1, $3, $4, $5, 'open', $6, '', $7, $8, $9, $10) RETURNING id`,
			s.Name, cl.Name, s.Team, s.Tier, s.Lifecycle, r.Summary.Level, r.Summary.ValidUntil, string(sum), string(body), now).Scan(&id); err != nil {
			b.Fatal(err)
		}
		for _, a := range r.Answers {
			if _, err := tx.Exec(`INSERT INTO readiness_answers (review_id, item, state, comment, evidence, answered_by, answered_at, expires_at) VALUES ($1, $2, $3, '', '', $4, $5, $6)`,
				id, a.Item, a.State, a.By, a.At, a.ExpiresAt); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
