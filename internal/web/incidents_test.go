package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/store"
)

var hiddenKey = regexp.MustCompile(`name="key" value="(ui-[0-9a-f]+)"`)

// formKey returns the idempotency key of the first form of page.
func formKey(t *testing.T, page string) string {
	t.Helper()
	m := hiddenKey.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form key in the page:\n%s", page)
	}
	return m[1]
}

// TestIncidentPages checks, on both engines and over plain HTTP, what a
// person does with incidents in the console: declare (once however often
// the form is sent), see it listed and filtered, add notes, change the
// status only with the domain's right, every change audited with source
// ui; bad input shows the form again and declares nothing; text is
// escaped; the metrics page states each interval's origin.
func TestIncidentPages(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		c := startEmptyConsole(t, dsn)
		ctx := context.Background()

		viewer := newBrowser(t, c.url)
		vcsrf := viewer.signIn(viewerSecret)
		resp, page := viewer.do("GET", "/incidents/new?service=checkout-api", nil)
		if resp.StatusCode != 200 || !strings.Contains(page, "Not sure: declare in triage") || !strings.Contains(page, `value="checkout-api"`) {
			t.Fatalf("declare form: %d\n%s", resp.StatusCode, page)
		}
		for _, l := range []string{"SEV1", "SEV2", "SEV3", "SEV4"} {
			if !strings.Contains(page, `value="`+l+`"`) {
				t.Errorf("declare form without severity %s", l)
			}
		}
		key := formKey(t, page)

		// Bad input: the form again, with the reason, and nothing declared.
		form := url.Values{"csrf": {vcsrf}, "key": {key}, "title": {"  "}, "severity": {"SEV2"}, "service": {"checkout-api"}, "summary": {"kept"}}
		resp, page = viewer.do("POST", "/incidents", form)
		if resp.StatusCode != 422 || !strings.Contains(page, "title: required") || !strings.Contains(page, ">kept</textarea>") {
			t.Errorf("declare without a title: %d, want 422 with the form again\n%s", resp.StatusCode, page)
		}
		form.Set("service", "no-such-service")
		form.Set("title", "x")
		if resp, page := viewer.do("POST", "/incidents", form); resp.StatusCode != 422 || !strings.Contains(page, "not a service of the catalog") {
			t.Errorf("declare for an unknown service: %d\n%s", resp.StatusCode, page)
		}

		// A viewer declares; the same form sent twice declares once.
		form.Set("title", `Card payments fail <script>alert(1)</script>`)
		form.Set("service", "checkout-api")
		for i := range 2 {
			resp, _ := viewer.do("POST", "/incidents", form)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/incidents/INC-1?done=") {
				t.Fatalf("declare #%d: %d to %q", i+1, resp.StatusCode, resp.Header.Get("Location"))
			}
			if i == 1 && !strings.Contains(resp.Header.Get("Location"), "already+declared") {
				t.Errorf("second submit: %q, want it to say the incident was already declared", resp.Header.Get("Location"))
			}
		}
		list, err := c.incidents.List(ctx, incident.Filter{})
		if err != nil || len(list) != 1 || list[0].Team != "payments" || list[0].Status != incident.StatusActive || list[0].Source != audit.SourceUI {
			t.Fatalf("after two submits: %+v %v, want one active incident of payments declared from ui", list, err)
		}

		// Listed, filtered, escaped.
		_, page = viewer.do("GET", "/incidents", nil)
		if !strings.Contains(page, `href="/incidents/INC-1"`) || strings.Contains(page, "<script>alert(1)") || !strings.Contains(page, "&lt;script&gt;alert(1)") {
			t.Errorf("list lacks INC-1 or does not escape its title:\n%s", page)
		}
		if _, page := viewer.do("GET", "/incidents?status=resolved", nil); strings.Contains(page, `href="/incidents/INC-1"`) {
			t.Errorf("status=resolved lists an active incident")
		}
		if _, page := viewer.do("GET", "/incidents?status=open&team=payments&severity=SEV2&service=checkout-api", nil); !strings.Contains(page, `href="/incidents/INC-1"`) {
			t.Errorf("filters matching INC-1 do not list it")
		}
		if resp, page := viewer.do("GET", "/incidents?status=bogus", nil); resp.StatusCode != 422 || !strings.Contains(page, "status: &#34;bogus&#34;") {
			t.Errorf("bad status filter: %d\n%s", resp.StatusCode, page)
		}

		// A viewer adds a note (once per form) and sees no status controls;
		// a change posted anyway is refused by the server.
		_, page = viewer.do("GET", "/incidents/INC-1", nil)
		if strings.Contains(page, `id="change"`) || strings.Contains(page, `name="status"`) {
			t.Errorf("a viewer sees the status controls")
		}
		note := url.Values{"csrf": {vcsrf}, "key": {formKey(t, page)}, "text": {"Customers report <b>declined</b> cards"}}
		for range 2 {
			if resp, body := viewer.do("POST", "/incidents/INC-1/notes", note); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("note: %d\n%s", resp.StatusCode, body)
			}
		}
		_, page = viewer.do("GET", "/incidents/INC-1", nil)
		if strings.Count(page, "Customers report &lt;b&gt;declined&lt;/b&gt; cards") != 1 || !strings.Contains(page, "sre-viewer <span class=\"muted small\">via ui</span>") {
			t.Errorf("the note is not in the timeline once, escaped, with its actor and source:\n%s", page)
		}
		if resp, body := viewer.do("POST", "/incidents/INC-1", url.Values{"csrf": {vcsrf}, "status": {"resolved"}}); resp.StatusCode != 403 || !strings.Contains(body, "needs its lead, an editor of team payments or an admin") {
			t.Errorf("a viewer resolving: %d, want 403 with the domain's reason\n%s", resp.StatusCode, body)
		}
		if inc, _ := c.incidents.Get(ctx, 1); inc.Status != incident.StatusActive {
			t.Errorf("a refused change changed the status to %s", inc.Status)
		}
		other := newBrowser(t, c.url)
		ocsrf := other.signIn(identityEdit)
		if resp, _ := other.do("POST", "/incidents/INC-1", url.Values{"csrf": {ocsrf}, "severity": {"SEV1"}}); resp.StatusCode != 403 {
			t.Errorf("identity's editor changing payments' incident: %d, want 403", resp.StatusCode)
		}

		// The team's editor sees the controls and changes stage, severity, lead.
		ed := newBrowser(t, c.url)
		ecsrf := ed.signIn(paymentsEdit)
		_, page = ed.do("GET", "/incidents/INC-1", nil)
		if !strings.Contains(page, `id="change"`) {
			t.Fatalf("payments' editor sees no status controls")
		}
		change := url.Values{"csrf": {ecsrf}, "status": {"active"}, "stage": {"identified"}, "severity": {"SEV1"}, "lead": {"payments-dev"}}
		if resp, body := ed.do("POST", "/incidents/INC-1", change); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("editor's change: %d\n%s", resp.StatusCode, body)
		}
		inc, _ := c.incidents.Get(ctx, 1)
		if inc.Stage != incident.StageIdentified || inc.Severity != "SEV1" || inc.Lead != "payments-dev" || inc.Timestamps.Acknowledged == nil {
			t.Errorf("after the editor's change: %+v", inc)
		}
		_, page = ed.do("GET", "/incidents/INC-1", nil)
		for _, want := range []string{"Stage investigating → identified", "Severity SEV2 → SEV1", "Lead: payments-dev"} {
			if !strings.Contains(page, want) {
				t.Errorf("timeline lacks %q", want)
			}
		}
		if resp, body := ed.do("POST", "/incidents/INC-1", url.Values{"csrf": {ecsrf}, "status": {"closed"}}); resp.StatusCode != 409 || !strings.Contains(body, "cannot go from active to closed") {
			t.Errorf("active to closed: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := ed.do("POST", "/incidents/INC-1", url.Values{"status": {"resolved"}}); resp.StatusCode != 403 {
			t.Errorf("a change without the CSRF token: %d, want 403", resp.StatusCode)
		}

		// Every change audited with source ui, by the person who made it.
		recs, err := c.db.AuditRecords(ctx, audit.Filter{Kind: store.KindIncident, Name: "INC-1"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range recs {
			if r.Source != audit.SourceUI {
				t.Errorf("audit record %s by %s from %s, want ui", r.Action, r.Actor, r.Source)
			}
			got[r.Action] = r.Actor
		}
		if got["declare"] != "sre-viewer" || got["note"] != "sre-viewer" || got["update"] != "payments-dev" || len(recs) != 3 {
			t.Errorf("audit records %v (%d), want one declare and one note by sre-viewer, one update by payments-dev", got, len(recs))
		}

		// Metrics: each interval with its origin, a chart and the figures.
		if _, err := c.incidents.Update(ctx, 1, incident.Change{Status: ptr(incident.StatusResolved)}, incident.Actor{Name: "test", Admin: true, Source: audit.SourceCLI}); err != nil {
			t.Fatal(err)
		}
		resp, page = ed.do("GET", "/incidents/metrics?since=30d&by=severity", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("metrics: %d\n%s", resp.StatusCode, page)
		}
		for _, want := range []string{"time to detect: impact started → detected", "time to acknowledge: detected → acknowledged",
			"time to mitigate: impact started → mitigated", "time to resolve: impact started → resolved", `class="chart dist"`, "<th scope=\"row\" rowspan=\"4\">SEV1</th>"} {
			if !strings.Contains(page, want) {
				t.Errorf("metrics page lacks %q", want)
			}
		}
		if resp, _ := ed.do("GET", "/incidents/metrics?since=forever", nil); resp.StatusCode != 422 {
			t.Errorf("metrics since=forever: %d, want 422", resp.StatusCode)
		}
	})
}

func ptr[T any](v T) *T { return &v }
