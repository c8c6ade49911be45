package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/alerting/alertingtest"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/store"
)

const incidentCatalog = `
apiVersion: tsuna/v1
kind: Team
name: payments
chat: {channel: "#payments"}
members:
  - {email: ana@example.com, slack: U0ANA}
  - {email: bo@example.com, slack: U0BO}
oncall: [bo@example.com]
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
links: {runbook: "https://runbooks.example.com/checkout", dashboard: "https://grafana.example.com/d/checkout"}
---
apiVersion: tsuna/v1
kind: Service
name: web
team: storefront
`

func incidentDB(t *testing.T, db *store.DB) *incident.Service {
	t.Helper()
	if _, err := db.ApplyCatalog(context.Background(), parse(t, incidentCatalog), catalog.ApplyOptions{Actor: audit.Actor{Name: "t", Source: "cli"}}); err != nil {
		t.Fatal(err)
	}
	return incident.New(db, incident.Options{OrgChannel: "#incidents", ChatWorkflow: true})
}

var (
	anyone  = incident.Actor{Name: "viewer-token", Source: audit.SourceAPI}
	payEdit = incident.Actor{Name: "payments-ci", Source: audit.SourceAPI, Teams: []string{"payments"}}
	admin   = incident.Actor{Name: "admin", Source: audit.SourceCLI, Admin: true}
)

func ptr[T any](v T) *T { return &v }

