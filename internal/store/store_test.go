package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// forEachEngine runs fn as a subtest on a fresh SQLite and a fresh
// PostgreSQL database.
func forEachEngine(t *testing.T, fn func(t *testing.T, db *store.DB, dsn string)) {
	t.Helper()
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		db := openDB(t, dsn)
		if engine := path.Base(t.Name()); db.Engine() != engine {
			t.Fatalf("engine = %s, want %s", db.Engine(), engine)
		}
		fn(t, db, dsn)
	})
}

// openDB opens dsn and closes it when the test ends.
func openDB(tb testing.TB, dsn string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), dsn, nil)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// benchEachEngine runs fn as a sub-benchmark on a fresh SQLite and a fresh
// PostgreSQL database, each holding the catalog objects.
func benchEachEngine(b *testing.B, objects []catalog.Object, fn func(b *testing.B, db *store.DB)) {
	for _, engine := range []string{store.SQLite, store.Postgres} {
		b.Run(engine, func(b *testing.B) {
			db := openDB(b, pgtest.EngineDSN(b, engine))
			if _, err := db.ApplyCatalog(context.Background(), objects, catalog.ApplyOptions{Prune: true, Actor: actor}); err != nil {
				b.Fatal(err)
			}
			fn(b, db)
		})
	}
}

func parse(t *testing.T, yaml string) []catalog.Object {
	t.Helper()
	c, diags := catalog.Parse([]catalog.File{{Path: "c.yaml", Data: []byte(yaml)}})
	if c == nil {
		var b strings.Builder
		diags.WriteText(&b)
		t.Fatalf("catalog does not parse:\n%s", b.String())
	}
	return c.Objects()
}

const base = `
apiVersion: tsuna/v1
kind: Team
name: payments
chat: {channel: "#payments"}
---
apiVersion: tsuna/v1
kind: Team
name: platform
chat: {channel: "#platform"}
---
apiVersion: tsuna/v1
kind: Service
name: checkout
team: payments
tier: 1
dependsOn: [db]
---
apiVersion: tsuna/v1
kind: Service
name: db
team: platform
lifecycle: experimental
`

var actor = audit.Actor{Name: "test", Source: audit.SourceCLI, RequestID: "req-1"}

func summary(changes []catalog.Change) string {
	var parts []string
	for _, c := range changes {
		parts = append(parts, c.Action+" "+c.Kind+"/"+c.Name)
	}
	return strings.Join(parts, ", ")
}

func auditCount(t *testing.T, db *store.DB) int {
	t.Helper()
	recs, err := db.AuditRecords(context.Background(), audit.Filter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func TestApplyCatalog(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		changes, err := db.ApplyCatalog(ctx, parse(t, base), catalog.ApplyOptions{Prune: true, Actor: actor})
		if err != nil {
			t.Fatal(err)
		}
		want := "create Team/payments, create Team/platform, create Service/checkout, create Service/db"
		if got := summary(changes); got != want {
			t.Fatalf("first apply = %s, want %s", got, want)
		}
		if n := auditCount(t, db); n != 4 {
			t.Fatalf("audit records after first apply = %d, want 4", n)
		}

		// Unchanged: no change, no audit record.
		changes, err = db.ApplyCatalog(ctx, parse(t, base), catalog.ApplyOptions{Prune: true, Actor: actor})
		if err != nil || len(changes) != 0 {
			t.Fatalf("re-apply = %v, %v; want no change", summary(changes), err)
		}
		if n := auditCount(t, db); n != 4 {
			t.Fatalf("audit records after unchanged re-apply = %d, want 4", n)
		}

		svcs, err := db.Services(ctx, catalog.ServiceFilter{Team: "payments"})
		if err != nil || len(svcs) != 1 || svcs[0].Name != "checkout" || svcs[0].Tier != 1 || svcs[0].DependsOn[0] != "db" {
			t.Fatalf("services of payments = %+v, %v", svcs, err)
		}
		svcs, _ = db.Services(ctx, catalog.ServiceFilter{Lifecycle: "experimental"})
		if len(svcs) != 1 || svcs[0].Name != "db" {
			t.Fatalf("experimental services = %+v", svcs)
		}
		svcs, _ = db.Services(ctx, catalog.ServiceFilter{Tier: 3})
		if len(svcs) != 1 || svcs[0].Name != "db" {
			t.Fatalf("tier 3 services (default tier) = %+v", svcs)
		}
		if _, err := db.Service(ctx, "nope"); tsuna.ErrorCode(err) != tsuna.ENOTFOUND {
			t.Fatalf("missing service: %v, want not_found", err)
		}
		team, err := db.Team(ctx, "platform")
		if err != nil || team.Chat.Channel != "#platform" {
			t.Fatalf("team platform = %+v, %v", team, err)
		}

		// Move db to payments, drop the platform team: an update and a delete.
		next := strings.Replace(base, "name: db\nteam: platform", "name: db\nteam: payments", 1)
		next = strings.Replace(next, "apiVersion: tsuna/v1\nkind: Team\nname: platform\nchat: {channel: \"#platform\"}\n---", "", 1)

		dry, err := db.ApplyCatalog(ctx, parse(t, next), catalog.ApplyOptions{Prune: true, DryRun: true, Actor: actor})
		if err != nil || summary(dry) != "update Service/db, delete Team/platform" {
			t.Fatalf("dry run = %s, %v", summary(dry), err)
		}
		if _, err := db.Team(ctx, "platform"); err != nil {
			t.Fatalf("dry run deleted the team: %v", err)
		}
		kept, err := db.ApplyCatalog(ctx, parse(t, next), catalog.ApplyOptions{Prune: false, Actor: actor})
		if err != nil || summary(kept) != "update Service/db" {
			t.Fatalf("apply without prune = %s, %v", summary(kept), err)
		}
		pruned, err := db.ApplyCatalog(ctx, parse(t, next), catalog.ApplyOptions{Prune: true, Actor: actor})
		if err != nil || summary(pruned) != "delete Team/platform" {
			t.Fatalf("apply with prune = %s, %v", summary(pruned), err)
		}
		recs, _ := db.AuditRecords(ctx, audit.Filter{Kind: "Team", Name: "platform"})
		if len(recs) != 2 || recs[0].Action != "delete" || recs[0].After != nil || !strings.Contains(string(recs[0].Before), `"#platform"`) {
			t.Fatalf("audit of team platform = %+v", recs)
		}
		if recs[0].Actor != "test" || recs[0].Source != "cli" || recs[0].RequestID != "req-1" {
			t.Fatalf("audit record lacks actor/source/request id: %+v", recs[0])
		}
	})
}

func TestApplyRejectedWritesNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		deny := func([]catalog.Change) error { return tsuna.Errorf(tsuna.EFORBIDDEN, "no") }
		_, err := db.ApplyCatalog(ctx, parse(t, base), catalog.ApplyOptions{Prune: true, Actor: actor, Authorize: deny})
		if tsuna.ErrorCode(err) != tsuna.EFORBIDDEN {
			t.Fatalf("err = %v, want forbidden", err)
		}
		teams, _ := db.Teams(ctx)
		if len(teams) != 0 || auditCount(t, db) != 0 {
			t.Fatalf("a refused apply wrote %d teams and %d audit records", len(teams), auditCount(t, db))
		}
	})
}

func TestTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		if has, _ := db.HasTokens(ctx); has {
			t.Fatal("new database has tokens")
		}
		secret := auth.NewSecret()
		tok := &auth.Token{Name: "ci", Role: auth.RoleEditor, Team: "payments"}
		if err := db.CreateToken(ctx, tok, auth.HashSecret(secret), actor); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateToken(ctx, &auth.Token{Name: "ci", Role: auth.RoleViewer}, auth.HashSecret(auth.NewSecret()), actor); tsuna.ErrorCode(err) != tsuna.ECONFLICT {
			t.Fatalf("duplicate name: %v, want conflict", err)
		}
		if err := db.CreateToken(ctx, &auth.Token{Name: "x", Role: auth.RoleEditor}, "h", actor); tsuna.ErrorCode(err) != tsuna.EINVALID {
			t.Fatalf("editor without team: %v, want invalid", err)
		}
		got, err := db.TokenBySecretHash(ctx, auth.HashSecret(secret))
		if err != nil || got.Name != "ci" || got.Role != auth.RoleEditor || got.Team != "payments" || got.CreatedBy != "test" {
			t.Fatalf("lookup = %+v, %v", got, err)
		}
		if _, err := db.TokenBySecretHash(ctx, auth.HashSecret("wrong")); tsuna.ErrorCode(err) != tsuna.EUNAUTHORIZED {
			t.Fatalf("wrong secret: %v", err)
		}
		if _, err := db.RevokeToken(ctx, "ci", actor); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TokenBySecretHash(ctx, auth.HashSecret(secret)); tsuna.ErrorCode(err) != tsuna.EUNAUTHORIZED {
			t.Fatalf("revoked token still authenticates: %v", err)
		}
		if _, err := db.RevokeToken(ctx, "nope", actor); tsuna.ErrorCode(err) != tsuna.ENOTFOUND {
			t.Fatalf("revoke unknown: %v", err)
		}
		list, _ := db.Tokens(ctx)
		if len(list) != 1 || list[0].RevokedAt == nil {
			t.Fatalf("tokens = %+v", list)
		}
		recs, _ := db.AuditRecords(ctx, audit.Filter{Kind: store.KindToken})
		if len(recs) != 2 || recs[0].Action != "revoke" || recs[1].Action != "create" {
			t.Fatalf("token audit = %+v", recs)
		}
		for _, r := range recs {
			if strings.Contains(string(r.After), auth.HashSecret(secret)) || strings.Contains(string(r.After), secret) {
				t.Fatal("audit record holds the token secret or its hash")
			}
		}
	})
}

