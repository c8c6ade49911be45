package web_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/demo"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/server"
	"github.com/tsuna-sre/tsuna/internal/store"
	"github.com/tsuna-sre/tsuna/internal/web"
)

// pmConsole is a running tsuna server whose console has the postmortem
// pages, with one published postmortem (PM-1, recommended, of
// invoice-worker) and one draft (PM-2), both of team payments.
type pmConsole struct {
	url       string
	db        *store.DB
	pms       *postmortem.Service
	published *postmortem.Postmortem
	draft     *postmortem.Postmortem
}

// The published postmortem's words: the search finds it by a word of its
// text, and its markup is shown as text.
const (
	pmBodyWord = "stampede"
	pmBody     = "# Invoices ran late\n\n## Summary\n\nA retry stampede of the invoice workers <script>document.title='pwned'</script> filled the queue.\n\n" +
		"## Root causes and trigger\n\n| cause | fix |\n|---|---|\n| no jitter | add jitter |\n\n[a link](javascript:alert(1))\n"
)

func startPMConsole(t *testing.T, dsn string) *pmConsole {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := demo.Seed(ctx, db, dsn, time.Now()); err != nil {
		t.Fatal(err)
	}
	actor := audit.Actor{Name: "test", Source: audit.SourceCLI}
	for _, tok := range []struct {
		t      *auth.Token
		secret string
	}{
		{&auth.Token{Name: "admin", Role: auth.RoleAdmin}, adminSecret},
		{&auth.Token{Name: "sre-viewer", Role: auth.RoleViewer}, viewerSecret},
		{&auth.Token{Name: "payments-dev", Role: auth.RoleEditor, Team: "payments"}, paymentsEdit},
		{&auth.Token{Name: "identity-dev", Role: auth.RoleEditor, Team: "identity"}, identityEdit},
	} {
		if err := db.CreateToken(ctx, tok.t, auth.HashSecret(tok.secret), actor); err != nil {
			t.Fatal(err)
		}
	}
	eval := budget.New(nil, db)
	incidents := incident.New(db, incident.Options{})
	pms := postmortem.New(db, postmortem.Options{Incidents: incidents, Linker: incidents, Budget: eval, Jobs: db})
	cons := web.New(web.Config{Store: db, Budget: eval, Demo: true, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Incidents: incidents, Postmortems: pms})
	t.Cleanup(func() { cons.Close() })
	srv := server.New(server.Config{Store: db, Budget: eval, Console: cons, Incidents: server.IncidentsConfig{Service: incidents},
		Postmortems: server.PostmortemsConfig{Service: pms}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(sctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	// Two incidents of invoice-worker two hours ago, resolved; the first
	// one's postmortem published, the second's a draft.
	admin := incident.Actor{Name: "admin", Source: audit.SourceCLI, Admin: true}
	pmAdmin := postmortem.Actor{Name: "admin", Source: audit.SourceCLI, Admin: true}
	c := &pmConsole{url: "http://" + ln.Addr().String(), db: db, pms: pms}
	for i, title := range []string{"Invoices ran late <b>again</b>", "Invoice PDFs blank"} {
		start, detected := time.Now().Add(-2*time.Hour), time.Now().Add(-110*time.Minute)
		inc, _, err := incidents.Declare(ctx, incident.Declaration{Title: title, Severity: "SEV2", Services: []string{"invoice-worker"},
			Lead: "ada@example.com", ImpactStarted: &start, Detected: &detected}, admin)
		if err != nil {
			t.Fatal(err)
		}
		st := incident.StatusResolved
		if _, err := incidents.Update(ctx, inc.Number, incident.Change{Status: &st}, admin); err != nil {
			t.Fatal(err)
		}
		p, _, err := pms.Draft(ctx, postmortem.DraftRequest{Incident: inc.Ref}, pmAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			c.draft = p
			break
		}
		body, labels := pmBody, []string{postmortem.LabelRecommended, "queues"}
		if _, err := pms.Edit(ctx, p.Ref, postmortem.Change{Body: &body, Labels: &labels}, pmAdmin); err != nil {
			t.Fatal(err)
		}
		if _, err := pms.Review(ctx, p.Ref, []string{"bruno@example.com"}, pmAdmin); err != nil {
			t.Fatal(err)
		}
		if c.published, err = pms.Publish(ctx, p.Ref, pmAdmin); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// changingForms counts the forms of page that change something, leaving
// out signing out.
func changingForms(page string) int {
	return strings.Count(page, `method="post"`) - strings.Count(page, `data-scope="self"`)
}

var pmRevision = regexp.MustCompile(`name="revision" value="([0-9]+)"`)

// TestPostmortemPages checks, on both engines and over plain HTTP, what a
// person does with postmortems in the console: the library lists and
// searches the published ones only (recommended first, excerpts marked and
// escaped), a postmortem reads with its figures, its editors preview
// (hints shown, nothing saved) and save (audited with source ui, refused
// when someone saved meanwhile), a viewer or an editor of another team
// cannot change it, and follow-ups are marked done or won't do with a
// reason through the domain's rules.
func TestPostmortemPages(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		c := startPMConsole(t, dsn)
		ctx := context.Background()
		ref := c.published.Ref

		viewer := newBrowser(t, c.url)
		viewer.signIn(viewerSecret)
		resp, page := viewer.do("GET", "/postmortems", nil)
		if resp.StatusCode != 200 || !strings.Contains(page, `href="/postmortems/`+ref+`"`) || !strings.Contains(page, `id="reading-h"`) {
			t.Fatalf("library: %d\n%s", resp.StatusCode, page)
		}
		if strings.Contains(page, `/postmortems/`+c.draft.Ref+`"`) {
			t.Errorf("a viewer's library lists the draft %s", c.draft.Ref)
		}
		if strings.Contains(page, "<b>again</b>") || !strings.Contains(page, "&lt;b&gt;again&lt;/b&gt;") {
			t.Errorf("a title's markup is not escaped in the library")
		}
		if n := changingForms(page); n != 0 {
			t.Errorf("a viewer sees %d form(s) that change something on the library", n)
		}
		// Search by a word of the text: marked, everything else escaped.
		resp, page = viewer.do("GET", "/postmortems?q="+pmBodyWord, nil)
		if resp.StatusCode != 200 || !strings.Contains(page, `href="/postmortems/`+ref+`"`) || !strings.Contains(page, "<mark>"+pmBodyWord+"</mark>") {
			t.Fatalf("search %q: %d\n%s", pmBodyWord, resp.StatusCode, page)
		}
		if strings.Contains(page, "<script>document.title") {
			t.Errorf("an excerpt's markup is not escaped:\n%s", page)
		}
		if _, page := viewer.do("GET", "/postmortems?q=blank", nil); !strings.Contains(page, "0 results") {
			t.Errorf("search finds a word of the draft only")
		}
		if resp, _ := viewer.do("GET", "/postmortems?since=yesterday", nil); resp.StatusCode != 422 {
			t.Errorf("a bad date: %d, want 422", resp.StatusCode)
		}
		// Filters: another team's library is empty; the label lists it.
		if _, page := viewer.do("GET", "/postmortems?team=identity", nil); strings.Contains(page, `href="/postmortems/`+ref+`"`) {
			t.Errorf("filtered by team identity, the library lists payments' postmortem")
		}
		if _, page := viewer.do("GET", "/postmortems?label=queues&service=invoice-worker", nil); !strings.Contains(page, `href="/postmortems/`+ref+`"`) {
			t.Errorf("filtered by label and service, the library misses %s", ref)
		}

		// The postmortem reads: Markdown rendered, raw HTML and javascript:
		// links dropped, TTx with origins, the budget spent.
		resp, page = viewer.do("GET", "/postmortems/"+ref, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d\n%s", ref, resp.StatusCode, page)
		}
		for _, want := range []string{"<h3>Root causes and trigger</h3>", "<td>no jitter</td>", "TTD", "impact started", "invoice-worker / nightly-runs", `id="budget-h"`} {
			if !strings.Contains(page, want) {
				t.Errorf("%s lacks %q", ref, want)
			}
		}
		if strings.Contains(page, "<script>document.title") || strings.Contains(page, "javascript:alert") {
			t.Errorf("the postmortem's raw HTML or javascript: link reached the page")
		}
		if n := changingForms(page); n != 0 || strings.Contains(page, `id="editor"`) {
			t.Errorf("a viewer sees %d form(s) that change something on %s", n, ref)
		}
		if resp, _ := viewer.do("GET", "/postmortems/"+c.draft.Ref, nil); resp.StatusCode != 404 {
			t.Errorf("a viewer opens the draft: %d, want 404", resp.StatusCode)
		}

		// The service's page and the other incident of the service list it
		// as related; its own incident links it, without listing it again.
		if _, page := viewer.do("GET", "/services/invoice-worker", nil); !strings.Contains(page, `id="pmrelated-h"`) || !strings.Contains(page, `href="/postmortems/`+ref+`"`) {
			t.Errorf("the service page does not list %s as related", ref)
		}
		if _, page := viewer.do("GET", "/incidents/"+c.draft.Incident, nil); !strings.Contains(page, `id="pmrelated-h"`) || !strings.Contains(page, `href="/postmortems/`+ref+`"`) {
			t.Errorf("%s does not list %s as related", c.draft.Incident, ref)
		}
		if _, page := viewer.do("GET", "/incidents/"+c.published.Incident, nil); strings.Contains(page, `id="pmrelated-h"`) || !strings.Contains(page, `<a href="/postmortems/`+ref+`">`) {
			t.Errorf("%s: its own postmortem listed as related, or not linked", c.published.Incident)
		}

		// The team's editor previews: the text rendered and its hints,
		// nothing saved.
		ed := newBrowser(t, c.url)
		csrf := ed.signIn(paymentsEdit)
		_, page = ed.do("GET", "/postmortems/"+ref, nil)
		if !strings.Contains(page, `id="editor"`) {
			t.Fatalf("the team's editor sees no editor on %s", ref)
		}
		rev := pmRevision.FindStringSubmatch(page)[1]
		edited := pmBody + "\nThe on-call engineer forgot to check the queue; human error.\n"
		form := url.Values{"csrf": {csrf}, "revision": {rev}, "title": {c.published.Title}, "body": {edited}, "labels": {"recommended, queues"}, "op": {"preview"}}
		resp, page = ed.do("POST", "/postmortems/"+ref+"/edit", form)
		if resp.StatusCode != 200 || !strings.Contains(page, "Preview (not saved)") || !strings.Contains(page, ">human error</mark>") ||
			!strings.Contains(page, ">forgot to</mark>") || !strings.Contains(page, "The on-call engineer forgot to check") {
			t.Fatalf("preview: %d\n%s", resp.StatusCode, page)
		}
		if p, _ := c.pms.Get(ctx, ref, postmortem.Actor{Admin: true}); p.Body != pmBody {
			t.Fatalf("a preview saved the text")
		}
		// Save: audited with source ui, the revision moves on.
		form.Set("op", "save")
		if resp, body := ed.do("POST", "/postmortems/"+ref+"/edit", form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("save: %d\n%s", resp.StatusCode, body)
		}
		recs, err := c.db.AuditRecords(ctx, audit.Filter{Actor: "payments-dev", Kind: store.KindPostmortem})
		if err != nil || len(recs) != 1 || recs[0].Source != audit.SourceUI || recs[0].Action != "edit" {
			t.Errorf("audit of the save: %+v %v, want one edit with source ui", recs, err)
		}
		// The same form again is based on an old revision: refused, the
		// text kept in the form.
		form.Set("body", edited+"\nMore.\n")
		resp, page = ed.do("POST", "/postmortems/"+ref+"/edit", form)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "someone changed it meanwhile") || !strings.Contains(page, "More.") {
			t.Errorf("a stale save: %d, want 409 with the text kept\n%s", resp.StatusCode, page)
		}

		// An editor of another team sees no editor and is refused.
		other := newBrowser(t, c.url)
		ocsrf := other.signIn(identityEdit)
		if _, page := other.do("GET", "/postmortems/"+ref, nil); strings.Contains(page, `id="editor"`) || changingForms(page) != 0 {
			t.Errorf("identity's editor sees forms on payments' postmortem")
		}
		form.Set("csrf", ocsrf)
		if resp, _ := other.do("POST", "/postmortems/"+ref+"/edit", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("identity's editor saving payments' postmortem: %d, want 403", resp.StatusCode)
		}

		// Review and publication from the console, by the team's editor.
		for _, st := range []url.Values{{"status": {"in_review"}, "reviewers": {"bruno@example.com"}}, {"status": {"published"}}} {
			st.Set("csrf", csrf)
			if resp, body := ed.do("POST", "/postmortems/"+c.draft.Ref+"/status", st); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %s: %d\n%s", st.Get("status"), resp.StatusCode, body)
			}
		}
		if p, _ := c.pms.Get(ctx, c.draft.Ref, postmortem.Actor{Admin: true}); p.Status != postmortem.StatusPublished {
			t.Errorf("after review and publish from the console: %s", p.Status)
		}

		// Follow-ups: one overdue, listed under payments; won't do needs a
		// reason; the owner's team closes it, audited with source ui.
		due := time.Now().AddDate(0, 0, -3)
		add := url.Values{"csrf": {csrf}, "title": {"Add jitter to <retries>"}, "type": {"prevent"}, "owner": {"ada@example.com"}, "due": {due.Format("2006-01-02")}, "priority": {"high"}}
		if resp, body := ed.do("POST", "/postmortems/"+ref+"/actions", add); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("add action: %d\n%s", resp.StatusCode, body)
		}
		acts, _ := c.pms.PostmortemActions(ctx, ref, postmortem.Actor{Admin: true})
		if len(acts) != 1 {
			t.Fatalf("%d actions after adding one", len(acts))
		}
		id := acts[0].ID
		_, page = viewer.do("GET", "/followups", nil)
		if !strings.Contains(page, `id="team-payments-h"`) || !strings.Contains(page, "Add jitter to &lt;retries&gt;") || !strings.Contains(page, "overdue") {
			t.Errorf("follow-ups page misses the overdue action:\n%s", page)
		}
		if n := changingForms(page); n != 0 {
			t.Errorf("a viewer sees %d form(s) that change something on the follow-ups", n)
		}
		path := "/followups/" + strconv.FormatInt(id, 10)
		if resp, body := ed.do("POST", path, url.Values{"csrf": {csrf}, "status": {"wont_do"}, "back": {"/followups"}}); resp.StatusCode != 422 || !strings.Contains(body, "reason") {
			t.Errorf("won't do without a reason: %d, want 422 asking for one", resp.StatusCode)
		}
		if resp, _ := viewer.do("POST", path, url.Values{"csrf": {viewerCSRF(t, viewer)}, "status": {"done"}, "back": {"/followups"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a viewer closing an action: %d, want 403", resp.StatusCode)
		}
		resp, _ = ed.do("POST", path, url.Values{"csrf": {csrf}, "status": {"wont_do"}, "reason": {"the queue is replaced"}, "back": {"//evil.example/x"}})
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/?done=") {
			t.Errorf("won't do with a reason: %d to %q, want back to a local page", resp.StatusCode, resp.Header.Get("Location"))
		}
		a, _ := c.pms.Actions(ctx, postmortem.ActionFilter{Postmortem: c.published.ID})
		if len(a) != 1 || a[0].Status != postmortem.ActionWontDo || a[0].Reason != "the queue is replaced" {
			t.Errorf("action after won't do: %+v", a)
		}
		recs, _ = c.db.AuditRecords(ctx, audit.Filter{Actor: "payments-dev", Kind: store.KindAction})
		if len(recs) != 2 || recs[0].Source != audit.SourceUI || recs[1].Source != audit.SourceUI {
			t.Errorf("audit of the actions: %d records, want add and update with source ui", len(recs))
		}
		if _, page := viewer.do("GET", "/followups", nil); strings.Contains(page, "Add jitter") {
			t.Errorf("a closed action is still listed as overdue")
		}
	})
}

// viewerCSRF returns the CSRF token of b's session, from a page's
// sign-out form.
func viewerCSRF(t *testing.T, b *browser) string {
	t.Helper()
	_, page := b.do("GET", "/postmortems", nil)
	m := hiddenCSRF.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	return m[1]
}
