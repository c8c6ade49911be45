package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/delivery"
	"github.com/tsuna-sre/tsuna/internal/notify"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// TestOutboxStats checks what an SRE alerts on: the backlog, the age of the
// oldest pending message, attempts, and failed messages by a bounded reason.
func TestOutboxStats(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		st, err := db.OutboxStats(ctx, time.Now())
		if err != nil || st.States["pending"] != 0 || st.OldestPending != nil || st.OldestPendingAgeSeconds != 0 {
			t.Fatalf("empty outbox stats = %+v, %v", st, err)
		}
		for _, g := range []string{"g1", "g2", "g3", "g4"} {
			record(t, db, payload(g, "firing", "a"), "m-"+g)
		}
		msgs, err := db.ClaimOutbox(ctx, 10, time.Minute)
		if err != nil || len(msgs) != 4 {
			t.Fatalf("claim = %d, %v", len(msgs), err)
		}
		byTitle := map[string]delivery.Item{}
		for _, m := range msgs {
			byTitle[m.Message.Title] = m
		}
		db.MarkSent(ctx, byTitle["m-g1"], notify.Ref{ChannelID: "C1", MessageID: "1.2"})
		db.MarkFailed(ctx, byTitle["m-g2"], "slack refused the message: channel_not_found")
		db.MarkRetry(ctx, byTitle["m-g3"], time.Now().Add(time.Hour), "slack: 500 Internal Server Error", 50)
		db.MarkRetry(ctx, byTitle["m-g4"], time.Now().Add(time.Hour), "slack: connection refused", 1) // its last attempt

		later := time.Now().Add(10 * time.Minute)
		st, err = db.OutboxStats(ctx, later)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"pending": 1, "sent": 1, "failed": 2, "superseded": 0}
		for s, n := range want {
			if st.States[s] != n {
				t.Errorf("states[%s] = %d, want %d (%v)", s, st.States[s], n, st.States)
			}
		}
		if st.Retrying != 1 || st.MaxPendingAttempts != 1 || st.Attempts != 4 {
			t.Errorf("retrying %d, max pending attempts %d, attempts %d; want 1, 1, 4", st.Retrying, st.MaxPendingAttempts, st.Attempts)
		}
		if st.OldestPending == nil || st.OldestPendingAgeSeconds < 9*60 {
			t.Errorf("oldest pending = %v, age %.0fs; want about 600s", st.OldestPending, st.OldestPendingAgeSeconds)
		}
		if st.FailedByReason["channel_not_found"] != 1 || st.FailedByReason[delivery.FailReasonExhausted] != 1 || len(st.FailedByReason) != 2 {
			t.Errorf("failed by reason = %v", st.FailedByReason)
		}

		list, err := db.OutboxMessages(ctx, delivery.Filter{State: "failed"})
		if err != nil || len(list) != 2 || list[0].Title != "m-g4" || list[0].State != "failed" || list[1].LastError != "slack refused the message: channel_not_found" {
			t.Errorf("failed messages = %+v, %v", list, err)
		}
		if _, err := db.OutboxMessages(ctx, delivery.Filter{State: "stuck"}); err == nil {
			t.Error("an unknown state was accepted")
		}
	})
}
