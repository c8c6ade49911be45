package slo

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"
)

// BurnWindow is one pair of windows of a multi-window multi-burn-rate alert.
type BurnWindow struct {
	Severity string        // SeverityPage or SeverityTicket
	Long     time.Duration // the long window
	Short    time.Duration // about 1/12 of the long window
	Spent    float64       // share of the period's budget spent at Factor over Long
	Factor   float64       // burn rate above which both windows must be to alert
	// Note says why Factor is not the one the windows give, if it is not.
	Note string
}

// standardWindows are the SRE workbook's pairs for a 30-day period, with
// its factors and the least factor each pair keeps for shorter periods
// (those of Sloth's 7-day windows, at least 1).
var standardWindows = []struct {
	severity    string
	long, short time.Duration
	factor, min float64
}{
	{SeverityPage, time.Hour, 5 * time.Minute, 14.4, 13.44},
	{SeverityPage, 6 * time.Hour, 30 * time.Minute, 6, 3.5},
	{SeverityTicket, Day, 2 * time.Hour, 3, 1.4},
	{SeverityTicket, 3 * Day, 6 * time.Hour, 1, 1},
}

// Bounds of the periods BurnWindows scales to.
const (
	MinPeriod = Day
	MaxPeriod = 365 * Day
)

// BurnWindows returns tsuna's alert windows for a period, so that a burn
// rate at or below 1 never alerts (every factor is at least 1 and alerts
// need a burn above it) and pages come as fast as the SRE workbook's:
//
//   - 30 days and more: the workbook's factors (14.4, 6, 3, 1) over its
//     windows (1h, 6h, 1d, 3d) lengthened with the period: 90 days watch
//     3h, 18h, 3d and 9d.
//   - 7 to 30 days: the workbook's windows; each factor scales with the
//     period (28 days: 13.44, 5.6, 2.8) but stays at or above that of
//     Sloth's 7-day windows (13.44, 3.5, 1.4) and at least 1.
//   - under 7 days: the 7-day factors over windows shortened with the
//     period, the long ones never under 1h and the short ones never under
//     5m.
//
// Short windows are 1/12 of the long ones. Periods are clamped to
// [MinPeriod, MaxPeriod]. The objective may lower a factor further (see
// SLO.BurnWindows).
func BurnWindows(period time.Duration) []BurnWindow {
	period = min(max(period, MinPeriod), MaxPeriod)
	out := make([]BurnWindow, 0, len(standardWindows))
	for _, w := range standardWindows {
		bw := BurnWindow{Severity: w.severity, Long: w.long, Short: w.short}
		switch {
		case period >= 30*Day:
			bw.Long = (time.Duration(float64(w.long) * float64(period) / float64(30*Day))).Round(time.Minute)
			bw.Short = max((bw.Long / 12).Round(time.Minute), 5*time.Minute)
			bw.Factor = w.factor
		case period >= 7*Day:
			bw.Factor = max(w.factor*float64(period)/float64(30*Day), w.min)
		default:
			bw.Long = max((time.Duration(float64(w.long) * float64(period) / float64(7*Day))).Round(time.Minute), time.Hour)
			bw.Short = max((bw.Long / 12).Round(time.Minute), 5*time.Minute)
			bw.Factor = w.min
		}
		bw.Factor = Round(bw.Factor, 6)
		bw.Spent = Round(bw.Factor*float64(bw.Long)/float64(period), 6)
		out = append(out, bw)
	}
	return dedupeWindows(out)
}

// dedupeWindows drops, within a severity, a pair with the same windows as
// another and a higher factor: the lower one always fires first.
func dedupeWindows(ws []BurnWindow) []BurnWindow {
	out := ws[:0]
	for _, w := range ws {
		dup := false
		for i, o := range out {
			if o.Severity == w.Severity && o.Long == w.Long && o.Short == w.Short {
				dup = true
				if w.Factor < o.Factor {
					out[i] = w
				}
			}
		}
		if !dup {
			out = append(out, w)
		}
	}
	return out
}

// WindowSet is a team's own alert windows for one SLO period: Sloth's
// AlertWindows document (sloth.slok.dev/v1). Each pair spends
// BudgetPercent of the period's error budget over its long window.
type WindowSet struct {
	Period Duration     `json:"period"`
	Pairs  []WindowSpec `json:"pairs"`
	// Source is where the set was declared (file:line), for --explain.
	Source string `json:"source,omitempty"`
}

// WindowSpec is one pair of a WindowSet.
type WindowSpec struct {
	Severity      string   `json:"severity"`
	Speed         string   `json:"speed"` // quick or slow
	Short         Duration `json:"short"`
	Long          Duration `json:"long"`
	BudgetPercent float64  `json:"budgetPercent"`
}

// BurnWindows returns the pairs of ws with their factors:
// budget share × period / long window, as Sloth computes them.
func (ws *WindowSet) BurnWindows() []BurnWindow {
	out := make([]BurnWindow, 0, len(ws.Pairs))
	for _, p := range ws.Pairs {
		spent := p.BudgetPercent / 100
		out = append(out, BurnWindow{Severity: p.Severity, Long: time.Duration(p.Long), Short: time.Duration(p.Short),
			Spent: Round(spent, 6), Factor: Round(spent*float64(ws.Period)/float64(p.Long), 6)})
	}
	return out
}

