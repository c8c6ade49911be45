package store_test

import (
	"context"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/catalog/catalogtest"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// BenchmarkApply10k applies 10,000 services in 500 teams to an empty
// database, one transaction with 10,500 audit records:
//
//	go test -run '^$' -bench Apply10k -benchtime 3x ./internal/store
func BenchmarkApply10k(b *testing.B) {
	c, _ := catalog.Parse(catalogtest.Generate(500, 10000))
	objects := c.Objects()
	for _, engine := range []string{store.SQLite, store.Postgres} {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				b.StopTimer()
				db, err := store.Open(ctx, pgtest.EngineDSN(b, engine), nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				changes, err := db.ApplyCatalog(ctx, objects, catalog.ApplyOptions{Prune: true, Actor: actor})
				if err != nil || len(changes) != 10500 {
					b.Fatalf("apply: %d changes, %v", len(changes), err)
				}
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
		})
	}
}
