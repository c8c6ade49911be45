package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/incident"
)

// TestBrowserIncidentsReadiness drives Debian's Chromium through the
// incident and readiness pages: a viewer signs in, declares an incident,
// sees it in the list, adds a note and sees it in the timeline, and sees
// no status controls; the team's editor changes its stage; the metrics
// page charts the distributions; the team's editor opens a readiness
// review, is told a comment is required to accept a risk, answers, and
// finds the level and the blocking items on the scorecard. axe-core
// checks every page.
func TestBrowserIncidentsReadiness(t *testing.T) {
	ax := newAxe(t)
	c := startEmptyConsole(t, filepath.Join(t.TempDir(), "tsuna.db"))
	ctx := newChromium(t)
	dir := screenshots(t)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		var s string
		run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
		return s
	}
	signIn := func(secret, next, wait string) {
		t.Helper()
		run("sign in", chromedp.Navigate(c.url+next), chromedp.WaitVisible(`#token`, chromedp.ByQuery),
			chromedp.SendKeys("#token", secret, chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
			chromedp.WaitVisible(wait, chromedp.ByQuery))
	}

	// A viewer declares an incident: the form comes back after sign-in.
	signIn(viewerSecret, "/incidents/new", `#d-title`)
	if n := count(t, ctx, `document.querySelectorAll("input[name=severity]").length`); n != 4 {
		t.Errorf("declare form: %d severity levels, want the 4 defaults", n)
	}
	if !strings.Contains(text(`#declare fieldset`), "SEV1 —") {
		t.Errorf("declare form does not describe each level: %q", text(`#declare fieldset`))
	}
	ax.check(ctx, "/incidents/new")
	shoot(t, ctx, dir, "incident-new")
	run("declare",
		chromedp.SendKeys("#d-title", "Card payments fail", chromedp.ByQuery),
		chromedp.Click(`input[name=severity][value=SEV2]`, chromedp.ByQuery),
		chromedp.SendKeys("#d-service", "checkout-api", chromedp.ByQuery),
		chromedp.SendKeys("#d-summary", "Declines for every card since 14:02", chromedp.ByQuery),
		chromedp.Click(`#declare button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#timeline-h`, chromedp.ByQuery))
	if loc := location(t, ctx); !strings.HasPrefix(loc, c.url+"/incidents/INC-1") {
		t.Fatalf("after declaring, at %s", loc)
	}
	if h := text(`h1`); h != "INC-1 Card payments fail" {
		t.Errorf("incident page heading %q", h)
	}
	if n := count(t, ctx, `document.querySelectorAll("#change, select[name=status], select[name=severity]").length`); n != 0 {
		t.Errorf("a viewer sees %d status control(s)", n)
	}
	ax.check(ctx, "/incidents/INC-1 (viewer)")

	// The note lands in the timeline, with its actor and source.
	run("add a note",
		chromedp.SendKeys("#n-text", "Customers report declined cards", chromedp.ByQuery),
		chromedp.Click(`#note button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`ol.timeline li.entry-note`, chromedp.ByQuery))
	if note := text(`ol.timeline li.entry-note`); !strings.Contains(note, "Customers report declined cards") || !strings.Contains(note, "sre-viewer via ui") {
		t.Errorf("timeline note %q, want the text with its actor and source", note)
	}

	// In the list.
	run("list", chromedp.Navigate(c.url+"/incidents"), chromedp.WaitVisible(`a[href="/incidents/INC-1"]`, chromedp.ByQuery))
	if row := text(`table.list tbody tr`); !strings.Contains(row, "Card payments fail") || !strings.Contains(row, "SEV2") || !strings.Contains(row, "active") {
		t.Errorf("list row %q", row)
	}
	ax.check(ctx, "/incidents")
	shoot(t, ctx, dir, "incidents")
	run("sign out", chromedp.Click(`form.signout button`, chromedp.ByQuery), chromedp.WaitVisible(`#token`, chromedp.ByQuery))

	// The team's editor sees the controls and moves the stage.
	signIn(paymentsEdit, "/incidents/INC-1", `#change`)
	ax.check(ctx, "/incidents/INC-1 (editor)")
	run("change the stage",
		chromedp.SetValue(`#c-stage`, "identified", chromedp.ByQuery),
		chromedp.Click(`#change button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.notice[role=status]`, chromedp.ByQuery))
	if tl := text(`ol.timeline`); !strings.Contains(tl, "Stage investigating → identified") {
		t.Errorf("timeline after the stage change: %q", tl)
	}
	shoot(t, ctx, dir, "incident")
	seedIncidents(t, c)

	// Metrics: a chart per interval, stating its origin.
	run("metrics", chromedp.Navigate(c.url+"/incidents/metrics"), chromedp.WaitVisible(`figure.chart.dist svg`, chromedp.ByQuery))
	if n := count(t, ctx, `document.querySelectorAll("figure.chart.dist rect.dist-med").length`); n < 3 {
		t.Errorf("metrics: %d median bars, want one per severity with times", n)
	}
	if n := count(t, ctx, `document.querySelectorAll("figure.chart.dist").length`); n != 4 {
		t.Errorf("metrics: %d charts, want TTD, TTA, TTM and TTR", n)
	}
	if cap := text(`figure.chart.dist figcaption`); !strings.Contains(cap, "impact started → detected") {
		t.Errorf("TTD chart caption %q does not state its origin", cap)
	}
	ax.check(ctx, "/incidents/metrics")
	var png []byte
	run("photograph the charts", chromedp.FullScreenshot(&png, 100))
	if err := os.WriteFile(filepath.Join(dir, "incident-metrics.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}

	// Readiness: open a review, answer, see the scorecard.
	run("scorecard", chromedp.Navigate(c.url+"/readiness?team=payments"), chromedp.WaitVisible(`#scorecard`, chromedp.ByQuery))
	ax.check(ctx, "/readiness")
	run("open a review", chromedp.Navigate(c.url+"/readiness/checkout-api"), chromedp.WaitVisible(`h1`, chromedp.ByQuery))
	ax.check(ctx, "/readiness/checkout-api (never reviewed)")
	run("open a review",
		chromedp.Click(`form[action="/readiness/checkout-api/review"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.notice[role=status]`, chromedp.ByQuery))
	if n := count(t, ctx, `document.querySelectorAll("li.item .evidence dl").length`); n == 0 {
		t.Errorf("no automated item shows its evidence")
	}
	ax.check(ctx, "/readiness/checkout-api")
	shoot(t, ctx, dir, "readiness-review")
	var blocker string
	run("find a blocker", chromedp.Evaluate(`document.querySelector("li.item .tag") ? document.querySelector("li.item .tag").closest("li.item").id.slice(5) : ""`, &blocker))
	if blocker == "" {
		t.Fatal("no item blocks the next level")
	}
	item := `#item-` + blocker
	run("accept a risk without a comment",
		chromedp.Click(item+` details.answer summary`, chromedp.ByQuery),
		chromedp.SetValue(item+` select[name=state]`, "accepted_risk", chromedp.ByQuery),
		chromedp.Click(item+` details.answer button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.error-page`, chromedp.ByQuery))
	if msg := text(`.error-page`); !strings.Contains(msg, "comment: required for accepted_risk") {
		t.Errorf("accepted risk without a comment: %q", msg)
	}
	ax.check(ctx, "refused answer")
	run("accept a risk with a comment",
		chromedp.Navigate(c.url+"/readiness/checkout-api"), chromedp.WaitVisible(item, chromedp.ByQuery),
		chromedp.Click(item+` details.answer summary`, chromedp.ByQuery),
		chromedp.SetValue(item+` select[name=state]`, "accepted_risk", chromedp.ByQuery),
		chromedp.SendKeys(item+` input[name=comment]`, "covered by the canary until Q3", chromedp.ByQuery),
		chromedp.Click(item+` details.answer button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.notice[role=status]`, chromedp.ByQuery))
	if got := text(item); !strings.Contains(got, "risk accepted by payments-dev: covered by the canary until Q3") {
		t.Errorf("answered item %q", got)
	}
	run("scorecard again", chromedp.Navigate(c.url+"/readiness?team=payments&tier=1"), chromedp.WaitVisible(`#scorecard`, chromedp.ByQuery))
	var row string
	run("scorecard row", chromedp.Evaluate(`document.querySelector('#scorecard a[href="/readiness/checkout-api"]').closest("tr").textContent`, &row))
	if !strings.Contains(row, "open") || !strings.Contains(row, "for ") || strings.Contains(row, blocker+",") {
		t.Errorf("scorecard row of checkout-api %q: want the review, the next level and its blocking items without %s", row, blocker)
	}
	ax.check(ctx, "/readiness (after answers)")
	shoot(t, ctx, dir, "readiness")
}

// seedIncidents resolves INC-1 and declares resolved incidents of three
// severities with every time set, so the metrics have shapes to draw.
func seedIncidents(t *testing.T, c *console) {
	t.Helper()
	ctx := context.Background()
	admin := incident.Actor{Name: "test", Admin: true, Source: audit.SourceCLI}
	if _, err := c.incidents.Update(ctx, 1, incident.Change{Status: ptr(incident.StatusResolved)}, admin); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i, sev := range []string{"SEV1", "SEV1", "SEV2", "SEV2", "SEV2", "SEV3"} {
		m := time.Duration(i+1) * 7 * time.Minute
		impact := now.Add(-48*time.Hour - time.Duration(i)*6*time.Hour)
		detected := impact.Add(m)
		inc, _, err := c.incidents.Declare(ctx, incident.Declaration{Title: fmt.Sprintf("Seeded %d", i), Severity: sev, Services: []string{"checkout-api"},
			ImpactStarted: &impact, Detected: &detected}, admin)
		if err != nil {
			t.Fatal(err)
		}
		ts := map[string]*time.Time{"acknowledged": ptr(detected.Add(m / 2)), "mitigated": ptr(detected.Add(3 * m)), "resolved": ptr(detected.Add(9 * m))}
		if _, err := c.incidents.Update(ctx, inc.Number, incident.Change{Status: ptr(incident.StatusResolved), Timestamps: ts}, admin); err != nil {
			t.Fatal(err)
		}
	}
}
