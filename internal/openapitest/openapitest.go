// Package openapitest checks, in tests, that an HTTP API does what its
// OpenAPI document says: every request a test makes and every answer the
// server gives are validated against the document, and each mismatch fails
// the test.
//
// The document is read strictly: an object schema that lists its properties
// allows no others unless it says so (see closeObjects), so a field added to
// a response but not to the document fails.
//
// Typical use, around the handler a test serves:
//
//	v := openapitest.New(t, spec)
//	srv := httptest.NewServer(v.Handler(handler))
//
// or in front of a server that runs elsewhere in the test:
//
//	url = openapitest.New(t, spec).Proxy(url)
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// maxBody is the most of a request or response body kept for validation;
// past it the body is passed on untouched and not validated.
const maxBody = 8 << 20

// APIPrefix is where every path must be in the document: a request under
// it that the document does not describe is an error, unless the server
// also refuses it with 404 or 405.
const APIPrefix = "/api/"

// ProblemSchema names the component schema that answers the document does
// not route (404 and 405 for paths or methods it does not describe) are
// checked against, when the document has it and they are
// application/problem+json.
const ProblemSchema = "Problem"

// Validator validates exchanges against one OpenAPI document, reporting
// mismatches to the test that made it.
type Validator struct {
	t      testing.TB
	doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options

	mu   sync.Mutex // serializes validation, and guards seen
	seen map[string]map[int]bool
}

// New loads spec (JSON or YAML), makes it strict, validates it and returns
// a Validator that reports to t. A document that does not load or is not
// valid fails t at once.
func New(t testing.TB, spec []byte) *Validator {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		t.Fatalf("openapitest: load the OpenAPI document: %v", err)
	}
	if err := closeObjects(doc); err != nil {
		t.Fatalf("openapitest: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapitest: the OpenAPI document is not valid: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapitest: route the OpenAPI document: %v", err)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
		SkipSettingDefaults:   true,
		// A body the document does not describe is an error too.
		RejectWhenRequestBodyNotSpecified: true,
	}
	opts.WithCustomSchemaErrorFunc(schemaError)
	return &Validator{t: t, doc: doc, router: router, opts: opts, seen: map[string]map[int]bool{}}
}

// Doc returns the loaded document, made strict.
func (v *Validator) Doc() *openapi3.T { return v.doc }

// Handler returns h, validating each request it serves and each answer it
// gives. It reports with t.Errorf after h has answered, and never changes
// the request h sees or the answer.
func (v *Validator) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqBody, complete := readSome(r.Body)
		if r.Body != nil {
			r.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(reqBody), r.Body), Closer: r.Body}
		}
		// Keep what validation needs before h can change it.
		req := r.Clone(context.WithoutCancel(r.Context()))
		rec := &recorder{ResponseWriter: w, header: w.Header()}
		unanswered := new(bool)
		h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), unansweredKey{}, unanswered)))
		if *unanswered {
			return // the proxy's own 502: the server did not answer
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		v.report(req, bodyOrNil(reqBody, complete), rec.status, rec.header.Clone(), bodyOrNil(rec.body.Bytes(), !rec.overflow))
	})
}

// Transport returns a RoundTripper that sends through rt (by default
// http.DefaultTransport) and validates each request and its answer, for a
// test of a client.
func (v *Validator) Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		reqBody, complete := readSome(r.Body)
		req := r.Clone(r.Context())
		if r.Body != nil {
			req.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(reqBody), r.Body), Closer: r.Body}
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		respBody, respComplete := readSome(resp.Body)
		resp.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(respBody), resp.Body), Closer: resp.Body}
		req.URL = &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		v.report(req, bodyOrNil(reqBody, complete), resp.StatusCode, resp.Header.Clone(), bodyOrNil(respBody, respComplete))
		return resp, nil
	})
}

// Proxy starts a reverse proxy to upstream (such as "http://127.0.0.1:8080")
// that validates every exchange through it, and returns its URL. It stops
// when the test ends.
func (v *Validator) Proxy(upstream string) string {
	v.t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		v.t.Fatalf("openapitest: proxy to %q: %v", upstream, err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if p, ok := r.Context().Value(unansweredKey{}).(*bool); ok {
				*p = true
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	srv := httptest.NewServer(v.Handler(rp))
	v.t.Cleanup(srv.Close)
	return srv.URL
}

// unansweredKey marks, in a request's context, an exchange the server did
// not answer (the proxy could not reach it): it is not validated.
type unansweredKey struct{}

// NewFromURL is New with the document at specURL, such as a running
// server's "http://127.0.0.1:8080/api/v1/openapi.json".
func NewFromURL(t testing.TB, specURL string) *Validator {
	t.Helper()
	resp, err := http.Get(specURL)
	if err != nil {
		t.Fatalf("openapitest: get the OpenAPI document: %v", err)
	}
	defer resp.Body.Close()
	spec, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("openapitest: get the OpenAPI document %s: %d %v", specURL, resp.StatusCode, err)
	}
	return New(t, spec)
}

// Check validates one exchange and returns its mismatches, without
// reporting them: the request (whose Body is not read), its body, and the
// answer's status, header and body. A nil body was not kept and is not
// validated.
func (v *Validator) Check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) []error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.check(req, reqBody, status, header, body)
}

