package slo

import (
	"testing"
	"time"
)

func TestBurnWindowsScaleWithThePeriod(t *testing.T) {
	for _, tc := range []struct {
		period time.Duration
		want   []float64
		longs  []time.Duration
	}{
		{30 * Day, []float64{14.4, 6, 3, 1}, []time.Duration{time.Hour, 6 * time.Hour, Day, 3 * Day}},      // the SRE workbook's table
		{28 * Day, []float64{13.44, 5.6, 2.8, 1}, []time.Duration{time.Hour, 6 * time.Hour, Day, 3 * Day}}, // sre-facts.md §1, the last raised to 1
		{7 * Day, []float64{13.44, 3.5, 1.4, 1}, []time.Duration{time.Hour, 6 * time.Hour, Day, 3 * Day}},  // Sloth's 7-day windows, the last raised to 1
		{90 * Day, []float64{14.4, 6, 3, 1}, []time.Duration{3 * time.Hour, 18 * time.Hour, 3 * Day, 9 * Day}},
	} {
		ws := BurnWindows(tc.period)
		if len(ws) != 4 {
			t.Fatalf("%s: %d windows", FormatDuration(tc.period), len(ws))
		}
		for i, w := range ws {
			if w.Factor != tc.want[i] || w.Long != tc.longs[i] {
				t.Errorf("%s window %s/%s: factor %v, want %v over %s", FormatDuration(tc.period), FormatDuration(w.Short), FormatDuration(w.Long), w.Factor, tc.want[i], FormatDuration(tc.longs[i]))
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

// TestEveryPeriodAlertsOnlyAboveBudgetAndCanFire: for every period from 1
// to 365 days and objectives from 50% to 99.99%, no factor is at or below 1
// (a burn that would not spend the budget never alerts), every alert can
// fire (factor × budget < 1), windows fit in the period, and a burn of 20×
// pages whenever the objective allows a 20× burn.
func TestEveryPeriodAlertsOnlyAboveBudgetAndCanFire(t *testing.T) {
	for days := 1; days <= 365; days++ {
		for _, obj := range []float64{50, 90, 95, 97.68, 99, 99.5, 99.9, 99.99} {
			s := &SLO{Service: "a", Name: "b", Objective: obj, Window: Window{Rolling: Duration(time.Duration(days) * Day)}}
			pages := false
			for _, w := range s.BurnWindows() {
				if w.Factor < 1 {
					t.Fatalf("%dd %v%%: %s factor %v below 1", days, obj, w.Severity, w.Factor)
				}
				if w.Factor*s.Budget() >= 1 {
					t.Fatalf("%dd %v%%: %s factor %v can never fire", days, obj, w.Severity, w.Factor)
				}
				if w.Long > s.Window.Length() || w.Short >= w.Long || w.Short < 5*time.Minute {
					t.Fatalf("%dd: windows %s/%s", days, w.Short, w.Long)
				}
				if w.Severity == SeverityPage && w.Factor < 20 {
					pages = true
				}
			}
			if 20*s.Budget() < 1 && !pages {
				t.Errorf("%dd %v%%: a burn of 20 does not page", days, obj)
			}
		}
	}
}

func TestSeriesWindowsArePrometheusDurations(t *testing.T) {
	for d, want := range map[time.Duration]string{28 * Day: "4w", 7 * Day: "1w", 30 * Day: "30d", Day: "1d", 90 * Day: "90d", 14 * Day: "2w", 5 * time.Minute: "5m"} {
		if got := SeriesWindow(d); got != want {
			t.Errorf("SeriesWindow(%s) = %s, want %s", FormatDuration(d), got, want)
		}
	}
}

func TestAlertWindowsOfTheTeam(t *testing.T) {
	s := &SLO{Service: "a", Name: "b", Objective: 99.9, Window: Window{Rolling: Duration(7 * Day)},
		AlertWindows: &WindowSet{Period: Duration(7 * Day), Pairs: []WindowSpec{
			{Severity: SeverityPage, Speed: "quick", Short: Duration(5 * time.Minute), Long: Duration(time.Hour), BudgetPercent: 8},
			{Severity: SeverityTicket, Speed: "slow", Short: Duration(6 * time.Hour), Long: Duration(3 * Day), BudgetPercent: 42},
		}}}
	ws := s.BurnWindows()
	if len(ws) != 2 || ws[0].Factor != 13.44 || ws[1].Factor != 0.98 {
		t.Errorf("team windows: %+v", ws)
	}
	s.Window.Rolling = Duration(30 * Day) // another period: tsuna's
	if ws := s.BurnWindows(); len(ws) != 4 || ws[0].Factor != 14.4 {
		t.Errorf("windows of another period: %+v", ws)
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
	if s.Window.String() != "calendar month (Europe/Paris)" || s.BurnWindows()[0].Factor != 14.4 {
		t.Errorf("calendar month: %s, factors of %s", s.Window, s.Window.Length())
	}
}

func TestEventsSLIHasNoRules(t *testing.T) {
	s := &SLO{Service: "a", Name: "b", Objective: 99, SLI: SLI{Events: &struct{}{}}}
	if g := s.Groups(); len(g) != 0 {
		t.Errorf("events SLI produced %d groups", len(g))
	}
}
