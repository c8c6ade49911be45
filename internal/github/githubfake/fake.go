// Package githubfake is a fake of GitHub's REST API for issues, for tests:
// an HTTP server on 127.0.0.1 that checks what GitHub checks (the token in
// the Authorization header, that the repository exists and the token can
// see it, the limits on titles, bodies and labels) and answers as GitHub
// does, rate limits included (403 with X-RateLimit-Remaining: 0 and
// X-RateLimit-Reset; secondary limits with Retry-After).
package githubfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Issue is an issue as the fake holds it.
type Issue struct {
	Number int      `json:"number"`
	Title  string   `json:"title"`
	Body   string   `json:"body"`
	State  string   `json:"state"`
	Labels []string `json:"-"`
}

// Fake is the fake GitHub API.
type Fake struct {
	srv   *httptest.Server
	token string

	mu        sync.Mutex
	repos     map[string][]*Issue // owner/name → issues, number = index+1
	labels    map[string]map[string]bool
	limit     int // requests per hour
	remaining int
	reset     time.Time
	secondary int // the next n writes hit the secondary limit
	calls     []string
}

// New starts a fake that accepts token, stopped when the test ends.
func New(t testing.TB, token string) *Fake {
	f := &Fake{token: token, repos: map[string][]*Issue{}, labels: map[string]map[string]bool{}, limit: 5000, remaining: 5000, reset: time.Now().Add(time.Hour)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the API's base address.
func (f *Fake) URL() string { return f.srv.URL }

// AddRepo makes a repository the token can see.
func (f *Fake) AddRepo(fullName string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repos[fullName] = nil
	f.labels[fullName] = map[string]bool{}
}

// Issues returns a copy of a repository's issues.
func (f *Fake) Issues(repo string) []Issue {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Issue
	for _, is := range f.repos[repo] {
		c := *is
		c.Labels = append([]string(nil), is.Labels...)
		out = append(out, c)
	}
	return out
}

// CloseIssue closes an issue as a person would in GitHub.
func (f *Fake) CloseIssue(repo string, number int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repos[repo][number-1].State = "closed"
}

// RateLimit sets the calls left in the hour and when the window resets.
func (f *Fake) RateLimit(remaining int, reset time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.remaining, f.reset = remaining, reset
}

// SecondaryLimit makes the next n writes hit GitHub's secondary rate
// limit (403 with Retry-After).
func (f *Fake) SecondaryLimit(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secondary = n
}

// Calls returns "METHOD /path" of every request, in order.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func message(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

type fieldError struct {
	Resource string `json:"resource"`
	Field    string `json:"field"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

func invalid(w http.ResponseWriter, errs ...fieldError) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "errors": errs, "documentation_url": "https://docs.github.com/rest/issues/issues"})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(auth, "token ")
	}
	if !ok || tok != f.token {
		message(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	// Every authenticated answer carries the rate limit.
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(f.limit))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(f.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	if f.remaining <= 0 {
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", strconv.Itoa(f.limit))
		message(w, http.StatusForbidden, "API rate limit exceeded for user ID 1.")
		return
	}
	f.remaining--
	h.Set("X-RateLimit-Remaining", strconv.Itoa(f.remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(f.limit-f.remaining))
	if f.secondary > 0 && r.Method != http.MethodGet {
		f.secondary--
		h.Set("Retry-After", "60")
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"})
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 3 || parts[0] != "repos" {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	repo := parts[1] + "/" + parts[2]
	issues, exists := f.repos[repo]
	if !exists {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	switch {
	case len(parts) == 3 && r.Method == http.MethodGet:
		owner, name, _ := strings.Cut(repo, "/")
		writeJSON(w, http.StatusOK, map[string]any{"full_name": repo, "name": name, "owner": map[string]string{"login": owner}, "has_issues": true})
	case len(parts) == 4 && parts[3] == "issues" && r.Method == http.MethodPost:
		var req issueRequest
		if !decode(w, r, &req) {
			return
		}
		if req.Title == nil || strings.TrimSpace(*req.Title) == "" {
			invalid(w, fieldError{Resource: "Issue", Field: "title", Code: "missing_field"})
			return
		}
		is := &Issue{Number: len(issues) + 1, State: "open"}
		if !f.apply(w, repo, is, &req) {
			return
		}
		f.repos[repo] = append(issues, is)
		writeJSON(w, http.StatusCreated, f.issueJSON(repo, is))
	case len(parts) == 5 && parts[3] == "issues":
		n, err := strconv.Atoi(parts[4])
		if err != nil || n < 1 || n > len(issues) {
			message(w, http.StatusNotFound, "Not Found")
			return
		}
		is := issues[n-1]
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, f.issueJSON(repo, is))
		case http.MethodPatch:
			var req issueRequest
			if !decode(w, r, &req) {
				return
			}
			c := *is
			if !f.apply(w, repo, &c, &req) {
				return
			}
			*is = c
			writeJSON(w, http.StatusOK, f.issueJSON(repo, is))
		default:
			message(w, http.StatusNotFound, "Not Found")
		}
	default:
		message(w, http.StatusNotFound, "Not Found")
	}
}

type issueRequest struct {
	Title  *string   `json:"title"`
	Body   *string   `json:"body"`
	State  *string   `json:"state"`
	Labels *[]string `json:"labels"`
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		message(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// apply checks req as GitHub does and applies it to is.
func (f *Fake) apply(w http.ResponseWriter, repo string, is *Issue, req *issueRequest) bool {
	if req.Title != nil {
		if utf8.RuneCountInString(*req.Title) > 256 {
			invalid(w, fieldError{Resource: "Issue", Field: "title", Code: "custom", Message: "title is too long (maximum is 256 characters)"})
			return false
		}
		is.Title = *req.Title
	}
	if req.Body != nil {
		if utf8.RuneCountInString(*req.Body) > 65536 {
			invalid(w, fieldError{Resource: "Issue", Field: "body", Code: "custom", Message: "body is too long (maximum is 65536 characters)"})
			return false
		}
		is.Body = *req.Body
	}
	if req.State != nil {
		if *req.State != "open" && *req.State != "closed" {
			invalid(w, fieldError{Resource: "Issue", Field: "state", Code: "invalid"})
			return false
		}
		is.State = *req.State
	}
	if req.Labels != nil {
		for _, l := range *req.Labels {
			if utf8.RuneCountInString(l) > 50 || strings.TrimSpace(l) == "" {
				invalid(w, fieldError{Resource: "Label", Field: "name", Code: "invalid", Message: fmt.Sprintf("name %q is too long (maximum is 50 characters)", l)})
				return false
			}
		}
		is.Labels = append([]string(nil), *req.Labels...)
		for _, l := range is.Labels {
			f.labels[repo][l] = true // GitHub creates missing labels for a writer
		}
	}
	return true
}

func (f *Fake) issueJSON(repo string, is *Issue) map[string]any {
	labels := []map[string]string{}
	for _, l := range is.Labels {
		labels = append(labels, map[string]string{"name": l})
	}
	return map[string]any{"id": 1000 + is.Number, "number": is.Number, "title": is.Title, "body": is.Body, "state": is.State, "labels": labels,
		"html_url": fmt.Sprintf("https://github.com/%s/issues/%d", repo, is.Number), "url": fmt.Sprintf("%s/repos/%s/issues/%d", f.srv.URL, repo, is.Number)}
}
