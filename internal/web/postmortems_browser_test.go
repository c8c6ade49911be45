package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPostmortems drives Debian's Chromium through the postmortem
// pages: sign in, find a published postmortem by a word of its text, open
// it, edit and preview (a blameless hint is shown, nothing saved), see
// the follow-ups; a viewer sees no form that changes anything. axe-core
// checks every page.
func TestBrowserPostmortems(t *testing.T) {
	ax := newAxe(t)
	c := startPMConsole(t, filepath.Join(t.TempDir(), "tsuna.db"))
	ctx := newChromium(t)
	dir := screenshots(t)
	ref := c.published.Ref

	signIn := func(secret, next, wait string) {
		t.Helper()
		err := chromedp.Run(ctx, chromedp.Navigate(c.url+"/signin?next="+next), chromedp.WaitVisible(`#token`, chromedp.ByQuery),
			chromedp.SendKeys("#token", secret, chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
			chromedp.WaitVisible(wait, chromedp.ByQuery))
		if err != nil {
			t.Fatal(err)
		}
	}
	signIn(paymentsEdit, "/postmortems", `#library-h`)
	ax.check(ctx, "/postmortems")
	shoot(t, ctx, dir, "postmortems")

	// Search by a word of the text; the result is marked.
	err := chromedp.Run(ctx,
		chromedp.SendKeys("#pm-q", pmBodyWord+"\n", chromedp.ByQuery),
		chromedp.WaitVisible(`#results-h`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, `document.querySelectorAll("ol.results a[href='/postmortems/`+ref+`']").length`); n != 1 {
		t.Errorf("search for %q: %d links to %s, want 1", pmBodyWord, n, ref)
	}
	if n := count(t, ctx, `[...document.querySelectorAll("ol.results mark")].filter(m => m.textContent === "`+pmBodyWord+`").length`); n == 0 {
		t.Errorf("search for %q: the word is not marked in the excerpt", pmBodyWord)
	}
	ax.check(ctx, "/postmortems?q="+pmBodyWord)
	shoot(t, ctx, dir, "postmortems-search")

	// Open it: the text, the figures, the budget, the editor.
	err = chromedp.Run(ctx,
		chromedp.Click(`ol.results a[href="/postmortems/`+ref+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#editor`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	var title string
	chromedp.Run(ctx, chromedp.Title(&title))
	if strings.Contains(title, "pwned") {
		t.Errorf("a script in the postmortem's text ran")
	}
	if n := count(t, ctx, `document.querySelectorAll("#ttx-h ~ table tbody tr").length`); n != 4 {
		t.Errorf("%d TTx rows, want TTD, TTA, TTM and TTR", n)
	}
	ax.check(ctx, "/postmortems/"+ref)
	pmShoot(t, ctx, dir, "postmortem")

	// Edit and preview: the server renders the text and marks the hint.
	err = chromedp.Run(ctx,
		chromedp.SetValue(`#e-body`, pmBody+"\nThe deploy was human error.\n", chromedp.ByQuery),
		chromedp.Click(`#editor button[value=preview]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#preview-h`, chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, `[...document.querySelectorAll(".hintlist mark")].filter(m => m.textContent === "human error").length`); n != 1 {
		t.Errorf("preview: %d marked hints for \"human error\", want 1", n)
	}
	if n := count(t, ctx, `document.querySelector("#e-body").value.includes("human error") ? 1 : 0`); n != 1 {
		t.Errorf("preview lost the text being edited")
	}
	ax.check(ctx, "/postmortems/"+ref+" (preview)")
	pmShoot(t, ctx, dir, "postmortem-preview")

	if err := chromedp.Run(ctx, chromedp.Navigate(c.url+"/followups?show=open"), chromedp.WaitVisible(`h1`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	ax.check(ctx, "/followups")
	pmShoot(t, ctx, dir, "followups")
	if err := chromedp.Run(ctx, chromedp.Click(`form.signout button`, chromedp.ByQuery), chromedp.WaitVisible(`#token`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}

	// A viewer reads, and sees no form that changes anything.
	signIn(viewerSecret, "/postmortems/"+ref, `#budget-h`)
	for _, p := range []string{"/postmortems/" + ref, "/postmortems", "/followups", "/services/invoice-worker", "/incidents/" + c.draft.Incident} {
		if err := chromedp.Run(ctx, chromedp.Navigate(c.url+p), chromedp.WaitVisible(`h1`, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		// (Anyone may add a note to an incident: its page keeps that form.)
		if n := count(t, ctx, `document.querySelectorAll("form[method=post]:not([data-scope=self]):not(#note)").length`); n != 0 {
			t.Errorf("a viewer sees %d form(s) that change something on %s", n, p)
		}
		ax.check(ctx, p+" (viewer)")
	}
}

// pmShoot writes a screenshot of the whole page.
func pmShoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
