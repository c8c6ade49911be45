package delivery

import (
	"testing"
	"time"
)

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	l := New(nil, nil, nil)
	prev := time.Duration(0)
	for a := range 12 {
		d := l.backoff(a)
		base := time.Second << a
		if base > l.MaxBackoff {
			base = l.MaxBackoff
		}
		if d < base*8/10 || d > base*12/10 {
			t.Errorf("attempt %d: backoff %s, want %s ± 20%%", a, d, base)
		}
		if a < 5 && d <= prev/2 {
			t.Errorf("attempt %d: backoff %s does not grow from %s", a, d, prev)
		}
		prev = d
	}
	if d := l.backoff(100); d > l.MaxBackoff*12/10 {
		t.Errorf("backoff after 100 attempts = %s", d)
	}
}
