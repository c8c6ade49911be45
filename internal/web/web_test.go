package web_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/demo"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/readiness"
	"github.com/tsuna-sre/tsuna/internal/server"
	"github.com/tsuna-sre/tsuna/internal/store"
	"github.com/tsuna-sre/tsuna/internal/web"
)

func TestMain(m *testing.M) {
	os.Exit(pgtest.Run(m))
}

// Secrets of the test tokens.
const (
	adminSecret   = "tsuna_test_admin_0123456789abcdef0123456789"
	viewerSecret  = "tsuna_test_viewer_0123456789abcdef012345678"
	paymentsEdit  = "tsuna_test_payments_editor_0123456789abcdef"
	identityEdit  = "tsuna_test_identity_editor_0123456789abcdef"
	evilMarkupSvc = "xss-probe"
)

// console is a running tsuna server with the console, on 127.0.0.1.
type console struct {
	url       string
	db        *store.DB
	incidents *incident.Service
	readiness *readiness.Service
}

// startConsole opens dsn, fills it with the demo data plus a service whose
// description holds markup, makes a token per role, and serves the API
// and the console on a free port until the test ends.
func startConsole(t *testing.T, dsn string, edit ...func(*catalog.Catalog)) *console {
	t.Helper()
	return startSeededConsole(t, dsn, demo.Seed, edit...)
}

// startEmptyConsole is startConsole on the demo without its incidents,
// postmortems and readiness reviews, for tests that start from none.
func startEmptyConsole(t *testing.T, dsn string) *console {
	t.Helper()
	return startSeededConsole(t, dsn, demo.SeedBase)
}

