package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/store"
)

func getJob(t *testing.T, db *store.DB, kind, key string) jobs.Job {
	t.Helper()
	j, err := db.Job(context.Background(), kind, key)
	if err != nil {
		t.Fatalf("job %s %s: %v", kind, key, err)
	}
	return j
}

func TestJobEnqueueOnceAndValidate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		at := time.Date(2030, 1, 2, 3, 4, 5, 678901234, time.FixedZone("x", 3600))
		added, err := db.Enqueue(ctx, jobs.Job{Kind: "remind", Key: "incident/1", RunAt: at, Payload: []byte(`{"n":1}`)})
		if err != nil || !added {
			t.Fatalf("first enqueue = %v, %v", added, err)
		}
		added, err = db.Enqueue(ctx, jobs.Job{Kind: "remind", Key: "incident/1", Payload: []byte(`{"n":2}`)})
		if err != nil || added {
			t.Fatalf("second enqueue = %v, %v; want false, nil", added, err)
		}
		// The same key of another kind is another job.
		if added, err := db.Enqueue(ctx, jobs.Job{Kind: "digest", Key: "incident/1"}); err != nil || !added {
			t.Fatalf("other kind = %v, %v", added, err)
		}
		j := getJob(t, db, "remind", "incident/1")
		if string(j.Payload) != `{"n":1}` || !j.RunAt.Equal(at.Truncate(time.Microsecond)) || j.State != jobs.Pending ||
			j.Attempts != 0 || j.MaxAttempts != jobs.DefaultMaxAttempts {
			t.Errorf("kept job = %+v; want the first, pending, due %v", j, at)
		}
		if _, err := db.Job(ctx, "remind", "nope"); tsuna.ErrorCode(err) != tsuna.ENOTFOUND {
			t.Errorf("missing job: %v", err)
		}

		for _, bad := range []jobs.Job{
			{Key: "k"},
			{Kind: "k"},
			{Kind: "k", Key: "k", Payload: []byte(`{`)},
			{Kind: "k", Key: "k", Payload: []byte(`"` + strings.Repeat("x", jobs.MaxPayload) + `"`)},
			{Kind: "k", Key: "k", MaxAttempts: -1},
		} {
			if _, err := db.Enqueue(ctx, bad); tsuna.ErrorCode(err) != tsuna.EINVALID {
				t.Errorf("enqueue %.40v: %v; want invalid", bad, err)
			}
		}
	})
}

func TestJobClaimLeaseAndOwnership(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		past := time.Now().Add(-time.Minute)
		for _, j := range []jobs.Job{
			{Kind: "a", Key: "due", RunAt: past},
			{Kind: "a", Key: "later", RunAt: time.Now().Add(time.Hour)},
			{Kind: "other", Key: "due", RunAt: past},
		} {
			if _, err := db.Enqueue(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := db.DueJobs(ctx); err != nil || n != 2 {
			t.Errorf("due = %d, %v; want 2", n, err)
		}
		got, err := db.Claim(ctx, "r1/1", []string{"a"}, 10, time.Hour)
		if err != nil || len(got) != 1 {
			t.Fatalf("claim = %+v, %v; want the one due job of kind a", got, err)
		}
		j := got[0]
		if j.Key != "due" || j.State != jobs.Running || j.Attempts != 1 || !j.RunAt.Equal(past.UTC().Truncate(time.Microsecond)) {
			t.Errorf("claimed %+v", j)
		}
		if got, err := db.Claim(ctx, "r2/1", []string{"a", "b"}, 10, time.Hour); err != nil || len(got) != 0 {
			t.Errorf("second claim = %+v, %v; want nothing while leased", got, err)
		}
		if err := db.Complete(ctx, j.ID, "r2/1"); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("complete by a non-owner: %v; want ErrLeaseLost", err)
		}
		if err := db.Complete(ctx, j.ID, "r1/1"); err != nil {
			t.Fatalf("complete: %v", err)
		}
		if err := db.Complete(ctx, j.ID, "r1/1"); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("second complete: %v; want ErrLeaseLost", err)
		}
		if j := getJob(t, db, "a", "due"); j.State != jobs.Done || j.Attempts != 1 {
			t.Errorf("completed job = %+v", j)
		}
		if n, err := db.DueJobs(ctx); err != nil || n != 1 {
			t.Errorf("due = %d, %v; want 1", n, err)
		}
	})
}

