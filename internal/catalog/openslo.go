package catalog

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// openSLOKind reads OpenSLO SLO documents, v1 and Sloth's v1alpha.
var openSLOKind = docKind{
	apiVersions: []string{slo.SourceOpenSLO, slo.SourceOpenSLOAlpha},
	kind:        "SLO",
	family:      "OpenSLO", version: slo.SourceOpenSLO,
	read: func(p *docParser, h *header, res *fileResult) {
		res.foreign = append(res.foreign, p.openSLO(h.body, h.apiVersion)...)
	},
}

// openSLOIndicatorKind reads standalone OpenSLO SLI documents, which SLOs
// name in indicatorRef.
var openSLOIndicatorKind = docKind{
	apiVersions: []string{slo.SourceOpenSLO},
	kind:        "SLI",
	read: func(p *docParser, h *header, res *fileResult) {
		name, ratio := p.openSLOIndicator(h.body)
		if res.indicators == nil {
			res.indicators = map[string]*slo.Ratio{}
		}
		res.indicators[name] = ratio
	},
}

// openSLOOtherKinds accepts the other OpenSLO kinds (Service, AlertPolicy,
// ...): they carry nothing tsuna uses.
var openSLOOtherKinds = docKind{
	apiVersions: []string{slo.SourceOpenSLO, slo.SourceOpenSLOAlpha},
	read:        func(*docParser, *header, *fileResult) {},
}

// openSLO reads an OpenSLO SLO document (v1 or Sloth's v1alpha). Only the
// Occurrences budgeting method with a ratio indicator is supported.
func (p *docParser) openSLO(body ast.Node, version string) []foreignSLO {
	f := p.lenient(body, "OpenSLO SLO", []string{"apiVersion", "kind", "metadata", "spec"})
	o := &slo.SLO{Source: version, Window: slo.Window{Rolling: slo.Duration(slo.DefaultPeriod)}}
	if me, ok := f["metadata"]; ok && me.value != nil {
		mf := p.lenient(me.value, "metadata", []string{"name", "displayName", "labels", "annotations", "namespace"})
		if ne, ok := mf["name"]; ok {
			o.Name, _ = p.str(ne, "metadata.name")
		}
	}
	if o.Name == "" {
		p.errorf(p.pos(body), "OpenSLO SLO: missing metadata.name")
	}
	se, ok := f["spec"]
	if !ok || se.value == nil {
		p.errorf(p.pos(body), "OpenSLO SLO: missing spec")
		return nil
	}
	alpha := version == slo.SourceOpenSLOAlpha
	known := []string{"description", "service", "indicator", "indicatorRef", "timeWindow", "budgetingMethod", "objectives", "alertPolicies"}
	if alpha {
		known = []string{"description", "service", "budgetingMethod", "objectives", "timeWindows"}
	}
	sf := p.lenient(se.value, "spec", known)
	if ve, ok := sf["service"]; ok {
		o.Service, _ = p.str(ve, "spec.service")
		if o.Service == "" {
			p.errorf(p.valuePos(ve), "spec.service is empty, so the SLO would be dropped; name the service, such as service: checkout-api")
		}
	} else {
		p.errorf(p.valuePos(se), "spec: missing service")
	}
	if de, ok := sf["description"]; ok {
		o.Description, _ = p.str(de, "spec.description")
	}
	if be, ok := sf["budgetingMethod"]; ok {
		if m, _ := p.str(be, "spec.budgetingMethod"); m != "Occurrences" {
			p.errorf(p.valuePos(be), "budgetingMethod %q is not supported: tsuna counts events; use Occurrences", m)
		}
	}
	twKey := "timeWindow"
	if alpha {
		twKey = "timeWindows"
	}
	if te, ok := sf[twKey]; ok {
		o.Window = p.openSLOWindow(te, "spec."+twKey, alpha)
	}
	out := foreignSLO{slo: o, pos: p.pos(body)}
	var ratioNode *entry
	if !alpha {
		if ie, ok := sf["indicator"]; ok && ie.value != nil {
			inf := p.lenient(ie.value, "spec.indicator", []string{"metadata", "spec"})
			if is, ok := inf["spec"]; ok && is.value != nil {
				ratioNode = p.indicatorSpec(is, "spec.indicator.spec")
			}
		} else if re, ok := sf["indicatorRef"]; ok {
			out.indicatorRef, _ = p.str(re, "spec.indicatorRef")
			out.refPos = p.valuePos(re)
		} else {
			p.errorf(p.valuePos(se), "spec: give indicator or indicatorRef")
		}
	}
	oe, ok := sf["objectives"]
	items, _ := p.list(oe, "spec.objectives")
	if !ok || len(items) == 0 {
		p.errorf(p.valuePos(se), "spec: missing objectives")
		return nil
	}
	// Like Sloth, each objective is an SLO named after the document and its
	// index (always for v1alpha, as Sloth does; for v1 only when several).
	objKnown := []string{"displayName", "op", "value", "target", "targetPercent", "timeSliceTarget", "timeSliceWindow", "ratioMetric", "ratioMetrics", "indicator", "indicatorRef", "compositeWeight"}
	var result []foreignSLO
	for i, item := range items {
		what := fmt.Sprintf("spec.objectives[%d]", i)
		one := *o
		one.Labels = maps.Clone(o.Labels)
		if alpha || len(items) > 1 {
			one.Name = fmt.Sprintf("%s-%d", o.Name, i)
		}
		of := p.lenient(item, what, objKnown)
		if te, ok := of["target"]; ok {
			one.Objective = p.objective(te, what+".target", 100)
		} else if tp, ok := of["targetPercent"]; ok {
			one.Objective = p.objective(tp, what+".targetPercent", 1)
		} else {
			p.errorf(p.pos(item), "%s: missing target (such as target: 0.999)", what)
		}
		if alpha {
			if rm, ok := of["ratioMetrics"]; ok {
				one.SLI.Ratio = p.openSLORatio(rm, what+".ratioMetrics", true)
			} else {
				p.errorf(p.pos(item), "%s: missing ratioMetrics", what)
			}
		} else if ratioNode != nil && i == 0 {
			o.SLI.Ratio = p.openSLORatio(*ratioNode, "ratioMetric", false)
			one.SLI = o.SLI
		} else {
			one.SLI = o.SLI
		}
		r := out
		r.slo = &one
		if i > 0 {
			r.pos = p.pos(item)
		}
		result = append(result, r)
	}
	return result
}

