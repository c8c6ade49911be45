package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// pmWords is the vocabulary of generated postmortems: operations words
// (searched for) among filler made of syllables.
var pmWords = []string{"database", "failover", "replica", "timeout", "certificate", "expired", "deploy", "rollback", "cache", "eviction",
	"dns", "latency", "saturation", "queue", "backlog", "throttling", "kafka", "partition", "leader", "election", "memory", "leak",
	"gateway", "retry", "storm", "config", "flag", "migration", "index", "lock", "contention", "disk", "full", "network", "packet", "loss"}

func fillerWord(r *rand.Rand) string {
	syl := []string{"ka", "lo", "mi", "ren", "sto", "va", "qu", "ed", "in", "tar", "po", "zel"}
	n := 2 + r.IntN(3)
	var b strings.Builder
	for range n {
		b.WriteString(syl[r.IntN(len(syl))])
	}
	return b.String()
}

// GeneratePostmortems stores n published postmortems with bodies of
// about 400 words (1 in 100 an operations word, so a word of a query is
// in about one postmortem in ten), deterministically
// from seed, each through the store's own CreatePostmortem.
func GeneratePostmortems(ctx context.Context, db *store.DB, n int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed))
	teams := []string{"payments", "storefront", "platform", "identity"}
	for i := range n {
		var b strings.Builder
		title := fmt.Sprintf("%s %s after %s", pmWords[r.IntN(len(pmWords))], pmWords[r.IntN(len(pmWords))], pmWords[r.IntN(len(pmWords))])
		fmt.Fprintf(&b, "# %s\n\n## Summary\n\n", title)
		for w := range 400 {
			if r.IntN(100) == 0 {
				b.WriteString(pmWords[r.IntN(len(pmWords))])
			} else {
				b.WriteString(fillerWord(r))
			}
			if w%15 == 14 {
				b.WriteString(".\n")
			} else {
				b.WriteByte(' ')
			}
		}
		p := &postmortem.Postmortem{Incident: fmt.Sprintf("INC-%d", i+1), Title: title, Severity: fmt.Sprintf("SEV%d", 1+r.IntN(4)),
			Services: []string{fmt.Sprintf("svc-%d", r.IntN(200))}, Team: teams[r.IntN(len(teams))], Status: postmortem.StatusPublished,
			Authors: []string{"gen"}, Reviewers: []string{}, Labels: []string{}, Template: "default", TemplateVersion: 1, Body: b.String(), Revision: 1}
		if r.IntN(20) == 0 {
			p.Labels = []string{postmortem.LabelRecommended}
		}
		if _, _, err := db.CreatePostmortem(ctx, p, audit.Actor{Name: "gen", Source: audit.SourceCLI}, nil); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkPostmortemSearch10k searches 10,000 published postmortems
// (one or two operations words per query) and reports the latency
// percentiles of a query, on both engines:
//
//	go test -run '^$' -bench PostmortemSearch10k -benchtime 400x ./internal/store
func BenchmarkPostmortemSearch10k(b *testing.B) {
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
			if err := GeneratePostmortems(ctx, db, 10000, 42); err != nil {
				b.Fatal(err)
			}
			if engine == store.Postgres {
				db.SQL().ExecContext(ctx, `ANALYZE`)
			}
			svc := postmortem.New(db, postmortem.Options{})
			r := rand.New(rand.NewPCG(7, 7))
			var lat []time.Duration
			hits := 0
			b.ResetTimer()
			for b.Loop() {
				q := pmWords[r.IntN(len(pmWords))]
				if r.IntN(2) == 0 {
					q += " " + pmWords[r.IntN(len(pmWords))]
				}
				start := time.Now()
				res, err := svc.Search(ctx, q, postmortem.Filter{Limit: 20})
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				hits += len(res)
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.5), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(hits)/float64(len(lat)), "hits/query")
		})
	}
}
