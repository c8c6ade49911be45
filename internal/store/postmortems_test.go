package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/store"
)

const pmCatalog = `
apiVersion: tsuna/v1
kind: Team
name: payments
chat: {channel: "#payments"}
members:
  - {email: ana@example.com, slack: U0ANA}
  - {email: bo@example.com}
---
apiVersion: tsuna/v1
kind: Team
name: storefront
chat: {channel: "#storefront"}
---
apiVersion: tsuna/v1
kind: Service
name: checkout-api
team: payments
---
apiVersion: tsuna/v1
kind: Service
name: web
team: storefront
`

var (
	pmPayments   = postmortem.Actor{Name: "payments-ci", Source: audit.SourceAPI, Teams: []string{"payments"}}
	pmStorefront = postmortem.Actor{Name: "storefront-viewer", Source: audit.SourceAPI}
	pmAdmin      = postmortem.Actor{Name: "admin", Source: audit.SourceCLI, Admin: true}
)

// pmSetup applies the catalog and returns the incident and postmortem
// services over db.
func pmSetup(t *testing.T, db *store.DB) (*incident.Service, *postmortem.Service) {
	t.Helper()
	if _, err := db.ApplyCatalog(context.Background(), parse(t, pmCatalog), catalog.ApplyOptions{Actor: audit.Actor{Name: "t", Source: "cli"}}); err != nil {
		t.Fatal(err)
	}
	inc := incident.New(db, incident.Options{})
	return inc, postmortem.New(db, postmortem.Options{Incidents: inc, Linker: inc, Jobs: db})
}

// resolvedIncident declares, notes and resolves an incident of service.
func resolvedIncident(t *testing.T, inc *incident.Service, title, service string, notes ...string) *incident.Incident {
	t.Helper()
	ctx := context.Background()
	a := incident.Actor{Name: "admin", Source: audit.SourceCLI, Admin: true}
	i, _, err := inc.Declare(ctx, incident.Declaration{Title: title, Services: []string{service}, Lead: "ana@example.com"}, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range notes {
		if _, err := inc.Note(ctx, i.Number, n, time.Time{}, "", a); err != nil {
			t.Fatal(err)
		}
	}
	st := incident.StatusResolved
	if i, err = inc.Update(ctx, i.Number, incident.Change{Status: &st}, a); err != nil {
		t.Fatal(err)
	}
	return i
}

func publish(t *testing.T, pm *postmortem.Service, ref, body string, labels ...string) *postmortem.Postmortem {
	t.Helper()
	ctx := context.Background()
	p, _, err := pm.Draft(ctx, postmortem.DraftRequest{Incident: ref}, pmAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		if _, err := pm.Edit(ctx, p.Ref, postmortem.Change{Body: &body, Labels: &labels}, pmAdmin); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pm.Review(ctx, p.Ref, []string{"rev@example.com"}, pmAdmin); err != nil {
		t.Fatal(err)
	}
	if p, err = pm.Publish(ctx, p.Ref, pmAdmin); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPostmortemDraftEditPublish drafts from a resolved incident, edits
// it (the previous text kept in revisions and the audit log), and walks it
// through review to the library, on both engines.
func TestPostmortemDraftEditPublish(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		inc, pm := pmSetup(t, db)
		i := resolvedIncident(t, inc, "Checkout timeouts", "checkout-api", "Rolled back the connection pool change")
		p, created, err := pm.Draft(ctx, postmortem.DraftRequest{Incident: i.Ref}, pmPayments)
		if err != nil || !created {
			t.Fatalf("draft: %v %v", created, err)
		}
		if p.Status != postmortem.StatusDraft || p.Team != "payments" || p.Template != "default" || p.TemplateVersion != 1 || p.Due == nil {
			t.Fatalf("draft = %+v", p)
		}
		for _, want := range []string{"## Timeline", "Rolled back the connection pool change", "impact started → resolved", "## Root causes and trigger"} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("draft lacks %q:\n%s", want, p.Body)
			}
		}
		again, created, err := pm.Draft(ctx, postmortem.DraftRequest{Incident: i.Ref}, pmPayments)
		if err != nil || created || again.ID != p.ID {
			t.Fatalf("second draft: %v %v %v", again, created, err)
		}
		if got, _ := inc.Get(ctx, i.Number); got.Postmortem != p.Ref {
			t.Errorf("incident links postmortem %q, want %s", got.Postmortem, p.Ref)
		}
		// A draft is not shown outside its team.
		if _, err := pm.Get(ctx, p.Ref, pmStorefront); tsuna.ErrorCode(err) != tsuna.ENOTFOUND {
			t.Errorf("draft read by another team: %v", err)
		}
		if _, err := pm.Edit(ctx, p.Ref, postmortem.Change{Body: ptr("x")}, pmStorefront); tsuna.ErrorCode(err) != tsuna.ENOTFOUND {
			t.Errorf("draft edited by another team: %v", err)
		}
		first := p.Body
		edited, err := pm.Edit(ctx, p.Ref, postmortem.Change{Body: ptr("# Checkout timeouts\n\nThe pool was exhausted."), Revision: p.Revision}, pmPayments)
		if err != nil || edited.Revision != p.Revision+1 {
			t.Fatalf("edit: %+v %v", edited, err)
		}
		// An edit based on the old revision is refused and changes nothing.
		if _, err := pm.Edit(ctx, p.Ref, postmortem.Change{Body: ptr("stale"), Revision: p.Revision}, pmPayments); tsuna.ErrorCode(err) != tsuna.ECONFLICT {
			t.Errorf("stale edit: %v", err)
		}
		revs, err := db.PostmortemRevisions(ctx, p.ID)
		if err != nil || len(revs) != 1 || revs[0].Body != first || revs[0].Actor != "payments-ci" {
			t.Fatalf("revisions = %+v %v", revs, err)
		}
		recs, _ := db.AuditRecords(ctx, audit.Filter{Kind: store.KindPostmortem, Name: p.Ref})
		if len(recs) != 2 || recs[0].Action != "edit" || !strings.Contains(string(recs[0].Before), "Rolled back") {
			t.Fatalf("audit = %d records; newest %+v", len(recs), recs[0])
		}
		if _, err := pm.Publish(ctx, p.Ref, pmPayments); tsuna.ErrorCode(err) != tsuna.ECONFLICT {
			t.Errorf("publish a draft: %v", err)
		}
		if _, err := pm.Review(ctx, p.Ref, nil, pmPayments); tsuna.ErrorCode(err) != tsuna.EINVALID {
			t.Errorf("review without reviewers: %v", err)
		}
		if _, err := pm.Review(ctx, p.Ref, []string{"rev@example.com"}, pmPayments); err != nil {
			t.Fatal(err)
		}
		// The reviewer publishes.
		rev := postmortem.Actor{Name: "rev@example.com", Source: audit.SourceUI}
		if p, err = pm.Publish(ctx, p.Ref, rev); err != nil || p.Status != postmortem.StatusPublished || p.PublishedAt == nil {
			t.Fatalf("publish: %+v %v", p, err)
		}
		if got, err := pm.Get(ctx, i.Ref, pmStorefront); err != nil || got.ID != p.ID {
			t.Errorf("published, read by another team through its incident: %v %v", got, err)
		}
	})
}

