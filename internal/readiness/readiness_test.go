package readiness_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/readiness"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

const tableCatalog = `apiVersion: tsuna/v1
kind: Team
name: pay
chat: {channel: "#pay"}
oncall: [a@x.io]
members: [{email: a@x.io}]
---
apiVersion: tsuna/v1
kind: Team
name: quiet
---
apiVersion: tsuna/v1
kind: Checklist
name: prr
version: 1
levels: [bronze, silver]
categories:
  - name: Basics
    items:
      - id: runbook
        question: Runbook?
        lifecycles: [experimental, production, deprecated]
        check: catalog.runbook != ""
      - id: oncall
        question: On-call?
        check: size(catalog.oncall) > 0
      - id: slo
        question: SLO?
        level: silver
        check: size(catalog.slos) > 0
      - id: budget
        question: Budget left?
        level: silver
        tiers: [1]
        check: slo.budget_left > 0.0
      - id: rollback
        question: Rollback plan?
        level: silver
        lifecycles: [production]
      - id: majors
        question: No major incident lately?
        level: silver
        tiers: [1, 2]
        check: incidents.major_90d == 0
`

// services: one per tier and lifecycle, with what differs.
const tableServices = `
- {name: t1-prod,  team: pay,   tier: 1, lifecycle: production,   links: {runbook: "https://r"}, slos: [{name: avail, objective: 99.9, sli: {events: {}}}]}
- {name: t1-exp,   team: pay,   tier: 1, lifecycle: experimental, links: {runbook: "https://r"}}
- {name: t1-dep,   team: quiet, tier: 1, lifecycle: deprecated,   links: {runbook: "https://r"}}
- {name: t2-prod,  team: pay,   tier: 2, lifecycle: production,   links: {runbook: "https://r"}, slos: [{name: avail, objective: 99.9, sli: {events: {}}}]}
- {name: t2-exp,   team: quiet, tier: 2, lifecycle: experimental}
- {name: t2-dep,   team: pay,   tier: 2, lifecycle: deprecated,   links: {runbook: "https://r"}, slos: [{name: avail, objective: 99.9, sli: {events: {}}}]}
- {name: t3-prod,  team: pay,   tier: 3, lifecycle: production,   links: {runbook: "https://r"}, slos: [{name: avail, objective: 99.9, sli: {events: {}}}]}
- {name: t3-exp,   team: pay,   tier: 3, lifecycle: experimental, links: {runbook: "https://r"}}
- {name: t3-dep,   team: quiet, tier: 3, lifecycle: deprecated}
`

// fakeSLO answers budget left by service: t1-prod has 40 % left.
type fakeSLO map[string]float64

func (f fakeSLO) Evaluate(_ context.Context, slos []*slo.SLO, _ time.Time) []budget.Status {
	var out []budget.Status
	for _, s := range slos {
		left := f[s.Service]
		out = append(out, budget.Status{Service: s.Service, SLO: s.Name, State: budget.StateOK, BudgetRemaining: &left})
	}
	return out
}

func parseTable(t *testing.T) (*catalog.Catalog, *catalog.Checklist) {
	t.Helper()
	var b strings.Builder
	b.WriteString(tableCatalog)
	for _, line := range strings.Split(strings.TrimSpace(tableServices), "\n") {
		b.WriteString("---\napiVersion: tsuna/v1\nkind: Service\n")
		body := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), "- {"), "}")
		for _, kv := range splitTop(body) {
			b.WriteString(strings.TrimSpace(kv) + "\n")
		}
	}
	files := []catalog.File{{Path: "c.yaml", Data: []byte(b.String())}}
	c, diags := catalog.Parse(files)
	if c == nil {
		t.Fatalf("catalog: %v", diags)
	}
	cls, err := catalog.ChecklistsOf(files)
	if err != nil {
		t.Fatal(err)
	}
	return c, cls[0]
}

