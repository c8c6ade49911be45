// Package jobs runs durable, timed background work: reminders, due dates,
// digests. A job is a row in the database, due at a time, run by the handler
// registered for its kind on whichever replica claims it first. A claim is a
// lease: the job is hidden from other replicas until the lease ends, so
// among live replicas a job runs once; a replica that dies mid-job leaves it
// to be claimed again when its lease ends (at least once across a crash).
//
// The package declares the storage it needs (Store); the store package
// implements it on its database.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/tsuna-sre/tsuna"
)

// State is where a job is in its life.
type State string

// States.
const (
	Pending   State = "pending"   // waiting for RunAt
	Running   State = "running"   // claimed: leased to one replica until its lease ends
	Done      State = "done"      // its handler succeeded
	Failed    State = "failed"    // a permanent error, or MaxAttempts reached
	Cancelled State = "cancelled" // cancelled before it finished
)

// Limits.
const (
	MaxKindLen = 100
	MaxKeyLen  = 500
	MaxPayload = 64 << 10 // bytes of JSON
	// DefaultMaxAttempts applies to a job enqueued with MaxAttempts 0.
	DefaultMaxAttempts = 10
	// MaxErrorLen bounds the LastError kept for a job, in bytes.
	MaxErrorLen = 2000
)

// Job is one unit of background work.
type Job struct {
	ID int64
	// Kind names the handler that runs the job.
	Kind string
	// Key is unique per kind: enqueueing a kind and key that exist (in any
	// state) does nothing, so "remind about incident 42 once" is the key
	// "incident/42/no-lead".
	Key string
	// RunAt is when the job is due; a zero RunAt enqueues it due now. For a
	// job handed to a handler, it is when the job came due: its scheduled
	// or retry time, or when the lease of a claimant that died ended.
	RunAt time.Time
	// Payload is the handler's input, JSON of at most MaxPayload bytes.
	Payload json.RawMessage
	// Attempts counts the claims of the job, this one included.
	Attempts int
	// MaxAttempts bounds Attempts: a job that fails its last attempt is
	// failed. 0 means DefaultMaxAttempts.
	MaxAttempts int
	// LastError is why the last attempt failed.
	LastError string
	State     State
}

// Validate checks a job to enqueue, with tsuna.EINVALID errors.
func (j Job) Validate() error {
	switch {
	case j.Kind == "" || len(j.Kind) > MaxKindLen || !utf8.ValidString(j.Kind):
		return tsuna.Errorf(tsuna.EINVALID, "job kind must be 1 to %d bytes of UTF-8", MaxKindLen)
	case j.Key == "" || len(j.Key) > MaxKeyLen || !utf8.ValidString(j.Key):
		return tsuna.Errorf(tsuna.EINVALID, "job key must be 1 to %d bytes of UTF-8", MaxKeyLen)
	case len(j.Payload) > MaxPayload:
		return tsuna.Errorf(tsuna.EINVALID, "job payload is %d bytes, over the limit of %d", len(j.Payload), MaxPayload)
	case len(j.Payload) > 0 && !json.Valid(j.Payload):
		return tsuna.Errorf(tsuna.EINVALID, "job payload is not JSON")
	case j.MaxAttempts < 0:
		return tsuna.Errorf(tsuna.EINVALID, "job max attempts must not be negative")
	}
	return nil
}

// ErrLeaseLost is returned when a claimant records the result of a job it
// no longer holds: its lease ended and another claim took the job, or the
// job was cancelled. The other claim's result stands.
var ErrLeaseLost = &tsuna.Error{Code: tsuna.ECONFLICT, Message: "jobs: the job is no longer leased to this claimant"}

// Store keeps jobs durably. Several replicas share one Store's data.
//
// owner names a claim. Complete, Retry and Fail change a job only while
// it is still leased to owner, and return ErrLeaseLost otherwise. Times are
// the store's clock.
type Store interface {
	// Enqueue adds j as pending and reports whether it was added: false
	// when its kind and key exist, which are kept unchanged.
	Enqueue(ctx context.Context, j Job) (bool, error)
	// Claim leases up to limit due jobs of the given kinds to owner for
	// lease, oldest due first, counting an attempt for each. Due are
	// pending jobs whose RunAt has come and running jobs whose lease has
	// ended (their claimant presumably died); those that had used their
	// last attempt are failed instead.
	Claim(ctx context.Context, owner string, kinds []string, limit int, lease time.Duration) ([]Job, error)
	// Complete marks a job done.
	Complete(ctx context.Context, id int64, owner string) error
	// Retry makes a job pending again, due at at, recording cause.
	Retry(ctx context.Context, id int64, owner string, at time.Time, cause string) error
	// Fail marks a job failed with cause.
	Fail(ctx context.Context, id int64, owner string, cause string) error
	// Cancel cancels the pending or running job of kind and key and reports
	// whether there was one. A running job's handler is not interrupted,
	// but its result is discarded.
	Cancel(ctx context.Context, kind, key string) (bool, error)
}

// Backlog is optionally implemented by a Store to feed the due-jobs gauge.
type Backlog interface {
	// DueJobs counts the jobs due now and not running: pending ones whose
	// RunAt has come and running ones whose lease has ended.
	DueJobs(ctx context.Context) (int, error)
}

// Permanent marks err as not worth retrying: a handler returning it fails
// its job at once, with err as the reason. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// RetryAfter is an error a handler returns to run its job again after d
// rather than after the usual backoff. Wrap it to say why:
// fmt.Errorf("rate limited: %w", jobs.RetryAfter(30*time.Second)). The
// attempt counts towards MaxAttempts.
func RetryAfter(d time.Duration) error { return &retryAfterError{max(d, 0)} }

type retryAfterError struct{ after time.Duration }

func (e *retryAfterError) Error() string { return fmt.Sprintf("retry requested in %s", e.after) }

// retryAfter returns the delay err asks for, if it does.
func retryAfter(err error) (time.Duration, bool) {
	var ra *retryAfterError
	if errors.As(err, &ra) {
		return ra.after, true
	}
	return 0, false
}

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
