package openapitest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recordingTB is a testing.TB that keeps what a Validator reports instead
// of failing the test.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) report() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errors, "\n")
}

const spec = `
openapi: 3.1.0
info: {title: test, version: v1}
security: [{bearer: []}]
paths:
  /api/v1/pets/{name}:
    parameters:
      - {name: name, in: path, required: true, schema: {type: string}}
    get:
      responses:
        "200":
          description: a pet
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
        "404":
          description: no such pet
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
  /api/v1/pets:
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 10}}
      responses:
        "200":
          description: pets
          content:
            application/json:
              schema:
                type: object
                properties:
                  pets: {type: array, items: {$ref: "#/components/schemas/Pet"}}
        "422":
          description: bad query
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Pet"}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
        "422":
          description: invalid
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
  /api/v1/dogs:
    get:
      responses:
        "200":
          description: a dog, an allOf of a pet
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Dog"}
  /api/v1/shapes:
    get:
      responses:
        "200":
          description: one of two closed shapes
          content:
            application/json:
              schema:
                oneOf:
                  - {type: object, required: [radius], properties: {radius: {type: number}}}
                  - {type: object, required: [side], properties: {side: {type: number}}}
  /healthz:
    get:
      security: []
      responses:
        "200":
          description: ok
          content:
            text/plain:
              schema: {type: string}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    Problem:
      type: object
      required: [status, code]
      properties:
        status: {type: integer}
        code: {type: string}
        detail: {type: string}
    Pet:
      type: object
      required: [name]
      properties:
        name: {type: string}
        tag: {type: string}
        labels:
          type: object
          additionalProperties: {type: string}
        extra:
          type: object
          description: free-form
    Dog:
      allOf:
        - {$ref: "#/components/schemas/Pet"}
        - type: object
          properties:
            breed: {type: string}
`

// serve answers with status, content type and body.
func serve(status int, contentType, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
}

// exchange sends one request through a validating handler and returns
// what the validator reported.
func exchange(t *testing.T, h http.Handler, method, target, body string) (string, *httptest.ResponseRecorder) {
	t.Helper()
	rt := &recordingTB{TB: t}
	v := New(rt, []byte(spec))
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	v.Handler(h).ServeHTTP(w, req)
	return rt.report(), w
}

