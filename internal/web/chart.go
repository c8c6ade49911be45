package web

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// chart is a line chart drawn as SVG on the server. It reads without
// colour: the data is a solid line, each reference (the objective, the
// freeze line) a dashed line named in text, and a table gives the values.
type chart struct {
	Title, Summary string
	W, H           int
	Left, Right    float64 // plot area, x
	Top, Bottom    float64 // plot area, y
	Segments       []string
	Area           string // polygon under the line, for a faint fill
	Refs           []refLine
	YTicks, XTicks []tick
	Empty          bool
}

type refLine struct {
	Y     float64
	Label string
	Class string
}

type tick struct {
	At    float64
	Label string
}

// plot maps values onto a chart's area.
type plot struct {
	c          *chart
	from, to   time.Time
	ymin, ymax float64
}

func newPlot(title string, from, to time.Time, ymin, ymax float64) *plot {
	c := &chart{Title: title, W: 960, H: 240, Left: 64, Right: 944, Top: 12, Bottom: 208}
	if ymax-ymin < 1e-9 {
		ymax = ymin + 1
	}
	return &plot{c: c, from: from, to: to, ymin: ymin, ymax: ymax}
}

func (p *plot) x(t time.Time) float64 {
	span := p.to.Sub(p.from).Seconds()
	return round1(p.c.Left + (p.c.Right-p.c.Left)*t.Sub(p.from).Seconds()/span)
}

func (p *plot) y(v float64) float64 {
	v = math.Max(p.ymin, math.Min(p.ymax, v))
	return round1(p.c.Bottom - (p.c.Bottom-p.c.Top)*(v-p.ymin)/(p.ymax-p.ymin))
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// line draws values over time, broken where points are missing.
func (p *plot) line(ts []time.Time, vs []float64, step time.Duration) {
	var seg []string
	var area []string
	flush := func() {
		if len(seg) > 0 {
			p.c.Segments = append(p.c.Segments, strings.Join(seg, " "))
		}
		seg = nil
	}
	for i := range ts {
		if i > 0 && ts[i].Sub(ts[i-1]) > step*3/2 {
			flush()
		}
		pt := strconv.FormatFloat(p.x(ts[i]), 'f', -1, 64) + "," + strconv.FormatFloat(p.y(vs[i]), 'f', -1, 64)
		seg = append(seg, pt)
		area = append(area, pt)
	}
	flush()
	if len(area) > 1 {
		base := strconv.FormatFloat(p.c.Bottom, 'f', -1, 64)
		p.c.Area = strconv.FormatFloat(p.x(ts[0]), 'f', -1, 64) + "," + base + " " + strings.Join(area, " ") + " " +
			strconv.FormatFloat(p.x(ts[len(ts)-1]), 'f', -1, 64) + "," + base
	}
	p.c.Empty = len(ts) == 0
}

func (p *plot) ref(v float64, label, class string) {
	p.c.Refs = append(p.c.Refs, refLine{Y: p.y(v), Label: label, Class: class})
}

// ticks adds about four y ticks and a tick a day (or a week) on x.
func (p *plot) ticks(format func(float64) string) {
	for i := 0; i <= 4; i++ {
		v := p.ymin + (p.ymax-p.ymin)*float64(i)/4
		p.c.YTicks = append(p.c.YTicks, tick{At: p.y(v), Label: format(v)})
	}
	span := p.to.Sub(p.from)
	every := 24 * time.Hour
	if span > 10*24*time.Hour {
		every = 7 * 24 * time.Hour
	}
	for t := p.from.Truncate(24 * time.Hour).Add(24 * time.Hour); t.Before(p.to); t = t.Add(every) {
		p.c.XTicks = append(p.c.XTicks, tick{At: p.x(t), Label: t.UTC().Format("Jan 2")})
	}
}

func series(points []budget.Point, f func(budget.Point) (float64, bool)) ([]time.Time, []float64) {
	var ts []time.Time
	var vs []float64
	for _, pt := range points {
		if v, ok := f(pt); ok {
			ts = append(ts, pt.Time)
			vs = append(vs, v)
		}
	}
	return ts, vs
}

func stepOf(points []budget.Point) time.Duration {
	if len(points) < 2 {
		return time.Hour
	}
	step := points[1].Time.Sub(points[0].Time)
	for i := 2; i < len(points); i++ {
		step = min(step, points[i].Time.Sub(points[i-1].Time))
	}
	return step
}

// sliChart draws the SLI over the period against the objective.
func sliChart(points []budget.Point, objective float64, from, to time.Time) *chart {
	ts, vs := series(points, func(p budget.Point) (float64, bool) { return p.SLI, true })
	lo := objective - (100-objective)*1.5
	for _, v := range vs {
		lo = math.Min(lo, v)
	}
	p := newPlot("SLI over the period, against the objective", from, to, math.Max(0, lo), 100)
	p.line(ts, vs, stepOf(points))
	p.ref(objective, "objective "+fmtPct(objective), "ref-objective")
	p.ticks(func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "%" })
	p.c.Summary = summary(vs, func(f float64) string { return strconv.FormatFloat(slo.Round(f, 3), 'f', -1, 64) + "%" }, "SLI")
	return p.c
}

// budgetChart draws the budget left against the policy's freeze line: the
// burn-down of the error budget.
func budgetChart(points []budget.Point, freeze float64, from, to time.Time) *chart {
	ts, vs := series(points, func(p budget.Point) (float64, bool) { return p.BudgetRemaining, true })
	lo, hi := math.Min(0, freeze), 100.0
	for _, v := range vs {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	lo = math.Floor(lo/25) * 25
	p := newPlot("Error budget left, against the freeze line", from, to, lo, hi)
	p.line(ts, vs, stepOf(points))
	if freeze != 0 {
		p.ref(0, "budget spent (0%)", "ref-zero")
	}
	p.ref(freeze, "deploys freeze at "+fmtPct(freeze), "ref-freeze")
	p.ticks(func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "%" })
	p.c.Summary = summary(vs, fmtPct, "Budget left")
	return p.c
}

// burnChart draws the one-hour burn rate; 1× spends the budget exactly
// over the period.
func burnChart(points []budget.Point, from, to time.Time) *chart {
	ts, vs := series(points, func(p budget.Point) (float64, bool) {
		if p.BurnRate1h == nil {
			return 0, false
		}
		return *p.BurnRate1h, true
	})
	hi := 2.0
	for _, v := range vs {
		hi = math.Max(hi, v*1.1)
	}
	p := newPlot("Burn rate over the hour before each point", from, to, 0, math.Ceil(hi))
	p.line(ts, vs, stepOf(points))
	p.ref(1, "1× spends the budget exactly over the period", "ref-objective")
	p.ticks(func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "×" })
	p.c.Summary = summary(vs, func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) + "×" }, "Burn rate")
	return p.c
}

// summary says in words what a chart shows.
func summary(vs []float64, format func(float64) string, what string) string {
	if len(vs) == 0 {
		return "No data in the period."
	}
	lo, hi := vs[0], vs[0]
	for _, v := range vs {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return what + " now " + format(vs[len(vs)-1]) + "; lowest " + format(lo) + ", highest " + format(hi) + " over the period."
}
