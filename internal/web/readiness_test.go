package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/readiness"
)

// TestReadinessPages checks, on both engines and over plain HTTP, the
// scorecard and a review in the console: opened and answered by an
// editor of the owning team, audited with source ui; accepted risk and
// not applicable refused without a comment (the domain's rule, on the
// server); automated items show their evidence; the scorecard shows the
// level and the blocking items; an editor of another team and a viewer
// change nothing.
func TestReadinessPages(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		c := startEmptyConsole(t, dsn)
		ctx := context.Background()

		ed := newBrowser(t, c.url)
		csrf := ed.signIn(paymentsEdit)
		resp, page := ed.do("GET", "/readiness?team=payments", nil)
		if resp.StatusCode != 200 || !strings.Contains(page, `href="/readiness/checkout-api"`) || !strings.Contains(page, "never reviewed") || strings.Contains(page, `href="/readiness/auth-service"`) {
			t.Fatalf("scorecard for payments: %d\n%s", resp.StatusCode, page)
		}
		_, page = ed.do("GET", "/readiness/checkout-api", nil)
		if !strings.Contains(page, "was never reviewed") || !strings.Contains(page, `action="/readiness/checkout-api/review"`) {
			t.Fatalf("review page before any review:\n%s", page)
		}
		if resp, body := ed.do("POST", "/readiness/checkout-api/review", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("open a review: %d\n%s", resp.StatusCode, body)
		}
		_, page = ed.do("GET", "/readiness/checkout-api", nil)
		for _, want := range []string{"Automated check <code>", "<dt><code>catalog.runbook</code></dt>", `id="item-runbook"`, `action="/readiness/checkout-api/answers"`, "Blocking "} {
			if !strings.Contains(page, want) {
				t.Errorf("review page lacks %q", want)
			}
		}
		rev, err := c.readiness.Current(ctx, "checkout-api", "", audit.Actor{Name: "test"})
		if err != nil {
			t.Fatal(err)
		}
		_, sum := c.readiness.Items(rev)
		if sum.Next == "" || len(sum.Blocking) == 0 {
			t.Fatalf("checkout-api is at the top level already: %+v", sum)
		}
		blocker := sum.Blocking[0]

		// Accepted risk without a comment: refused by the domain, nothing stored.
		form := url.Values{"csrf": {csrf}, "item": {blocker}, "state": {readiness.AcceptedRisk}, "comment": {"  "}}
		if resp, body := ed.do("POST", "/readiness/checkout-api/answers", form); resp.StatusCode != 422 || !strings.Contains(body, "comment: required for accepted_risk") {
			t.Errorf("accepted risk without a comment: %d\n%s", resp.StatusCode, body)
		}
		form.Set("state", readiness.NotApplicable)
		if resp, body := ed.do("POST", "/readiness/checkout-api/answers", form); resp.StatusCode != 422 || !strings.Contains(body, "comment: required for not_applicable") {
			t.Errorf("not applicable without a comment: %d\n%s", resp.StatusCode, body)
		}
		if rev, _ := c.readiness.Current(ctx, "checkout-api", "", audit.Actor{Name: "test"}); rev.Answers[blocker].State != "" {
			t.Errorf("a refused answer was stored: %+v", rev.Answers[blocker])
		}
		form.Set("state", readiness.AcceptedRisk)
		form.Set("comment", "covered by the <canary> until Q3")
		if resp, body := ed.do("POST", "/readiness/checkout-api/answers", form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("accepted risk with a comment: %d\n%s", resp.StatusCode, body)
		}
		_, page = ed.do("GET", "/readiness/checkout-api", nil)
		if !strings.Contains(page, "risk accepted by payments-dev: covered by the &lt;canary&gt; until Q3") {
			t.Errorf("the answer is not shown (escaped) with who accepted it")
		}
		recs, err := c.db.AuditRecords(ctx, audit.Filter{Kind: "ReadinessReview"})
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]bool{}
		for _, r := range recs {
			if r.Source != audit.SourceUI || r.Actor != "payments-dev" {
				t.Errorf("audit record %s by %s from %s, want payments-dev from ui", r.Action, r.Actor, r.Source)
			}
			actions[r.Action] = true
		}
		if !actions["answer"] || len(recs) < 2 {
			t.Errorf("audit records %v, want the opening and the answer", actions)
		}

		// The scorecard shows the level and what blocks the next one.
		_, page = ed.do("GET", "/readiness?team=payments&tier=1", nil)
		at := strings.Index(page, `href="/readiness/checkout-api"`)
		if at < 0 {
			t.Fatalf("scorecard without checkout-api:\n%s", page)
		}
		row, _, _ := strings.Cut(page[at:], "</tr>")
		rev, _ = c.readiness.Current(ctx, "checkout-api", "", audit.Actor{Name: "test"})
		_, sum = c.readiness.Items(rev)
		if !strings.Contains(row, "for "+sum.Next+": ") || !strings.Contains(row, `#item-`+sum.Blocking[0]+`"`) || strings.Contains(row, "#item-"+blocker+`"`) {
			t.Errorf("scorecard row of checkout-api %q, want next level %s blocked by %v", row, sum.Next, sum.Blocking)
		}
		if resp, _ := ed.do("GET", "/readiness?tier=7", nil); resp.StatusCode != 422 {
			t.Errorf("scorecard tier=7: %d, want 422", resp.StatusCode)
		}

		// Another team's editor is refused by the server; a viewer sees no form.
		other := newBrowser(t, c.url)
		ocsrf := other.signIn(identityEdit)
		_, page = other.do("GET", "/readiness/checkout-api", nil)
		if strings.Contains(page, `action="/readiness/checkout-api/answers"`) {
			t.Errorf("identity's editor sees payments' answer forms")
		}
		if resp, body := other.do("POST", "/readiness/checkout-api/answers", url.Values{"csrf": {ocsrf}, "item": {blocker}, "state": {readiness.NotApplicable}, "comment": {"no"}}); resp.StatusCode != 403 || !strings.Contains(body, "editor token of team payments") {
			t.Errorf("identity's editor answering: %d\n%s", resp.StatusCode, body)
		}
		viewer := newBrowser(t, c.url)
		viewer.signIn(viewerSecret)
		for _, p := range []string{"/readiness", "/readiness/checkout-api", "/readiness/auth-service"} {
			resp, page := viewer.do("GET", p, nil)
			if resp.StatusCode != 200 {
				t.Errorf("viewer GET %s: %d", p, resp.StatusCode)
			}
			if n := strings.Count(page, `method="post"`) - strings.Count(page, `data-scope="self"`); n != 0 {
				t.Errorf("viewer sees %d form(s) that change something on %s", n, p)
			}
		}

		// Closing asks for the checklist's feedback.
		if resp, body := ed.do("POST", "/readiness/checkout-api/close", url.Values{"csrf": {csrf}, "feedback": {""}}); resp.StatusCode != 422 || !strings.Contains(body, "feedback: required") {
			t.Errorf("close without feedback: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := ed.do("POST", "/readiness/checkout-api/close", url.Values{"csrf": {csrf}, "feedback": {"ask about feature flags"}}); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("close: %d", resp.StatusCode)
		}
		if fb, _ := c.readiness.Feedback(ctx, ""); len(fb) != 1 || fb[0].By != "payments-dev" {
			t.Errorf("feedback %+v", fb)
		}
	})
}

// TestScorecardSaysSinceWhenStale: the demo's payment-gateway review went
// stale after its incident; the scorecard says so with the date, as the
// review page does.
func TestScorecardSaysSinceWhenStale(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		c := startConsole(t, dsn)
		v := newBrowser(t, c.url)
		v.signIn(viewerSecret)
		_, page := v.do("GET", "/readiness?team=payments", nil)
		at := strings.Index(page, `href="/readiness/payment-gateway"`)
		if at < 0 {
			t.Fatalf("scorecard without payment-gateway:\n%s", page)
		}
		row, _, _ := strings.Cut(page[at:], "</tr>")
		if !regexp.MustCompile(`<strong>stale</strong> since \d{4}-\d\d-\d\d`).MatchString(row) {
			t.Errorf("stale row without its date: %s", row)
		}
	})
}