// indicatorSpec returns the ratioMetric of an OpenSLO SLI spec.
func (p *docParser) indicatorSpec(e entry, what string) *entry {
	f := p.lenient(e.value, what, []string{"ratioMetric", "thresholdMetric"})
	if tm, ok := f["thresholdMetric"]; ok {
		p.errorf(tm.pos, "%s.thresholdMetric is not supported: tsuna counts good and total events; use ratioMetric", what)
		return nil
	}
	rm, ok := f["ratioMetric"]
	if !ok {
		p.errorf(p.valuePos(e), "%s: missing ratioMetric", what)
		return nil
	}
	return &rm
}

// openSLORatio reads good/bad/total queries of an OpenSLO ratio.
func (p *docParser) openSLORatio(e entry, what string, alpha bool) *slo.Ratio {
	f := p.lenient(e.value, what, []string{"good", "bad", "total", "counter", "incremental", "rawType"})
	r := &slo.Ratio{}
	get := func(name string) string {
		qe, ok := f[name]
		if !ok || qe.value == nil {
			return ""
		}
		var qf map[string]entry
		if alpha {
			qf = p.lenient(qe.value, what+"."+name, []string{"source", "queryType", "query", "metadata"})
		} else {
			mf := p.lenient(qe.value, what+"."+name, []string{"metricSource"})
			ms, ok := mf["metricSource"]
			if !ok {
				p.errorf(p.valuePos(qe), "%s.%s: missing metricSource", what, name)
				return ""
			}
			msf := p.lenient(ms.value, what+"."+name+".metricSource", []string{"type", "metricSourceRef", "spec"})
			spec, ok := msf["spec"]
			if !ok || spec.value == nil {
				p.errorf(p.valuePos(ms), "%s.%s.metricSource: missing spec.query", what, name)
				return ""
			}
			qf = p.lenient(spec.value, what+"."+name+".metricSource.spec", []string{"query"})
		}
		q, ok := qf["query"]
		if !ok {
			p.errorf(p.valuePos(qe), "%s.%s: missing query", what, name)
			return ""
		}
		return p.query(q, what+"."+name+".query", false)
	}
	r.Total = get("total")
	if _, ok := f["bad"]; ok {
		r.Errors = get("bad")
	} else {
		r.Good = get("good")
	}
	if r.Total == "" || (r.Good == "" && r.Errors == "") {
		if _, ok := f["total"]; !ok {
			p.errorf(p.valuePos(e), "%s: give good (or bad) and total", what)
		}
	}
	// OpenSLO queries rarely carry the placeholder. Counters (counter:
	// true) become rates over each window; gauges are read as per-second
	// rates already.
	counter := false
	if ce, ok := f["counter"]; ok {
		counter = p.boolean(ce, what+".counter")
	}
	for _, name := range []string{"total", "good", "bad"} {
		q := map[string]*string{"total": &r.Total, "good": &r.Good, "bad": &r.Errors}[name]
		if *q == "" || strings.Contains(*q, slo.WindowPlaceholder) {
			continue
		}
		if counter {
			rated, err := rateOf(*q)
			if err != nil {
				p.errorf(p.valuePos(e), "%s.%s: %v", what, name, err)
				continue
			}
			*q = rated
			continue
		}
		p.warnf(p.valuePos(e), "%s: queries without %s are read as per-second rates (counter is not true); tsuna sums them over each window", what, slo.WindowPlaceholder)
		break
	}
	return r
}