// TestPostmortemSearch checks the library's full-text search on both
// engines: a word of the text finds a published postmortem, the better
// match ranks first, drafts are never found, excerpts mark the words.
func TestPostmortemSearch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		inc, pm := pmSetup(t, db)
		weak := publish(t, pm, resolvedIncident(t, inc, "Slow pages", "web").Ref,
			"# Slow pages\n\nA cache node restarted. The failover of the session store was also slow.\n", "caching")
		strong := publish(t, pm, resolvedIncident(t, inc, "Database failover stalled checkout", "checkout-api").Ref,
			"# Database failover stalled checkout\n\nThe failover took 9 minutes. During failover, writes <script>queued</script>. Failover tests were missing.\n", "recommended", "database")
		draftInc := resolvedIncident(t, inc, "Failover drill", "checkout-api")
		draft, _, err := pm.Draft(ctx, postmortem.DraftRequest{Incident: draftInc.Ref}, pmAdmin)
		if err != nil {
			t.Fatal(err)
		}
		pm.Edit(ctx, draft.Ref, postmortem.Change{Body: ptr("failover failover failover")}, pmAdmin)

		hits, err := pm.Search(ctx, "failover", postmortem.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 2 || hits[0].Postmortem.ID != strong.ID || hits[1].Postmortem.ID != weak.ID || hits[0].Rank <= hits[1].Rank {
			for _, h := range hits {
				t.Logf("hit %s rank %v", h.Postmortem.Ref, h.Rank)
			}
			t.Fatalf("search failover: %d hits, want %s then %s", len(hits), strong.Ref, weak.Ref)
		}
		h := hits[0]
		if len(h.Marks) == 0 || !strings.EqualFold(h.Excerpt[h.Marks[0][0]:h.Marks[0][1]], "failover") || strings.ContainsAny(h.Excerpt, "\x02\x03") {
			t.Errorf("excerpt %q marks %v", h.Excerpt, h.Marks)
		}
		// Stemming: "failovers" finds "failover"; a filter narrows; an
		// operator-looking query is only words.
		if hits, err := pm.Search(ctx, `"failover*) -(`, postmortem.Filter{Service: "web"}); err != nil || len(hits) != 1 {
			t.Errorf("search with operators: %d %v", len(hits), err)
		}
		if hits, err := pm.Search(ctx, "failovers", postmortem.Filter{Service: "web"}); err != nil || len(hits) != 1 || hits[0].Postmortem.ID != weak.ID {
			t.Errorf("stemmed search in web: %v %v", hits, err)
		}
		if _, err := pm.Search(ctx, strings.Repeat("a", postmortem.MaxQuery+1), postmortem.Filter{}); tsuna.ErrorCode(err) != tsuna.EINVALID {
			t.Errorf("long query: %v", err)
		}
		// The library lists published ones, recommended first; the reading
		// list and related lists follow labels and services.
		lib, err := pm.Library(ctx, postmortem.Filter{})
		if err != nil || len(lib) != 2 || lib[0].ID != strong.ID {
			t.Fatalf("library = %v %v", lib, err)
		}
		if rl, _ := pm.ReadingList(ctx, 10); len(rl) != 1 || rl[0].ID != strong.ID {
			t.Errorf("reading list = %v", rl)
		}
		if rel, _ := pm.Related(ctx, []string{"checkout-api"}, nil, 0, 10); len(rel) != 1 || rel[0].ID != strong.ID {
			t.Errorf("related to checkout-api = %v", rel)
		}
		// A match deep in a long text still gets an excerpt around it,
		// marked, on both engines.
		long := publish(t, pm, resolvedIncident(t, inc, "Quiet night", "web").Ref,
			"# Quiet night\n\n"+strings.Repeat("Nothing notable happened in this part of the night. ", 1500)+"\n\nThen the replication lagged.\n")
		if hits, err := pm.Search(ctx, "replication", postmortem.Filter{}); err != nil || len(hits) != 1 || hits[0].Postmortem.ID != long.ID ||
			len(hits[0].Marks) == 0 || !strings.EqualFold(hits[0].Excerpt[hits[0].Marks[0][0]:hits[0].Marks[0][1]], "replication") {
			t.Errorf("a match 75 KB into the text: %+v %v, want its excerpt marked", hits, err)
		}
		// Unpublishing takes it out of the index.
		if _, err := pm.Reopen(ctx, weak.Ref, pmAdmin); tsuna.ErrorCode(err) != tsuna.ECONFLICT {
			t.Errorf("published → draft: %v", err)
		}
		if _, err := pm.Review(ctx, weak.Ref, nil, pmAdmin); err != nil {
			t.Fatal(err)
		}
		if hits, _ := pm.Search(ctx, "failover", postmortem.Filter{}); len(hits) != 1 {
			t.Errorf("after unpublishing: %d hits", len(hits))
		}
	})
}

