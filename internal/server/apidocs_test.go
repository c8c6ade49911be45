package server

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// The validator of openapitest reads text/plain bodies by default; the API
// reference is text/html, a string as well.
func init() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder) }

// TestAPIDocsPage guards issue 10 item 15: the OpenAPI document rendered
// for a person, served by tsuna, names every operation and schema, and
// loads nothing from anywhere else.
func TestAPIDocsPage(t *testing.T) {
	s := New(Config{})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/docs", nil))
	page := w.Body.String()
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("GET /api/v1/docs = %d %s", w.Code, w.Header())
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct{ Schemas map[string]json.RawMessage }
	}
	json.Unmarshal(openAPIDoc, &doc)
	for p, ops := range doc.Paths {
		for m := range ops {
			if !strings.Contains(page, `<span class="method">`+strings.ToUpper(m)+`</span> `+p) {
				t.Errorf("the page lacks %s %s", strings.ToUpper(m), p)
			}
		}
	}
	for n := range doc.Components.Schemas {
		if !strings.Contains(page, `id="schema-`+n+`"`) {
			t.Errorf("the page lacks schema %s", n)
		}
	}
	if m := regexp.MustCompile(`(?i)<(script|link|img)|src=|url\(`).FindString(page); m != "" {
		t.Errorf("the page loads something: %s", m)
	}
	if m := regexp.MustCompile(`href="(https?:)?//`).FindString(page); m != "" {
		t.Errorf("the page links outside tsuna: %s", m)
	}
}