func startSeededConsole(t *testing.T, dsn string, seed func(context.Context, demo.Store, string, time.Time) error, edit ...func(*catalog.Catalog)) *console {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := seed(ctx, db, dsn, time.Now()); err != nil {
		t.Fatal(err)
	}
	c := demo.Catalog()
	probe := &catalog.Service{Name: evilMarkupSvc, Team: "growth", Tier: 3, Lifecycle: catalog.LifecycleExperimental,
		Description: `<script>document.title="pwned"</script><img src=x onerror=alert(1)>`, Labels: map[string]string{demo.Label: "true"}}
	c.Services = append(c.Services, probe)
	for _, e := range edit {
		e(c)
	}
	if _, err := db.ApplyCatalog(ctx, c.Objects(), catalog.ApplyOptions{Actor: demo.Actor}); err != nil {
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
	rs := readiness.New(db, readiness.Options{SLO: eval, Alerts: db, Incidents: readiness.IncidentsOf(incidents)})
	pms := postmortem.New(db, postmortem.Options{Incidents: incidents, Linker: incidents, Budget: eval, Jobs: db})
	cons := web.New(web.Config{Store: db, Budget: eval, Demo: true, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
		Incidents: incidents, Readiness: rs, Postmortems: pms})
	t.Cleanup(func() { cons.Close() })
	srv := server.New(server.Config{Store: db, Budget: eval, Console: cons, Incidents: server.IncidentsConfig{Service: incidents},
		Readiness: server.ReadinessConfig{Service: rs}, Postmortems: server.PostmortemsConfig{Service: pms}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(sctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return &console{url: "http://" + ln.Addr().String(), db: db, incidents: incidents, readiness: rs}
}

// browser is a plain HTTP client with a cookie jar that does not follow
// redirects, so tests see them.
type browser struct {
	t    *testing.T
	c    *http.Client
	base string
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

var hiddenCSRF = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// signIn signs in with secret through the sign-in form and returns the
// session's CSRF token.
func (b *browser) signIn(secret string) string {
	b.t.Helper()
	_, page := b.do("GET", "/signin", nil)
	m := hiddenCSRF.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("sign-in form without a CSRF token:\n%s", page)
	}
	resp, body := b.do("POST", "/signin", url.Values{"csrf": {m[1]}, "token": {secret}, "next": {"/"}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d\n%s", resp.StatusCode, body)
	}
	_, home := b.do("GET", "/", nil)
	m = hiddenCSRF.FindStringSubmatch(home)
	if m == nil {
		b.t.Fatalf("home page without the sign-out form:\n%s", home)
	}
	return m[1]
}

// TestConsoleRules checks, on both engines and without a browser, the
// rules a person meets: sign-in, roles and team scopes on the server,
// CSRF, expiry, sign-out, headers and escaping.
func TestConsoleRules(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		c := startConsole(t, dsn)

		anon := newBrowser(t, c.url)
		resp, _ := anon.do("GET", "/services/checkout-api", nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=%2Fservices%2Fcheckout-api") {
			t.Errorf("signed out: %d to %q, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, body := anon.do("GET", "/api/v1/nope", nil); resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("unknown API route: %d %s %s, want problem+json 404", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		// A wrong token signs nobody in.
		_, page := anon.do("GET", "/signin", nil)
		tok := hiddenCSRF.FindStringSubmatch(page)[1]
		if resp, body := anon.do("POST", "/signin", url.Values{"csrf": {tok}, "token": {"tsuna_wrong"}}); resp.StatusCode != 401 || !strings.Contains(body, "unknown or revoked") {
			t.Errorf("wrong token: %d, want 401 saying so", resp.StatusCode)
		}
		// A sign-in form posted from elsewhere (no double-submit cookie match) is refused.
		if resp, _ := newBrowser(t, c.url).do("POST", "/signin", url.Values{"csrf": {tok}, "token": {adminSecret}}); resp.StatusCode != 403 {
			t.Errorf("sign-in without its cookie: %d, want 403", resp.StatusCode)
		}

		// Security headers and the session cookie.
		ed := newBrowser(t, c.url)
		_, page = ed.do("GET", "/signin", nil)
		m := hiddenCSRF.FindStringSubmatch(page)
		resp, _ = ed.do("POST", "/signin", url.Values{"csrf": {m[1]}, "token": {paymentsEdit}, "next": {"/services/checkout-api"}})
		if loc := resp.Header.Get("Location"); loc != "/services/checkout-api" {
			t.Errorf("after sign-in: to %q, want the page asked for", loc)
		}
		var sess *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "tsuna_session" {
				sess = ck
			}
		}
		if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Secure {
			t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure over plain HTTP", sess)
		}
		resp, page = ed.do("GET", "/services/"+evilMarkupSvc, nil)
		for h, want := range map[string]string{"Content-Security-Policy": "script-src 'self'", "X-Frame-Options": "DENY",
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
			if !strings.Contains(resp.Header.Get(h), want) {
				t.Errorf("%s: %q, want %q", h, resp.Header.Get(h), want)
			}
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("CSP %q does not deny framing", resp.Header.Get("Content-Security-Policy"))
		}
		if strings.Contains(page, "<script>document.title") || strings.Contains(page, "<img src=x") ||
			!strings.Contains(page, "&lt;script&gt;document.title") {
			t.Errorf("a description's markup is not escaped:\n%s", page)
		}
		if strings.Contains(page, "<script>") && !strings.Contains(page, `<script src="/static/console.js" defer></script>`) {
			t.Errorf("a page carries an inline script")
		}
		csrf := hiddenCSRF.FindStringSubmatch(page)[1]

		// The editor records events for its own team's SLO, audited with source ui.
		form := url.Values{"csrf": {csrf}, "key": {"ui-test-1"}, "good": {"990"}, "total": {"1000"}, "time": {time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")}}
		resp, body := ed.do("POST", "/services/invoice-worker/slos/nightly-runs/events", form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("record events as the team's editor: %d\n%s", resp.StatusCode, body)
		}
		recs, err := c.db.AuditRecords(context.Background(), audit.Filter{Actor: "payments-dev", Kind: store.KindEvents})
		if err != nil || len(recs) != 1 || recs[0].Source != audit.SourceUI {
			t.Errorf("audit of recorded events: %+v %v, want one record with source ui", recs, err)
		}
		// Bad input changes nothing and says what to change.
		form.Set("key", "ui-test-2")
		form.Set("good", "2000")
		if resp, body := ed.do("POST", "/services/invoice-worker/slos/nightly-runs/events", form); resp.StatusCode != 422 || !strings.Contains(body, "good (2000) and total (1000)") {
			t.Errorf("good above total: %d, want 422 naming the fields", resp.StatusCode)
		}

		// A POST without the session's CSRF token is refused, and one from another origin too.
		form = url.Values{"key": {"ui-test-3"}, "good": {"1"}, "total": {"1"}, "time": {form.Get("time")}}
		if resp, _ := ed.do("POST", "/services/invoice-worker/slos/nightly-runs/events", form); resp.StatusCode != 403 {
			t.Errorf("POST without the CSRF token: %d, want 403", resp.StatusCode)
		}
		form.Set("csrf", csrf)
		if resp, _ := ed.do("POST", "/services/invoice-worker/slos/nightly-runs/events", form, "Origin", "http://evil.example"); resp.StatusCode != 403 {
			t.Errorf("POST from another origin: %d, want 403", resp.StatusCode)
		}

		// An editor of another team cannot change this team's objects,
		// even with a valid form.
		other := newBrowser(t, c.url)
		otherCSRF := other.signIn(identityEdit)
		_, page = other.do("GET", "/services/invoice-worker/slos/nightly-runs", nil)
		if strings.Contains(page, `action="/services/invoice-worker/slos/nightly-runs/events"`) {
			t.Errorf("an editor of identity sees the form to record payments' events")
		}
		form = url.Values{"csrf": {otherCSRF}, "key": {"ui-test-4"}, "good": {"1"}, "total": {"1"}, "time": {form.Get("time")}}
		if resp, body := other.do("POST", "/services/invoice-worker/slos/nightly-runs/events", form); resp.StatusCode != 403 || !strings.Contains(body, "editor token of team payments") {
			t.Errorf("identity editor recording payments' events: %d, want 403", resp.StatusCode)
		}
		if recs, _ := c.db.AuditRecords(context.Background(), audit.Filter{Kind: store.KindEvents}); len(recs) != 2 { // the demo's and the one above
			t.Errorf("%d event records in the audit log, want 2: a refused form changed something", len(recs))
		}

		// A viewer sees no form that changes anything but their own session.
		viewer := newBrowser(t, c.url)
		viewer.signIn(viewerSecret)
		for _, p := range []string{"/", "/services", "/services/checkout-api", "/services/invoice-worker/slos/nightly-runs", "/teams", "/teams/payments", "/alerts", "/audit", "/account"} {
			resp, page := viewer.do("GET", p, nil)
			if resp.StatusCode != 200 {
				t.Errorf("viewer GET %s: %d", p, resp.StatusCode)
			}
			if n := strings.Count(page, `method="post"`) - strings.Count(page, `data-scope="self"`); n != 0 {
				t.Errorf("viewer sees %d form(s) that change something on %s", n, p)
			}
		}

		// Sign-out ends the session: its cookie no longer works.
		resp, _ = ed.do("POST", "/signout", url.Values{"csrf": {csrf}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("sign out: %d", resp.StatusCode)
		}
		replay := newBrowser(t, c.url)
		u, _ := url.Parse(c.url)
		replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: "tsuna_session", Value: sess.Value}})
		if resp, _ := replay.do("GET", "/", nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("the cookie of a signed-out session still works: %d", resp.StatusCode)
		}

		// An admin's visit verifies the audit chain in the background;
		// the page shows the result once the walk is done.
		exp := newBrowser(t, c.url)
		exp.signIn(adminSecret)
		for deadline := time.Now().Add(time.Minute); ; {
			_, page := exp.do("GET", "/audit", nil)
			if strings.Contains(page, "Chain verified") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the audit page never showed the chain verified:\n%s", page)
			}
			time.Sleep(100 * time.Millisecond)
		}

		// An expired session is sent to sign in, saying why.
		if _, err := c.db.SQL().Exec(`UPDATE sessions SET expires_at = $1 WHERE token = $2`, time.Now().Add(-time.Minute).UTC(), "admin"); err != nil {
			t.Fatal(err)
		}
		resp, _ = exp.do("GET", "/alerts", nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "expired") {
			t.Errorf("expired session: %d to %q, want sign-in saying it expired", resp.StatusCode, loc)
		}
	})
}
