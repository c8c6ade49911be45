package cli_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/github"
	"github.com/tsuna-sre/tsuna/internal/github/githubfake"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

const pmE2ECatalog = `apiVersion: tsuna/v1
kind: Team
name: payments
chat: {channel: "#payments"}
members:
  - {name: Ana, email: ana@example.com, slack: U0ANA00001}
  - {name: Bo, email: bo@example.com}
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
slos:
  - name: orders
    objective: 99
    window: 7d
    sli:
      events: {}
`

// event is one pushed SLO event.
type event struct {
	at          time.Time
	good, total int
}

// remaining computes, in Go, the budget left at t from the events in
// [t-7d, t), as the event store defines the period: it keeps events by
// the minute they fall in.
func remaining(evs []event, t time.Time) float64 {
	var good, total float64
	for _, e := range evs {
		if m := e.at.Truncate(time.Minute); !m.Before(t.Add(-7*24*time.Hour)) && m.Before(t) {
			good += float64(e.good)
			total += float64(e.total)
		}
	}
	return 100 * (1 - ((total-good)/total)/0.01)
}

// TestPostmortemEndToEnd walks a postmortem through tsuna on both engines:
// an incident resolved, its postmortem drafted with the timeline, TTR and
// the budget its SLO spent (checked against the events pushed, computed
// here), edited in $EDITOR with blameless hints, reviewed, published,
// exported to the GitHub fake (one issue, updated on re-export), found by
// search, read by another team; an action tracked on GitHub is closed by
// GitHub's signed webhook.
func TestPostmortemEndToEnd(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "catalog.yaml"), []byte(pmE2ECatalog), 0o644)
		const ghToken = "ghp_e2eTokenNeverShown000000000000"
		gh := githubfake.New(t, ghToken)
		gh.AddRepo("acme/postmortems")
		tokenFile := filepath.Join(dir, "gh-token")
		os.WriteFile(tokenFile, []byte(ghToken), 0o600)
		hookSecret := "a-webhook-secret-of-some-length"
		hookFile := filepath.Join(dir, "gh-hook")
		os.WriteFile(hookFile, []byte(hookSecret), 0o600)
		srv := startServer(t, dsn, "--catalog", dir, "--github-repo", "acme/postmortems", "--github-token-file", tokenFile,
			"--github-api-url", gh.URL(), "--github-webhook-secret-file", hookFile)
		token := func(name, role, team string) map[string]string {
			return cliVars(srv, newToken(t, srv, name, role, team))
		}
		payments, storefront := token("payments-ci", "editor", "payments"), token("storefront-ci", "editor", "storefront")

		// Traffic: 1% errors for two hours, 30% during the incident.
		now := time.Now().UTC().Truncate(time.Second)
		impact := now.Add(-40 * time.Minute)
		var evs []event
		var body []map[string]any
		for at := now.Add(-2 * time.Hour).Add(17 * time.Second); at.Before(now.Add(-time.Second)); at = at.Add(2 * time.Minute) {
			e := event{at: at, good: 990, total: 1000}
			if at.After(impact) {
				e.good = 700
			}
			evs = append(evs, e)
			body = append(body, map[string]any{"key": at.Format(time.RFC3339), "timestamp": at.Format(time.RFC3339), "good": e.good, "total": e.total})
		}
		b, _ := json.Marshal(map[string]any{"events": body})
		if resp := call(t, "POST", srv.url+"/api/v1/services/checkout-api/slos/orders/events", adminSecret, string(b), nil); resp.StatusCode != 200 {
			t.Fatalf("events: %d %s", resp.StatusCode, bodyOf(resp))
		}

		if r := run(t, payments, "incident", "declare", "Checkout errors", "--service", "checkout-api", "--impact-started", impact.Format(time.RFC3339), "--lead", "ana@example.com"); r.code != 0 {
			t.Fatalf("declare: %s", r.stderr)
		}
		run(t, payments, "incident", "note", "INC-1", "Rolled back the payment gateway client")
		if r := run(t, payments, "incident", "resolve", "INC-1"); r.code != 0 {
			t.Fatalf("resolve: %s", r.stderr)
		}
		if r := run(t, storefront, "postmortem", "create", "INC-1"); r.code != 1 || !strings.Contains(r.stderr, "needs its lead, an editor of team payments") {
			t.Fatalf("another team drafts: %d %s", r.code, r.stderr)
		}
		r := run(t, payments, "postmortem", "create", "INC-1", "-o", "json")
		var p postmortem.Postmortem
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &p) != nil {
			t.Fatalf("create: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(p.Body, "Rolled back the payment gateway client") || !strings.Contains(p.Body, "## Timeline") {
			t.Errorf("the draft lacks the timeline:\n%s", p.Body)
		}
		ttr := p.Facts.Intervals[3]
		if ttr.Name != "ttr" || ttr.Seconds == nil || math.Abs(*ttr.Seconds-p.Facts.Timestamps.Resolved.Sub(impact).Seconds()) > 1e-6 {
			t.Errorf("TTR = %+v", ttr)
		}
		if len(p.Facts.Budget) != 1 || p.Facts.Budget[0].Spent == nil {
			t.Fatalf("budget = %+v", p.Facts.Budget)
		}
		bs := p.Facts.Budget[0]
		want := remaining(evs, bs.From) - remaining(evs, bs.To)
		if math.Abs(*bs.Spent-want) > 1e-3 || want < 10 || !bs.From.Equal(impact) {
			t.Errorf("budget spent = %v (%v → %v) from %s to %s; computed from the events: %v (%v → %v), %d points", *bs.Spent, *bs.RemainingBefore, *bs.RemainingAfter, bs.From, bs.To, want, remaining(evs, bs.From), remaining(evs, bs.To), len(bs.Points))
		}
		if !strings.Contains(p.Body, fmt.Sprintf("**%.2f%%**", want)) {
			t.Errorf("the draft does not state the budget spent (%.2f%%):\n%s", want, p.Body)
		}

		// $EDITOR edits the text; blaming phrases are hinted, not refused.
		editor := filepath.Join(dir, "editor.sh")
		os.WriteFile(editor, []byte("#!/bin/sh\nprintf '\\nIt was human error: someone forgot to check the gateway.\\n' >> \"$1\"\n"), 0o755)
		withEditor := map[string]string{"TSUNA_SERVER": srv.url, "TSUNA_TOKEN": payments["TSUNA_TOKEN"], "EDITOR": editor}
		if r := run(t, withEditor, "postmortem", "edit", "INC-1"); r.code != 0 || !strings.Contains(r.stderr, `"human error"`) || !strings.Contains(r.stderr, `"forgot to"`) {
			t.Fatalf("edit: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, payments, "postmortem", "edit", "INC-1", "--label", "recommended,payments"); r.code != 0 {
			t.Fatalf("labels: %s", r.stderr)
		}
		if r := run(t, storefront, "postmortem", "search", "gateway"); !strings.Contains(r.stdout, "no published postmortem") {
			t.Errorf("a draft was found: %s", r.stdout)
		}
		if r := run(t, payments, "postmortem", "review", "INC-1", "--reviewer", "bo@example.com"); r.code != 0 {
			t.Fatalf("review: %s", r.stderr)
		}
		if r := run(t, payments, "postmortem", "publish", "PM-1"); r.code != 0 || !strings.Contains(r.stdout, "published PM-1") {
			t.Fatalf("publish: %s", r.stderr)
		}
		if r := run(t, storefront, "postmortem", "search", "gateway"); r.code != 0 || !strings.Contains(r.stdout, "PM-1") || !strings.Contains(r.stdout, "[gateway]") {
			t.Errorf("search by another team: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, storefront, "postmortem", "show", "PM-1"); r.code != 0 || !strings.Contains(r.stdout, "human error") {
			t.Errorf("another team reads it: %s", r.stderr)
		}

		// Export: one issue, updated on re-export.
		for i := range 2 {
			if r := run(t, payments, "postmortem", "export", "PM-1", "--format", "github"); r.code != 0 || !strings.Contains(r.stdout, "https://github.com/acme/postmortems/issues/1") {
				t.Fatalf("export %d: %d %s %s", i, r.code, r.stdout, r.stderr)
			}
			if i == 0 {
				run(t, payments, "postmortem", "edit", "PM-1", "--title", "Checkout errors after a gateway client upgrade")
			}
		}
		issues := gh.Issues("acme/postmortems")
		if len(issues) != 1 || !strings.Contains(issues[0].Title, "gateway client upgrade") || !strings.Contains(issues[0].Body, "Rolled back the payment gateway client") {
			t.Fatalf("GitHub issues = %+v", issues)
		}
		if r := run(t, payments, "postmortem", "export", "PM-1", "--format", "markdown"); r.code != 0 || !strings.Contains(r.stdout, "| Postmortem | PM-1 |") {
			t.Errorf("markdown export: %s", r.stderr)
		}

		// A tracked action, overdue; GitHub's webhook closes it.
		if r := run(t, payments, "postmortem", "actions", "add", "PM-1", "--title", "Canary the gateway client", "--type", "prevent",
			"--owner", "bo@example.com", "--due", now.AddDate(0, 0, -3).Format("2006-01-02"), "--track"); r.code != 0 {
			t.Fatalf("add action: %s", r.stderr)
		}
		if r := run(t, storefront, "postmortem", "actions", "--overdue", "--team", "payments"); !strings.Contains(r.stdout, "(overdue)") {
			t.Errorf("overdue actions: %s %s", r.stdout, r.stderr)
		}
		if n := len(gh.Issues("acme/postmortems")); n != 2 {
			t.Fatalf("the tracked action made %d issues in all, want 2", n)
		}
		gh.CloseIssue("acme/postmortems", 2)
		hook := `{"action":"closed","issue":{"number":2},"repository":{"full_name":"acme/postmortems"}}`
		if code := postHook(t, srv.url, hook, "sha256=00"); code != 401 {
			t.Errorf("unsigned delivery: %d", code)
		}
		if r := run(t, payments, "postmortem", "actions", "PM-1"); !strings.Contains(r.stdout, " open ") {
			t.Fatalf("an unsigned delivery changed the action: %s", r.stdout)
		}
		if code := postHook(t, srv.url, hook, github.Sign([]byte(hookSecret), []byte(hook))); code != 204 {
			t.Fatalf("signed delivery: %d", code)
		}
		if r := run(t, payments, "postmortem", "actions", "PM-1"); !strings.Contains(r.stdout, " done ") {
			t.Errorf("after GitHub closed the issue: %s", r.stdout)
		}
		if strings.Contains(srv.stderr.String(), ghToken) {
			t.Error("the GitHub token is in the server's log")
		}
	})
}

// postHook delivers a GitHub issues event with signature sig.
func postHook(t *testing.T, base, body, sig string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/hooks/github", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "issues")
	req.Header.Set("X-Hub-Signature-256", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
