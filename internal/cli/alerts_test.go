package cli_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting/alertingtest"
	"github.com/tsuna-sre/tsuna/internal/chatfake"

	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
)

const amSecret = "am-webhook-secret-0123456789"

// slackFake is the chat fake with the example catalog's channels, the bot
// a member of each.
type slackFake struct {
	*chatfake.Fake
}

// slackCall is a message as posted, or one update of it.
type slackCall struct{ Channel, TS, Text, Blocks string }

func newSlackFake(t *testing.T) *slackFake {
	f := &slackFake{chatfake.New(t)}
	for _, name := range []string{"checkout-alerts", "identity", "payments-alerts", "platform-ops", "storefront", "alerts-unrouted"} {
		f.Join(f.AddChannel(name), chatfake.BotUserID)
	}
	return f
}

// snapshot returns the bot's posts, oldest first (channel as "#name"), and
// every update of them (channel as its ID, as chat.update takes it).
func (f *slackFake) snapshot() (posts, updates []slackCall) {
	var msgs []chatfake.Message
	for _, c := range f.Channels() {
		msgs = append(msgs, f.Messages(c.ID)...)
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].TS < msgs[j].TS })
	for _, m := range msgs {
		// Edits holds the earlier versions, oldest first: the first is what
		// was posted; each later version, and the current one, an update.
		versions := append(m.Edits, chatfake.Edit{Text: m.Text, Blocks: m.Blocks})
		c, _ := f.Channel(m.Channel)
		posts = append(posts, slackCall{Channel: "#" + c.Name, TS: m.TS, Text: versions[0].Text, Blocks: string(versions[0].Blocks)})
		for _, v := range versions[1:] {
			updates = append(updates, slackCall{Channel: m.Channel, TS: m.TS, Text: v.Text, Blocks: string(v.Blocks)})
		}
	}
	return posts, updates
}

// channelID returns the ID of the channel named name.
func channelID(f *slackFake, name string) string {
	c, _ := f.Channel(name)
	return c.ID
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
		fake := newSlackFake(t)
		srv := startServer(t, dsn, "--catalog", exampleCatalog, "--alertmanager-token", amSecret,
			"--slack-token", fake.Token(), "--slack-api-url", fake.URL()+"/api/")
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
		fake.Fail("chat.postMessage", 1, 500)
		fake.RateLimit("chat.postMessage", 1, time.Second)
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
		if len(posts) != 1 || len(updates) != 1 || updates[0].TS != posts[0].TS || updates[0].Channel != channelID(fake, "checkout-alerts") || !strings.Contains(updates[0].Text, "RESOLVED") {
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
		if strings.Contains(srv.stderr.String(), fake.Token()) || strings.Contains(srv.stderr.String(), amSecret) {
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