// BurnWindows returns the alert windows of s: those of its WindowSet when
// it has one for its period, else tsuna's for its period. A factor that no
// error ratio could reach (factor × budget ≥ 1, an objective of 90% with a
// page factor of 14.4) is lowered to halfway between 1 and that limit, so
// every alert can fire; its Note says so.
func (s *SLO) BurnWindows() []BurnWindow {
	var ws []BurnWindow
	if s.AlertWindows != nil && time.Duration(s.AlertWindows.Period) == s.Window.Length() {
		ws = s.AlertWindows.BurnWindows()
	} else {
		ws = BurnWindows(s.Window.Length())
	}
	budget := s.Budget()
	if budget <= 0 || budget >= 1 {
		return ws
	}
	limit := 1 / budget
	for i := range ws {
		if ws[i].Factor >= limit {
			capped := Round((1+limit)/2, 6)
			ws[i].Note = fmt.Sprintf("lowered from %s: above %s an error ratio over 100%% would be needed", formatFloat(ws[i].Factor), formatFloat(Round(limit, 6)))
			ws[i].Factor = capped
			ws[i].Spent = Round(capped*float64(ws[i].Long)/float64(s.Window.Length()), 6)
		}
	}
	return ws
}

// SeriesWindow writes d as Prometheus writes durations, as Sloth names its
// series: 5m, 1h, 1d, 1w (7 days), 4w (28 days), 30d, 90d.
func SeriesWindow(d time.Duration) string {
	if s, ok := seriesWindows.Load(d); ok {
		return s.(string)
	}
	s := model.Duration(d).String()
	if seriesWindowsLen.Add(1) <= maxSeriesWindows {
		seriesWindows.Store(d, s)
	}
	return s
}

// seriesWindows caches SeriesWindow, which every rule calls several times
// (model.Duration.String formats with fmt), for up to maxSeriesWindows
// windows: a catalog has a few dozen.
var (
	seriesWindows    sync.Map // time.Duration → string
	seriesWindowsLen atomic.Int64
)

const maxSeriesWindows = 1024

// RatioSeries names the recorded error ratio over window d, such as
// slo:sli_error:ratio_rate4w.
func RatioSeries(d time.Duration) string { return SeriesRatioPrefix + SeriesWindow(d) }

// ExactWindowMax is the longest window whose error ratio is computed from
// the SLI's own queries over the window, so that only events inside it
// count. Longer windows sum the 5-minute rates recorded every 5 minutes,
// which may be up to 5 minutes late: 0.35% of a day, but 8% of an hour.
const ExactWindowMax = 6 * time.Hour

// Explain describes how the alerts of s are computed: the period, each
// window pair with its factor and budget share, and where they come from.
func (s *SLO) Explain() string {
	var b strings.Builder
	src := "tsuna's windows for a " + FormatDuration(s.Window.Length()) + " period"
	if s.AlertWindows != nil && time.Duration(s.AlertWindows.Period) == s.Window.Length() {
		src = "AlertWindows"
		if s.AlertWindows.Source != "" {
			src += " at " + s.AlertWindows.Source
		}
	}
	fmt.Fprintf(&b, "%s/%s: objective %s%%, period %s, budget %s%%; windows from %s\n", s.Service, s.Name,
		formatFloat(s.Objective), s.Window.String(), formatFloat(Round(100*s.Budget(), 9)), src)
	fmt.Fprintf(&b, "  %-8s %-8s %-8s %-10s %-12s %-14s %s\n", "SEVERITY", "LONG", "SHORT", "FACTOR", "ERROR RATIO", "BUDGET SPENT", "NOTE")
	for _, bw := range s.BurnWindows() {
		ratio := 100 * bw.Factor * s.Budget()
		fmt.Fprintf(&b, "  %-8s %-8s %-8s %-10s %-12s %-14s %s\n", bw.Severity, SeriesWindow(bw.Long), SeriesWindow(bw.Short),
			formatFloat(bw.Factor), "> "+strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", ratio), "0"), ".")+"%",
			formatFloat(Round(100*bw.Spent, 3))+"%", bw.Note)
	}
	var exact, summed []string
	for _, w := range s.Windows() {
		switch {
		case s.SLI.Raw != "" && w != s.Window.Length():
			exact = append(exact, SeriesWindow(w))
		case s.SLI.Raw == "" && w <= ExactWindowMax:
			exact = append(exact, SeriesWindow(w))
		default:
			summed = append(summed, SeriesWindow(w))
		}
	}
	fmt.Fprintf(&b, "  error ratios from the events inside the window: %s\n", strings.Join(exact, ", "))
	if len(summed) > 0 {
		fmt.Fprintf(&b, "  error ratios from the 5m rates recorded every 5 minutes (up to 5 minutes late, at most %s%% of the window): %s\n",
			formatFloat(Round(100*float64(5*time.Minute)/float64(min(summedMin(s), s.Window.Length())), 2)), strings.Join(summed, ", "))
	}
	return b.String()
}

func summedMin(s *SLO) time.Duration {
	m := time.Duration(math.MaxInt64)
	for _, w := range s.Windows() {
		if w > ExactWindowMax {
			m = min(m, w)
		}
	}
	return m
}