func TestIncidentDeclareIdempotentAndSequential(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		svc := incidentDB(t, db)
		inc, created, err := svc.Declare(ctx, incident.Declaration{Title: "Checkout errors", Services: []string{"checkout-api"}, Key: "k1"}, anyone)
		if err != nil || !created {
			t.Fatalf("declare: %v %v", created, err)
		}
		if inc.Ref != "INC-1" || inc.Team != "payments" || inc.Status != incident.StatusActive || inc.Stage != incident.StageInvestigating || inc.Severity != "SEV2" || inc.Timestamps.Reported == nil {
			t.Fatalf("declared %+v", inc)
		}
		again, created, err := svc.Declare(ctx, incident.Declaration{Title: "Checkout errors", Services: []string{"checkout-api"}, Key: "k1"}, anyone)
		if err != nil || created || again.Number != 1 {
			t.Fatalf("replayed declaration: %+v %v %v", again, created, err)
		}
		// Concurrent declarations take distinct, gapless numbers.
		var wg sync.WaitGroup
		nums := make([]int64, 20)
		errs := make([]error, 20)
		for i := range 20 {
			wg.Go(func() {
				inc, _, err := svc.Declare(ctx, incident.Declaration{Title: fmt.Sprintf("n%d", i), Key: fmt.Sprintf("c%d", i%10)}, anyone)
				errs[i] = err
				if err == nil {
					nums[i] = inc.Number
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		distinct := slices.Compact(slices.Sorted(slices.Values(nums)))
		if len(distinct) != 10 || distinct[0] != 2 || distinct[9] != 11 {
			t.Fatalf("numbers %v, want 2..11 once each (10 keys)", distinct)
		}
		// One team message and one org message (SEV2 notifies it), one channel job.
		var msgs int
		db.SQL().QueryRow(`SELECT COUNT(*) FROM outbox WHERE group_key = 'incident/INC-1'`).Scan(&msgs)
		if msgs != 2 {
			t.Fatalf("%d messages queued for INC-1, want 2 (team and organisation)", msgs)
		}
		if _, err := db.Job(ctx, incident.JobChannel, "INC-1"); err != nil {
			t.Fatalf("channel job: %v", err)
		}
		// Bad input changes nothing.
		for _, d := range []incident.Declaration{
			{Title: ""}, {Title: "x", Severity: "SEV9"}, {Title: "x", Services: []string{"nope"}}, {Title: strings.Repeat("x", 300)},
		} {
			if _, _, err := svc.Declare(ctx, d, anyone); tsuna.ErrorCode(err) != tsuna.EINVALID {
				t.Errorf("%+v: %v, want invalid", d, err)
			}
		}
		list, err := svc.List(ctx, incident.Filter{Limit: 1000})
		if err != nil || len(list) != 11 {
			t.Fatalf("list: %d %v", len(list), err)
		}
	})
}

func TestIncidentStatusMachineAndPermissions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		svc := incidentDB(t, db)
		inc, _, err := svc.Declare(ctx, incident.Declaration{Title: "Maybe slow", Services: []string{"checkout-api"}, Triage: true, Severity: "SEV3"}, anyone)
		if err != nil || inc.Status != incident.StatusTriage {
			t.Fatalf("%+v %v", inc, err)
		}
		n := inc.Number
		// Anyone may add notes; changes need the lead, the team or an admin.
		if _, err := svc.Note(ctx, n, "saw 500s", time.Time{}, "", anyone); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Update(ctx, n, incident.Change{Severity: ptr("SEV1")}, anyone); tsuna.ErrorCode(err) != tsuna.EFORBIDDEN {
			t.Fatalf("viewer changed severity: %v", err)
		}
		storefront := incident.Actor{Name: "sf", Source: "api", Teams: []string{"storefront"}}
		if _, err := svc.Update(ctx, n, incident.Change{Status: ptr("active")}, storefront); tsuna.ErrorCode(err) != tsuna.EFORBIDDEN {
			t.Fatalf("other team changed status: %v", err)
		}
		// Taking the lead of a lead-less incident is open to anyone; it acknowledges.
		inc, err = svc.Update(ctx, n, incident.Change{Lead: ptr("viewer-token")}, anyone)
		if err != nil || inc.Lead != "viewer-token" || inc.Timestamps.Acknowledged == nil {
			t.Fatalf("take lead: %+v %v", inc, err)
		}
		// The lead may now change it.
		if _, err := svc.Update(ctx, n, incident.Change{Status: ptr("closed")}, anyone); tsuna.ErrorCode(err) != tsuna.ECONFLICT {
			t.Fatalf("triage → closed: %v, want conflict", err)
		}
		inc, err = svc.Update(ctx, n, incident.Change{Status: ptr("active"), Stage: ptr("identified"), Roles: map[string]string{"comms": "ana@example.com"}}, anyone)
		if err != nil || inc.Status != "active" || inc.Stage != "identified" || inc.Roles["comms"] != "ana@example.com" {
			t.Fatalf("activate: %+v %v", inc, err)
		}
		if _, err := svc.Update(ctx, n, incident.Change{Roles: map[string]string{"pilot": "x"}}, payEdit); tsuna.ErrorCode(err) != tsuna.EINVALID {
			t.Fatalf("unknown role: %v", err)
		}
		// Timestamps keep their order; a bad edit changes nothing.
		early := inc.Timestamps.Reported.Add(-time.Hour)
		if _, err := svc.Update(ctx, n, incident.Change{Timestamps: map[string]*time.Time{"detected": ptr(inc.Timestamps.Reported.Add(time.Hour))}}, payEdit); tsuna.ErrorCode(err) != tsuna.EINVALID || !strings.Contains(err.Error(), "is before timestamps.detected") {
			t.Fatalf("detected after reported: %v", err)
		}
		inc, err = svc.Update(ctx, n, incident.Change{Timestamps: map[string]*time.Time{"impactStarted": &early}}, payEdit)
		if err != nil || !inc.Timestamps.ImpactStarted.Equal(early) {
			t.Fatalf("impact: %v", err)
		}
		inc, err = svc.Update(ctx, n, incident.Change{Stage: ptr("monitoring")}, payEdit)
		if err != nil || inc.Timestamps.Mitigated == nil {
			t.Fatalf("monitoring sets mitigated: %+v %v", inc, err)
		}
		inc, err = svc.Update(ctx, n, incident.Change{Status: ptr("resolved")}, admin)
		if err != nil || inc.Timestamps.Resolved == nil || inc.Stage != "" {
			t.Fatalf("resolve: %+v %v", inc, err)
		}
		if _, err := db.Job(ctx, incident.JobRemind, fmt.Sprintf("INC-1/unclosed/%d", inc.Timestamps.Resolved.UnixMicro())); err != nil {
			t.Fatalf("unclosed reminder: %v", err)
		}
		inc, err = svc.Update(ctx, n, incident.Change{Status: ptr("closed")}, admin)
		if err != nil || inc.Timestamps.Closed == nil {
			t.Fatalf("close: %v", err)
		}
		if j, _ := db.Job(ctx, incident.JobRemind, fmt.Sprintf("INC-1/unclosed/%d", inc.Timestamps.Resolved.UnixMicro())); j.State != jobs.Cancelled {
			t.Fatalf("unclosed reminder %s after close, want cancelled", j.State)
		}
		if j, _ := db.Job(ctx, incident.JobRemind, "INC-1/no-lead"); j.State != jobs.Cancelled {
			t.Fatalf("no-lead reminder %s after a lead, want cancelled", j.State)
		}
		tl, err := svc.Timeline(ctx, n, incident.TimelineFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range tl {
			kinds = append(kinds, e.Kind)
		}
		want := []string{"declared", "note", "role", "status", "status", "role", "timestamp", "status", "status", "status"}
		if !slices.Equal(kinds, want) {
			t.Fatalf("timeline kinds %v, want %v", kinds, want)
		}
		recs, _ := db.AuditRecords(ctx, audit.Filter{Kind: store.KindIncident})
		if len(recs) != 8 {
			t.Fatalf("%d audit records, want 8 (declare, note, 6 updates)", len(recs))
		}
		if recs[len(recs)-1].Action != "declare" || recs[0].Actor != "admin" || recs[0].Source != "cli" {
			t.Fatalf("audit %+v", recs[0])
		}
	})
}

