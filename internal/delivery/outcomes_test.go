package delivery_test

import (
	"context"
	"os"
	"path"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/alerting/alertingtest"
	"github.com/tsuna-sre/tsuna/internal/chatfake"
	"github.com/tsuna-sre/tsuna/internal/delivery"
	"github.com/tsuna-sre/tsuna/internal/notify"
	"github.com/tsuna-sre/tsuna/internal/notify/slack"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// recordingOutbox is the real store, with the retry times it was given
// kept for the test to read.
type recordingOutbox struct {
	*store.DB
	retries []time.Duration // how far ahead each retry was scheduled
	failed  []string        // causes of permanent failures
}

func (o *recordingOutbox) MarkRetry(ctx context.Context, it delivery.Item, at time.Time, cause string, max int) error {
	o.retries = append(o.retries, time.Until(at))
	return o.DB.MarkRetry(ctx, it, at, cause, max)
}

func (o *recordingOutbox) MarkFailed(ctx context.Context, it delivery.Item, cause string) error {
	o.failed = append(o.failed, cause)
	return o.DB.MarkFailed(ctx, it, cause)
}

// queue stores one routed notification whose message goes to channel.
func queue(t *testing.T, db *store.DB, group, channel string, edit func(*notify.Message)) {
	t.Helper()
	p := alertingtest.Payload(group, alerting.StateFiring, "a")
	r := alerting.Route{Service: "svc", Team: "team", Channel: channel, Routed: true}
	m := alerting.Message(p, r)
	if edit != nil {
		edit(&m)
	}
	if _, err := db.RecordNotifications(context.Background(), []alerting.Notification{{Payload: p, Route: r, Message: &m}}); err != nil {
		t.Fatal(err)
	}
}

// drain claims and delivers what is due, once.
func drain(t *testing.T, l *delivery.Loop) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l.Interval = time.Hour
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	time.Sleep(200 * time.Millisecond) // Run works what is due before it waits
	cancel()
	<-done
}

// TestDeliveryOutcomes delivers through Slack's fake on both engines: a
// message Slack refuses for good (a channel that does not exist) is
// attempted once and failed with the reason; a 429 waits for its
// Retry-After; a 500 backs off and is retried.
func TestDeliveryOutcomes(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		db, err := store.Open(context.Background(), dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		fake := chatfake.New(t)
		fake.Join(fake.AddChannel("team"), chatfake.BotUserID)
		out := &recordingOutbox{DB: db}
		l := delivery.New(out, slack.NewSender(fake.Token(), fake.URL()+"/api/"), nil)

		// Permanent: attempted once, failed with the reason, never retried.
		queue(t, db, "g-perm", "#no-such-channel", nil)
		drain(t, l)
		if n := fake.Calls("chat.postMessage"); n != 1 {
			t.Errorf("a permanently refused message was attempted %d times, want 1", n)
		}
		if len(out.failed) != 1 || out.failed[0] != "slack refused the message: channel_not_found" || len(out.retries) != 0 {
			t.Errorf("failed %q, retries %v", out.failed, out.retries)
		}
		counts, _ := db.OutboxCounts(context.Background())
		if counts["failed"] != 1 || counts["pending"] != 0 {
			t.Errorf("outbox = %v, want the message failed", counts)
		}

		// 429 with Retry-After: 17 s, as Slack said.
		fake.RateLimit("chat.postMessage", 1, 17*time.Second)
		queue(t, db, "g-429", "#team", nil)
		drain(t, l)
		if len(out.retries) != 1 || out.retries[0] < 15*time.Second || out.retries[0] > 17*time.Second {
			t.Errorf("429 retry scheduled in %v, want Slack's 17s", out.retries)
		}

		// 500: backs off (1 s ± 20 % on the first failure), then delivered.
		fake.Fail("chat.postMessage", 1, 500)
		queue(t, db, "g-500", "#team", nil)
		drain(t, l)
		if len(out.retries) != 2 || out.retries[1] > 1300*time.Millisecond || out.retries[1] <= 0 {
			t.Fatalf("500 retry scheduled in %v, want a backoff of about 1s", out.retries)
		}
		time.Sleep(out.retries[1])
		drain(t, l)
		if msgs := fake.Messages("team"); len(msgs) != 1 {
			t.Errorf("%d messages in #team after the backoff, want the 500's message delivered", len(msgs))
		}
		if engine := path.Base(t.Name()); db.Engine() != engine {
			t.Errorf("engine %s", db.Engine())
		}
	})
}
