package demo_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/demo"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/readiness"
	"github.com/tsuna-sre/tsuna/internal/store"
)

func TestMain(m *testing.M) {
	os.Exit(pgtest.Run(m))
}

func open(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var admin = postmortem.Actor{Name: "test", Source: audit.SourceCLI, Admin: true}

// TestSeedShowsTheLoop checks, on both engines, what a new user of
// `tsuna serve --demo` finds on the incident, postmortem and readiness
// pages: an open incident on the service burning now, declared minutes
// after its alert, and resolved ones with complete timelines, so every
// metric has figures; a published postmortem with actions done, open and
// overdue, and one in review; reviewed services at different levels, one
// stale since an incident; every change audited as the demo; a second
// start adds none of it again; no chat message is left waiting.
func TestSeedShowsTheLoop(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		now := time.Now()
		if err := demo.Seed(ctx, db, dsn, now); err != nil {
			t.Fatal(err)
		}
		incs := incident.New(db, incident.Options{})

		// Incidents: one open on checkout-api, the others resolved.
		list, err := incs.List(ctx, incident.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var open, resolved []*incident.Incident
		for _, inc := range list {
			if inc.Active() {
				open = append(open, inc)
			} else if inc.Timestamps.Resolved != nil {
				resolved = append(resolved, inc)
			}
		}
		if len(open) != 1 || len(resolved) < 2 || len(open)+len(resolved) != len(list) {
			t.Fatalf("%d incidents: %d open, %d resolved; want one open and at least two resolved", len(list), len(open), len(resolved))
		}
		o := open[0]
		ts := o.Timestamps
		switch {
		case !slices.Equal(o.Services, []string{"checkout-api"}) || o.Team != "payments" || o.Severity != "SEV2":
			t.Errorf("open incident %s on %v of %s, %s; want SEV2 on checkout-api (burning now) of payments", o.Ref, o.Services, o.Team, o.Severity)
		case o.Lead == "" || ts.Acknowledged == nil || len(o.Alerts) != 1:
			t.Errorf("open incident %s: lead %q, acknowledged %v, alerts %v; want a lead, acknowledged, its alert linked", o.Ref, o.Lead, ts.Acknowledged, o.Alerts)
		case ts.Detected == nil || ts.Reported == nil || ts.Reported.Sub(*ts.Detected) <= 0 || ts.Reported.Sub(*ts.Detected) > 15*time.Minute:
			t.Errorf("open incident %s detected %v, declared %v; want it declared minutes after its alert", o.Ref, ts.Detected, ts.Reported)
		case ts.Reported.Before(now.Add(-2*time.Hour)) || ts.Mitigated != nil:
			t.Errorf("open incident %s declared %v, mitigated %v; want it declared in the last two hours, not mitigated", o.Ref, ts.Reported, ts.Mitigated)
		}
		for _, inc := range list {
			tl, err := incs.Timeline(ctx, inc.Number, incident.TimelineFilter{})
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for i, e := range tl {
				kinds[e.Kind]++
				if e.Time.After(now) || e.Time.Before(*inc.Timestamps.ImpactStarted) || i > 0 && e.Time.Before(tl[i-1].Time) {
					t.Errorf("%s: entry %q at %v, outside its incident (impact %v, now %v) or out of order", inc.Ref, e.Text, e.Time, inc.Timestamps.ImpactStarted, now)
				}
				if e.Actor != demo.Actor.Name {
					t.Errorf("%s: entry %q by %q, want the demo's actor", inc.Ref, e.Text, e.Actor)
				}
			}
			if kinds[incident.EntryDeclared] != 1 || kinds[incident.EntryNote] == 0 || kinds[incident.EntryStatus] == 0 || kinds[incident.EntryRole] == 0 {
				t.Errorf("%s: timeline of %v, want a declaration, notes, status changes and roles", inc.Ref, kinds)
			}
		}
		rep, err := incs.Metrics(ctx, now.Add(-30*24*time.Hour), now.Add(time.Minute), incident.BySeverity)
		if err != nil {
			t.Fatal(err)
		}
		for name, d := range map[string]incident.Distribution{"TTD": rep.All.TTD, "TTA": rep.All.TTA, "TTM": rep.All.TTM, "TTR": rep.All.TTR} {
			if d.Count < len(resolved) || d.Median == nil || *d.Median <= 0 {
				t.Errorf("%s over 30 days: %d incidents, median %v; want figures for every resolved incident", name, d.Count, d.Median)
			}
		}
		if rep.All.TTD.Count != len(list) || rep.All.TTR.Count != len(resolved) {
			t.Errorf("TTD of %d, TTR of %d incidents; want %d and %d", rep.All.TTD.Count, rep.All.TTR.Count, len(list), len(resolved))
		}

		// Postmortems: the library's published one with its actions, one in review.
		pms := postmortem.New(db, postmortem.Options{Incidents: incs})
		lib, err := pms.Library(ctx, postmortem.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(lib) != 1 {
			t.Fatalf("library of %d postmortems, want one", len(lib))
		}
		p := lib[0]
		n, _ := incident.ParseRef(p.Incident)
		pinc, err := incs.Get(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if pinc.Active() || pinc.Postmortem != p.Ref || !strings.Contains(p.Body, "Timeouts only towards") || !strings.Contains(p.Body, "The trigger was") ||
			p.Facts.TimelineEntries == 0 || p.PublishedAt == nil || !p.PublishedAt.Before(now) {
			t.Errorf("published %s of %s (%s, linked %q): want drafted from the resolved incident's timeline, with its causes written, published before now\n%s",
				p.Ref, p.Incident, pinc.Status, pinc.Postmortem, p.Body)
		}
		if pinc.Timestamps.Resolved == nil || p.CreatedAt.Before(*pinc.Timestamps.Resolved) || !p.CreatedAt.Before(*p.PublishedAt) {
			t.Errorf("published %s drafted at %s: want after its incident was resolved (%v) and before it was published (%s), not when the demo was seeded",
				p.Ref, p.CreatedAt, pinc.Timestamps.Resolved, p.PublishedAt)
		}
		if len(p.Facts.Budget) == 0 || p.Facts.Budget[0].Spent == nil || *p.Facts.Budget[0].Spent <= 0 {
			t.Errorf("published %s: budget facts %+v, want the error budget the incident spent", p.Ref, p.Facts.Budget)
		}
		acts, err := pms.Actions(ctx, postmortem.ActionFilter{Postmortem: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		var done, pending, overdue int
		for _, a := range acts {
			switch {
			case a.Status == postmortem.ActionDone && a.ClosedAt != nil:
				done++
			case a.Overdue(now):
				overdue++
			case a.Status == postmortem.ActionOpen:
				pending++
			}
		}
		if done != 1 || pending != 1 || overdue != 1 {
			t.Errorf("actions of %s: %d done, %d open, %d overdue; want one of each", p.Ref, done, pending, overdue)
		}
		review, err := pms.List(ctx, postmortem.Filter{Status: postmortem.StatusInReview}, admin)
		if err != nil {
			t.Fatal(err)
		}
		if len(review) != 1 || len(review[0].Reviewers) == 0 || review[0].Due == nil || !review[0].Due.Before(now) {
			t.Errorf("postmortems in review: %+v, want one with reviewers, past its due day", review)
		}

		// Readiness: different levels, one review stale since an incident.
		rs := readiness.New(db, readiness.Options{})
		rows, err := rs.Scorecard(ctx, readiness.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		row := map[string]readiness.Row{}
		for _, r := range rows {
			row[r.Service] = r
		}
		pg, gw, auth := row["postgres-main"], row["payment-gateway"], row["auth-service"]
		if pg.Summary.Level != "silver" || pg.Summary.Next != "gold" || pg.Stale != nil || pg.Status != readiness.StatusClosed {
			t.Errorf("postgres-main: %s, next %s blocked by %v, stale %v; want silver, reviewed after its incident", pg.Summary.Level, pg.Summary.Next, pg.Summary.Blocking, pg.Stale)
		}
		if auth.Summary.Level != "bronze" || len(auth.Summary.Blocking) == 0 || auth.Status != readiness.StatusOpen {
			t.Errorf("auth-service: %s (%s), blocked by %v; want an open review at bronze with gaps", auth.Summary.Level, auth.Status, auth.Summary.Blocking)
		}
		if gw.ReviewID == 0 || gw.Stale == nil || !strings.Contains(gw.Stale.Reason, "SEV2 incident INC-") || gw.Stale.Since.IsZero() {
			t.Errorf("payment-gateway: review %d stale %+v; want it stale since its SEV2 incident", gw.ReviewID, gw.Stale)
		}
		if row["checkout-api"].ReviewID != 0 {
			t.Errorf("checkout-api was reviewed; the demo leaves it for the user to review")
		}

		// Every change audited as the demo; no chat message waiting but
		// the alert message the demo shows backing off.
		for _, kind := range []string{store.KindIncident, store.KindPostmortem, store.KindAction, "ReadinessReview"} {
			recs, err := db.AuditRecords(ctx, audit.Filter{Kind: kind, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) == 0 {
				t.Errorf("no audit record of kind %s", kind)
			}
			for _, r := range recs {
				if r.Actor != demo.Actor.Name || r.Source != demo.Actor.Source {
					t.Errorf("%s %s %s audited as %s via %s, want %s via %s", kind, r.Name, r.Action, r.Actor, r.Source, demo.Actor.Name, demo.Actor.Source)
				}
			}
		}
		// A second start adds traffic only.
		before := snapshot(t, db, incs, pms)
		if err := demo.Seed(ctx, db, dsn, now.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if after := snapshot(t, db, incs, pms); after != before {
			t.Errorf("a second start changed the demo: %+v, then %+v", before, after)
		}
		// No chat message of the stories is left waiting to be sent (the
		// delivery loop would post it again, or a Slack-less demo would
		// show it stuck).
		if items, err := db.ClaimOutbox(ctx, 100, time.Minute); err != nil || len(items) != 0 {
			t.Errorf("%d chat messages waiting after the seed (%v), want none", len(items), err)
		}
	})
}

// counts are what a second start must leave alone.
type counts struct {
	incidents, entries, postmortems, actions, reviews, audit int
	outbox                                                   string
}

func snapshot(t *testing.T, db *store.DB, incs *incident.Service, pms *postmortem.Service) counts {
	t.Helper()
	ctx := context.Background()
	var c counts
	list, err := incs.List(ctx, incident.Filter{Limit: incident.MaxList})
	if err != nil {
		t.Fatal(err)
	}
	c.incidents = len(list)
	for _, inc := range list {
		tl, err := incs.Timeline(ctx, inc.Number, incident.TimelineFilter{})
		if err != nil {
			t.Fatal(err)
		}
		c.entries += len(tl)
	}
	all, err := pms.List(ctx, postmortem.Filter{Limit: postmortem.MaxList}, admin)
	if err != nil {
		t.Fatal(err)
	}
	c.postmortems = len(all)
	acts, err := pms.Actions(ctx, postmortem.ActionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	c.actions = len(acts)
	rows, err := readiness.New(db, readiness.Options{}).Scorecard(ctx, readiness.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.ReviewID != 0 {
			c.reviews++
		}
	}
	recs, err := db.AuditRecords(ctx, audit.Filter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	c.audit = len(recs)
	oc, err := db.OutboxCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.outbox = fmt.Sprint(oc) // fmt sorts a map's keys
	return c
}

// TestSeedBase checks that SeedBase leaves the incident half empty, for
// tests that start from it.
func TestSeedBase(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := open(t, dsn)
		if err := demo.SeedBase(ctx, db, dsn, time.Now()); err != nil {
			t.Fatal(err)
		}
		list, err := incident.New(db, incident.Options{}).List(ctx, incident.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		pms, err := db.Postmortems(ctx, postmortem.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		svcs, err := db.Services(ctx, catalog.ServiceFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 0 || len(pms) != 0 || len(svcs) == 0 {
			t.Errorf("after SeedBase: %d incidents, %d postmortems, %d services; want the catalog without incidents", len(list), len(pms), len(svcs))
		}
	})
}