// openSLOWindow reads the first time window: rolling (duration or
// count/unit) or calendar.
func (p *docParser) openSLOWindow(e entry, what string, alpha bool) slo.Window {
	items, _ := p.list(e, what)
	if len(items) == 0 {
		return slo.Window{Rolling: slo.Duration(slo.DefaultPeriod)}
	}
	f := p.lenient(items[0], what+"[0]", []string{"duration", "count", "unit", "isRolling", "calendar"})
	var d time.Duration
	if de, ok := f["duration"]; ok {
		s, _ := p.str(de, what+"[0].duration")
		v, err := slo.ParseDuration(s)
		if !durationAtMost(s, MaxSLOWindow) {
			p.errorf(p.valuePos(de), "%s[0].duration %q is too long: use at most %s", what, s, slo.FormatDuration(MaxSLOWindow))
			return slo.Window{Rolling: slo.Duration(slo.DefaultPeriod)}
		} else if err != nil {
			p.errorf(p.valuePos(de), "%s[0].duration: %v", what, err)
		}
		d = v
		if strings.HasSuffix(s, "M") { // OpenSLO months
			d = 0
		}
	} else if ce, ok := f["count"]; ok {
		n, _ := p.number(ce, what+"[0].count")
		unit := "Day"
		if ue, ok := f["unit"]; ok {
			unit, _ = p.str(ue, what+"[0].unit")
		}
		days := map[string]float64{"Day": 1, "Week": 7}[unit]
		switch {
		case days == 0:
			p.errorf(p.pos(items[0]), "%s[0].unit %q: use Day or Week", what, unit)
		case n*days > float64(MaxSLOWindow/slo.Day):
			p.errorf(p.valuePos(ce), "%s[0].count %s %s is too long: use at most %s", what, formatNum(n), unit, slo.FormatDuration(MaxSLOWindow))
			return slo.Window{Rolling: slo.Duration(slo.DefaultPeriod)}
		default:
			d = time.Duration(n) * time.Duration(days) * slo.Day
		}
	}
	rolling := true
	if re, ok := f["isRolling"]; ok {
		rolling = p.boolean(re, what+"[0].isRolling")
	}
	if !rolling {
		w := slo.Window{Calendar: slo.CalendarMonth}
		if d == 7*slo.Day {
			w.Calendar = slo.CalendarWeek
		}
		if ce, ok := f["calendar"]; ok && ce.value != nil {
			cf := p.lenient(ce.value, what+"[0].calendar", []string{"startTime", "timeZone"})
			if te, ok := cf["timeZone"]; ok {
				w.TimeZone, _ = p.str(te, what+"[0].calendar.timeZone")
			}
		}
		return w
	}
	if d < slo.Day {
		p.errorf(p.pos(items[0]), "%s[0]: a rolling window of whole days is needed (such as duration: 28d)", what)
		return slo.Window{Rolling: slo.Duration(slo.DefaultPeriod)}
	}
	return slo.Window{Rolling: slo.Duration(d)}
}

// openSLOIndicator reads a standalone `kind: SLI` document for indicatorRef.
func (p *docParser) openSLOIndicator(body ast.Node) (string, *slo.Ratio) {
	f := p.lenient(body, "OpenSLO SLI", []string{"apiVersion", "kind", "metadata", "spec"})
	name := ""
	if me, ok := f["metadata"]; ok && me.value != nil {
		mf := p.lenient(me.value, "metadata", []string{"name", "displayName", "labels", "annotations"})
		if ne, ok := mf["name"]; ok {
			name, _ = p.str(ne, "metadata.name")
		}
	}
	se, ok := f["spec"]
	if !ok || name == "" {
		p.errorf(p.pos(body), "OpenSLO SLI: give metadata.name and spec")
		return "", nil
	}
	sf := p.lenient(se.value, "spec", []string{"description", "ratioMetric", "thresholdMetric"})
	if tm, ok := sf["thresholdMetric"]; ok {
		p.errorf(tm.pos, "SLI %q: thresholdMetric is not supported: use ratioMetric", name)
		return name, nil
	}
	rm, ok := sf["ratioMetric"]
	if !ok {
		p.errorf(p.valuePos(se), "SLI %q: missing ratioMetric", name)
		return name, nil
	}
	return name, p.openSLORatio(rm, "spec.ratioMetric", false)
}