func TestAuditAppendOnlyAndTamperEvident(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		if _, err := db.ApplyCatalog(ctx, parse(t, base), catalog.ApplyOptions{Prune: true, Actor: actor}); err != nil {
			t.Fatal(err)
		}
		res, err := db.VerifyAudit(ctx, nil)
		n, brk := res.Verified, res.Break
		if err != nil || brk != nil || n != 4 {
			t.Fatalf("verify intact log = %d, %+v, %v", n, brk, err)
		}
		// The application's own connection cannot rewrite history.
		if _, err := db.SQL().Exec(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("update of an audit record: %v, want append-only error", err)
		}
		if _, err := db.SQL().Exec(`DELETE FROM audit_log WHERE seq = 2`); err == nil {
			t.Fatal("delete of an audit record succeeded")
		}
		// Someone with full database access drops the guard and edits a row.
		tamper(t, db, `UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`)
		res, err = db.VerifyAudit(ctx, nil)
		if brk = res.Break; err != nil || brk == nil || brk.Seq != 3 || !strings.Contains(brk.Reason, "changed") {
			t.Fatalf("verify tampered log = %+v, %v; want a break at seq 3", brk, err)
		}
	})
}

func TestAuditDeletionDetected(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		if _, err := db.ApplyCatalog(ctx, parse(t, base), catalog.ApplyOptions{Prune: true, Actor: actor}); err != nil {
			t.Fatal(err)
		}
		tamper(t, db, `DELETE FROM audit_log WHERE seq = 2`)
		res, _ := db.VerifyAudit(ctx, nil)
		if brk := res.Break; brk == nil || brk.Seq != 3 || !strings.Contains(brk.Reason, "sequence gap") {
			t.Fatalf("verify after deletion = %+v; want a gap at seq 3", brk)
		}
	})
}

