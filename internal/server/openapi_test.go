package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/openapitest"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// TestOpenAPIDescribesEveryRoute fails when a route is added without its
// OpenAPI entry, or the document describes a route that does not exist.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	s := New(Config{})
	for _, rt := range s.routes() {
		if !documented[rt.pattern] {
			t.Errorf("route %s is not in openapi.json", rt.pattern)
		}
		delete(documented, rt.pattern)
	}
	for op := range documented {
		t.Errorf("openapi.json documents %s, which is not a route", op)
	}
}

// eventsService is added to the example catalog (examples/catalog): a
// service whose SLO counts pushed events, so every kind of SLO is answered.
const eventsService = `apiVersion: tsuna/v1
kind: Service
name: nightly-batch
team: platform
tier: 2
description: Nightly jobs; their SLO counts pushed events.
slos:
  - name: jobs
    objective: 99
    window: 7d
    sli:
      events: {}
`

const (
	adminSecret = "tsuna_test_admin_secret_0123456789abcdef"
	amSecret    = "tsuna_test_alertmanager_secret"
)

// TestAPIMatchesOpenAPIDocument runs tsuna's real server, on a SQLite
// database with the example catalog, through openapitest: every request
// below and every answer must match openapi.json, strictly (a response field
// the document does not name fails), and every documented operation must be
// exercised. It uses the server only through New and HTTP.
func TestAPIMatchesOpenAPIDocument(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "tsuna.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateToken(ctx, &auth.Token{Name: "admin", Role: auth.RoleAdmin}, auth.HashSecret(adminSecret),
		audit.Actor{Name: "bootstrap", Source: audit.SourceCLI}); err != nil {
		t.Fatal(err)
	}
	evaluator := budget.New(fakePrometheus{burning: "checkout-api-availability", raw: "checkout-api-latency"}, db)
	receiver := alerting.NewReceiver(db, db, "#alerts-fallback")
	t.Cleanup(receiver.Close)
	srv := New(Config{Store: db, Budget: evaluator, MaxBodyBytes: 1 << 20,
		AlertmanagerToken: amSecret, Alerts: receiver})

	// The document the server serves is the one checked.
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	v := openapitest.New(t, rec.Body.Bytes())
	ts := httptest.NewServer(v.Handler(srv))
	t.Cleanup(ts.Close)
	c := &apiClient{t: t, url: ts.URL}

	// Unauthenticated endpoints.
	c.do("GET", "/healthz", "", nil, 200)
	c.do("GET", "/readyz", "", nil, 200)
	c.do("GET", "/metrics", "", nil, 200)
	c.do("GET", "/api/v1/openapi.json", "", nil, 200)
	c.do("GET", "/api/v1/docs", "", nil, 200)

	// Problems: no token, a wrong token, no route, a wrong method.
	c.do("GET", "/api/v1/whoami", "", nil, 401)
	c.do("GET", "/api/v1/whoami", "not-a-token", nil, 401)
	c.do("GET", "/api/v1/whoami", adminSecret, nil, 200)
	c.do("GET", "/api/v1/nope", adminSecret, nil, 404)
	c.do("PUT", "/api/v1/teams", adminSecret, nil, 405)

	// The catalog: a dry run, the apply, an unchanged apply, invalid ones.
	files, err := catalog.ReadFiles([]string{filepath.Join("..", "..", "examples", "catalog")})
	if err != nil {
		t.Fatal(err)
	}
	var apply []map[string]string
	for _, f := range files {
		apply = append(apply, map[string]string{"path": f.Path, "content": string(f.Data)})
	}
	apply = append(apply, map[string]string{"path": "nightly.yaml", "content": eventsService})
	var applied struct {
		Created []struct{ Kind, Name string }
	}
	c.decode(c.do("POST", "/api/v1/catalog", adminSecret, map[string]any{"files": apply, "dryRun": true}, 200), &applied)
	if len(applied.Created) == 0 {
		t.Fatalf("the dry run creates nothing")
	}
	c.do("POST", "/api/v1/catalog", adminSecret, map[string]any{"files": apply}, 200)
	c.do("POST", "/api/v1/catalog", adminSecret, map[string]any{"files": apply, "prune": false}, 200)
	c.do("POST", "/api/v1/catalog", adminSecret, map[string]any{"files": []map[string]string{
		{"path": "bad.yaml", "content": "apiVersion: tsuna/v1\nkind: Service\nname: orphan\nteam: nobody\ntier: 7\n"},
	}}, 422)
	c.do("POST", "/api/v1/catalog", adminSecret, map[string]any{"files": []any{}}, 422)
	c.do("POST", "/api/v1/catalog", adminSecret, map[string]any{"files": apply, "force": true}, 422)
	c.do("POST", "/api/v1/catalog", adminSecret, map[string]any{"files": strings.Repeat("x", 2<<20)}, 413)

	// Tokens: each role, then the refusals.
	var viewer, editor, otherEditor struct{ Secret string }
	c.decode(c.do("POST", "/api/v1/tokens", adminSecret, map[string]string{"name": "viewer", "role": "viewer"}, 201), &viewer)
	c.decode(c.do("POST", "/api/v1/tokens", adminSecret, map[string]string{"name": "payments-ci", "role": "editor", "team": "payments"}, 201), &editor)
	c.decode(c.do("POST", "/api/v1/tokens", adminSecret, map[string]string{"name": "storefront-ci", "role": "editor", "team": "storefront"}, 201), &otherEditor)
	c.do("POST", "/api/v1/tokens", adminSecret, map[string]string{"name": "throwaway", "role": "viewer"}, 201)
	c.do("POST", "/api/v1/tokens", adminSecret, map[string]string{"name": "viewer", "role": "viewer"}, 409)
	c.do("POST", "/api/v1/tokens", adminSecret, map[string]string{"name": "ghost-ci", "role": "editor", "team": "ghosts"}, 422)
	c.do("POST", "/api/v1/tokens", adminSecret, map[string]string{"name": "Bad Name", "role": "viewer"}, 422)
	c.do("POST", "/api/v1/tokens", adminSecret, map[string]string{"name": "root", "role": "superuser"}, 422)
	c.do("POST", "/api/v1/tokens", viewer.Secret, map[string]string{"name": "mine", "role": "admin"}, 403)
	c.do("GET", "/api/v1/tokens", adminSecret, nil, 200)
	c.do("GET", "/api/v1/tokens", viewer.Secret, nil, 403)
	c.do("DELETE", "/api/v1/tokens/throwaway", adminSecret, nil, 200)
	c.do("DELETE", "/api/v1/tokens/nobody", adminSecret, nil, 404)
	c.do("DELETE", "/api/v1/tokens/viewer", editor.Secret, nil, 403)
	c.do("GET", "/api/v1/whoami", editor.Secret, nil, 200)

	// Applying as a viewer, and as an editor beyond its team.
	c.do("POST", "/api/v1/catalog", viewer.Secret, map[string]any{"files": apply}, 403)
	var paymentsTeam []map[string]string
	for _, f := range apply {
		if strings.HasSuffix(filepath.ToSlash(f["path"]), "teams/payments.yaml") {
			paymentsTeam = append(paymentsTeam, f)
		}
	}
	c.do("POST", "/api/v1/catalog", otherEditor.Secret, map[string]any{"files": paymentsTeam, "prune": true}, 403)
	c.do("POST", "/api/v1/catalog", editor.Secret, map[string]any{"files": apply, "dryRun": true}, 200)

	// Teams and services.
	c.do("GET", "/api/v1/teams", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/teams/payments", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/teams/nobody", viewer.Secret, nil, 404)
	c.do("GET", "/api/v1/services", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/services?team=payments&tier=1&lifecycle=production", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/services?lifecycle=deprecated", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/services?tier=9", viewer.Secret, nil, 422)
	c.do("GET", "/api/v1/services?lifecycle=retired", viewer.Secret, nil, 422)
	c.do("GET", "/api/v1/services/checkout-api", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/services/auth-service", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/services/nobody", viewer.Secret, nil, 404)

	// Events for the events SLO, then the refusals.
	now := time.Now().UTC()
	events := func(key string, good, total int, at time.Time) map[string]any {
		return map[string]any{"events": []map[string]any{{"key": key, "timestamp": at.Format(time.RFC3339), "good": good, "total": total}}}
	}
	const eventsPath = "/api/v1/services/nightly-batch/slos/jobs/events"
	c.do("POST", eventsPath, adminSecret, map[string]any{"events": []map[string]any{
		{"key": "run-1", "timestamp": now.Add(-2 * time.Hour).Format(time.RFC3339), "good": 990, "total": 1000},
		{"key": "run-2", "timestamp": now.Add(-10 * time.Minute).Format(time.RFC3339), "good": 40, "total": 100},
	}}, 200)
	c.do("POST", eventsPath, adminSecret, events("run-1", 990, 1000, now.Add(-2*time.Hour)), 200)
	c.do("POST", eventsPath, adminSecret, events("run-1", 1, 1000, now.Add(-2*time.Hour)), 409)
	c.do("POST", eventsPath, adminSecret, events("run-3", 5, 1, now), 422)
	c.do("POST", eventsPath, adminSecret, events("run-3", 1, 1, now.Add(time.Hour)), 422)
	c.do("POST", eventsPath, adminSecret, map[string]any{"events": []any{}}, 422)
	c.do("POST", eventsPath, adminSecret, map[string]any{"events": strings.Repeat("x", 2<<20)}, 413)
	c.do("POST", eventsPath, editor.Secret, events("run-3", 1, 1, now), 403)
	c.do("POST", "/api/v1/services/checkout-api/slos/availability/events", adminSecret, events("k", 1, 1, now), 422)
	c.do("POST", "/api/v1/services/nightly-batch/slos/nope/events", adminSecret, events("k", 1, 1, now), 404)

	// SLOs: from Prometheus (recorded series, one burning) and from events.
	c.do("GET", "/api/v1/slos", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/slos?team=payments", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/slos?service=nightly-batch", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/slos?service=nobody", viewer.Secret, nil, 404)
	c.do("GET", "/api/v1/services/checkout-api/slos/availability", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/services/auth-service/slos/login-success", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/services/nightly-batch/slos/jobs", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/services/checkout-api/slos/nope", viewer.Secret, nil, 404)
	c.do("GET", "/api/v1/services/checkout-api/slos/availability/history", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/services/checkout-api/slos/latency/history?from=24h&to="+url.QueryEscape(now.Format(time.RFC3339))+"&step=30m", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/services/checkout-api/slos/latency/history?step=0s", viewer.Secret, nil, 422)
	c.do("GET", "/api/v1/services/checkout-api/slos/latency/history?from=yesterday", viewer.Secret, nil, 422)
	c.do("GET", "/api/v1/services/nightly-batch/slos/jobs/history", viewer.Secret, nil, 200) // from the event store
	c.do("GET", "/api/v1/services/nobody/slos/jobs/history", viewer.Secret, nil, 404)

	// The deploy gate: allowed, frozen by a spent budget, no such service.
	var gate struct{ Allow bool }
	c.decode(c.do("GET", "/api/v1/services/web-frontend/deploy-gate", viewer.Secret, nil, 200), &gate)
	if !gate.Allow {
		t.Errorf("web-frontend may not deploy")
	}
	c.decode(c.do("GET", "/api/v1/services/checkout-api/deploy-gate", viewer.Secret, nil, 200), &gate)
	if gate.Allow {
		t.Errorf("checkout-api may deploy with its budget spent")
	}
	c.do("GET", "/api/v1/services/nobody/deploy-gate", viewer.Secret, nil, 404)

	// Alertmanager's webhook: stored, a replay, unrouted, refusals.
	c.do("POST", "/hooks/alertmanager", amSecret, json.RawMessage(notification("firing", "checkout-api", "CheckoutErrors")), 200)
	c.do("POST", "/hooks/alertmanager", amSecret, json.RawMessage(notification("firing", "checkout-api", "CheckoutErrors")), 200)
	c.do("POST", "/hooks/alertmanager", amSecret, json.RawMessage(notification("resolved", "checkout-api", "CheckoutErrors")), 200)
	c.do("POST", "/hooks/alertmanager", amSecret, json.RawMessage(notification("firing", "unknown-service", "Mystery")), 200)
	c.do("POST", "/hooks/alertmanager", "wrong", json.RawMessage(notification("firing", "checkout-api", "CheckoutErrors")), 401)
	c.do("POST", "/hooks/alertmanager", amSecret, map[string]any{"version": "4", "groupKey": "g", "status": "firing", "alerts": []any{}}, 422)
	c.do("POST", "/hooks/alertmanager", amSecret, map[string]any{"version": "4", "junk": strings.Repeat("x", 2<<20)}, 413)

	// Alerts.
	c.do("GET", "/api/v1/alerts", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/alerts?state=firing&routed=false", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/alerts?state=resolved&team=payments&service=checkout-api", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/alerts?state=pending", viewer.Secret, nil, 422)

	// The outbox: the messages those alerts queued, and its statistics.
	var outbox struct{ Messages []struct{ State string } }
	c.decode(c.do("GET", "/api/v1/outbox", viewer.Secret, nil, 200), &outbox)
	if len(outbox.Messages) == 0 {
		t.Errorf("the outbox lists no message after the webhooks")
	}
	c.do("GET", "/api/v1/outbox?state=pending&limit=5", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/outbox?state=stuck", viewer.Secret, nil, 422)
	c.do("GET", "/api/v1/outbox?limit=0", viewer.Secret, nil, 422)
	c.do("GET", "/api/v1/outbox/stats", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/outbox/stats", "", nil, 401)
	c.do("GET", "/api/v1/outbox", "", nil, 401)

	// The audit log.
	var page struct{ Records []struct{ Seq int64 } }
	c.decode(c.do("GET", "/api/v1/audit?limit=5", viewer.Secret, nil, 200), &page)
	if len(page.Records) == 0 {
		t.Fatalf("no audit records")
	}
	c.do("GET", fmt.Sprintf("/api/v1/audit?before=%d&limit=5", page.Records[len(page.Records)-1].Seq), viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/audit?actor=admin&kind=Service&name=checkout-api&since=24h&until="+url.QueryEscape(now.Add(time.Minute).Format(time.RFC3339)), viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/audit?kind=Token", viewer.Secret, nil, 200)
	c.do("GET", "/api/v1/audit?since=last-week", viewer.Secret, nil, 422)
	c.do("GET", "/api/v1/audit?limit=0", viewer.Secret, nil, 422)
	c.do("GET", "/api/v1/audit/verify", viewer.Secret, nil, 403)
	var verified struct{ Head audit.Checkpoint }
	json.Unmarshal(c.do("GET", "/api/v1/audit/verify", adminSecret, nil, 200), &verified)
	c.do("GET", "/api/v1/audit/verify?checkpoint="+verified.Head.String(), adminSecret, nil, 200)
	c.do("GET", "/api/v1/audit/verify?checkpoint=nope", adminSecret, nil, 422)
	c.do("GET", "/api/v1/audit/head", viewer.Secret, nil, 200)

	// Without a token, every route that needs one.
	for _, path := range []string{"/api/v1/teams", "/api/v1/teams/payments", "/api/v1/services", "/api/v1/services/checkout-api",
		"/api/v1/slos", "/api/v1/services/checkout-api/slos/availability", "/api/v1/services/checkout-api/slos/availability/history",
		"/api/v1/services/checkout-api/deploy-gate", "/api/v1/alerts", "/api/v1/audit", "/api/v1/audit/verify", "/api/v1/audit/head", "/api/v1/tokens"} {
		c.do("GET", path, "", nil, 401)
	}
	c.do("POST", "/api/v1/catalog", "", map[string]any{"files": apply}, 401)
	c.do("POST", "/api/v1/tokens", "", map[string]string{"name": "x", "role": "viewer"}, 401)
	c.do("DELETE", "/api/v1/tokens/viewer", "", nil, 401)
	c.do("POST", eventsPath, "", events("run-9", 1, 1, now), 401)
	c.do("GET", "/api/v1/whoami", "", nil, 401)

	exerciseIncidents(t, c, adminSecret, viewer.Secret, editor.Secret, otherEditor.Secret)
	exercisePostmortems(t, c, adminSecret, viewer.Secret, editor.Secret, otherEditor.Secret)
	exerciseReadiness(t, c, adminSecret, viewer.Secret, editor.Secret, otherEditor.Secret)
	exerciseSessions(t, c, db, adminSecret, "admin", viewer.Secret, "viewer", editor.Secret)

	// Without Prometheus, SLOs read from it are unknown.
	noProm := httptest.NewServer(v.Handler(New(Config{Store: db})))
	t.Cleanup(noProm.Close)
	(&apiClient{t: t, url: noProm.URL}).do("GET", "/api/v1/slos", viewer.Secret, nil, 200)
	(&apiClient{t: t, url: noProm.URL}).do("GET", "/api/v1/services/checkout-api/deploy-gate", viewer.Secret, nil, 200)
	(&apiClient{t: t, url: noProm.URL}).do("GET", "/api/v1/services/checkout-api/slos/latency/history", viewer.Secret, nil, 503)

	// Not ready: the database is closed.
	closed, err := store.Open(ctx, filepath.Join(t.TempDir(), "closed.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	down := httptest.NewServer(v.Handler(New(Config{Store: closed})))
	t.Cleanup(down.Close)
	(&apiClient{t: t, url: down.URL}).do("GET", "/readyz", "", nil, 503)

	if ops, answers := v.Unexercised(); len(ops) > 0 {
		t.Errorf("operations of the document this test does not exercise:\n\t%s", strings.Join(ops, "\n\t"))
	} else if len(answers) > 0 {
		t.Logf("documented answers this test does not produce: %s", strings.Join(answers, ", "))
	}
}

// apiClient sends JSON requests and checks their status.
type apiClient struct {
	t   *testing.T
	url string
}

// do sends body (JSON, unless nil) with the bearer token, if any, and
// fails the test unless the answer has status want.
func (c *apiClient) do(method, path, token string, body any, want int) []byte {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Errorf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	return b
}

func (c *apiClient) decode(b []byte, v any) {
	c.t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		c.t.Fatalf("decode %s: %v", b, err)
	}
}

// notification is an Alertmanager webhook body (version 4) for one alert of
// a service, with a field tsuna does not read.
func notification(status, service, alertname string) string {
	ends := "0001-01-01T00:00:00Z"
	if status == "resolved" {
		ends = time.Now().UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"%s\"}","truncatedAlerts":0,"status":%q,"receiver":"tsuna",
"groupLabels":{"alertname":%q},"commonLabels":{"alertname":%q,"service":%q,"severity":"page"},
"commonAnnotations":{"summary":"Errors above 5%%"},"externalURL":"http://127.0.0.1:9093",
"alerts":[{"status":%q,"labels":{"alertname":%q,"service":%q,"severity":"page"},"annotations":{"summary":"Errors above 5%%","runbook_url":"https://runbooks.example.com/x"},
"startsAt":%q,"endsAt":%q,"generatorURL":"http://127.0.0.1:9090/graph?g0.expr=up","fingerprint":"fp-%s-%s"}],"newField":"ignored"}`,
		alertname, status, alertname, alertname, service, status, alertname, service,
		time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), ends, service, alertname)
}

// fakePrometheus answers as if the rules of every SLO but one recorded an
// error ratio of 0.01% over every window (the SLO burning: 5%); the one
// without recordings (raw) is evaluated from its own SLI queries.
type fakePrometheus struct{ burning, raw string }

var sloIDs = []string{"checkout-api-availability", "checkout-api-latency", "auth-service-login-success"}

func (f fakePrometheus) ratio(id string) model.SampleValue {
	if id == f.burning {
		return 0.05
	}
	return 0.0001
}

func (f fakePrometheus) Query(_ context.Context, q string, ts time.Time, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	at := model.TimeFromUnixNano(ts.UnixNano())
	if !strings.Contains(q, "slo:") { // a raw SLI query: one series
		return model.Vector{{Metric: model.Metric{}, Value: f.ratio(f.raw), Timestamp: at}}, nil, nil, nil
	}
	var vec model.Vector
	for _, id := range sloIDs {
		if id != f.raw {
			vec = append(vec, &model.Sample{Metric: model.Metric{"sloth_id": model.LabelValue(id)}, Value: f.ratio(id), Timestamp: at})
		}
	}
	return vec, nil, nil, nil
}

func (f fakePrometheus) QueryRange(_ context.Context, q string, r v1.Range, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	var m model.Matrix
	for _, id := range sloIDs {
		if !strings.Contains(q, `"`+id+`"`) {
			continue
		}
		ss := &model.SampleStream{Metric: model.Metric{"sloth_id": model.LabelValue(id)}}
		for t := r.Start; !t.After(r.End); t = t.Add(r.Step) {
			ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(t.UnixNano()), Value: f.ratio(id)})
		}
		m = append(m, ss)
	}
	return m, nil, nil, nil
}