func TestDocumentedAnswerPasses(t *testing.T) {
	for _, tc := range []struct {
		name, method, target, reqBody string
		status                        int
		contentType, body             string
	}{
		{"object", "GET", "/api/v1/pets/rex", "", 200, "application/json", `{"name":"rex","tag":"dog","labels":{"a":"b"},"extra":{"anything":1}}`},
		{"list", "GET", "/api/v1/pets?limit=3", "", 200, "application/json", `{"pets":[{"name":"rex"}]}`},
		{"problem", "GET", "/api/v1/pets/nope", "", 404, "application/problem+json", `{"status":404,"code":"not_found"}`},
		{"created", "POST", "/api/v1/pets", `{"name":"rex"}`, 201, "application/json", `{"name":"rex"}`},
		{"invalid request refused", "GET", "/api/v1/pets?limit=99", "", 422, "application/problem+json", `{"status":422,"code":"invalid"}`},
		{"invalid body refused", "POST", "/api/v1/pets", `{"name":"rex","color":"red"}`, 422, "application/problem+json", `{"status":422,"code":"invalid"}`},
		{"allOf", "GET", "/api/v1/dogs", "", 200, "application/json", `{"name":"rex","breed":"collie"}`},
		{"oneOf", "GET", "/api/v1/shapes", "", 200, "application/json", `{"side":2}`},
		{"text", "GET", "/healthz", "", 200, "text/plain; charset=utf-8", "ok\n"},
		{"head of a GET", "HEAD", "/api/v1/pets/rex", "", 200, "application/json", ""},
		{"undocumented non-API route", "GET", "/metrics", "", 200, "text/plain", "x 1\n"},
		{"unknown API route refused", "GET", "/api/v1/nope", "", 404, "application/problem+json", `{"status":404,"code":"not_found"}`},
		{"unknown method refused", "DELETE", "/api/v1/pets", "", 405, "application/problem+json", `{"status":405,"code":"method_not_allowed"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, w := exchange(t, serve(tc.status, tc.contentType, tc.body), tc.method, tc.target, tc.reqBody)
			if got != "" {
				t.Errorf("a documented exchange was reported:\n%s", got)
			}
			if w.Code != tc.status || w.Body.String() != tc.body {
				t.Errorf("the answer changed: %d %q", w.Code, w.Body)
			}
		})
	}
}

func TestMismatchFails(t *testing.T) {
	for _, tc := range []struct {
		name, method, target, reqBody string
		status                        int
		contentType, body             string
		want                          string
	}{
		{"undocumented field", "GET", "/api/v1/pets/rex", "", 200, "application/json", `{"name":"rex","color":"red"}`, `"color"`},
		{"undocumented nested field", "GET", "/api/v1/pets", "", 200, "application/json", `{"pets":[{"name":"rex","color":"red"}]}`, `/pets/0`},
		{"undocumented field in a list answer", "GET", "/api/v1/pets", "", 200, "application/json", `{"pets":[],"next":"x"}`, `"next"`},
		{"undocumented field in a problem", "GET", "/api/v1/pets/nope", "", 404, "application/problem+json", `{"status":404,"code":"not_found","hint":"x"}`, `"hint"`},
		{"undocumented status", "GET", "/api/v1/pets/rex", "", 409, "application/problem+json", `{"status":409,"code":"conflict"}`, "status 409 is not documented for GET /api/v1/pets/{name} (documented: 200, 404)"},
		{"wrong type", "GET", "/api/v1/pets/rex", "", 200, "application/json", `{"name":7}`, "/name"},
		{"missing required", "GET", "/api/v1/pets/rex", "", 200, "application/json", `{"tag":"x"}`, "name"},
		{"undocumented content type", "GET", "/api/v1/pets/rex", "", 200, "text/html", `<p>rex</p>`, "text/html"},
		{"not JSON", "GET", "/api/v1/pets/rex", "", 200, "application/json", `{"name":`, "decode"},
		{"undocumented field beside allOf", "GET", "/api/v1/dogs", "", 200, "application/json", `{"name":"rex","breed":"collie","color":"red"}`, "color"},
		{"undocumented field in a oneOf", "GET", "/api/v1/shapes", "", 200, "application/json", `{"side":2,"color":"red"}`, "'color' not allowed"},
		{"invalid request accepted", "GET", "/api/v1/pets?limit=99", "", 200, "application/json", `{"pets":[]}`, "limit"},
		{"undocumented query accepted", "GET", "/api/v1/pets?sort=name", "", 200, "application/json", `{"pets":[]}`, `"sort"`},
		{"undocumented request field accepted", "POST", "/api/v1/pets", `{"name":"rex","color":"red"}`, 201, "application/json", `{"name":"rex"}`, "color"},
		{"undocumented request body accepted", "GET", "/api/v1/pets/rex", `{"name":"rex"}`, 200, "application/json", `{"name":"rex"}`, "request body not allowed"},
		{"undocumented API route", "GET", "/api/v1/cats", "", 200, "application/json", `{}`, "no GET /api/v1/cats"},
		{"undocumented API method", "PUT", "/api/v1/pets", "", 200, "application/json", `{}`, "(method)"},
		{"unrouted problem off schema", "GET", "/api/v1/nope", "", 404, "application/problem+json", `{"status":"404"}`, "Problem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, w := exchange(t, serve(tc.status, tc.contentType, tc.body), tc.method, tc.target, tc.reqBody)
			if !strings.Contains(got, tc.want) {
				t.Errorf("reported %q, want a report with %q", got, tc.want)
			}
			if w.Code != tc.status || w.Body.String() != tc.body {
				t.Errorf("the answer changed: %d %q", w.Code, w.Body)
			}
		})
	}
}

// TestHandlerSeesTheWholeBody checks that validation does not consume the
// request body, nor truncate one over the size kept for validation.
func TestHandlerSeesTheWholeBody(t *testing.T) {
	rt := &recordingTB{TB: t}
	v := New(rt, []byte(spec))
	big := `{"name":"` + strings.Repeat("x", maxBody) + `"}`
	var got int
	h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = len(b)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		io.WriteString(w, `{"name":"x"}`)
	}))
	for _, body := range []string{`{"name":"rex"}`, big} {
		req := httptest.NewRequest("POST", "/api/v1/pets", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got != len(body) {
			t.Errorf("the handler read %d bytes of %d", got, len(body))
		}
	}
	if r := rt.report(); r != "" {
		t.Errorf("reported %s", r)
	}
}

func TestTransportAndProxy(t *testing.T) {
	rt := &recordingTB{TB: t}
	v := New(rt, []byte(spec))
	upstream := httptest.NewServer(serve(200, "application/json", `{"name":"rex","color":"red"}`))
	defer upstream.Close()

	c := &http.Client{Transport: v.Transport(nil)}
	resp, err := c.Get(upstream.URL + "/api/v1/pets/rex")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"name":"rex","color":"red"}` {
		t.Errorf("the client read %q", b)
	}
	if r := rt.report(); !strings.Contains(r, `"color"`) {
		t.Errorf("transport reported %q", r)
	}

	rt.errors = nil
	resp, err = http.Get(v.Proxy(upstream.URL) + "/api/v1/pets/rex")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"name":"rex","color":"red"}` {
		t.Errorf("the client read %q through the proxy", b)
	}
	if r := rt.report(); !strings.Contains(r, `"color"`) {
		t.Errorf("proxy reported %q", r)
	}
}

func TestUnexercised(t *testing.T) {
	rt := &recordingTB{TB: t}
	v := New(rt, []byte(spec))
	h := v.Handler(serve(200, "application/json", `{"name":"rex"}`))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/pets/rex", nil))
	ops, answers := v.Unexercised()
	if strings.Join(ops, ",") != "GET /api/v1/dogs,GET /api/v1/pets,GET /api/v1/shapes,GET /healthz,POST /api/v1/pets" {
		t.Errorf("unexercised operations %q", ops)
	}
	if strings.Join(answers, ",") != "GET /api/v1/pets/{name} 404" {
		t.Errorf("unexercised answers %q", answers)
	}
}

func TestExplicitMapsStayOpen(t *testing.T) {
	v := New(t, []byte(spec))
	pet := v.Doc().Components.Schemas["Pet"].Value
	if has := pet.AdditionalProperties.Has; has == nil || *has {
		t.Errorf("Pet is not closed")
	}
	if s := pet.Properties["labels"].Value.AdditionalProperties.Schema; s == nil {
		t.Errorf("labels lost its additionalProperties schema")
	}
	if extra := pet.Properties["extra"].Value.AdditionalProperties; extra.Has != nil || extra.Schema != nil {
		t.Errorf("a free-form object was closed")
	}
}

func TestNewFromURL(t *testing.T) {
	docs := httptest.NewServer(serve(200, "application/yaml", spec))
	defer docs.Close()
	v := NewFromURL(t, docs.URL+"/openapi.yaml")
	if v.Doc().Paths.Value("/api/v1/pets") == nil {
		t.Errorf("the document from the URL has no /api/v1/pets")
	}
}

// TestProxyWithoutUpstream checks that the proxy's own 502, when the
// server is gone, is not taken for the server's answer.
func TestProxyWithoutUpstream(t *testing.T) {
	rt := &recordingTB{TB: t}
	v := New(rt, []byte(spec))
	gone := httptest.NewServer(serve(200, "application/json", `{}`))
	gone.Close()
	resp, err := http.Get(v.Proxy(gone.URL) + "/api/v1/pets/rex")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	if r := rt.report(); r != "" {
		t.Errorf("reported %s", r)
	}
}
