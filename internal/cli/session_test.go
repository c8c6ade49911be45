package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
)

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// consoleSignIn signs in to the console at base with secret, sending
// header pairs with every request, and returns the session cookie and the
// browser's client.
func consoleSignIn(t *testing.T, base, secret string, header ...string) (*http.Cookie, *http.Client) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, form url.Values) (*http.Response, string) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	_, page := do("GET", "/signin", nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("sign-in page without its form:\n%s", page)
	}
	resp, body := do("POST", "/signin", url.Values{"csrf": {m[1]}, "token": {secret}, "next": {"/"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d\n%s", resp.StatusCode, body)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "tsuna_session" {
			return ck, c
		}
	}
	t.Fatalf("sign in set no session cookie: %v", resp.Header["Set-Cookie"])
	return nil, nil
}

// TestSessionCLI lists and ends console sessions from the command line on
// both engines: a person sees and ends only their own, an admin anyone's;
// an ended session's cookie no longer opens the console; the end is in the
// audit log.
func TestSessionCLI(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := startServer(t, dsn, "--catalog", exampleCatalog)
		admin := cliVars(srv, adminSecret)
		viewerSecret := newToken(t, srv, "ops-viewer", "viewer", "")
		viewer := cliVars(srv, viewerSecret)
		console := "http://" + srv.addr
		adminCookie, _ := consoleSignIn(t, console, adminSecret)
		_, viewerBrowser := consoleSignIn(t, console, viewerSecret)

		r := run(t, admin, "session", "list", "-o", "json")
		var all []struct{ ID, Token string }
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &all) != nil || len(all) != 2 {
			t.Fatalf("admin's session list: %d %s %s", r.code, r.stdout, r.stderr)
		}
		ids := map[string]string{}
		for _, s := range all {
			ids[s.Token] = s.ID
		}
		r = run(t, viewer, "session", "list")
		if r.code != 0 || !strings.Contains(r.stdout, ids["ops-viewer"]) || strings.Contains(r.stdout, ids["bootstrap"]) || !strings.Contains(r.stdout, "live") {
			t.Errorf("a viewer's session list shows other sessions, or not its own:\n%s%s", r.stdout, r.stderr)
		}
		if r := run(t, viewer, "session", "revoke", ids["bootstrap"]); r.code != 1 || !strings.Contains(r.stderr, "needs an admin token") {
			t.Errorf("a viewer ending the admin's session: %d %s", r.code, r.stderr)
		}
		if r := run(t, admin, "session", "revoke", ids["ops-viewer"]); r.code != 0 || !strings.Contains(r.stdout, "ended session "+ids["ops-viewer"]) {
			t.Fatalf("admin ending the viewer's session: %d %s %s", r.code, r.stdout, r.stderr)
		}
		resp, err := viewerBrowser.Get(console + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin") {
			t.Errorf("an ended session still opens the console: %d %q", resp.StatusCode, loc)
		}
		if r := run(t, viewer, "session", "list", "--ended"); r.code != 0 || !strings.Contains(r.stdout, "ended ") {
			t.Errorf("--ended does not show the ended session: %s", r.stdout)
		}
		if r := run(t, admin, "audit", "list", "--object", "Session/"+ids["ops-viewer"], "-o", "json"); r.code != 0 || !strings.Contains(r.stdout, `"revoke"`) || !strings.Contains(r.stdout, `"cli"`) {
			t.Errorf("the end of the session is not audited from the cli: %d %s %s", r.code, r.stdout, r.stderr)
		}
		_ = adminCookie
	})
}