func TestJobRetryFailCancel(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		for _, k := range []string{"retry", "fail", "cancel-running", "cancel-pending"} {
			if _, err := db.Enqueue(ctx, jobs.Job{Kind: "k", Key: k, MaxAttempts: 3}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.Claim(ctx, "me", []string{"k"}, 3, time.Hour)
		if err != nil || len(got) != 3 {
			t.Fatalf("claim = %v, %v", got, err)
		}
		ids := map[string]int64{}
		for _, j := range got {
			ids[j.Key] = j.ID
		}
		at := time.Now().Add(42 * time.Minute).UTC().Truncate(time.Microsecond)
		if err := db.Retry(ctx, ids["retry"], "me", at, "boom"); err != nil {
			t.Fatal(err)
		}
		if j := getJob(t, db, "k", "retry"); j.State != jobs.Pending || !j.RunAt.Equal(at) || j.LastError != "boom" || j.Attempts != 1 {
			t.Errorf("retried job = %+v; want pending at %v", j, at)
		}
		if err := db.Fail(ctx, ids["fail"], "me", "bad input"); err != nil {
			t.Fatal(err)
		}
		if j := getJob(t, db, "k", "fail"); j.State != jobs.Failed || j.LastError != "bad input" {
			t.Errorf("failed job = %+v", j)
		}
		if err := db.Retry(ctx, ids["fail"], "me", at, "again"); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("retry of a failed job: %v; want ErrLeaseLost", err)
		}

		for _, k := range []string{"cancel-running", "cancel-pending"} {
			if ok, err := db.Cancel(ctx, "k", k); err != nil || !ok {
				t.Errorf("cancel %s = %v, %v", k, ok, err)
			}
			if ok, err := db.Cancel(ctx, "k", k); err != nil || ok {
				t.Errorf("second cancel %s = %v, %v; want false", k, ok, err)
			}
			if j := getJob(t, db, "k", k); j.State != jobs.Cancelled {
				t.Errorf("cancelled job = %+v", j)
			}
		}
		if err := db.Complete(ctx, ids["cancel-running"], "me"); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("complete of a cancelled job: %v; want ErrLeaseLost", err)
		}
		if ok, err := db.Cancel(ctx, "k", "fail"); err != nil || ok {
			t.Errorf("cancel of a failed job = %v, %v; want false", ok, err)
		}
	})
}

func TestJobExpiredLeaseReclaimedOrFailed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, _ string) {
		ctx := context.Background()
		db.Enqueue(ctx, jobs.Job{Kind: "k", Key: "again", MaxAttempts: 2})
		db.Enqueue(ctx, jobs.Job{Kind: "k", Key: "last", MaxAttempts: 1})
		got, err := db.Claim(ctx, "dead/1", []string{"k"}, 10, 50*time.Millisecond)
		if err != nil || len(got) != 2 {
			t.Fatalf("claim = %v, %v", got, err)
		}
		var again []jobs.Job
		deadline := time.Now().Add(30 * time.Second)
		for len(again) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the expired lease was never re-claimed")
			}
			time.Sleep(20 * time.Millisecond)
			if again, err = db.Claim(ctx, "alive/1", []string{"k"}, 10, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		if len(again) != 1 || again[0].Key != "again" || again[0].Attempts != 2 {
			t.Fatalf("re-claimed %+v; want only the job with attempts left, at attempt 2", again)
		}
		if j := getJob(t, db, "k", "last"); j.State != jobs.Failed || !strings.Contains(j.LastError, "lease") {
			t.Errorf("job whose last attempt's lease ended = %+v; want failed", j)
		}
		if err := db.Complete(ctx, got[0].ID, "dead/1"); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("late complete by the expired claimant: %v; want ErrLeaseLost", err)
		}
		if err := db.Complete(ctx, again[0].ID, "alive/1"); err != nil {
			t.Errorf("complete by the new claimant: %v", err)
		}
	})
}

// Concurrent claimers on two handles of one database take each job once.
func TestJobClaimConcurrentOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB, dsn string) {
		dbs := []*store.DB{db, openDB(t, dsn)}
		ctx := context.Background()
		const n = 150
		for i := range n {
			if _, err := dbs[0].Enqueue(ctx, jobs.Job{Kind: "k", Key: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		claimed := map[int64]int{}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Go(func() {
				db := dbs[w%2]
				for {
					got, err := db.Claim(ctx, fmt.Sprintf("w%d", w), []string{"k"}, 7, time.Hour)
					if err != nil {
						errs <- err
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, j := range got {
						claimed[j.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(claimed) != n {
			t.Errorf("claimed %d jobs, want %d", len(claimed), n)
		}
		for id, c := range claimed {
			if c != 1 {
				t.Errorf("job %d claimed %d times", id, c)
			}
		}
	})
}
