package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// open opens a handle on dsn, closed when the test ends.
func open(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fast are options for tests: a short poll, a long lease.
func fast() jobs.Options {
	return jobs.Options{PollInterval: 10 * time.Millisecond, Lease: time.Minute, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

// start starts r and closes it when the test ends.
func start(t *testing.T, r *jobs.Runner) {
	t.Helper()
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute) // a bound for a loaded machine, not a measure
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitState waits for the job of kind and key to be in state, and returns it.
func waitState(t *testing.T, db *store.DB, kind, key string, state jobs.State) jobs.Job {
	t.Helper()
	var j jobs.Job
	waitFor(t, fmt.Sprintf("job %s %s to be %s", kind, key, state), func() bool {
		var err error
		j, err = db.Job(context.Background(), kind, key)
		return err == nil && j.State == state
	})
	return j
}

// counter counts handler runs by key.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[key]++
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

func countJobs(t *testing.T, db *store.DB, state jobs.State) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM jobs WHERE state = $1`, string(state)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Two replicas, each with its own handle, run each due job exactly once.
func TestJobsTwoReplicasRunEachOnce(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		const n = 120
		dbs := []*store.DB{open(t, dsn), open(t, dsn)}
		ctx := context.Background()
		for i := range n {
			kind := []string{"remind", "digest"}[i%2]
			if _, err := dbs[i%2].Enqueue(ctx, jobs.Job{Kind: kind, Key: fmt.Sprintf("k%d", i), RunAt: time.Now().Add(-time.Duration(i) * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		var runs counter
		byReplica := make([]counter, 2)
		runners := make([]*jobs.Runner, 2)
		for i := range runners {
			r := jobs.New(dbs[i], nil, fast())
			for _, kind := range []string{"remind", "digest"} {
				r.Handle(kind, func(ctx context.Context, j jobs.Job) error {
					runs.add(j.Kind + "/" + j.Key)
					byReplica[i].add(j.Key)
					time.Sleep(time.Millisecond)
					return nil
				})
			}
			runners[i] = r
		}
		var wg sync.WaitGroup
		startErrs := make([]error, len(runners))
		for i, r := range runners {
			t.Cleanup(func() { r.Close() })
			wg.Go(func() { startErrs[i] = r.Start(ctx) })
		}
		wg.Wait()
		if err := errors.Join(startErrs...); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "every job done", func() bool { return countJobs(t, dbs[0], jobs.Done) == n })
		for _, r := range runners {
			r.Close()
		}
		if runs.total() != n {
			t.Errorf("%d runs of %d jobs", runs.total(), n)
		}
		for i := range n {
			key := fmt.Sprintf("%s/k%d", []string{"remind", "digest"}[i%2], i)
			if c := runs.get(key); c != 1 {
				t.Errorf("job %s ran %d times", key, c)
			}
		}
		t.Logf("runs by replica: %d, %d", byReplica[0].total(), byReplica[1].total())
	})
}

// A job that came due while no server ran runs after a restart.
func TestJobsDueWhileDownRunAfterRestart(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		before, err := store.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := before.Enqueue(ctx, jobs.Job{Kind: "remind", Key: "incident/7", RunAt: time.Now().Add(-time.Hour), Payload: json.RawMessage(`{"incident":7}`)}); err != nil {
			t.Fatal(err)
		}
		before.Close()

		db := open(t, dsn)
		got := make(chan jobs.Job, 1)
		r := jobs.New(db, nil, fast())
		r.Handle("remind", func(ctx context.Context, j jobs.Job) error { got <- j; return nil })
		start(t, r)
		select {
		case j := <-got:
			if string(j.Payload) != `{"incident":7}` || j.Attempts != 1 {
				t.Errorf("ran %+v", j)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the overdue job never ran")
		}
		waitState(t, db, "remind", "incident/7", jobs.Done)
	})
}

// Enqueueing a kind and key twice runs the job once, with the first payload.
func TestJobsEnqueuedTwiceRunOnce(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		ctx := context.Background()
		var runs counter
		var payloads []string
		var mu sync.Mutex
		r := jobs.New(db, nil, fast())
		r.Handle("remind", func(ctx context.Context, j jobs.Job) error {
			runs.add(j.Key)
			mu.Lock()
			payloads = append(payloads, string(j.Payload))
			mu.Unlock()
			return nil
		})
		for i, want := range []bool{true, false} {
			added, err := r.Enqueue(ctx, jobs.Job{Kind: "remind", Key: "once", Payload: json.RawMessage(fmt.Sprint(i))})
			if err != nil || added != want {
				t.Fatalf("enqueue %d = %v, %v; want %v", i, added, err, want)
			}
		}
		start(t, r)
		waitState(t, db, "remind", "once", jobs.Done)
		// Once done, the key stays taken.
		if added, err := r.Enqueue(ctx, jobs.Job{Kind: "remind", Key: "once", Payload: json.RawMessage(`2`)}); err != nil || added {
			t.Fatalf("enqueue after done = %v, %v; want false", added, err)
		}
		r.Close()
		if c := runs.get("once"); c != 1 || payloads[0] != "0" {
			t.Errorf("ran %d times with payloads %q; want once with the first", c, payloads)
		}
	})
}

// A permanent error fails the job at its first attempt, with the reason.
func TestJobsPermanentErrorFailsAtOnce(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		var runs counter
		r := jobs.New(db, nil, fast())
		r.Handle("k", func(ctx context.Context, j jobs.Job) error {
			runs.add(j.Key)
			return fmt.Errorf("decode: %w", jobs.Permanent(errors.New("no such incident")))
		})
		if _, err := r.Enqueue(context.Background(), jobs.Job{Kind: "k", Key: "p", MaxAttempts: 5}); err != nil {
			t.Fatal(err)
		}
		start(t, r)
		j := waitState(t, db, "k", "p", jobs.Failed)
		r.Close()
		if j.Attempts != 1 || runs.get("p") != 1 || j.LastError != "decode: no such incident" {
			t.Errorf("job = %+v after %d runs; want failed at attempt 1 with the reason", j, runs.get("p"))
		}
	})
}

// RetryAfter sets when the job runs again.
func TestJobsRetryAfterHonoured(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		const wait = 2 * time.Hour
		r := jobs.New(db, nil, fast())
		r.Handle("k", func(ctx context.Context, j jobs.Job) error {
			return fmt.Errorf("rate limited: %w", jobs.RetryAfter(wait))
		})
		if _, err := r.Enqueue(context.Background(), jobs.Job{Kind: "k", Key: "ra"}); err != nil {
			t.Fatal(err)
		}
		from := time.Now()
		start(t, r)
		var j jobs.Job
		waitFor(t, "the retry to be recorded", func() bool {
			j = getJob(t, db, "k", "ra")
			return j.State == jobs.Pending && j.Attempts == 1
		})
		to := time.Now()
		r.Close()
		if j.RunAt.Before(from.Add(wait).Truncate(time.Microsecond)) || j.RunAt.After(to.Add(wait)) {
			t.Errorf("retry due %v; want %v after the failure, between %v and %v", j.RunAt, wait, from.Add(wait), to.Add(wait))
		}
		if j.LastError != "rate limited: retry requested in 2h0m0s" {
			t.Errorf("last error %q", j.LastError)
		}
	})
}

// An ordinary error backs off exponentially; the last attempt fails the job.
func TestJobsErrorsBackOffThenFail(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		ctx := context.Background()

		slow := fast()
		slow.MinBackoff, slow.MaxBackoff = time.Hour, 4*time.Hour
		r := jobs.New(db, nil, slow)
		r.Handle("k", func(ctx context.Context, j jobs.Job) error { return errors.New("chat down") })
		r.Enqueue(ctx, jobs.Job{Kind: "k", Key: "backoff"})
		from := time.Now()
		start(t, r)
		var j jobs.Job
		waitFor(t, "the retry to be recorded", func() bool {
			j = getJob(t, db, "k", "backoff")
			return j.State == jobs.Pending && j.Attempts == 1
		})
		to := time.Now()
		r.Close()
		// The first retry waits MinBackoff less up to a quarter of jitter.
		if j.RunAt.Before(from.Add(45*time.Minute).Truncate(time.Microsecond)) || j.RunAt.After(to.Add(time.Hour)) || j.LastError != "chat down" {
			t.Errorf("retried job %+v; want due 45 to 60 min after %v", j, from)
		}

		var runs counter
		r = jobs.New(db, nil, fast())
		r.Handle("k2", func(ctx context.Context, j jobs.Job) error {
			runs.add(j.Key)
			if j.Attempts == 2 {
				panic("handler bug")
			}
			return errors.New("chat down")
		})
		r.Enqueue(ctx, jobs.Job{Kind: "k2", Key: "exhaust", MaxAttempts: 3})
		start(t, r)
		j = waitState(t, db, "k2", "exhaust", jobs.Failed)
		r.Close()
		if runs.get("exhaust") != 3 || j.Attempts != 3 || j.LastError != "after 3 attempts: chat down" {
			t.Errorf("job %+v after %d runs; want failed after 3", j, runs.get("exhaust"))
		}
	})
}

// A job claimed by a replica that died is run by another once its lease
// ends, and the dead replica's late result is refused.
func TestJobsExpiredLeaseReclaimed(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		dead, alive := open(t, dsn), open(t, dsn)
		ctx := context.Background()
		if _, err := dead.Enqueue(ctx, jobs.Job{Kind: "remind", Key: "orphan"}); err != nil {
			t.Fatal(err)
		}
		claimed, err := dead.Claim(ctx, "dead/1", []string{"remind"}, 10, 300*time.Millisecond)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim = %v, %v", claimed, err)
		}
		got := make(chan jobs.Job, 1)
		r := jobs.New(alive, nil, fast())
		r.Handle("remind", func(ctx context.Context, j jobs.Job) error { got <- j; return nil })
		start(t, r)
		select {
		case j := <-got:
			if j.Attempts != 2 {
				t.Errorf("re-claimed at attempt %d, want 2", j.Attempts)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the orphaned job never ran")
		}
		waitState(t, alive, "remind", "orphan", jobs.Done)
		if err := dead.Complete(ctx, claimed[0].ID, "dead/1"); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("late complete: %v; want ErrLeaseLost", err)
		}
		if err := dead.Retry(ctx, claimed[0].ID, "dead/1", time.Now(), "late"); !errors.Is(err, jobs.ErrLeaseLost) {
			t.Errorf("late retry: %v; want ErrLeaseLost", err)
		}
		if j := getJob(t, alive, "remind", "orphan"); j.State != jobs.Done {
			t.Errorf("job = %+v; want done", j)
		}
	})
}

// Close cancels the handlers in flight, hands their jobs back, and leaves
// no goroutine behind.
func TestJobsCloseLeavesNoGoroutine(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		ctx := context.Background()
		for i := range 5 {
			db.Enqueue(ctx, jobs.Job{Kind: "quick", Key: fmt.Sprint(i)})
		}
		db.Enqueue(ctx, jobs.Job{Kind: "block", Key: "b"})
		countJobs(t, db, jobs.Pending) // warm the pool before counting
		before := runtime.NumGoroutine()

		blocked := make(chan struct{})
		var deadlineOK bool
		r := jobs.New(db, nil, fast())
		r.Handle("quick", func(ctx context.Context, j jobs.Job) error { return nil })
		r.Handle("block", func(ctx context.Context, j jobs.Job) error {
			d, ok := ctx.Deadline()
			deadlineOK = ok && time.Until(d) < time.Minute
			close(blocked)
			<-ctx.Done()
			return ctx.Err()
		})
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		select {
		case <-blocked:
		case <-time.After(60 * time.Second):
			t.Fatal("the blocking job never started")
		}
		waitFor(t, "the quick jobs", func() bool { return countJobs(t, db, jobs.Done) == 5 })
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if !deadlineOK {
			t.Error("the handler's context has no deadline before the lease ends")
		}
		if j := getJob(t, db, "block", "b"); j.State != jobs.Pending || !strings.Contains(j.LastError, "shutdown") {
			t.Errorf("interrupted job = %+v; want pending again", j)
		}
		waitFor(t, fmt.Sprintf("goroutines to end (%d before Start)", before), func() bool {
			return runtime.NumGoroutine() <= before
		})
		if err := r.Start(ctx); err == nil {
			t.Error("a closed runner started again")
		}
	})
}

func TestJobsMetrics(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		db := open(t, dsn)
		ctx := context.Background()
		reg := prometheus.NewRegistry()
		opts := fast()
		opts.Registerer = reg
		r := jobs.New(db, nil, opts)
		r.Handle("k", func(ctx context.Context, j jobs.Job) error {
			if j.Key == "bad" {
				return jobs.Permanent(errors.New("bad"))
			}
			return nil
		})
		db.Enqueue(ctx, jobs.Job{Kind: "k", Key: "ok"})
		db.Enqueue(ctx, jobs.Job{Kind: "k", Key: "bad"})
		db.Enqueue(ctx, jobs.Job{Kind: "unhandled", Key: "x"})
		start(t, r)
		waitFor(t, "both runs counted", func() bool {
			m := gather(t, reg)
			return m[`tsuna_jobs_runs_total{kind="k",result="done"}`] == 1 && m[`tsuna_jobs_runs_total{kind="k",result="failed"}`] == 1
		})
		if due := gather(t, reg)["tsuna_jobs_due{}"]; due != 1 {
			t.Errorf("due = %v, want 1 (the unhandled job)", due)
		}
	})
}

// gather returns each sample as name{label="value",...} -> value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

func getJob(t *testing.T, db *store.DB, kind, key string) jobs.Job {
	t.Helper()
	j, err := db.Job(context.Background(), kind, key)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