func TestIncidentPinsOnceAndMerge(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		svc := incidentDB(t, db)
		a, _, _ := svc.Declare(ctx, incident.Declaration{Title: "A"}, anyone)
		b, _, _ := svc.Declare(ctx, incident.Declaration{Title: "B", Triage: true}, anyone)
		at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		for range 3 {
			if _, err := svc.Pin(ctx, a.Number, "the fix is out", at, "pin:C1:1.2", anyone); err != nil {
				t.Fatal(err)
			}
		}
		tl, _ := svc.Timeline(ctx, a.Number, incident.TimelineFilter{})
		if len(tl) != 2 || !tl[0].Time.Equal(at) || tl[0].Kind != "pin" {
			t.Fatalf("timeline after 3 pins: %+v", tl)
		}
		if _, err := svc.Unpin(ctx, a.Number, "pin:C1:1.2", anyone); err != nil {
			t.Fatal(err)
		}
		if tl, _ := svc.Timeline(ctx, a.Number, incident.TimelineFilter{}); len(tl) != 1 {
			t.Fatalf("timeline after unpin: %+v", tl)
		}
		if _, err := svc.Update(ctx, b.Number, incident.Change{Status: ptr("merged")}, admin); tsuna.ErrorCode(err) != tsuna.EINVALID {
			t.Fatalf("merge without target: %v", err)
		}
		got, err := svc.Update(ctx, b.Number, incident.Change{Status: ptr("merged"), MergedInto: ptr("INC-1")}, admin)
		if err != nil || got.MergedInto != "INC-1" {
			t.Fatalf("merge: %v", err)
		}
	})
}

func TestIncidentFromAlert(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := context.Background()
		svc := incidentDB(t, db)
		starts := time.Date(2026, 3, 1, 9, 58, 0, 0, time.UTC)
		p, err := alerting.Parse([]byte(alertingtest.WebhookAt("firing", "checkout-api", "HighErrorRate", starts)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.RecordNotification(ctx, alerting.Notification{Payload: p, Route: alerting.Route{Service: "checkout-api", Team: "payments", Channel: "#payments"}}); err != nil {
			t.Fatal(err)
		}
		inc, _, err := svc.Declare(ctx, incident.Declaration{FromAlert: p.Alerts[0].Fingerprint}, anyone)
		if err != nil {
			t.Fatal(err)
		}
		if !inc.Timestamps.Detected.Equal(p.Alerts[0].StartsAt) || inc.Team != "payments" || !slices.Equal(inc.Services, []string{"checkout-api"}) || inc.Alerts[0] != p.Alerts[0].Fingerprint || inc.Title == "" {
			t.Fatalf("from alert: %+v", inc)
		}
		if _, _, err := svc.Declare(ctx, incident.Declaration{FromAlert: "nope"}, anyone); tsuna.ErrorCode(err) != tsuna.ENOTFOUND {
			t.Fatalf("unknown alert: %v", err)
		}
	})
}
