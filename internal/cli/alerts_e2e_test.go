package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/promtest"
)

// TestPrometheusAlertmanagerTsunaSlack runs the whole path with real peers:
// a rule fires in Debian's Prometheus, Debian's Alertmanager (configured by
// `tsuna alertmanager config`) calls tsuna, one message appears in the
// owning team's channel with the on-call mention and the runbook link, and
// when the alert resolves that same message is updated.
func TestPrometheusAlertmanagerTsunaSlack(t *testing.T) {
	promtest.Binary(t, "prometheus")
	promtest.Binary(t, "prometheus-alertmanager")
	fake := newSlackFake(t)
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--catalog", exampleCatalog, "--alertmanager-token", amSecret,
		"--slack-token", fake.Token(), "--slack-api-url", fake.URL()+"/api/")
	prom, am, down := checkoutAlerts(t, srv, `{summary: "Checkout is down", description: "The probe fails."}`)

	logs := func() string {
		return "prometheus:\n" + prom.Log() + "\nalertmanager:\n" + am.Log() + "\ntsuna:\n" + srv.stderr.String()
	}
	waitUntil(t, &testServer{stderr: &syncBuffer{}}, "the Slack message", func() bool { p, _ := fake.snapshot(); return len(p) > 0 })
	posts, _ := fake.snapshot()
	p := posts[0]
	if p.Channel != "#checkout-alerts" || !strings.Contains(p.Text, "<@U02PAY0001>") || !strings.Contains(p.Blocks, "https://runbooks.example.com/checkout-api") ||
		!strings.Contains(p.Blocks, "Checkout is down") || !strings.Contains(p.Blocks, am.URL+"/#/silences/new") {
		t.Fatalf("message = %+v\n%s", p, logs())
	}

	down.Store(false)
	waitUntil(t, &testServer{stderr: &syncBuffer{}}, "the update on resolve", func() bool {
		_, u := fake.snapshot()
		return len(u) > 0 && strings.Contains(u[len(u)-1].Text, "RESOLVED")
	})
	posts, updates := fake.snapshot()
	if len(posts) != 1 {
		t.Errorf("%d messages posted for one alert, want 1 (updated on resolve)", len(posts))
	}
	if u := updates[len(updates)-1]; u.TS != posts[0].TS {
		t.Errorf("the resolution updated message %s, not the one posted (%s)", u.TS, posts[0].TS)
	}
}
