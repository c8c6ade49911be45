package jobs

import (
	"math"
	"testing"
	"time"
)

func TestJobBackoffBounds(t *testing.T) {
	for _, o := range []Options{
		{MinBackoff: time.Second, MaxBackoff: time.Hour},
		{MinBackoff: 5 * time.Second, MaxBackoff: math.MaxInt64},
		{MinBackoff: time.Hour, MaxBackoff: time.Second}, // the max is raised to the min
	} {
		r := New(nil, nil, o)
		lo, hi := r.opts.MinBackoff, r.opts.MaxBackoff
		prev := time.Duration(0)
		for attempts := 1; attempts < 200; attempts++ {
			want := hi
			if f := float64(lo) * math.Pow(2, float64(attempts-1)); f < float64(hi) {
				want = time.Duration(f)
			}
			for range 20 {
				d := r.backoff(attempts)
				if d > want || d < want-want/4 {
					t.Fatalf("%+v: backoff(%d) = %v, want %v less a quarter at most", o, attempts, d, want)
				}
			}
			if want < prev {
				t.Fatalf("%+v: backoff shrinks at attempt %d", o, attempts)
			}
			prev = want
		}
	}
}

func TestJobErrorsClassified(t *testing.T) {
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
	if d, ok := retryAfter(wrap(RetryAfter(time.Minute))); !ok || d != time.Minute {
		t.Errorf("retryAfter = %v, %v", d, ok)
	}
	if !isPermanent(wrap(Permanent(errTest))) || isPermanent(errTest) {
		t.Error("isPermanent misclassifies")
	}
}

type testError struct{}

func (testError) Error() string { return "test" }

var errTest error = testError{}

type wrapped struct{ err error }

func (w wrapped) Error() string { return "wrapped: " + w.err.Error() }
func (w wrapped) Unwrap() error { return w.err }

func wrap(err error) error { return wrapped{err} }