// tamper runs stmt with the append-only triggers removed, as an attacker
// with database rights could.
func tamper(t *testing.T, db *store.DB, stmt string) {
	t.Helper()
	drops := []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`}
	if db.Engine() == store.Postgres {
		drops = []string{`DROP TRIGGER audit_log_append_only ON audit_log`}
	}
	for _, d := range append(drops, stmt) {
		if _, err := db.SQL().Exec(d); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
	}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		if _, err := db.ApplyCatalog(ctx, parse(t, base), catalog.ApplyOptions{Prune: true, Actor: actor}); err != nil {
			t.Fatal(err)
		}
		db.Close()
		db2, err := store.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		svcs, err := db2.Services(ctx, catalog.ServiceFilter{})
		if err != nil || len(svcs) != 2 {
			t.Fatalf("after reopen: %d services, %v", len(svcs), err)
		}
	})
}

func TestAuditFilters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		other := audit.Actor{Name: "other", Source: audit.SourceAPI}
		db.ApplyCatalog(ctx, parse(t, base), catalog.ApplyOptions{Prune: true, Actor: actor})
		db.CreateToken(ctx, &auth.Token{Name: "v", Role: auth.RoleViewer}, "h1", other)
		recs, _ := db.AuditRecords(ctx, audit.Filter{Actor: "other"})
		if len(recs) != 1 || recs[0].Kind != store.KindToken {
			t.Fatalf("by actor = %+v", recs)
		}
		all, _ := db.AuditRecords(ctx, audit.Filter{})
		if len(all) != 5 || all[0].Seq != 5 {
			t.Fatalf("all records newest first = %d records, first seq %d", len(all), all[0].Seq)
		}
		page, _ := db.AuditRecords(ctx, audit.Filter{Before: 3, Limit: 10})
		if len(page) != 2 || page[0].Seq != 2 {
			t.Fatalf("before seq 3 = %+v", page)
		}
		later, _ := db.AuditRecords(ctx, audit.Filter{Since: all[0].Time})
		if len(later) != 1 {
			t.Fatalf("since the last record's time = %d records, want 1", len(later))
		}
		none, _ := db.AuditRecords(ctx, audit.Filter{Until: all[len(all)-1].Time})
		if len(none) != 0 {
			t.Fatalf("until the first record's time = %d records, want 0", len(none))
		}
		b, _ := json.Marshal(all[0])
		if !strings.Contains(string(b), `"hash"`) {
			t.Fatalf("record JSON lacks hash: %s", b)
		}
	})
}

func TestOpenErrorHidesPassword(t *testing.T) {
	_, err := store.Open(context.Background(), "postgres://tsuna:hunter2secret@127.0.0.1:1/tsuna?sslmode=disable&connect_timeout=2", nil)
	if err == nil {
		t.Fatal("opened a database on port 1")
	}
	if strings.Contains(err.Error(), "hunter2secret") {
		t.Fatalf("error holds the password: %v", err)
	}
}

// TestConcurrentWritersKeepTheChain runs applies and token changes from
// many goroutines at once: every write lands, the chain stays intact.
func TestConcurrentWritersKeepTheChain(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		if _, err := db.ApplyCatalog(ctx, parse(t, base), catalog.ApplyOptions{Prune: true, Actor: actor}); err != nil {
			t.Fatal(err)
		}
		const writers = 8
		errs := make(chan error, 2*writers)
		for i := range writers {
			go func() {
				errs <- db.CreateToken(ctx, &auth.Token{Name: fmt.Sprintf("t%d", i), Role: auth.RoleViewer}, fmt.Sprintf("hash-%d", i), actor)
			}()
			go func() {
				desc := strings.Replace(base, "lifecycle: experimental", fmt.Sprintf("lifecycle: experimental\ndescription: writer %d", i), 1)
				_, err := db.ApplyCatalog(ctx, parse(t, desc), catalog.ApplyOptions{Prune: true, Actor: actor})
				errs <- err
			}()
		}
		for range 2 * writers {
			if err := <-errs; err != nil {
				t.Errorf("concurrent write: %v", err)
			}
		}
		res, err := db.VerifyAudit(ctx, nil)
		n, brk := res.Verified, res.Break
		// 4 creates, 8 tokens, and 8 applies that each changed db's description.
		if err != nil || brk != nil || n != 4+writers+writers {
			t.Fatalf("after concurrent writes: %d records verified, break %+v, %v", n, brk, err)
		}
	})
}

func TestEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Minute)
		ev := []budget.Event{
			{Key: "a", Timestamp: now.Add(-90 * time.Minute), Good: 90, Total: 100},
			{Key: "b", Timestamp: now.Add(-10 * time.Minute), Good: 45, Total: 50},
			{Key: "c", Timestamp: now.Add(-10*time.Minute + 20*time.Second), Good: 5, Total: 10}, // same minute as b
		}
		if n, err := db.AddEvents(ctx, "shop", "pushes", ev); err != nil || n != 3 {
			t.Fatalf("add: %d %v", n, err)
		}
		// A retry of the same push counts nothing twice.
		if n, err := db.AddEvents(ctx, "shop", "pushes", ev[:2]); err != nil || n != 0 {
			t.Fatalf("retry: %d %v", n, err)
		}
		// A key reused with other counts is refused, and nothing of that push is stored.
		bad := []budget.Event{{Key: "d", Timestamp: now, Good: 1, Total: 1}, {Key: "a", Timestamp: now, Good: 1, Total: 2}}
		if _, err := db.AddEvents(ctx, "shop", "pushes", bad); tsuna.ErrorCode(err) != tsuna.ECONFLICT {
			t.Fatalf("reused key: %v", err)
		}
		good, total, err := db.EventSums(ctx, "shop", "pushes", []time.Time{now.Add(-time.Hour), now.Add(-2 * time.Hour), now.Add(-time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if good[0] != 50 || total[0] != 60 || good[1] != 140 || total[1] != 160 || total[2] != 0 {
			t.Fatalf("sums = good %v total %v; want 50/60, 140/160, 0", good, total)
		}
		if _, total, _ := db.EventSums(ctx, "shop", "other", []time.Time{now.Add(-time.Hour)}); total[0] != 0 {
			t.Fatalf("another SLO's sums = %v", total)
		}
	})
}

// TestReplicasMigrateTogether opens a new database from several replicas
// at once, as a rollout does: they take turns, and every one starts.
func TestReplicasMigrateTogether(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() {
				db, err := store.Open(context.Background(), dsn, nil)
				if err == nil {
					db.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		}
	})
}