// splitTop splits "a: 1, b: {c: 2, d: 3}" at its top-level commas.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// TestLevelsTable: on a catalog with a service in every tier and
// lifecycle, the automated answers and the levels are the ones written
// here by hand. Incidents are not wired: "majors" is unknown.
func TestLevelsTable(t *testing.T) {
	c, cl := parseTable(t)
	svc := readiness.New(nil, readiness.Options{SLO: fakeSLO{"t1-prod": 40, "t2-prod": -5, "t2-dep": 10, "t3-prod": 0}})
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	// item states in checklist order: runbook oncall slo budget rollback majors
	want := map[string]struct {
		states, level, blocking string
	}{
		"t1-prod": {"done done done done unanswered unknown", "bronze", "rollback majors"},
		"t1-exp":  {"done skipped skipped skipped skipped skipped", "silver", ""},
		"t1-dep":  {"done not_done not_done unknown skipped unknown", "", "oncall"},
		"t2-prod": {"done done done skipped unanswered unknown", "bronze", "rollback majors"},
		"t2-exp":  {"not_done skipped skipped skipped skipped skipped", "", "runbook"},
		"t2-dep":  {"done done done skipped skipped unknown", "bronze", "majors"},
		"t3-prod": {"done done done skipped unanswered skipped", "bronze", "rollback"},
		"t3-exp":  {"done skipped skipped skipped skipped skipped", "silver", ""},
		"t3-dep":  {"not_done not_done not_done skipped skipped skipped", "", "runbook oncall"},
	}
	if len(c.Services) != len(want) {
		t.Fatalf("%d services", len(c.Services))
	}
	for _, s := range c.Services {
		r := &readiness.Review{Service: s.Name, Team: s.Team, Tier: s.Tier, Lifecycle: s.Lifecycle, Checklist: cl, Answers: map[string]readiness.Answer{}}
		var err error
		if r.Auto, err = readiness.Evaluate(cl, svc.Facts(context.Background(), s, c.Team(s.Team), nil, now)); err != nil {
			t.Fatal(err)
		}
		items, sum := readiness.Assess(r, now)
		if brief := readiness.Summarize(r, now); !reflect.DeepEqual(brief, sum) {
			t.Errorf("%s: Summarize gives %+v, Assess %+v", s.Name, brief, sum)
		}
		var states []string
		for _, it := range items {
			states = append(states, it.State)
		}
		got := fmt.Sprintf("%s | %s | %s", strings.Join(states, " "), sum.Level, strings.Join(sum.Blocking, " "))
		w := want[s.Name]
		if exp := fmt.Sprintf("%s | %s | %s", w.states, w.level, w.blocking); got != exp {
			t.Errorf("%s:\n got  %s\n want %s", s.Name, got, exp)
		}
	}
}