// Unexercised lists the documented operations ("GET /api/v1/teams") that
// no exchange has reached, and then each documented answer ("GET
// /api/v1/teams 401") that none has given. A test of the whole API can
// require the first list to be empty.
func (v *Validator) Unexercised() (operations, answers []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, path := range v.doc.Paths.InMatchingOrder() {
		for method, op := range v.doc.Paths.Value(path).Operations() {
			name := method + " " + path
			seen, ok := v.seen[name]
			if !ok {
				operations = append(operations, name)
				continue
			}
			for code := range op.Responses.Map() {
				if n, err := strconv.Atoi(code); err == nil && !seen[n] {
					answers = append(answers, name+" "+code)
				}
			}
		}
	}
	slices.Sort(operations)
	slices.Sort(answers)
	return operations, answers
}

// report checks one exchange and reports each mismatch to the test.
func (v *Validator) report(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	errs := v.Check(req, reqBody, status, header, body)
	if len(errs) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "openapi: %s %s answered %d does not match the document:", req.Method, req.URL.RequestURI(), status)
	for _, err := range errs {
		fmt.Fprintf(&b, "\n\t- %s", strings.ReplaceAll(err.Error(), "\n", "\n\t  "))
	}
	if len(body) > 0 {
		fmt.Fprintf(&b, "\n\tresponse body: %s", snippet(body))
	}
	v.t.Errorf("%s", b.String())
}

func (v *Validator) check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) []error {
	route, params, err := v.router.FindRoute(req)
	if err != nil && req.Method == http.MethodHead {
		// Served as the GET, without the body.
		get := req.Clone(req.Context())
		get.Method = http.MethodGet
		if r, p, gerr := v.router.FindRoute(get); gerr == nil {
			req, route, params, err, body = get, r, p, nil, nil
		}
	}
	if err != nil {
		return v.unrouted(req, err, status, header, body)
	}
	name := route.Method + " " + route.Path
	if v.seen[name] == nil {
		v.seen[name] = map[int]bool{}
	}
	v.seen[name][status] = true

	var errs []error
	// A request the document calls invalid must be refused: answered 2xx
	// or 3xx, the server accepts what the document does not.
	if status < 400 {
		errs = append(errs, v.checkRequest(req, reqBody, route, params)...)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: v.opts}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header, Options: v.opts,
		Body: io.NopCloser(bytes.NewReader(body)),
	}
	if body == nil {
		opts := *v.opts
		opts.ExcludeResponseBody = true
		out.Options = &opts
	}
	if rs := route.Operation.Responses; rs.Len() > 0 && rs.Status(status) == nil && rs.Default() == nil {
		documented := slices.Sorted(maps.Keys(rs.Map()))
		return append(errs, fmt.Errorf("response: status %d is not documented for %s (documented: %s)", status, name, strings.Join(documented, ", ")))
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		errs = append(errs, flatErrors("response", err)...)
	} else if resp := route.Operation.Responses.Status(status); resp != nil && resp.Value != nil && len(resp.Value.Content) == 0 && len(body) > 0 {
		errs = append(errs, fmt.Errorf("response: the document gives status %d no content, but the answer has a %q body", status, header.Get("Content-Type")))
	} else if resp == nil && route.Operation.Responses.Default() == nil && route.Operation.Responses.Len() == 0 {
		errs = append(errs, fmt.Errorf("response: the document lists no responses for %s", name))
	}
	return errs
}

// checkRequest validates the request's parameters and body, and finds
// query parameters the document does not list.
func (v *Validator) checkRequest(req *http.Request, reqBody []byte, route *routers.Route, params map[string]string) []error {
	req = req.Clone(req.Context())
	opts := v.opts
	if reqBody == nil {
		o := *v.opts
		o.ExcludeRequestBody = true
		opts = &o
		req.Body = http.NoBody
	} else if len(reqBody) == 0 {
		req.Body = http.NoBody
	} else {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	req.ContentLength = int64(len(reqBody))
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	var errs []error
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		errs = append(errs, flatErrors("request", err)...)
	}
	known := map[string]bool{}
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				known[p.Value.Name] = true
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(req.URL.Query())) {
		if !known[name] {
			errs = append(errs, fmt.Errorf("request: query parameter %q is not in the document", name))
		}
	}
	return errs
}

