package github_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/github"
	"github.com/tsuna-sre/tsuna/internal/github/githubfake"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

const secretToken = "ghp_s3cr3tT0kenThatMustNeverLeak0123456789"

func tokenFile(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newClient(t *testing.T, f *githubfake.Fake, repo, token string) *github.Client {
	t.Helper()
	c, err := github.New(github.Config{Repo: repo, TokenFile: tokenFile(t, token), BaseURL: f.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestExportCreatesThenUpdates: the first export creates one issue with
// its labels; a re-export updates that issue, never a second one.
func TestExportCreatesThenUpdates(t *testing.T) {
	f := githubfake.New(t, secretToken)
	f.AddRepo("acme/postmortems")
	c := newClient(t, f, "acme/postmortems", secretToken)
	ctx := context.Background()
	ref, err := c.Export(ctx, nil, postmortem.Issue{Title: "PM-1: Checkout timeouts", Body: "first", Labels: []string{"postmortem", "sev2"}})
	if err != nil {
		t.Fatal(err)
	}
	if ref.Repo != "acme/postmortems" || ref.Number != 1 || ref.URL != "https://github.com/acme/postmortems/issues/1" {
		t.Fatalf("ref = %+v", ref)
	}
	again, err := c.Export(ctx, ref, postmortem.Issue{Title: "PM-1: Checkout timeouts", Body: "second", Labels: []string{"postmortem", "sev2", "recommended"}})
	if err != nil || *again != *ref {
		t.Fatalf("re-export: %+v %v", again, err)
	}
	issues := f.Issues("acme/postmortems")
	if len(issues) != 1 || issues[0].Body != "second" || len(issues[0].Labels) != 3 || issues[0].State != "open" {
		t.Fatalf("issues = %+v", issues)
	}
	// An action closed in tsuna closes its issue; a closed issue reads closed.
	if _, err := c.Export(ctx, ref, postmortem.Issue{Title: "x", Body: "y", Closed: true}); err != nil {
		t.Fatal(err)
	}
	if closed, err := c.Closed(ctx, *ref); err != nil || !closed {
		t.Errorf("closed = %v %v", closed, err)
	}
}

// TestGitHubChecksAndTokenNeverInErrors exercises GitHub's refusals: a
// bad token (401), an unknown repository (404), limits (422), the rate
// limit (403, X-RateLimit-Reset) and the secondary limit (Retry-After).
// No error text holds the token.
func TestGitHubChecksAndTokenNeverInErrors(t *testing.T) {
	f := githubfake.New(t, secretToken)
	f.AddRepo("acme/postmortems")
	ctx := context.Background()
	is := postmortem.Issue{Title: "t", Body: "b"}
	var errs []error
	check := func(name string, err error, code string, want string) {
		t.Helper()
		errs = append(errs, err)
		if err == nil || !strings.Contains(err.Error(), want) || (code != "" && tsuna.ErrorCode(err) != code) {
			t.Errorf("%s: %v (code %s); want %q", name, err, tsuna.ErrorCode(err), want)
		}
	}
	wrong := newClient(t, f, "acme/postmortems", "ghp_wrong"+secretToken)
	_, err := wrong.Export(ctx, nil, is)
	check("bad token", err, tsuna.EUNAVAILABLE, "refused the token (401 Bad credentials)")

	c := newClient(t, f, "acme/missing", secretToken)
	_, err = c.Export(ctx, nil, is)
	check("missing repo", err, tsuna.EUNAVAILABLE, "not found (404)")

	c = newClient(t, f, "acme/postmortems", secretToken)
	_, err = c.Export(ctx, nil, postmortem.Issue{Title: "t", Body: "b", Labels: []string{strings.Repeat("l", 51)}})
	check("long label", err, tsuna.EINVALID, "over GitHub's 50 characters")
	_, err = c.Export(ctx, nil, postmortem.Issue{Title: " ", Body: "b"})
	check("empty title", err, tsuna.EINVALID, "422 Validation Failed: title missing_field")
	if len(f.Issues("acme/postmortems")) != 0 {
		t.Fatal("a refused export created an issue")
	}

	f.SecondaryLimit(1)
	_, err = c.Export(ctx, nil, is)
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || !rl.Secondary || time.Until(rl.Until) < 30*time.Second {
		t.Errorf("secondary limit: %v", err)
	}
	errs = append(errs, err)

	reset := time.Now().Add(17 * time.Minute).Truncate(time.Second)
	f.RateLimit(0, reset)
	// A new client: go-github holds back calls after a secondary limit.
	c = newClient(t, f, "acme/postmortems", secretToken)
	_, err = c.Export(ctx, nil, is)
	if !errors.As(err, &rl) || rl.Secondary || !rl.Until.Equal(reset) || !strings.Contains(err.Error(), "resets at") {
		t.Errorf("rate limit: %v", err)
	}
	errs = append(errs, err)

	for _, err := range errs {
		if err != nil && strings.Contains(err.Error(), secretToken) {
			t.Errorf("an error holds the token: %v", err)
		}
	}
	// The token file is checked before any call.
	if _, err := github.New(github.Config{Repo: "acme/postmortems", TokenFile: filepath.Join(t.TempDir(), "none")}); tsuna.ErrorCode(err) != tsuna.EINVALID {
		t.Errorf("missing token file: %v", err)
	}
	if _, err := github.New(github.Config{Repo: "not a repo", TokenFile: tokenFile(t, secretToken)}); err == nil || strings.Contains(err.Error(), secretToken) {
		t.Errorf("bad repo: %v", err)
	}
}

func TestWebhookSignature(t *testing.T) {
	secret := []byte("webhook-secret")
	body := []byte(`{"action":"closed","issue":{"number":3},"repository":{"full_name":"acme/postmortems"}}`)
	if err := github.VerifySignature(secret, body, github.Sign(secret, body)); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"", "sha256=00", "sha1=abc", github.Sign([]byte("other"), body)} {
		if github.VerifySignature(secret, body, h) == nil {
			t.Errorf("signature %q accepted", h)
		}
	}
	ev, err := github.ParseIssueEvent(body)
	if err != nil || ev != (github.IssueEvent{Action: "closed", Repo: "acme/postmortems", Number: 3}) {
		t.Errorf("event = %+v %v", ev, err)
	}
}
