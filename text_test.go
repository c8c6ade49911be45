package tsuna

import "testing"

// TestTruncate: a limit in bytes never cuts a character in two.
func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{{"héllo", 2, "h"}, {"héllo", 3, "hé"}, {"hello", 10, "hello"}, {"é", 1, ""}} {
		if got := Truncate(c.s, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

// TestRefNumber: INC-42, inc-42 and 42 name the same incident; anything
// else names none.
func TestRefNumber(t *testing.T) {
	for s, want := range map[string]int64{"INC-42": 42, "inc-42": 42, " 42 ": 42, "INC-": 0, "INC-0": 0, "INC-x": 0, "PM-4": 0, "-3": 0} {
		n, ok := RefNumber(s, "INC-")
		if ok != (want > 0) || ok && n != want {
			t.Errorf("RefNumber(%q) = %d, %v; want %d", s, n, ok, want)
		}
	}
}