// unrouted checks an exchange the document does not route: fine outside
// APIPrefix, and under it only when the server refuses it too.
func (v *Validator) unrouted(req *http.Request, routeErr error, status int, header http.Header, body []byte) []error {
	if !strings.HasPrefix(req.URL.Path, APIPrefix) {
		return nil
	}
	what := "path"
	if errors.Is(routeErr, routers.ErrMethodNotAllowed) {
		what = "method"
	}
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		return []error{fmt.Errorf("route: the document has no %s %s (%s), but the server answered %d", req.Method, req.URL.Path, what, status)}
	}
	problem := v.doc.Components.Schemas[ProblemSchema]
	mt := strings.TrimSpace(strings.Split(header.Get("Content-Type"), ";")[0])
	if problem == nil || problem.Value == nil || body == nil || mt != "application/problem+json" {
		return nil
	}
	dec, err := decodeJSON(body)
	if err != nil {
		return []error{fmt.Errorf("response: %v", err)}
	}
	opts := []openapi3.SchemaValidationOption{openapi3.MultiErrors(), openapi3.SetSchemaErrorMessageCustomizer(schemaError)}
	if v.doc.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.EnableJSONSchema2020())
	}
	if err := problem.Value.VisitJSON(dec, opts...); err != nil {
		return flatErrors("response body doesn't match schema "+ProblemSchema, err)
	}
	return nil
}

// flatErrors splits kin-openapi's nested errors into one line each, each
// with its context: request or response, parameter or body, and the JSON
// pointer of the value at fault.
func flatErrors(prefix string, err error) []error {
	switch e := err.(type) {
	case openapi3.MultiError:
		var out []error
		for _, sub := range e {
			out = append(out, flatErrors(prefix, sub)...)
		}
		return out
	case *openapi3filter.ResponseError:
		p := prefix
		if e.Reason != "" {
			p += ": " + e.Reason
		}
		if e.Err == nil {
			return []error{errors.New(p)}
		}
		return flatErrors(p, e.Err)
	case *openapi3filter.RequestError:
		p := prefix
		switch {
		case e.Parameter != nil:
			p += fmt.Sprintf(": parameter %q in %s", e.Parameter.Name, e.Parameter.In)
		case e.RequestBody != nil:
			p += ": body"
		}
		if e.Reason != "" && (e.Err == nil || e.Reason != e.Err.Error()) {
			p += ": " + e.Reason
		}
		if e.Err == nil {
			return []error{errors.New(p)}
		}
		return flatErrors(p, e.Err)
	case *openapi3.SchemaError:
		var me openapi3.MultiError
		if e.Origin != nil && errors.As(e.Origin, &me) && len(me) > 0 {
			return flatErrors(prefix, me)
		}
		return []error{fmt.Errorf("%s: %s", prefix, schemaError(e))}
	}
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return flatErrors(prefix, openapi3.MultiError(u.Unwrap()))
	}
	return []error{fmt.Errorf("%s: %v", prefix, err)}
}

// schemaError says where in the value a schema error is, and why, without
// kin-openapi's dump of the schema and the value.
func schemaError(se *openapi3.SchemaError) string {
	reason := se.Reason
	// The JSON Schema 2020-12 validator puts the path in the reason too.
	if rest, ok := strings.CutPrefix(reason, `error at "`); ok {
		if _, r, ok := strings.Cut(rest, `": `); ok {
			reason = r
		}
	}
	if rest, ok := strings.CutPrefix(reason, "at '"); ok {
		if _, r, ok := strings.Cut(rest, "': "); ok {
			reason = r
		}
	}
	return fmt.Sprintf("at %s: %s", "/"+strings.Join(se.JSONPointer(), "/"), reason)
}

// readSome reads up to maxBody bytes of r; complete is false when there is
// more (left unread in r).
func readSome(r io.Reader) (data []byte, complete bool) {
	if r == nil || r == http.NoBody {
		return []byte{}, true
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return data, false
	}
	if len(data) > maxBody {
		return data, false
	}
	return data, true
}

func bodyOrNil(b []byte, complete bool) []byte {
	if !complete {
		return nil
	}
	if b == nil {
		return []byte{}
	}
	return b
}

// snippet is the start of a body, on one line when it is JSON.
func snippet(b []byte) string {
	const n = 600
	var compact bytes.Buffer
	if json.Compact(&compact, b) == nil {
		b = compact.Bytes()
	}
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func decodeJSON(b []byte) (any, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("the body is not JSON: %v", err)
	}
	return v, nil
}

// replayBody reads what was buffered, then the rest, and closes the
// original.
type replayBody struct {
	io.Reader
	io.Closer
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// recorder passes an answer through and keeps a copy of its status and
// body.
type recorder struct {
	http.ResponseWriter
	header   http.Header
	status   int
	body     bytes.Buffer
	overflow bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
		r.header = r.ResponseWriter.Header().Clone()
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
		r.header = r.ResponseWriter.Header().Clone()
	}
	if !r.overflow {
		if r.body.Len()+len(b) > maxBody {
			r.overflow = true
			r.body.Reset()
		} else {
			r.body.Write(b)
		}
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
