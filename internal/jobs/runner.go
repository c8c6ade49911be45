package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tsuna-sre/tsuna"
)

// Handler runs one job. Its context ends when the runner closes or the
// job's lease is about to end, whichever comes first: a handler must return
// by then, or another replica may run the job too. Returning nil completes
// the job; Permanent(err) fails it; RetryAfter(d) runs it again after d;
// any other error runs it again after an exponential backoff, until
// MaxAttempts. A handler may run more than once for a job (a replica can
// die after the work and before recording it), so it should be idempotent.
type Handler func(ctx context.Context, j Job) error

// Options tune a Runner. Zero values take the defaults.
type Options struct {
	// ID names this replica in claims; a random one by default.
	ID string
	// PollInterval is how often to look for due jobs (1 s).
	PollInterval time.Duration
	// Lease is how long a claimed job is hidden from other replicas, and
	// so the most a handler may take (1 min).
	Lease time.Duration
	// Concurrency bounds the handlers running at once (4).
	Concurrency int
	// MinBackoff and MaxBackoff bound the delay before retrying a failed
	// job: MinBackoff doubled at each attempt, up to MaxBackoff, less up to
	// a quarter of jitter (5 s and 1 h).
	MinBackoff, MaxBackoff time.Duration
	// RecordTimeout bounds the write of a job's result, retried while the
	// database is busy (30 s).
	RecordTimeout time.Duration
	// Registerer, if set, registers the runner's metrics.
	Registerer prometheus.Registerer
}

func (o *Options) defaults() {
	if o.ID == "" {
		o.ID = replicaID()
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 5 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.RecordTimeout <= 0 {
		o.RecordTimeout = 30 * time.Second
	}
}

// replicaID is the host name and a random suffix.
func replicaID() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	rand.Read(b)
	if host == "" {
		return hex.EncodeToString(b)
	}
	return host + "-" + hex.EncodeToString(b)
}

// Results of a run, the "result" label of tsuna_jobs_runs_total.
const (
	resultDone      = "done"
	resultRetried   = "retried"
	resultFailed    = "failed"
	resultLeaseLost = "lease_lost"
)

// Runner claims due jobs and runs their handlers.
type Runner struct {
	store Store
	log   *slog.Logger
	opts  Options

	handlers map[string]Handler
	kinds    []string
	wake     chan struct{}
	slots    chan struct{}
	claims   atomic.Uint64
	runs     *prometheus.CounterVec

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a Runner of jobs in store. Register handlers, then Start it.
func New(store Store, log *slog.Logger, opts Options) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts.defaults()
	r := &Runner{
		store:    store,
		log:      log.With("replica", opts.ID),
		opts:     opts,
		handlers: map[string]Handler{},
		wake:     make(chan struct{}, 1),
		slots:    make(chan struct{}, opts.Concurrency),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tsuna_jobs_runs_total",
			Help: "Background job runs, by kind and result (done, retried, failed, lease_lost).",
		}, []string{"kind", "result"}),
	}
	if reg := opts.Registerer; reg != nil {
		reg.MustRegister(r.runs)
		if b, ok := store.(Backlog); ok {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "tsuna_jobs_due",
				Help: "Background jobs due and waiting for a runner; -1 when the database does not answer.",
			}, func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				n, err := b.DueJobs(ctx)
				if err != nil {
					return -1
				}
				return float64(n)
			}))
		}
	}
	return r
}

// ID returns the replica's name in claims.
func (r *Runner) ID() string { return r.opts.ID }

// Handle registers fn to run jobs of kind. It must be called before Start,
// once per kind.
func (r *Runner) Handle(kind string, fn Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.started:
		panic("jobs: Handle after Start")
	case kind == "" || fn == nil:
		panic("jobs: Handle needs a kind and a handler")
	case r.handlers[kind] != nil:
		panic("jobs: two handlers for kind " + kind)
	}
	r.handlers[kind] = fn
	r.kinds = append(r.kinds, kind)
}

// Enqueue adds j to the store, like Store.Enqueue, and wakes the runner
// when it is due now.
func (r *Runner) Enqueue(ctx context.Context, j Job) (bool, error) {
	if err := j.Validate(); err != nil {
		return false, err
	}
	added, err := r.store.Enqueue(ctx, j)
	if added && !j.RunAt.After(time.Now()) {
		r.Wake()
	}
	return added, err
}

// Start starts claiming and running jobs until ctx ends or Close.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.closed {
		return errors.New("jobs: runner already started or closed")
	}
	r.started = true
	ctx, r.cancel = context.WithCancel(ctx)
	r.wg.Add(1)
	go r.loop(ctx)
	return nil
}

// Wake makes the runner look for due jobs now.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Close stops the runner: it cancels the handlers in flight, records their
// results, and returns when every goroutine it started has ended.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	cancel := r.cancel
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	r.wg.Wait()
	return nil
}

