package slo

import (
	"testing"
	"time"
)

func TestBurnWindowsScaleWithThePeriod(t *testing.T) {
	for _, tc := range []struct {
		period time.Duration
		want   []float64
	}{
		{30 * Day, []float64{14.4, 6, 3, 1}},             // the SRE workbook's table
		{28 * Day, []float64{13.44, 5.6, 2.8, 0.933333}}, // sre-facts.md §1
		{7 * Day, []float64{3.36, 1.4, 0.7, 0.233333}},
	} {
		ws := BurnWindows(tc.period)
		for i, w := range ws {
			if w.Factor != tc.want[i] {
				t.Errorf("%s window %s/%s: factor %v, want %v", FormatDuration(tc.period), FormatDuration(w.Short), FormatDuration(w.Long), w.Factor, tc.want[i])
			}
			if w.Short*12 != w.Long {
				t.Errorf("short window %s is not 1/12 of %s", w.Short, w.Long)
			}
			// Spending at the factor over the long window uses the budget share.
			if spent := w.Factor * w.Long.Hours() / tc.period.Hours(); spent < w.Spent-1e-6 || spent > w.Spent+1e-6 {
				t.Errorf("factor %v over %s spends %v of the budget, want %v", w.Factor, w.Long, spent, w.Spent)
			}
		}
	}
}

func TestDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{"5m": 5 * time.Minute, "28d": 28 * Day, "2w": 14 * Day, "1d12h": 36 * time.Hour, "30s": 30 * time.Second} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "d", "5", "5x", "-1d", "1.5d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
	for d, want := range map[time.Duration]string{5 * time.Minute: "5m", 90 * time.Minute: "90m", 14 * Day: "14d", 3 * Day: "3d", 6 * time.Hour: "6h"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestCalendarWindowHasNoRollingPeriodRule(t *testing.T) {
	s := &SLO{Service: "a", Name: "b", Objective: 99, Window: Window{Calendar: CalendarMonth, TimeZone: "Europe/Paris"},
		SLI: SLI{Ratio: &Ratio{Errors: "sum(rate(e[{{.window}}]))", Total: "sum(rate(t[{{.window}}]))"}}}
	for _, g := range s.Groups() {
		for _, r := range g.Rules {
			if r.Record == "slo:sli_error:ratio_rate30d" || r.Record == "slo:period_error_budget_remaining:ratio" {
				t.Errorf("calendar SLO has rolling rule %s", r.Record)
			}
		}
	}
	if s.Window.String() != "calendar month (Europe/Paris)" || BurnWindows(s.Window.Length())[0].Factor != 14.4 {
		t.Errorf("calendar month: %s, factors of %s", s.Window, s.Window.Length())
	}
}

func TestEventsSLIHasNoRules(t *testing.T) {
	s := &SLO{Service: "a", Name: "b", Objective: 99, SLI: SLI{Events: &struct{}{}}}
	if g := s.Groups(); len(g) != 0 {
		t.Errorf("events SLI produced %d groups", len(g))
	}
}
