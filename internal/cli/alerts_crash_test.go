package cli_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
)

// TestWebhookBurstSurvivesSIGKILL kills tsuna in the middle of a burst of
// webhooks, restarts it, and finds every webhook that got a 2xx stored and
// every queued chat message delivered.
func TestWebhookBurstSurvivesSIGKILL(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		fake := newSlackFake(t)
		env := []string{"TSUNA_BOOTSTRAP_TOKEN=" + adminSecret, "TSUNA_ALERTMANAGER_TOKEN=" + amSecret, "TSUNA_SLACK_TOKEN=" + fake.Token()}
		args := []string{"--catalog", exampleCatalog, "--slack-api-url", fake.URL() + "/api/"}
		p := startProcess(t, dsn, env, args...)

		const senders, perSender = 10, 40
		var acked sync.Map // alertname -> true
		var sent, killed atomic.Int64
		var wg sync.WaitGroup
		for s := range senders {
			wg.Go(func() {
				for i := range perSender {
					name := fmt.Sprintf("Burst%d_%d", s, i)
					req, _ := http.NewRequest("POST", p.url+"/hooks/alertmanager", strings.NewReader(notification("firing", "checkout-api", name)))
					req.Header.Set("Authorization", "Bearer "+amSecret)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return // tsuna is gone
					}
					resp.Body.Close()
					if resp.StatusCode == 200 {
						acked.Store(name, true)
					}
					if sent.Add(1) == senders*perSender/2 && killed.Add(1) == 1 {
						p.cmd.Process.Signal(syscall.SIGKILL)
					}
				}
			})
		}
		wg.Wait()
		p.cmd.Wait()
		n := 0
		acked.Range(func(any, any) bool { n++; return true })
		if n == 0 || n == senders*perSender {
			t.Fatalf("%d of %d webhooks acknowledged: the kill did not land mid-burst", n, senders*perSender)
		}

		p2 := startProcess(t, dsn, env, args...)
		var list struct{ Alerts []alerting.StoredAlert }
		call(t, "GET", p2.url+"/api/v1/alerts?limit=1000", adminSecret, "", &list)
		stored := map[string]bool{}
		for _, a := range list.Alerts {
			stored[a.Labels["alertname"]] = true
		}
		acked.Range(func(k, _ any) bool {
			if !stored[k.(string)] {
				t.Errorf("webhook %s was acknowledged but is not stored", k)
			}
			return true
		})
		// Every stored notification's message reaches Slack. Delivery is at
		// least once across a crash: a post Slack accepted just before the
		// kill, not yet marked sent, is posted again after its lease; at most
		// the batch in flight (10) can repeat.
		posted := func() map[string]int {
			posts, _ := fake.snapshot()
			m := map[string]int{}
			for _, post := range posts {
				m[strings.Fields(post.Text)[2]]++ // "FIRING (1): <alertname>: ..."
			}
			return m
		}
		waitUntil(t, &testServer{stderr: p2.log}, "delivery of every queued message", func() bool {
			m := posted()
			for name := range stored {
				if m[name+":"] == 0 {
					return false
				}
			}
			return true
		})
		time.Sleep(500 * time.Millisecond)
		posts, _ := fake.snapshot()
		if extra := len(posts) - len(stored); extra < 0 || extra > 10 {
			t.Errorf("%d messages posted for %d stored alert groups", len(posts), len(stored))
		}
		t.Logf("%d of %d webhooks acknowledged before SIGKILL, %d stored, %d messages delivered", n, senders*perSender, len(stored), len(posts))
	})
}