// TestTrustedProxy: behind a proxy named by --trusted-proxy that says the
// browser came over TLS, the console's cookie is Secure; the same header
// from an address not trusted, or with no proxy trusted, is ignored.
func TestTrustedProxy(t *testing.T) {
	dir := t.TempDir()
	trusted := startServer(t, filepath.Join(dir, "a.db"), "--trusted-proxy", "127.0.0.0/8,::1")
	if ck, _ := consoleSignIn(t, "http://"+trusted.addr, adminSecret, "X-Forwarded-Proto", "https"); !ck.Secure {
		t.Errorf("behind a trusted TLS proxy the session cookie is not Secure: %+v", ck)
	}
	if ck, _ := consoleSignIn(t, "http://"+trusted.addr, adminSecret); ck.Secure {
		t.Errorf("over plain HTTP without the proxy's header the cookie is Secure, so the browser would drop it")
	}
	other := startServer(t, filepath.Join(dir, "b.db"), "--trusted-proxy", "10.0.0.0/8")
	if ck, _ := consoleSignIn(t, "http://"+other.addr, adminSecret, "X-Forwarded-Proto", "https"); ck.Secure {
		t.Errorf("a header from an address outside --trusted-proxy was believed")
	}
	none := startServer(t, filepath.Join(dir, "c.db"))
	if ck, _ := consoleSignIn(t, "http://"+none.addr, adminSecret, "X-Forwarded-Proto", "https"); ck.Secure {
		t.Errorf("with no --trusted-proxy, a client's X-Forwarded-Proto was believed")
	}
	if r := run(t, nil, "serve", "--db", filepath.Join(dir, "d.db"), "--trusted-proxy", "proxy.internal"); r.code != 2 || !strings.Contains(r.stderr, `--trusted-proxy "proxy.internal"`) {
		t.Errorf("a bad --trusted-proxy: %d %s", r.code, r.stderr)
	}
}

// TestReadinessGate: with --readiness-gate-level, the deploy gate denies a
// production tier-1 service below the level, saying why (never reviewed;
// then the items that block it), and allows it once it reaches the level;
// other tiers are not gated; an unknown level stops serve.
func TestReadinessGate(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := startServer(t, dsn, "--catalog", exampleCatalog, "--readiness-gate-level", "bronze")
		admin := cliVars(srv, adminSecret)
		r := run(t, admin, "slo", "gate", "checkout-api")
		if r.code != 1 || !strings.Contains(r.stdout, "deny") || !strings.Contains(r.stdout, "readiness: tier-1 production services need level bronze to deploy and checkout-api was never reviewed") {
			t.Fatalf("gate of an unreviewed tier-1 service: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, admin, "slo", "gate", "invoice-worker"); r.code != 0 {
			t.Errorf("a tier-2 service is gated by readiness: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, admin, "readiness", "review", "checkout-api"); r.code != 0 {
			t.Fatalf("review: %s", r.stderr)
		}
		var view api.ReviewView
		call(t, "GET", srv.url+"/api/v1/readiness/services/checkout-api", adminSecret, "", &view)
		if view.Summary.Level != "" || len(view.Summary.Blocking) == 0 {
			t.Fatalf("checkout-api reached %q on its own; the test needs it below bronze: %+v", view.Summary.Level, view.Summary)
		}
		var gate struct {
			Allow  bool   `json:"allow"`
			Reason string `json:"reason"`
		}
		call(t, "GET", srv.url+"/api/v1/services/checkout-api/deploy-gate", adminSecret, "", &gate)
		if gate.Allow || !strings.Contains(gate.Reason, "checkout-api is at none, blocked by "+strings.Join(view.Summary.Blocking, ", ")) {
			t.Errorf("gate below the level: %+v, want denied naming %v", gate, view.Summary.Blocking)
		}
		for _, item := range view.Summary.Blocking {
			if r := run(t, admin, "readiness", "answer", "checkout-api", item, "not_applicable", "--comment", "covered elsewhere"); r.code != 0 {
				t.Fatalf("answer %s: %s", item, r.stderr)
			}
		}
		r = run(t, admin, "slo", "gate", "checkout-api")
		if r.code != 0 || !strings.Contains(r.stdout, "allow") {
			t.Errorf("gate at the level: %d %s %s", r.code, r.stdout, r.stderr)
		}
	})
	r := run(t, nil, "serve", "--db", filepath.Join(t.TempDir(), "x.db"), "--readiness-gate-level", "platinum")
	if r.code != 2 || !strings.Contains(r.stderr, fmt.Sprintf("--readiness-gate-level %q is not a level of checklist production-readiness", "platinum")) {
		t.Errorf("an unknown gate level: %d %s", r.code, r.stderr)
	}
}