// TestPostmortemActionsOnce checks follow-up actions: owners are catalog
// members, overdue ones are counted per team, and a digest or a welcome
// keyed once is queued once under concurrent senders, on both engines.
func TestPostmortemActionsOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		inc, pm := pmSetup(t, db)
		p := publish(t, pm, resolvedIncident(t, inc, "Checkout timeouts", "checkout-api").Ref, "")
		if _, err := pm.AddAction(ctx, p.Ref, postmortem.NewAction{Title: "Alert on pool saturation", Type: "detect", Owner: "nobody@example.com"}, pmPayments); tsuna.ErrorCode(err) != tsuna.EINVALID {
			t.Errorf("owner outside the catalog: %v", err)
		}
		old := time.Now().AddDate(0, 0, -10)
		a, err := pm.AddAction(ctx, p.Ref, postmortem.NewAction{Title: "Alert on pool saturation", Type: "detect", Owner: "bo@example.com", Due: &old}, pmPayments)
		if err != nil {
			t.Fatal(err)
		}
		future := time.Now().AddDate(0, 0, 10)
		if _, err := pm.AddAction(ctx, p.Ref, postmortem.NewAction{Title: "Load test the pool", Type: "prevent", Owner: "ana@example.com", Due: &future}, pmPayments); err != nil {
			t.Fatal(err)
		}
		counts, err := db.ActionCounts(ctx, time.Now())
		if err != nil || len(counts) != 1 || counts[0] != (postmortem.TeamCounts{Team: "payments", Open: 2, Overdue: 1}) {
			t.Fatalf("counts = %+v %v", counts, err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		sent := 0
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := pm.SendDigest(ctx, "payments", "2026-W48")
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					sent++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if sent != 1 || outboxCount(t, db, "digest/payments/2026-W48") != 1 {
			t.Errorf("digest queued %d times (outbox %d), want once", sent, outboxCount(t, db, "digest/payments/2026-W48"))
		}
		wont := postmortem.ActionWontDo
		if _, err := pm.UpdateAction(ctx, a.ID, postmortem.ActionChange{Status: &wont}, pmPayments); tsuna.ErrorCode(err) != tsuna.EINVALID {
			t.Errorf("won't do without a reason: %v", err)
		}
		if _, err := pm.UpdateAction(ctx, a.ID, postmortem.ActionChange{Status: &wont, Reason: ptr("covered by the new pool")}, pmPayments); err != nil {
			t.Fatal(err)
		}
		if over, _ := pm.Overdue(ctx, "payments"); len(over) != 0 {
			t.Errorf("overdue after won't do: %v", over)
		}
		if ok, _ := pm.SendDigest(ctx, "payments", "2026-W49"); ok {
			t.Error("a digest with nothing overdue was sent")
		}
	})
}

func outboxCount(t *testing.T, db *store.DB, key string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM outbox WHERE group_key = $1`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
