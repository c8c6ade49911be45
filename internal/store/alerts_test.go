package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting/alertingtest"

	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/notify"
	"github.com/tsuna-sre/tsuna/internal/store"
)

var payload = alertingtest.Payload

func record(t *testing.T, db *store.DB, p *alerting.Payload, msg string) bool {
	t.Helper()
	created, err := db.RecordNotification(context.Background(), alerting.Notification{Payload: p,
		Route: alerting.Route{Service: "svc", Team: "team", Channel: "#team", Routed: true}, Message: &notify.Message{Key: p.GroupKey, Title: msg}})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

func TestNotificationsAndOutbox(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		if !record(t, db, payload("g1", "firing", "a"), "m1") || record(t, db, payload("g1", "firing", "a"), "m1") {
			t.Fatal("a replay was stored twice, or the first delivery not at all")
		}
		record(t, db, payload("g1", "firing", "a", "b"), "m2") // one more alert in the group
		n, _ := db.NotificationCount(ctx)
		alerts, _ := db.Alerts(ctx, alerting.Filter{State: "firing"})
		if n != 2 || len(alerts) != 2 {
			t.Fatalf("%d notifications, %d alerts; want 2 and 2", n, len(alerts))
		}
		// The latest message of the group goes; the older one is superseded.
		msgs, err := db.ClaimOutbox(ctx, 10, time.Minute)
		if err != nil || len(msgs) != 1 || msgs[0].Message.Title != "m2" || !msgs[0].Ref.IsZero() {
			t.Fatalf("claim = %+v, %v", msgs, err)
		}
		// While that first post is in flight, the group waits.
		record(t, db, payload("g1", "resolved", "a", "b"), "m3")
		if more, _ := db.ClaimOutbox(ctx, 10, time.Minute); len(more) != 0 {
			t.Fatalf("claimed %+v while the group's first post is in flight", more)
		}
		if err := db.MarkSent(ctx, msgs[0], notify.Ref{ChannelID: "C1", MessageID: "111.222"}); err != nil {
			t.Fatal(err)
		}
		// Now the resolution updates the posted message.
		msgs, _ = db.ClaimOutbox(ctx, 10, time.Minute)
		if len(msgs) != 1 || msgs[0].Message.Title != "m3" || msgs[0].Ref.ChannelID != "C1" || msgs[0].Ref.MessageID != "111.222" {
			t.Fatalf("update claim = %+v", msgs)
		}
		if err := db.MarkRetry(ctx, msgs[0], time.Now().Add(-time.Second), "boom", 50); err != nil {
			t.Fatal(err)
		}
		if again, _ := db.ClaimOutbox(ctx, 10, time.Minute); len(again) != 1 || again[0].Attempts != 1 {
			t.Fatalf("retry claim = %+v", again)
		}
		counts, _ := db.OutboxCounts(ctx)
		if counts["superseded"] != 1 || counts["sent"] != 1 || counts["pending"] != 1 {
			t.Errorf("outbox states = %v", counts)
		}
	})
}

// TestOutboxClaimedOnce runs claimers concurrently, as several replicas
// would: no message is claimed twice.
func TestOutboxClaimedOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		const groups = 60
		for i := range groups {
			record(t, db, payload(fmt.Sprintf("g%d", i), "firing", "a"), "m")
		}
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					msgs, err := db.ClaimOutbox(ctx, 5, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if len(msgs) == 0 {
						return
					}
					mu.Lock()
					for _, m := range msgs {
						seen[m.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != groups {
			t.Errorf("%d messages claimed, want %d", len(seen), groups)
		}
		for id, n := range seen {
			if n > 1 {
				t.Errorf("message %d claimed %d times", id, n)
			}
		}
	})
}