func TestAnswers(t *testing.T) {
	_, cl := parseTable(t)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	r := &readiness.Review{Service: "t3-prod", Tier: 3, Lifecycle: "production", Checklist: cl,
		Auto: map[string]readiness.Auto{"runbook": {Result: "true"}, "oncall": {Result: "true"}, "slo": {Result: "true"}}, Answers: map[string]readiness.Answer{}}
	for _, tc := range []struct {
		a    readiness.Answer
		want string
	}{
		{readiness.Answer{Item: "rollback", State: readiness.AcceptedRisk}, "comment: required for accepted_risk; say why the risk is accepted"},
		{readiness.Answer{Item: "rollback", State: readiness.NotApplicable, Comment: "  "}, "comment: required for not_applicable; say why the item does not apply"},
		{readiness.Answer{Item: "runbook", State: readiness.Done}, "state: item runbook is decided by its check (catalog.runbook != \"\"); a person may only answer accepted_risk or not_applicable (with a comment)"},
		{readiness.Answer{Item: "rolback", State: readiness.Done}, `item: "rolback" is not an item of checklist prr version 1; did you mean "rollback"?`},
		{readiness.Answer{Item: "rollback", State: "yes"}, `state: "yes"; answer done, not_done, accepted_risk, not_applicable`},
		{readiness.Answer{Item: "rollback", State: readiness.Done, Evidence: "javascript:alert(1)"}, `evidence: "javascript:alert(1)" is not an http(s) link of at most 2000 bytes; link the report`},
		{readiness.Answer{Item: "rollback", State: readiness.AcceptedRisk, Comment: "blue/green only"}, ""},
	} {
		err := readiness.ValidateAnswer(r, tc.a)
		if got := tsuna.ErrorMessage(err); err == nil && tc.want != "" || err != nil && got != tc.want {
			t.Errorf("%+v: got %v, want %q", tc.a, err, tc.want)
		}
	}
	// A manual answer counts until it expires, then no longer.
	r.Answers["rollback"] = readiness.Answer{Item: "rollback", State: readiness.Done, By: "ana", At: now, ExpiresAt: now.Add(180 * 24 * time.Hour)}
	if _, sum := readiness.Assess(r, now.Add(179*24*time.Hour)); sum.Level != "silver" || sum.ValidUntil == nil || !sum.ValidUntil.Equal(now.Add(180*24*time.Hour)) {
		t.Errorf("before expiry: %+v", sum)
	}
	items, sum := readiness.Assess(r, now.Add(180*24*time.Hour))
	if sum.Level != "bronze" || strings.Join(sum.Blocking, ",") != "rollback" || items[4].State != readiness.Expired {
		t.Errorf("after expiry: %+v %s", sum, items[4].State)
	}
	if !strings.Contains(items[4].Why, "expired on 2027-05-22") {
		t.Errorf("why: %s", items[4].Why)
	}
}

func TestDefaultChecklist(t *testing.T) {
	cl := readiness.DefaultChecklist()
	if cl.Name != readiness.DefaultChecklistName || len(cl.Levels) != 3 || len(cl.Categories) != 5 {
		t.Fatalf("%+v", cl)
	}
	var cats []string
	for _, c := range cl.Categories {
		cats = append(cats, c.Name)
	}
	if got := strings.Join(cats, ", "); got != "Stakeholders, Architecture, Resources and load, Monitoring and logging, Incident and failure" {
		t.Errorf("categories: %s", got)
	}
	if _, err := readiness.Programs(cl); err != nil {
		t.Error(err)
	}
}

func TestExportEscapes(t *testing.T) {
	_, cl := parseTable(t)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	r := &readiness.Review{ID: 7, Service: "t3-prod", Team: "pay", Tier: 3, Lifecycle: "production", Checklist: cl, OpenedBy: "ana", OpenedAt: now,
		Auto:    map[string]readiness.Auto{"runbook": {Result: "true", Evidence: map[string]any{"catalog.runbook": "https://r"}}, "oncall": {Result: "false", Evidence: map[string]any{"catalog.oncall": []string{}}}},
		Answers: map[string]readiness.Answer{"rollback": {Item: "rollback", State: readiness.AcceptedRisk, Comment: "- [x] <img src=x> **fake** @team", By: "ana", At: now, ExpiresAt: now.Add(time.Hour)}}}
	body := readiness.Export(r, now)
	for _, want := range []string{
		"## Production readiness: t3-prod",
		"- [x] **Runbook?** (`runbook`, bronze) — done\n  - check `catalog.runbook != \"\"`: catalog.runbook = \"https://r\"",
		"- [ ] **On-call?** (`oncall`, bronze) — not done",
		`- [x] **Rollback plan?** (` + "`rollback`" + `, silver) — accepted risk: - \[x\] &lt;img src=x&gt; \*\*fake\*\* @` + "\u200b" + `team (ana, 2026-11-23)`,
		"**Level: none** · next: bronze, blocked by oncall",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("export lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<img") {
		t.Error("HTML from a comment reached the issue body")
	}
}
