package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting/alertingtest"

	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
)

const (
	slackToken = "xoxb-test-token-secret"
	amSecret   = "am-webhook-secret-0123456789"
)

// slackFake is a Slack Web API fake that checks what Slack checks (the bot
// token, a channel, valid blocks) and can fail on demand.
type slackFake struct {
	mu       sync.Mutex
	posts    []slackCall
	updates  []slackCall
	failures []int    // statuses to answer before succeeding: 500, 429
	seenAuth []string // tokens seen
}

type slackCall struct{ Channel, TS, Text, Blocks string }

func (f *slackFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.ParseForm()
	token := r.Form.Get("token") // Slack takes the token as a form field or a bearer header
	if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = h
	}
	f.seenAuth = append(f.seenAuth, token)
	w.Header().Set("Content-Type", "application/json")
	if token != slackToken {
		fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	if len(f.failures) > 0 {
		code := f.failures[0]
		f.failures = f.failures[1:]
		if code == 429 {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(code)
		fmt.Fprint(w, `{"ok":false,"error":"ratelimited"}`)
		return
	}
	c := slackCall{Channel: r.Form.Get("channel"), TS: r.Form.Get("ts"), Text: r.Form.Get("text"), Blocks: r.Form.Get("blocks")}
	var blocks []map[string]any
	if c.Channel == "" || json.Unmarshal([]byte(c.Blocks), &blocks) != nil || len(blocks) == 0 {
		fmt.Fprint(w, `{"ok":false,"error":"invalid_blocks"}`)
		return
	}
	switch r.URL.Path {
	case "/chat.postMessage":
		c.TS = fmt.Sprintf("1700000000.%06d", len(f.posts)+1)
		f.posts = append(f.posts, c)
		fmt.Fprintf(w, `{"ok":true,"channel":"C%s","ts":%q}`, strings.ToUpper(strings.Trim(c.Channel, "#-")), c.TS)
	case "/chat.update":
		f.updates = append(f.updates, c)
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q}`, c.Channel, c.TS)
	default:
		w.WriteHeader(404)
	}
}

func (f *slackFake) snapshot() (posts, updates []slackCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]slackCall(nil), f.posts...), append([]slackCall(nil), f.updates...)
}

// notification is an Alertmanager webhook body for one alert of a service.
var notification = alertingtest.Webhook

// waitUntil waits for cond, up to a generous bound: a message claimed by
// a killed tsuna waits for its 30 s lease to end.
func waitUntil(t *testing.T, srv *testServer, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 90 s; tsuna's log:\n%s", what, srv.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAlertmanagerToSlack(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		fake := &slackFake{}
		slack := httptest.NewServer(fake)
		defer slack.Close()
		srv := startServer(t, dsn, "--catalog", exampleCatalog, "--alertmanager-token", amSecret,
			"--slack-token", slackToken, "--slack-api-url", slack.URL)
		hook := srv.url + "/hooks/alertmanager"

		// Authentication and bad bodies: refused, nothing stored.
		for _, tc := range []struct {
			token, body, want string
			code              int
		}{
			{"", notification("firing", "checkout-api", "X"), "webhook token", 401},
			{"wrong", notification("firing", "checkout-api", "X"), "webhook token", 401},
			{amSecret, `{"version":"4",`, "invalid JSON", 422},
			{amSecret, strings.Replace(notification("firing", "checkout-api", "X"), `"version":"4"`, `"version":"3"`, 1), `version: "3" is not supported`, 422},
			{amSecret, `{"version":"4","groupKey":"g","status":"firing","alerts":[]}`, "alerts: empty", 422},
		} {
			var p struct{ Detail string }
			if resp := call(t, "POST", hook, tc.token, tc.body, &p); resp.StatusCode != tc.code || !strings.Contains(p.Detail, tc.want) {
				t.Errorf("webhook %q: %d %q, want %d %q", tc.body[:min(30, len(tc.body))], resp.StatusCode, p.Detail, tc.code, tc.want)
			}
		}
		var list struct{ Alerts []alerting.StoredAlert }
		if call(t, "GET", srv.url+"/api/v1/alerts", adminSecret, "", &list); len(list.Alerts) != 0 {
			t.Fatalf("refused webhooks stored %d alerts", len(list.Alerts))
		}

		// The first delivery fails (500, then 429 Retry-After): delivered once after.
		fake.mu.Lock()
		fake.failures = []int{500, 429}
		fake.mu.Unlock()
		firing := notification("firing", "checkout-api", "CheckoutErrors")
		for i := range 10 { // replays, and the second Alertmanager of an HA pair
			body := firing
			if i%2 == 1 { // the other Alertmanager: its own URL, same notification
				body = strings.Replace(firing, "http://127.0.0.1:9093", "http://127.0.0.1:9094", 1)
			}
			var res map[string]any
			if resp := call(t, "POST", hook, amSecret, body, &res); resp.StatusCode != 200 {
				t.Fatalf("webhook %d: %d", i, resp.StatusCode)
			}
			if want := map[bool]string{true: "stored", false: "duplicate"}[i == 0]; res["result"] != want {
				t.Errorf("webhook %d: result %v, want %s", i, res["result"], want)
			}
		}
		waitUntil(t, srv, "the Slack post", func() bool { p, _ := fake.snapshot(); return len(p) > 0 })
		time.Sleep(300 * time.Millisecond)
		posts, _ := fake.snapshot()
		if len(posts) != 1 {
			t.Fatalf("%d messages posted for one alert group, want 1", len(posts))
		}
		p := posts[0]
		if p.Channel != "#checkout-alerts" || !strings.Contains(p.Text, "<@U02PAY0001>") || !strings.Contains(p.Blocks, "https://runbooks.example.com/checkout-api") ||
			!strings.Contains(p.Blocks, "silences/new") || !strings.Contains(p.Blocks, "Checkout errors above 5%") {
			t.Errorf("message = %+v", p)
		}
		call(t, "GET", srv.url+"/api/v1/alerts?state=firing&team=payments", adminSecret, "", &list)
		if len(list.Alerts) != 1 || list.Alerts[0].Service != "checkout-api" || list.Alerts[0].Channel != "#checkout-alerts" || !list.Alerts[0].Routed {
			t.Errorf("alerts = %+v", list.Alerts)
		}

		// Resolution updates that same message.
		if resp := call(t, "POST", hook, amSecret, notification("resolved", "checkout-api", "CheckoutErrors"), nil); resp.StatusCode != 200 {
			t.Fatalf("resolve: %d", resp.StatusCode)
		}
		waitUntil(t, srv, "the Slack update", func() bool { _, u := fake.snapshot(); return len(u) > 0 })
		posts, updates := fake.snapshot()
		if len(posts) != 1 || len(updates) != 1 || updates[0].TS != posts[0].TS || updates[0].Channel != "C"+"CHECKOUT-ALERTS" || !strings.Contains(updates[0].Text, "RESOLVED") {
			t.Errorf("after resolve: posts %+v, updates %+v", posts, updates)
		}
		call(t, "GET", srv.url+"/api/v1/alerts?state=resolved", adminSecret, "", &list)
		if len(list.Alerts) != 1 || list.Alerts[0].EndsAt == nil {
			t.Errorf("resolved alerts = %+v", list.Alerts)
		}

		// An alert of no catalog service goes to the fallback channel and is counted.
		call(t, "POST", hook, amSecret, notification("firing", "nobody-knows", "Mystery"), nil)
		waitUntil(t, srv, "the fallback post", func() bool { p, _ := fake.snapshot(); return len(p) == 2 })
		posts, _ = fake.snapshot()
		if posts[1].Channel != "#alerts-unrouted" || !strings.Contains(posts[1].Blocks, "Unrouted") {
			t.Errorf("unrouted message = %+v", posts[1])
		}
		if r := run(t, cliVars(srv, adminSecret), "alerts", "unrouted"); r.code != 0 || !strings.Contains(r.stdout, "Mystery") || strings.Contains(r.stdout, "CheckoutErrors") {
			t.Errorf("alerts unrouted: %s %s", r.stdout, r.stderr)
		}
		if m := bodyOf(call(t, "GET", srv.url+"/metrics", "", "", nil)); !strings.Contains(m, "tsuna_alerts_unrouted_total 1") {
			t.Error("/metrics does not count the unrouted alert")
		}
		if strings.Contains(srv.stderr.String(), slackToken) || strings.Contains(srv.stderr.String(), amSecret) {
			t.Error("a secret reached the log")
		}
	})
}

func TestWebhookBodyLimit(t *testing.T) {
	srv := startServer(t, t.TempDir()+"/t.db", "--alertmanager-token", amSecret, "--max-body", "1")
	big := strings.Replace(notification("firing", "x", "Big"), `"newField":"ignored"`, `"newField":"`+strings.Repeat("x", 2<<20)+`"`, 1)
	var p struct{ Code string }
	if resp := call(t, "POST", srv.url+"/hooks/alertmanager", amSecret, big, &p); resp.StatusCode != 413 || p.Code != "too_large" {
		t.Errorf("oversized webhook: %d %+v", resp.StatusCode, p)
	}
	var list struct{ Alerts []alerting.StoredAlert }
	if call(t, "GET", srv.url+"/api/v1/alerts", adminSecret, "", &list); len(list.Alerts) != 0 {
		t.Errorf("an oversized webhook stored %d alerts", len(list.Alerts))
	}
	// Without Slack configured, a stored alert is still readable.
	call(t, "POST", srv.url+"/hooks/alertmanager", amSecret, notification("firing", "x", "Small"), nil)
	if r := run(t, cliVars(srv, adminSecret), "alerts", "list", "--state", "firing"); r.code != 0 || !strings.Contains(r.stdout, "Small") {
		t.Errorf("alerts list without Slack: %d %s %s", r.code, r.stdout, r.stderr)
	}
}
