package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/readiness"
	"github.com/tsuna-sre/tsuna/internal/store"
)

const checklistV1 = `apiVersion: tsuna/v1
kind: Checklist
name: production-readiness
version: 1
levels: [bronze, silver]
categories:
  - name: Basics
    items:
      - id: runbook
        question: Is there a runbook?
        check: catalog.runbook != ""
      - id: rollback
        question: Is there a rollback plan?
        level: silver
        expires: 30d
      - id: majors
        question: No major incident lately?
        level: silver
        check: incidents.major_90d == 0
`

var ana = audit.Actor{Name: "ana", Source: audit.SourceCLI}

func queued(t *testing.T, db *store.DB, key string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM outbox WHERE group_key = $1`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReadinessReview: a review through the store on both engines:
// answers with who and when, refused without a comment, staleness after a
// SEV2 incident told once in the team's channel, a new checklist version,
// the scorecard, expiry, feedback kept with the version.
func TestReadinessReview(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		incidents := incidentDB(t, db)
		now := time.Now()
		clock := func() time.Time { return now }
		svc := readiness.New(db, readiness.Options{Incidents: readiness.IncidentsOf(incidents), Now: func() time.Time { return clock() }})
		files := []catalog.File{{Path: "prr.yaml", Data: []byte(checklistV1)}}
		if added, err := svc.ApplyChecklists(ctx, files, ana, false); err != nil || len(added) != 1 {
			t.Fatalf("apply: %v %v", added, err)
		}
		r, created, err := svc.Open(ctx, "checkout-api", "", ana)
		if err != nil || !created {
			t.Fatalf("open: %v %v", created, err)
		}
		if r.Auto["runbook"].Result != "true" || r.Auto["majors"].Result != "true" || r.Summary.Level != "bronze" || strings.Join(r.Summary.Blocking, ",") != "rollback" {
			t.Fatalf("opened %+v", r)
		}
		if _, err := svc.Answer(ctx, "checkout-api", "", readiness.Answer{Item: "rollback", State: readiness.AcceptedRisk}, ana); tsuna.ErrorCode(err) != tsuna.EINVALID {
			t.Fatalf("accepted risk without comment: %v", err)
		}
		r, err = svc.Answer(ctx, "checkout-api", "", readiness.Answer{Item: "rollback", State: readiness.Done, Evidence: "https://wiki/rollback"}, ana)
		if err != nil || r.Summary.Level != "silver" || r.Answers["rollback"].By != "ana" || r.Summary.ValidUntil == nil {
			t.Fatalf("answered: %+v %v", r, err)
		}
		// Reading it back gives the same answer, who and until when.
		back, err := db.CurrentReview(ctx, "checkout-api", readiness.DefaultChecklistName)
		if err != nil || back.Answers["rollback"].ExpiresAt.Sub(back.Answers["rollback"].At) != 30*24*time.Hour || back.Checklist.Version != 1 {
			t.Fatalf("read back %+v %v", back, err)
		}
		recs, err := db.AuditRecords(ctx, audit.Filter{Kind: "ReadinessReview"})
		if err != nil || len(recs) != 2 || recs[0].Action != "answer" || recs[0].Actor != "ana" {
			t.Fatalf("audit: %+v %v", recs, err)
		}

		// A SEV2 incident makes the review stale; the team hears it once.
		key := fmt.Sprintf("readiness/%d/stale", r.ID)
		if _, _, err := incidents.Declare(ctx, incident.Declaration{Title: "Checkout down", Severity: "SEV2", Services: []string{"checkout-api"}}, anyone); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := svc.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
		}
		r, _ = db.CurrentReview(ctx, "checkout-api", readiness.DefaultChecklistName)
		if r.Stale == nil || !strings.Contains(r.Stale.Reason, "SEV2 incident INC-1 hit the service") || r.Auto["majors"].Result != "false" {
			t.Fatalf("after SEV2: %+v", r)
		}
		if n := queued(t, db, key); n != 1 {
			t.Fatalf("%d stale messages queued, want 1", n)
		}
		var channel string
		db.SQL().QueryRow(`SELECT channel FROM outbox WHERE group_key = $1`, key).Scan(&channel)
		if channel != "#payments" {
			t.Errorf("stale message to %q, want the team's #payments", channel)
		}
		// The scorecard says since when, as the review does.
		if rows, _ := svc.Scorecard(ctx, readiness.Filter{Team: "payments"}); len(rows) != 1 || rows[0].Stale == nil || !rows[0].Stale.Since.Equal(r.Stale.Since) {
			t.Fatalf("scorecard of a stale review: %+v, want stale since %s", rows, r.Stale.Since)
		}

		// A new review carries the answer over; the scorecard shows the level and blockers.
		r2, created, err := svc.Open(ctx, "checkout-api", "", ana)
		if err != nil || !created || r2.ID == r.ID || r2.Answers["rollback"].By != "ana" || r2.Summary.Level != "bronze" || strings.Join(r2.Summary.Blocking, ",") != "majors" {
			t.Fatalf("reopened %+v %v", r2, err)
		}
		rows, err := svc.Scorecard(ctx, readiness.Filter{})
		if err != nil || len(rows) != 2 || rows[0].Service != "checkout-api" || rows[0].Summary.Level != "bronze" || rows[1].Status != readiness.StatusNone {
			t.Fatalf("scorecard %+v %v", rows, err)
		}
		if rows, _ := svc.Scorecard(ctx, readiness.Filter{Team: "payments"}); len(rows) != 1 {
			t.Fatalf("scorecard of payments: %+v", rows)
		}
		// 31 days on, the manual answer no longer counts.
		later := now.Add(31 * 24 * time.Hour)
		clock = func() time.Time { return later }
		rows, _ = svc.Scorecard(ctx, readiness.Filter{})
		if rows[0].Summary.Level != "bronze" || strings.Join(rows[0].Summary.Blocking, ",") != "rollback,majors" {
			t.Fatalf("after expiry: %+v", rows[0].Summary)
		}
		clock = func() time.Time { return now }

		// The same version with other content is refused; a new version stales the review.
		changed := strings.Replace(checklistV1, "Is there a runbook?", "Is there a runbook, current?", 1)
		if _, err := svc.ApplyChecklists(ctx, []catalog.File{{Path: "prr.yaml", Data: []byte(changed)}}, ana, false); tsuna.ErrorCode(err) != tsuna.ECONFLICT {
			t.Fatalf("changed v1: %v", err)
		}
		v2 := strings.Replace(changed, "version: 1", "version: 2", 1)
		if _, err := svc.ApplyChecklists(ctx, []catalog.File{{Path: "prr.yaml", Data: []byte(v2)}}, ana, false); err != nil {
			t.Fatal(err)
		}
		r2, _ = db.ReviewByID(ctx, r2.ID)
		if r2.Stale == nil || !strings.Contains(r2.Stale.Reason, "changed from version 1 to 2") {
			t.Fatalf("after v2: %+v", r2.Stale)
		}
		if n := queued(t, db, fmt.Sprintf("readiness/%d/stale", r2.ID)); n != 1 {
			t.Fatalf("%d messages for v2, want 1", n)
		}

		// Closing asks for feedback, kept with the checklist's version.
		if _, err := svc.Close(ctx, "checkout-api", "", "", ana); tsuna.ErrorCode(err) != tsuna.EINVALID {
			t.Fatalf("close without feedback: %v", err)
		}
		if _, err := svc.Close(ctx, "checkout-api", "", "ask about feature flags", ana); err != nil {
			t.Fatal(err)
		}
		fb, err := svc.Feedback(ctx, "")
		if err != nil || len(fb) != 1 || fb[0].Version != 1 || fb[0].By != "ana" {
			t.Fatalf("feedback %+v %v", fb, err)
		}
		if _, err := svc.Answer(ctx, "checkout-api", "", readiness.Answer{Item: "rollback", State: readiness.NotDone}, ana); tsuna.ErrorCode(err) != tsuna.ECONFLICT {
			t.Fatalf("answer on a closed review: %v", err)
		}
	})
}
