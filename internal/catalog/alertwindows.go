package catalog

import (
	"fmt"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// alertWindowsKind reads Sloth's AlertWindows documents: a team's own alert
// windows for one SLO period, used by every SLO of that period.
var alertWindowsKind = docKind{
	apiVersions: []string{slo.SourceSlothCRD},
	kind:        "AlertWindows",
	read: func(p *docParser, h *header, res *fileResult) {
		if ws := p.alertWindows(h.body); ws != nil {
			res.foreign = append(res.foreign, foreignSLO{windows: ws, pos: h.pos})
		}
	},
}

// alertWindows reads an AlertWindows document:
//
//	spec:
//	  sloPeriod: 7d
//	  page:   {quick: {errorBudgetPercent: 8, shortWindow: 5m, longWindow: 1h}, slow: ...}
//	  ticket: {quick: ..., slow: ...}
func (p *docParser) alertWindows(body ast.Node) *slo.WindowSet {
	f := p.lenient(body, "AlertWindows", []string{"apiVersion", "kind", "metadata", "spec"})
	se, ok := f["spec"]
	if !ok || se.value == nil {
		p.errorf(p.pos(body), "AlertWindows: missing spec; give spec.sloPeriod, spec.page and spec.ticket")
		return nil
	}
	sf, ok := p.fields(se.value, "spec", []string{"sloPeriod", "page", "ticket"})
	if !ok {
		return nil
	}
	ws := &slo.WindowSet{}
	pe, ok := sf["sloPeriod"]
	if !ok {
		p.errorf(p.valuePos(se), "spec: missing sloPeriod; give the SLO period these windows are for, such as sloPeriod: 30d")
		return nil
	}
	period := p.windowDuration(pe, "spec.sloPeriod", MaxSLOWindow)
	if period == 0 {
		return nil
	}
	if period < slo.Day || period%slo.Day != 0 {
		p.errorf(p.valuePos(pe), "spec.sloPeriod %s: use whole days, at least 1d (such as 7d, 28d or 30d)", slo.FormatDuration(period))
		return nil
	}
	ws.Period = slo.Duration(period)
	pos := p.pos(body)
	ws.Source = fmt.Sprintf("%s:%d", pos.File, pos.Line)
	good := true
	for _, sev := range slo.Severities {
		e, ok := sf[sev]
		if !ok || e.value == nil {
			p.errorf(p.valuePos(se), "spec: missing %s; give %s.quick and %s.slow", sev, sev, sev)
			good = false
			continue
		}
		vf, ok := p.fields(e.value, "spec."+sev, []string{"quick", "slow"})
		if !ok {
			good = false
			continue
		}
		for _, speed := range []string{"quick", "slow"} {
			what := "spec." + sev + "." + speed
			we, ok := vf[speed]
			if !ok || we.value == nil {
				p.errorf(p.valuePos(e), "spec.%s: missing %s; give errorBudgetPercent, shortWindow and longWindow", sev, speed)
				good = false
				continue
			}
			spec, ok := p.windowSpec(we, what, period)
			if !ok {
				good = false
				continue
			}
			spec.Severity, spec.Speed = sev, speed
			ws.Pairs = append(ws.Pairs, spec)
		}
	}
	if !good {
		return nil
	}
	return ws
}

// windowSpec reads one pair of windows and checks what makes an alert
// useless: a factor below 1 alerts on a burn that would never spend
// the budget (a warning: Sloth's own 7-day windows do so), windows longer
// than the period, a short window not shorter than the long one.
func (p *docParser) windowSpec(e entry, what string, period time.Duration) (slo.WindowSpec, bool) {
	var spec slo.WindowSpec
	f, ok := p.fields(e.value, what, []string{"errorBudgetPercent", "shortWindow", "longWindow"})
	if !ok {
		return spec, false
	}
	good := true
	if be, ok := f["errorBudgetPercent"]; !ok {
		p.errorf(p.valuePos(e), "%s: missing errorBudgetPercent; give the share of the period's budget this pair lets burn, such as 2", what)
		good = false
	} else if v, ok := p.number(be, what+".errorBudgetPercent"); ok {
		if v <= 0 || v > 100 {
			p.errorf(p.valuePos(be), "%s.errorBudgetPercent %s: give a percentage above 0 and at most 100", what, formatNum(v))
			good = false
		}
		spec.BudgetPercent = v
	} else {
		good = false
	}
	for _, k := range []string{"shortWindow", "longWindow"} {
		we, ok := f[k]
		if !ok {
			p.errorf(p.valuePos(e), "%s: missing %s, such as %s: 1h", what, k, k)
			good = false
			continue
		}
		d := p.windowDuration(we, what+"."+k, period)
		if d == 0 {
			good = false
			continue
		}
		if k == "shortWindow" {
			spec.Short = slo.Duration(d)
		} else {
			spec.Long = slo.Duration(d)
		}
	}
	if !good {
		return spec, false
	}
	if spec.Short >= spec.Long {
		p.errorf(p.valuePos(f["shortWindow"]), "%s.shortWindow %s is not shorter than longWindow %s; the short window (about 1/12 of the long one) ends the alert once errors stop",
			what, slo.FormatDuration(time.Duration(spec.Short)), slo.FormatDuration(time.Duration(spec.Long)))
		return spec, false
	}
	if factor := spec.BudgetPercent / 100 * float64(period) / float64(spec.Long); factor < 1 {
		p.warnf(p.valuePos(f["errorBudgetPercent"]), "%s: %s%% of a %s budget over %s is a burn factor of %s, below 1: it alerts on a burn that would not spend the budget in the period; raise errorBudgetPercent above %s",
			what, formatNum(spec.BudgetPercent), slo.FormatDuration(period), slo.FormatDuration(time.Duration(spec.Long)),
			formatNum(slo.Round(factor, 4)), formatNum(slo.Round(100*float64(spec.Long)/float64(period), 2)))
	}
	return spec, true
}

// windowDuration reads a duration of at most limit; 0 after an error.
func (p *docParser) windowDuration(e entry, what string, limit time.Duration) time.Duration {
	s, ok := p.str(e, what)
	if !ok {
		return 0
	}
	if !durationAtMost(s, limit) {
		p.errorf(p.valuePos(e), "%s %q is longer than %s", what, s, slo.FormatDuration(limit))
		return 0
	}
	d, err := slo.ParseDuration(s)
	if err != nil {
		p.errorf(p.valuePos(e), "%s: %v", what, err)
		return 0
	}
	if d <= 0 {
		p.errorf(p.valuePos(e), "%s must be above 0", what)
		return 0
	}
	if d > limit {
		p.errorf(p.valuePos(e), "%s %q is longer than %s", what, s, slo.FormatDuration(limit))
		return 0
	}
	return d
}

// linkAlertWindows gives every SLO whose period has an AlertWindows
// document those windows, reporting two documents for one period.
func (d *checker) linkAlertWindows(c *Catalog, foreign []foreignSLO) {
	byPeriod := map[slo.Duration]foreignSLO{}
	for _, f := range foreign {
		if f.windows == nil {
			continue
		}
		if first, dup := byPeriod[f.windows.Period]; dup {
			d.errorf(f.pos, "AlertWindows for a %s period are declared twice: here and at %s; keep one",
				slo.FormatDuration(time.Duration(f.windows.Period)), first.pos)
			continue
		}
		byPeriod[f.windows.Period] = f
		c.AlertWindows = append(c.AlertWindows, f.windows)
	}
	c.linkWindows()
}

// linkWindows gives every SLO the AlertWindows of its period, if any.
func (c *Catalog) linkWindows() {
	for _, o := range c.SLOs {
		o.AlertWindows = nil
		for _, ws := range c.AlertWindows {
			if time.Duration(ws.Period) == o.Window.Length() {
				o.AlertWindows = ws
			}
		}
	}
}

// SetDefaultPeriod sets the period of the SLOs whose spec cannot give one
// (Sloth's, as sloth generate --default-slo-period does), and gives each
// SLO the AlertWindows of its period.
func (c *Catalog) SetDefaultPeriod(d time.Duration) {
	for _, o := range c.SLOs {
		if o.Source == slo.SourceSloth || o.Source == slo.SourceSlothCRD {
			o.Window = slo.Window{Rolling: slo.Duration(d)}
		}
	}
	c.linkWindows()
}

// checkRoutingLabels warns where the labels a foreign SLO sets on its
// alerts (on the alert, a severity, or the SLO's series) name a service or
// team the catalog does not have: they win over tsuna's, so routing uses
// them.
func (d *checker) checkRoutingLabels(c *Catalog, f foreignSLO) {
	if len(c.Services) == 0 || f.slo == nil {
		return
	}
	o := f.slo
	for _, labels := range []map[string]string{o.Labels, o.Alerting.Labels, o.Alerting.Page.Labels, o.Alerting.Ticket.Labels} {
		if v, ok := labels["service"]; ok && v != o.Service && c.Service(v) == nil {
			d.warnf(f.pos, "SLO %q sets label service=%q, which names no service of the catalog: its alerts keep the label you set and are routed by it, so they reach the fallback channel; name a catalog service or remove the label", o.Name, v)
			return
		}
		if v, ok := labels["team"]; ok && c.Team(v) == nil {
			d.warnf(f.pos, "SLO %q sets label team=%q, which names no team of the catalog: its alerts keep the label you set and are routed by it; name a catalog team or remove the label", o.Name, v)
			return
		}
	}
}