func (r *Runner) loop(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	for {
		for r.poll(ctx) && ctx.Err() == nil {
			// A full batch: more may be due.
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
	}
}

// poll claims as many due jobs as there are free handler slots and starts
// them. It reports whether it filled every slot it asked for.
func (r *Runner) poll(ctx context.Context) bool {
	if len(r.kinds) == 0 {
		return false
	}
	n := 0
acquire:
	for n < cap(r.slots) {
		select {
		case r.slots <- struct{}{}:
			n++
		default:
			break acquire
		}
	}
	if n == 0 {
		return false // all busy: a finishing handler wakes the loop
	}
	owner := fmt.Sprintf("%s/%d", r.opts.ID, r.claims.Add(1))
	// The handlers' deadline counts from before the claim, so it ends
	// before the lease the store grants.
	deadline := time.Now().Add(r.opts.Lease - r.opts.Lease/10)
	claimed, err := r.store.Claim(ctx, owner, r.kinds, n, r.opts.Lease)
	if err != nil && ctx.Err() == nil {
		r.log.Warn("claim jobs", "err", err)
	}
	for range n - len(claimed) {
		<-r.slots
	}
	for _, j := range claimed {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer func() { <-r.slots; r.Wake() }()
			r.run(ctx, owner, deadline, j)
		}()
	}
	return err == nil && len(claimed) == n
}

// run runs one claimed job and records its result.
func (r *Runner) run(ctx context.Context, owner string, deadline time.Time, j Job) {
	log := r.log.With("job", j.ID, "kind", j.Kind, "key", j.Key, "attempt", j.Attempts)
	hctx, cancel := context.WithDeadline(ctx, deadline)
	err := r.call(hctx, j)
	cancel()

	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.RecordTimeout)
	defer rcancel()
	var result string
	var write func(context.Context) error
	switch {
	case err == nil:
		result, write = resultDone, func(c context.Context) error { return r.store.Complete(c, j.ID, owner) }
	case isPermanent(err):
		log.Warn("job failed permanently", "err", err)
		result, write = resultFailed, func(c context.Context) error {
			return r.store.Fail(c, j.ID, owner, tsuna.Truncate(err.Error(), MaxErrorLen))
		}
	case ctx.Err() != nil:
		// Interrupted by Close: hand the job back now rather than when its
		// lease ends, whatever attempt it was.
		log.Info("job interrupted by shutdown; released", "err", err)
		result, write = resultRetried, func(c context.Context) error {
			return r.store.Retry(c, j.ID, owner, time.Now(), tsuna.Truncate("interrupted by shutdown: "+err.Error(), MaxErrorLen))
		}
	case j.Attempts >= max(j.MaxAttempts, 1):
		log.Warn("job failed its last attempt", "err", err)
		result, write = resultFailed, func(c context.Context) error {
			return r.store.Fail(c, j.ID, owner, tsuna.Truncate(fmt.Sprintf("after %d attempts: %s", j.Attempts, err), MaxErrorLen))
		}
	default:
		wait, ok := retryAfter(err)
		if !ok {
			wait = r.backoff(j.Attempts)
		}
		log.Warn("job failed; will retry", "retry_in", wait, "err", err)
		result, write = resultRetried, func(c context.Context) error {
			return r.store.Retry(c, j.ID, owner, time.Now().Add(wait), tsuna.Truncate(err.Error(), MaxErrorLen))
		}
	}
	// A busy database must not make a job that ran run again after its
	// lease: retry the write (it checks the owner, so it is safe to repeat)
	// until it lands, the lease is lost, or RecordTimeout passes.
	var rerr error
	for pause := 20 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		if rerr = write(rctx); rerr == nil || errors.Is(rerr, ErrLeaseLost) || rctx.Err() != nil {
			break
		}
		select {
		case <-rctx.Done():
		case <-time.After(pause):
		}
	}
	if errors.Is(rerr, ErrLeaseLost) {
		log.Warn("job result discarded: its lease was lost (it ran too long, or was cancelled)", "result", result)
		result = resultLeaseLost
	} else if rerr != nil {
		// The lease will end and the job run again.
		log.Error("record job result", "result", result, "err", rerr)
		return
	}
	r.runs.WithLabelValues(j.Kind, result).Inc()
}

// call runs the job's handler, turning a panic into an error.
func (r *Runner) call(ctx context.Context, j Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("job handler panicked", "job", j.ID, "kind", j.Kind, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return r.handlers[j.Kind](ctx, j)
}

// backoff is MinBackoff doubled for each attempt after the first, capped
// at MaxBackoff, less a random quarter at most.
func (r *Runner) backoff(attempts int) time.Duration {
	d := r.opts.MinBackoff
	for i := 1; i < attempts && d < r.opts.MaxBackoff; i++ {
		if d > r.opts.MaxBackoff/2 {
			d = r.opts.MaxBackoff
			break
		}
		d *= 2
	}
	d = min(d, r.opts.MaxBackoff)
	return d - time.Duration(mrand.Float64()*float64(d)/4)
}
