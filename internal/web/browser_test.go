package web_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// -update-screenshots writes the README's screenshots (docs/img) from the
// browser test's run.
var updateScreenshots = flag.Bool("update-screenshots", false, "write docs/img/home.png and docs/img/service.png from the browser test")

// peer returns the path named by env or the first default that exists;
// missing, the test fails under CI=true and is skipped otherwise.
func peer(t *testing.T, what, env string, defaults ...string) string {
	t.Helper()
	paths := defaults
	if v := os.Getenv(env); v != "" {
		paths = []string{v}
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found (looked at %s; set %s): scripts/test installs it", what, strings.Join(paths, ", "), env)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newChromium starts Debian's Chromium headless with a fresh profile and
// no network of its own, and returns a browser context.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	exe := peer(t, "Chromium", "TSUNA_CHROMIUM", "/usr/bin/chromium", "/usr/bin/chromium-browser")
	profile, err := os.MkdirTemp("", "tsuna-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after Chromium stopped; its helpers may still be closing files
		deadline := time.Now().Add(30 * time.Second)
		for os.RemoveAll(profile) != nil && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 860),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 10*time.Minute) // generous: the race detector slows the server tenfold
	t.Cleanup(cancel3)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// axe runs axe-core on the page and fails the test on any moderate,
// serious or critical violation.
type axe struct {
	t      *testing.T
	source string
}

func newAxe(t *testing.T) *axe {
	home, _ := os.UserHomeDir()
	p := peer(t, "axe-core", "TSUNA_AXE_JS", filepath.Join(home, ".cache/tsuna/axe-core-4.14.1/node_modules/axe-core/axe.min.js"))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return &axe{t: t, source: string(b)}
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

func (a *axe) check(ctx context.Context, page string) {
	a.t.Helper()
	var violations []axeViolation
	err := chromedp.Run(ctx,
		chromedp.Evaluate(a.source, nil),
		chromedp.Evaluate(`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations)`, &violations,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if err != nil {
		a.t.Fatalf("axe on %s: %v", page, err)
	}
	for _, v := range violations {
		if v.Impact != "minor" {
			b, _ := json.Marshal(v.Nodes)
			a.t.Errorf("axe on %s: %s (%s): %s; nodes %s", page, v.ID, v.Impact, v.Help, b)
		}
	}
}

// screenshots is where the test writes the main pages: TSUNA_SCREENSHOTS,
// else a directory under the temporary directory that outlives the test.
func screenshots(t *testing.T) string {
	dir := os.Getenv("TSUNA_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tsuna-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if *updateScreenshots && (name == "home" || name == "service") {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	var loc string
	if err := chromedp.Run(ctx, chromedp.Location(&loc)); err != nil {
		t.Fatal(err)
	}
	return loc
}

func count(t *testing.T, ctx context.Context, js string) int {
	t.Helper()
	var n int
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &n)); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return n
}

// TestBrowser drives Debian's Chromium against the real server: sign in
// with a token, find a service by search, open its SLO page and see its
// charts, record events, sign out; a viewer sees no form that changes
// anything; an editor of another team is refused by the server; a
// cross-site form is refused; an expired session is sent to sign in.
// axe-core checks every page, and the main pages are photographed.
func TestBrowser(t *testing.T) {
	ax := newAxe(t)
	c := startConsole(t, filepath.Join(t.TempDir(), "tsuna.db"))
	ctx := newChromium(t)
	dir := screenshots(t)
	t.Logf("screenshots in %s", dir)

	// Signed out: every page leads to sign-in, which passes axe.
	if err := chromedp.Run(ctx, chromedp.Navigate(c.url+"/services/checkout-api")); err != nil {
		t.Fatal(err)
	}
	if loc := location(t, ctx); !strings.Contains(loc, "/signin?next=") {
		t.Fatalf("signed out, at %s, want the sign-in page", loc)
	}
	ax.check(ctx, "/signin")
	shoot(t, ctx, dir, "signin")

	// Sign in with a token: back to the page asked for.
	err := chromedp.Run(ctx,
		chromedp.SendKeys("#token", paymentsEdit, chromedp.ByQuery),
		chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`#slos-h`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if loc := location(t, ctx); loc != c.url+"/services/checkout-api" {
		t.Fatalf("after sign-in at %s, want the service asked for", loc)
	}

	// Home, by keyboard: skip link first, then the brand, then the nav.
	if err := chromedp.Run(ctx, chromedp.Navigate(c.url+"/"), chromedp.WaitVisible(`#budgets-h`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	ax.check(ctx, "/")
	shoot(t, ctx, dir, "home")
	var focused []string
	for range 4 {
		var label string
		if err := chromedp.Run(ctx, chromedp.KeyEvent(kb.Tab),
			chromedp.Evaluate(`document.activeElement.textContent.trim()`, &label)); err != nil {
			t.Fatal(err)
		}
		focused = append(focused, label)
	}
	if focused[0] != "Skip to content" || focused[3] != "Services" {
		t.Errorf("tab order %q: want the skip link first and the nav after the brand", focused)
	}
	if err := chromedp.Run(ctx, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(`#q`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if loc := location(t, ctx); loc != c.url+"/services" {
		t.Errorf("Enter on the focused nav link went to %s", loc)
	}

	// Find a service by search, open it, then its SLO.
	err = chromedp.Run(ctx,
		chromedp.Evaluate(`document.body.dataset.before = "search"`, nil), // the page the results replace
		chromedp.SendKeys("#q", "checkout-api\n", chromedp.ByQuery),
		chromedp.WaitVisible(`body:not([data-before]) a[href="/services/checkout-api"]`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, `document.querySelectorAll("table.list tbody tr").length`); n != 1 {
		t.Errorf("search for checkout-api: %d rows, want 1", n)
	}
	ax.check(ctx, "/services?q=checkout-api")
	shoot(t, ctx, dir, "services")
	err = chromedp.Run(ctx,
		chromedp.Click(`a[href="/services/checkout-api"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#slos-h`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	ax.check(ctx, "/services/checkout-api")
	shoot(t, ctx, dir, "service")
	err = chromedp.Run(ctx,
		chromedp.Click(`a[href="/services/checkout-api/slos/availability"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`figure.chart svg`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, `document.querySelectorAll("figure.chart svg polyline.data").length`); n < 3 {
		t.Errorf("SLO page: %d chart lines, want the budget, SLI and burn-rate charts", n)
	}
	if n := count(t, ctx, `document.querySelectorAll("figure.chart line.ref-freeze").length`); n != 1 {
		t.Errorf("budget chart: %d freeze lines, want 1", n)
	}
	ax.check(ctx, "/services/checkout-api/slos/availability")
	shoot(t, ctx, dir, "slo")

	// Every other page passes axe too; dark mode is photographed once.
	for _, p := range []string{"/teams", "/teams/payments", "/alerts", "/audit", "/account", "/services/" + evilMarkupSvc, "/nope"} {
		if err := chromedp.Run(ctx, chromedp.Navigate(c.url+p), chromedp.WaitVisible(`h1`, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		ax.check(ctx, p)
		switch p {
		case "/alerts":
			shoot(t, ctx, dir, "alerts")
		case "/audit":
			shoot(t, ctx, dir, "audit")
		case "/services/" + evilMarkupSvc:
			var title string
			chromedp.Run(ctx, chromedp.Title(&title))
			if strings.Contains(title, "pwned") {
				t.Errorf("a script in a service description ran")
			}
		}
	}
	err = chromedp.Run(ctx,
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}),
		chromedp.Navigate(c.url+"/services/checkout-api/slos/availability"), chromedp.WaitVisible(`figure.chart svg`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	ax.check(ctx, "/services/checkout-api/slos/availability (dark)")
	shoot(t, ctx, dir, "slo-dark")
	chromedp.Run(ctx, emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}))

	// Record events for the team's own SLO.
	err = chromedp.Run(ctx,
		chromedp.Navigate(c.url+"/services/invoice-worker/slos/nightly-runs"),
		chromedp.WaitVisible(`#ev-good`, chromedp.ByQuery),
		chromedp.SendKeys("#ev-good", "995", chromedp.ByQuery),
		chromedp.SendKeys("#ev-total", "1000", chromedp.ByQuery),
		chromedp.Click(`#record-h ~ form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.notice[role=status]`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	var notice string
	chromedp.Run(ctx, chromedp.Text(`p.notice[role=status]`, &notice, chromedp.ByQuery))
	if !strings.Contains(notice, "Recorded 995 good of 1000") {
		t.Errorf("after recording events: %q", notice)
	}

	// A form on another site, posting to the console with the browser's
	// cookie but without the CSRF token, changes nothing.
	evil := attackerSite(t, c.url)
	var sessions int
	err = chromedp.Run(ctx, chromedp.Navigate(c.url+"/account"), chromedp.WaitVisible(`h1`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	sessions = count(t, ctx, `document.querySelectorAll("table.list tbody form").length`)
	var id string
	chromedp.Run(ctx, chromedp.Evaluate(`document.querySelector("input[name=id]").value`, &id))
	if err := chromedp.Run(ctx, chromedp.Navigate(evil+"/?id="+id), chromedp.WaitVisible(`h1`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	var heading string
	chromedp.Run(ctx, chromedp.Text(`h1`, &heading, chromedp.ByQuery))
	if heading != "Refused" {
		t.Errorf("a cross-site form landed on %q, want the console's refusal", heading)
	}
	chromedp.Run(ctx, chromedp.Navigate(c.url+"/account"), chromedp.WaitVisible(`h1`, chromedp.ByQuery))
	if loc := location(t, ctx); loc != c.url+"/account" || count(t, ctx, `document.querySelectorAll("table.list tbody form").length`) != sessions {
		t.Errorf("after a cross-site form, at %s: the session was changed", loc)
	}

	// Sign out: the session ends, and pages lead to sign-in again.
	err = chromedp.Run(ctx, chromedp.Click(`form.signout button`, chromedp.ByQuery), chromedp.WaitVisible(`#token`, chromedp.ByQuery),
		chromedp.Navigate(c.url+"/alerts"), chromedp.WaitVisible(`#token`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}

	// A viewer sees no form that changes anything.
	signIn := func(secret string) {
		t.Helper()
		err := chromedp.Run(ctx, chromedp.Navigate(c.url+"/signin"), chromedp.WaitVisible(`#token`, chromedp.ByQuery),
			chromedp.SendKeys("#token", secret, chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
			chromedp.WaitVisible(`form.signout`, chromedp.ByQuery))
		if err != nil {
			t.Fatal(err)
		}
	}
	signOut := func() {
		t.Helper()
		if err := chromedp.Run(ctx, chromedp.Click(`form.signout button`, chromedp.ByQuery), chromedp.WaitVisible(`#token`, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
	}
	signIn(viewerSecret)
	for _, p := range []string{"/", "/services/invoice-worker", "/services/invoice-worker/slos/nightly-runs", "/teams/payments", "/alerts", "/audit"} {
		if err := chromedp.Run(ctx, chromedp.Navigate(c.url+p), chromedp.WaitVisible(`h1`, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if n := count(t, ctx, `document.querySelectorAll("form[method=post]:not([data-scope=self])").length`); n != 0 {
			t.Errorf("a viewer sees %d form(s) that change something on %s", n, p)
		}
	}
	signOut()

	// An editor of another team sees no form for payments' SLO, and the
	// server refuses the same form posted with its valid CSRF token.
	signIn(identityEdit)
	if err := chromedp.Run(ctx, chromedp.Navigate(c.url+"/services/invoice-worker/slos/nightly-runs"), chromedp.WaitVisible(`h1`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, `document.querySelectorAll("#ev-good").length`); n != 0 {
		t.Errorf("an editor of identity sees the form to record payments' events")
	}
	err = chromedp.Run(ctx, chromedp.Evaluate(`(() => {
		const csrf = document.querySelector("form.signout input[name=csrf]").value;
		const f = document.createElement("form");
		f.method = "post";
		f.action = "/services/invoice-worker/slos/nightly-runs/events";
		const fields = {csrf, key: "ui-browser-x", good: "1", total: "1", time: new Date(Date.now() - 3600e3).toISOString().slice(0, 16)};
		for (const [k, v] of Object.entries(fields)) {
			const i = document.createElement("input");
			i.type = "hidden"; i.name = k; i.value = v;
			f.appendChild(i);
		}
		document.body.appendChild(f);
		f.submit();
		return true;
	})()`, nil), chromedp.WaitVisible(`.error-page`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	var refusal string
	chromedp.Run(ctx, chromedp.Text(`.error-page`, &refusal, chromedp.ByQuery))
	if !strings.Contains(refusal, "Forbidden") || !strings.Contains(refusal, "editor token of team payments") {
		t.Errorf("identity's editor posting payments' events from the console: %q, want Forbidden", refusal)
	}

	// An expired session is sent to sign in, saying why.
	if _, err := c.db.SQL().Exec(`UPDATE sessions SET expires_at = $1 WHERE token = $2`, time.Now().Add(-time.Minute).UTC(), "identity-dev"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(c.url+"/teams"), chromedp.WaitVisible(`#token`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	var why string
	chromedp.Run(ctx, chromedp.Text(`p.notice`, &why, chromedp.ByQuery))
	if !strings.Contains(why, "expired") {
		t.Errorf("expired session: sign-in says %q, want that it expired", why)
	}
}

// attackerSite serves, on another port, a page whose script posts a form
// to the console's "end session" action without the CSRF token.
func attackerSite(t *testing.T, target string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>win a prize</title><form id="f" method="post" action="%s/account/sessions/revoke">
<input type="hidden" name="id" value="%s"></form><script>document.getElementById("f").submit()</script>`, target, r.URL.Query().Get("id"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
