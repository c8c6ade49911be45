// Package github exports postmortems and follow-up actions to GitHub
// issues (go-github), and reads GitHub's issue webhooks, so closing an
// action's issue closes the action. It implements postmortem.Tracker.
//
// The token is read from a file and only ever sent in the Authorization
// header: errors name the repository, the call and GitHub's answer, never
// the token.
package github

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	gh "github.com/google/go-github/v72/github"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

// Config configures a Client.
type Config struct {
	// Repo is owner/name.
	Repo string
	// TokenFile holds the token (a fine-grained token with Issues: write).
	TokenFile string
	// BaseURL is the API's address: "" for api.github.com, a GitHub
	// Enterprise or test server's otherwise.
	BaseURL string
	// Timeout bounds each call (default 15 s).
	Timeout time.Duration
}

// Client is a GitHub repository's issues.
type Client struct {
	gh          *gh.Client
	owner, name string
	token       string
}

var repoRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$`)

// New returns a Client for cfg, reading the token from its file. It makes
// no call to GitHub.
func New(cfg Config) (*Client, error) {
	if !repoRE.MatchString(cfg.Repo) {
		return nil, tsuna.Errorf(tsuna.EINVALID, "--github-repo %q: write it as owner/name", cfg.Repo)
	}
	if cfg.TokenFile == "" {
		return nil, tsuna.Errorf(tsuna.EINVALID, "--github-token-file: required with --github-repo (a file holding a token with the Issues: write permission)")
	}
	b, err := os.ReadFile(cfg.TokenFile)
	if err != nil {
		return nil, tsuna.Errorf(tsuna.EINVALID, "--github-token-file %s: cannot read it: %v", cfg.TokenFile, unwrapPath(err))
	}
	token := strings.TrimSpace(string(b))
	if token == "" || strings.ContainsAny(token, " \n\r\t") || len(token) > 1000 {
		return nil, tsuna.Errorf(tsuna.EINVALID, "--github-token-file %s: the file must hold one token on one line", cfg.TokenFile)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	c := gh.NewClient(&http.Client{Timeout: cfg.Timeout}).WithAuthToken(token)
	if cfg.BaseURL != "" {
		u := strings.TrimRight(cfg.BaseURL, "/") + "/"
		if c, err = c.WithEnterpriseURLs(u, u); err != nil {
			return nil, tsuna.Errorf(tsuna.EINVALID, "--github-api-url %q: %v", cfg.BaseURL, err)
		}
		// WithEnterpriseURLs adds /api/v3/; a test server or proxy given
		// as a plain address serves the API at its root.
		c.BaseURL, _ = url.Parse(u)
	}
	owner, name, _ := strings.Cut(cfg.Repo, "/")
	return &Client{gh: c, owner: owner, name: name, token: token}, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Repo returns owner/name.
func (c *Client) Repo() string { return c.owner + "/" + c.name }

// GitHub's limits on an issue, checked before calling.
const (
	MaxTitle = 256   // characters
	MaxBody  = 65536 // characters
	MaxLabel = 50    // characters of a label's name
)

// Export creates an issue, or updates ref's issue when ref names one in
// this repository (re-export updates, never duplicates). Labels missing
// in the repository are created by GitHub.
func (c *Client) Export(ctx context.Context, ref *postmortem.IssueRef, is postmortem.Issue) (*postmortem.IssueRef, error) {
	title := []rune(is.Title)
	if len(title) > MaxTitle {
		title = title[:MaxTitle]
	}
	body := []rune(is.Body)
	if len(body) > MaxBody {
		return nil, tsuna.Errorf(tsuna.EINVALID, "the issue body is %d characters; GitHub takes at most %d", len(body), MaxBody)
	}
	labels := []string{}
	for _, l := range is.Labels {
		if len([]rune(l)) > MaxLabel {
			return nil, tsuna.Errorf(tsuna.EINVALID, "label %q is over GitHub's %d characters", l, MaxLabel)
		}
		labels = append(labels, l)
	}
	state := "open"
	if is.Closed {
		state = "closed"
	}
	req := &gh.IssueRequest{Title: gh.Ptr(string(title)), Body: gh.Ptr(string(body)), Labels: &labels}
	var issue *gh.Issue
	var err error
	if ref != nil && ref.Repo == c.Repo() && ref.Number > 0 {
		req.State = &state
		issue, _, err = c.gh.Issues.Edit(ctx, c.owner, c.name, ref.Number, req)
		if err != nil {
			return nil, c.error(fmt.Sprintf("update issue #%d", ref.Number), err)
		}
	} else {
		issue, _, err = c.gh.Issues.Create(ctx, c.owner, c.name, req)
		if err != nil {
			return nil, c.error("create issue", err)
		}
		if is.Closed {
			if issue, _, err = c.gh.Issues.Edit(ctx, c.owner, c.name, issue.GetNumber(), &gh.IssueRequest{State: &state}); err != nil {
				return nil, c.error(fmt.Sprintf("close issue #%d", issue.GetNumber()), err)
			}
		}
	}
	return &postmortem.IssueRef{Repo: c.Repo(), Number: issue.GetNumber(), URL: issue.GetHTMLURL()}, nil
}

// Closed reports whether ref's issue is closed.
func (c *Client) Closed(ctx context.Context, ref postmortem.IssueRef) (bool, error) {
	owner, name, ok := strings.Cut(ref.Repo, "/")
	if !ok {
		return false, tsuna.Errorf(tsuna.EINVALID, "issue repository %q is not owner/name", ref.Repo)
	}
	issue, _, err := c.gh.Issues.Get(ctx, owner, name, ref.Number)
	if err != nil {
		return false, c.error(fmt.Sprintf("read issue #%d", ref.Number), err)
	}
	return issue.GetState() == "closed", nil
}

// RateLimitError says GitHub refused a call for its rate limit: retry
// after Until.
type RateLimitError struct {
	Until     time.Time
	Secondary bool
	msg       string
}

func (e *RateLimitError) Error() string { return e.msg }

// error turns go-github's error into one that says what to do, without
// the token.
func (c *Client) error(what string, err error) error {
	where := fmt.Sprintf("github: %s in %s", what, c.Repo())
	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	var resp *gh.ErrorResponse
	var out error
	switch {
	case errors.As(err, &rl):
		until := rl.Rate.Reset.Time
		out = &RateLimitError{Until: until, msg: fmt.Sprintf("%s: GitHub's rate limit is reached (%d per hour); it resets at %s", where, rl.Rate.Limit, until.UTC().Format(time.RFC3339))}
	case errors.As(err, &abuse):
		wait := time.Minute
		if abuse.RetryAfter != nil {
			wait = *abuse.RetryAfter
		}
		out = &RateLimitError{Until: time.Now().Add(wait), Secondary: true, msg: fmt.Sprintf("%s: GitHub's secondary rate limit is reached; retry after %s", where, wait)}
	case errors.As(err, &resp) && resp.Response != nil:
		switch resp.Response.StatusCode {
		case http.StatusUnauthorized:
			out = tsuna.Errorf(tsuna.EUNAVAILABLE, "%s: GitHub refused the token (401 %s); check --github-token-file", where, resp.Message)
		case http.StatusForbidden:
			out = tsuna.Errorf(tsuna.EUNAVAILABLE, "%s: the token may not do this (403 %s); it needs the Issues: write permission on %s", where, resp.Message, c.Repo())
		case http.StatusNotFound:
			out = tsuna.Errorf(tsuna.EUNAVAILABLE, "%s: not found (404); check --github-repo and that the token can see the repository", where)
		case http.StatusUnprocessableEntity:
			var details []string
			for _, e := range resp.Errors {
				details = append(details, strings.TrimSpace(e.Field+" "+e.Code+" "+e.Message))
			}
			out = tsuna.Errorf(tsuna.EINVALID, "%s: GitHub refused it (422 %s: %s)", where, resp.Message, strings.Join(details, "; "))
		default:
			out = tsuna.Errorf(tsuna.EUNAVAILABLE, "%s: GitHub answered %d %s", where, resp.Response.StatusCode, resp.Message)
		}
	default:
		out = tsuna.Errorf(tsuna.EUNAVAILABLE, "%s: %v", where, err)
	}
	return c.scrub(out)
}

// scrub removes the token from an error's text, whatever produced it.
func (c *Client) scrub(err error) error {
	if c.token == "" || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), c.token, "[token]"))
}

// VerifySignature checks GitHub's X-Hub-Signature-256 header over the raw
// body with the webhook's secret, in constant time.
func VerifySignature(secret, body []byte, header string) error {
	if len(secret) == 0 {
		return errors.New("no webhook secret configured")
	}
	sig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return errors.New("no X-Hub-Signature-256 header of the form sha256=<hex>")
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return errors.New("X-Hub-Signature-256 is not hex")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("signature does not match")
	}
	return nil
}

// Sign returns the X-Hub-Signature-256 value of body, as GitHub sends it.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// IssueEvent is what tsuna reads of an "issues" webhook delivery.
type IssueEvent struct {
	Action string
	Repo   string
	Number int
}

// ParseIssueEvent reads an "issues" event's body.
func ParseIssueEvent(body []byte) (IssueEvent, error) {
	var ev struct {
		Action string `json:"action"`
		Issue  struct {
			Number int `json:"number"`
		} `json:"issue"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return IssueEvent{}, tsuna.Errorf(tsuna.EINVALID, "the issues event is not JSON: %v", err)
	}
	if ev.Action == "" || ev.Issue.Number <= 0 || ev.Repository.FullName == "" {
		return IssueEvent{}, tsuna.Errorf(tsuna.EINVALID, "the issues event lacks action, issue.number or repository.full_name")
	}
	return IssueEvent{Action: ev.Action, Repo: ev.Repository.FullName, Number: ev.Issue.Number}, nil
}
