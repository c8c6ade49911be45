package catalog

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// promql parses PromQL; the package-level parser is safe for concurrent use.
var promql = parser.NewParser(parser.Options{})

// foreignSLO is an SLO read from a foreign spec, with where it was declared.
type foreignSLO struct {
	slo *slo.SLO
	pos Pos
	// indicatorRef names an OpenSLO SLI document to resolve later.
	indicatorRef string
	refPos       Pos
}

// number reads an integer or float field.
func (p *docParser) number(e entry, what string) (float64, bool) {
	switch v := e.value.(type) {
	case *ast.IntegerNode:
		switch n := v.Value.(type) {
		case int64:
			return float64(n), true
		case uint64:
			return float64(n), true
		}
	case *ast.FloatNode:
		return v.Value, true
	}
	hint := ""
	if sn, ok := e.value.(*ast.StringNode); ok {
		hint = fmt.Sprintf("; remove the quotes: %s: %s", e.key, sn.Value)
	}
	p.errorf(p.valuePos(e), "%s must be a number, got %s%s", what, describe(e.value), hint)
	return 0, false
}

func (p *docParser) boolean(e entry, what string) bool {
	if b, ok := e.value.(*ast.BoolNode); ok {
		return b.Value
	}
	if e.value != nil {
		p.errorf(p.valuePos(e), "%s must be true or false, got %s", what, describe(e.value))
	}
	return false
}

// stringMap reads a mapping of strings, such as labels or annotations.
func (p *docParser) stringMap(e entry, what string) map[string]string {
	if e.value == nil {
		return nil
	}
	pairs, ok := mappingPairs(e.value)
	if !ok {
		p.errorf(p.valuePos(e), "%s must be a mapping of name: value, got %s", what, describe(e.value))
		return nil
	}
	out := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		key := kv.Key.String()
		v, ok := p.str(entry{key: key, pos: p.pos(kv.Key), value: p.unwrap(kv.Value)}, what+"."+key)
		if ok {
			out[key] = v
		}
	}
	return p.intern(out)
}

// intern returns a map equal to m that an earlier call returned, if any.
// Specs repeat the same small maps (severity: critical) in every SLO; the
// maps of an SLO are never modified after parsing, so they can be shared.
func (p *docParser) intern(m map[string]string) map[string]string {
	if len(m) == 0 || len(m) > 4 {
		return m
	}
	keys := slices.Sorted(maps.Keys(m))
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	if p.interned == nil {
		p.interned = map[string]map[string]string{}
	}
	if shared, ok := p.interned[b.String()]; ok {
		return shared
	}
	p.interned[b.String()] = m
	return m
}

// labelMap reads labels that go on Prometheus series: names must be valid.
func (p *docParser) labelMap(e entry, what string) map[string]string {
	m := p.stringMap(e, what)
	if pairs, ok := mappingPairs(e.value); ok {
		for _, kv := range pairs {
			if key := kv.Key.String(); !labelNameRE.MatchString(key) {
				p.errorf(p.pos(kv.Key), "%s name %q is not a Prometheus label name; use letters, digits and '_', not starting with a digit", what, key)
				delete(m, key)
			}
		}
	}
	return m
}

// query reads a PromQL field holding the {{.window}} placeholder and checks
// its syntax with the window replaced, reporting an error at its position in
// the file.
func (p *docParser) query(e entry, what string, needWindow bool) string {
	q, ok := p.str(e, what)
	if !ok {
		return ""
	}
	if strings.TrimSpace(q) == "" {
		p.errorf(p.valuePos(e), "%s is empty; write a PromQL expression", what)
		return ""
	}
	if needWindow && !strings.Contains(q, slo.WindowPlaceholder) {
		p.errorf(p.valuePos(e), "%s has no %s placeholder; write the range as [%s] so tsuna can compute each alert window", what, slo.WindowPlaceholder, slo.WindowPlaceholder)
		return ""
	}
	if _, err := promql.ParseExpr(strings.ReplaceAll(q, slo.WindowPlaceholder, "5m")); err != nil {
		// Only now map the error's offset back to the text as written.
		_, offsets := expandWindow(q)
		var perrs parser.ParseErrors
		off := 0
		msg := err.Error()
		if errors.As(err, &perrs) && len(perrs) > 0 {
			off = int(perrs[0].PositionRange.Start)
			msg = perrs[0].Err.Error()
			if off >= 0 && off < len(offsets) {
				off = offsets[off]
			} else {
				off = len(q)
			}
		}
		p.errorf(p.offsetPos(e, q, off), "%s is not valid PromQL: %s", what, msg)
		return ""
	}
	return strings.TrimSpace(q)
}

// expandWindow replaces the placeholder with 5m and returns, for each byte
// of the result, its offset in q.
func expandWindow(q string) (string, []int) {
	var b strings.Builder
	var offsets []int
	for i := 0; i < len(q); {
		if strings.HasPrefix(q[i:], slo.WindowPlaceholder) {
			b.WriteString("5m")
			offsets = append(offsets, i, i)
			i += len(slo.WindowPlaceholder)
			continue
		}
		b.WriteByte(q[i])
		offsets = append(offsets, i)
		i++
	}
	return b.String(), offsets
}

// offsetPos is the position in the file of byte off of the string value of e.
func (p *docParser) offsetPos(e entry, value string, off int) Pos {
	start := p.valuePos(e)
	// An error at the end points at the last character, not past a final newline.
	off = min(off, len(strings.TrimRight(value, "\n")))
	before := value[:off]
	if lit, ok := e.value.(*ast.LiteralNode); ok && lit.Value != nil {
		// A block scalar starts on the line after its indicator (| or >).
		line := start.Line + 1 + strings.Count(before, "\n")
		indent := len(p.lines.line(start.Line+1)) - len(strings.TrimLeft(p.lines.line(start.Line+1), " "))
		col := indent + 1 + len(before) - (strings.LastIndex(before, "\n") + 1)
		return Pos{File: start.File, Line: line, Column: col}
	}
	if strings.Contains(before, "\n") {
		return start // a folded plain scalar: no exact column
	}
	if tk := e.value.GetToken(); tk != nil && (tk.Type == token.DoubleQuoteType || tk.Type == token.SingleQuoteType) {
		start.Column++ // the opening quote
	}
	start.Column += len(before)
	return start
}

var (
	sloFields      = []string{"name", "description", "objective", "window", "sli", "alerting"}
	sliFields      = []string{"ratio", "latency", "events", "raw"}
	alertingFields = []string{"name", "labels", "annotations", "page", "ticket", "minEvents"}
	alertFields    = []string{"disabled", "labels", "annotations"}
)

// serviceSLOs reads the slos of a tsuna Service.
func (p *docParser) serviceSLOs(e entry, s *Service) {
	items, _ := p.list(e, "slos")
	seen := map[string]int{}
	for i, it := range items {
		what := fmt.Sprintf("slos[%d]", i)
		f, ok := p.fields(it, what, sloFields)
		if !ok {
			continue
		}
		o := &slo.SLO{Service: s.Name, Source: slo.SourceTsuna, Window: slo.Window{Rolling: slo.Duration(slo.DefaultPeriod)}}
		if ne, ok := f["name"]; !ok || ne.value == nil {
			p.errorf(p.pos(it), "%s: missing name; add `name: availability` (or another lowercase name)", what)
		} else if n, ok := p.str(ne, what+".name"); ok {
			if !validName(n) {
				p.errorf(p.valuePos(ne), "invalid SLO name %q: use lowercase letters, digits and '-' (such as %q)", n, suggestName(n))
			} else if first, dup := seen[n]; dup {
				p.errorf(p.valuePos(ne), "SLO %q is declared twice in service %q (first at slos[%d]); rename one", n, s.Name, first)
			}
			seen[n] = i
			o.Name = n
		}
		if de, ok := f["description"]; ok {
			o.Description, _ = p.str(de, what+".description")
		}
		if oe, ok := f["objective"]; !ok || oe.value == nil {
			p.errorf(p.pos(it), "%s: missing objective; add `objective: 99.9` (percent of good events)", what)
		} else {
			o.Objective = p.objective(oe, what+".objective", 1)
		}
		if we, ok := f["window"]; ok && we.value != nil {
			o.Window = p.window(we, what+".window")
		}
		if se, ok := f["sli"]; !ok || se.value == nil {
			p.errorf(p.pos(it), "%s: missing sli; add `sli:` with one of ratio, latency or events", what)
		} else {
			o.SLI = p.sli(se, what+".sli")
		}
		if ae, ok := f["alerting"]; ok && ae.value != nil {
			o.Alerting = p.alerting(ae, what+".alerting", o)
		}
		s.SLOs = append(s.SLOs, o)
	}
}

// objective reads a percentage, or with scale 100 a ratio (OpenSLO targets).
func (p *docParser) objective(e entry, what string, scale float64) float64 {
	v, ok := p.number(e, what)
	if !ok {
		return 0
	}
	pct := v * scale
	if pct <= 0 || pct >= 100 {
		if scale == 1 {
			p.errorf(p.valuePos(e), "%s %s is out of range: write a percentage above 0 and below 100, such as 99.9", what, formatNum(v))
		} else {
			p.errorf(p.valuePos(e), "%s %s is out of range: write a ratio above 0 and below 1, such as 0.999", what, formatNum(v))
		}
		return 0
	}
	return pct
}

func formatNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// window reads `28d` or `{calendar: month, timeZone: Europe/Paris}`.
func (p *docParser) window(e entry, what string) slo.Window {
	if _, ok := e.value.(*ast.StringNode); ok {
		s, _ := p.str(e, what)
		d, err := slo.ParseDuration(s)
		switch {
		case err != nil:
			p.errorf(p.valuePos(e), "%s: %v", what, err)
		case d < slo.Day || d%slo.Day != 0:
			p.errorf(p.valuePos(e), "%s %q: use whole days, at least 1d (28d and 30d are usual)", what, s)
		default:
			return slo.Window{Rolling: slo.Duration(d)}
		}
		return slo.Window{}
	}
	f, ok := p.fields(e.value, what, []string{"calendar", "timeZone"})
	if !ok {
		return slo.Window{}
	}
	var w slo.Window
	if ce, ok := f["calendar"]; !ok {
		p.errorf(p.valuePos(e), "%s: write a rolling window such as `window: 28d`, or `window: {calendar: month}`", what)
	} else if c, ok := p.str(ce, what+".calendar"); ok {
		if c != slo.CalendarMonth && c != slo.CalendarWeek {
			p.errorf(p.valuePos(ce), "%s.calendar %q: use month or week", what, c)
		}
		w.Calendar = c
	}
	if te, ok := f["timeZone"]; ok {
		if tz, ok := p.str(te, what+".timeZone"); ok {
			if _, err := time.LoadLocation(tz); err != nil {
				p.errorf(p.valuePos(te), "%s.timeZone %q is not a time zone; use an IANA name such as Europe/Paris or UTC", what, tz)
			}
			w.TimeZone = tz
		}
	}
	return w
}

func (p *docParser) sli(e entry, what string) slo.SLI {
	f, ok := p.fields(e.value, what, sliFields)
	if !ok {
		return slo.SLI{}
	}
	var out slo.SLI
	n := 0
	for _, k := range sliFields {
		if _, ok := f[k]; ok {
			n++
		}
	}
	if n != 1 {
		p.errorf(p.valuePos(e), "%s: give exactly one of ratio, latency or events (found %d)", what, n)
		return out
	}
	if re, ok := f["ratio"]; ok {
		rf, ok := p.fields(re.value, what+".ratio", []string{"errors", "good", "total"})
		if !ok {
			return out
		}
		r := &slo.Ratio{}
		ee, hasErr := rf["errors"]
		ge, hasGood := rf["good"]
		switch {
		case hasErr == hasGood:
			p.errorf(p.valuePos(re), "%s.ratio: give errors or good (not both), and total", what)
		case hasErr:
			r.Errors = p.query(ee, what+".ratio.errors", true)
		default:
			r.Good = p.query(ge, what+".ratio.good", true)
		}
		if te, ok := rf["total"]; !ok {
			p.errorf(p.valuePos(re), "%s.ratio: missing total; add the PromQL of all events", what)
		} else {
			r.Total = p.query(te, what+".ratio.total", true)
		}
		out.Ratio = r
	}
	if le, ok := f["latency"]; ok {
		lf, ok := p.fields(le.value, what+".latency", []string{"metric", "threshold", "selector"})
		if !ok {
			return out
		}
		l := &slo.Latency{}
		if me, ok := lf["metric"]; !ok {
			p.errorf(p.valuePos(le), "%s.latency: missing metric; name the histogram, such as http_request_duration_seconds", what)
		} else if m, ok := p.str(me, what+".latency.metric"); ok {
			if !metricNameRE.MatchString(m) || strings.HasSuffix(m, "_bucket") || strings.HasSuffix(m, "_count") {
				p.errorf(p.valuePos(me), "%s.latency.metric %q: give the histogram's base name, without _bucket or _count", what, m)
			}
			l.Metric = m
		}
		if th, ok := lf["threshold"]; !ok {
			p.errorf(p.valuePos(le), "%s.latency: missing threshold; give the slowest good request in seconds, one of the histogram's le buckets (such as 0.25)", what)
		} else if v, ok := p.number(th, what+".latency.threshold"); ok {
			if v <= 0 {
				p.errorf(p.valuePos(th), "%s.latency.threshold must be above 0 seconds", what)
			}
			l.Threshold = v
		}
		if se, ok := lf["selector"]; ok {
			if sel, ok := p.str(se, what+".latency.selector"); ok && sel != "" {
				if _, err := promql.ParseMetricSelector(sel); err != nil || !strings.HasPrefix(strings.TrimSpace(sel), "{") {
					p.errorf(p.valuePos(se), "%s.latency.selector %q is not a label selector; write it as {job=\"checkout\"}", what, sel)
				}
				l.Selector = sel
			}
		}
		out.Latency = l
	}
	if ev, ok := f["events"]; ok {
		if ev.value != nil {
			if pairs, ok := mappingPairs(ev.value); !ok || len(pairs) > 0 {
				p.errorf(p.valuePos(ev), "%s.events takes no fields: write `events: {}` and push counts to the tsuna API", what)
			}
		}
		out.Events = &struct{}{}
	}
	if ra, ok := f["raw"]; ok {
		out.Raw = p.query(ra, what+".raw", true)
	}
	return out
}

func (p *docParser) alerting(e entry, what string, o *slo.SLO) slo.Alerting {
	f, ok := p.fields(e.value, what, alertingFields)
	if !ok {
		return slo.Alerting{}
	}
	var a slo.Alerting
	if ne, ok := f["name"]; ok {
		if n, ok := p.str(ne, what+".name"); ok && n != "" {
			if !metricNameRE.MatchString(n) {
				p.errorf(p.valuePos(ne), "%s.name %q is not a valid alert name; use letters, digits and '_'", what, n)
			}
			a.Name = n
		}
	}
	if le, ok := f["labels"]; ok {
		a.Labels = p.labelMap(le, what+".labels")
	}
	if ae, ok := f["annotations"]; ok {
		a.Annotations = p.stringMap(ae, what+".annotations")
	}
	for _, sev := range []string{"page", "ticket"} {
		se, ok := f[sev]
		if !ok || se.value == nil {
			continue
		}
		sf, ok := p.fields(se.value, what+"."+sev, alertFields)
		if !ok {
			continue
		}
		spec := p.alertSpec(sf, what+"."+sev, "disabled")
		if sev == "page" {
			a.Page = spec
		} else {
			a.Ticket = spec
		}
	}
	if me, ok := f["minEvents"]; ok {
		if v, ok := p.number(me, what+".minEvents"); ok {
			if v < 0 {
				p.errorf(p.valuePos(me), "%s.minEvents must be 0 or more", what)
			}
			a.MinEvents = v
		}
	}
	return a
}

// alertSpec reads the settings of one severity of alerts, in tsuna's
// format or Sloth's: they differ in the name of the switch, disabledKey.
func (p *docParser) alertSpec(f map[string]entry, what, disabledKey string) slo.AlertSpec {
	var spec slo.AlertSpec
	if de, ok := f[disabledKey]; ok {
		spec.Disabled = p.boolean(de, what+"."+disabledKey)
	}
	if le, ok := f["labels"]; ok {
		spec.Labels = p.labelMap(le, what+".labels")
	}
	if an, ok := f["annotations"]; ok {
		spec.Annotations = p.stringMap(an, what+".annotations")
	}
	return spec
}

// --- Foreign formats -------------------------------------------------------

// sloth reads a Sloth spec: `version: prometheus/v1`, or the Kubernetes
// PrometheusServiceLevel with camelCase fields under spec. Fields tsuna
// does not use are warnings, so every Sloth spec still loads.
func (p *docParser) sloth(body ast.Node, crd bool) []foreignSLO {
	k := func(snake, camel string) string {
		if crd {
			return camel
		}
		return snake
	}
	root := body
	if crd {
		f := p.lenient(body, "PrometheusServiceLevel", []string{"apiVersion", "kind", "metadata", "spec"})
		se, ok := f["spec"]
		if !ok || se.value == nil {
			p.errorf(p.pos(body), "PrometheusServiceLevel: missing spec")
			return nil
		}
		root = se.value
	}
	f := p.lenient(root, "Sloth spec", []string{"version", "service", "labels", k("slo_plugins", "sloPlugins"), "slos"})
	var service string
	if se, ok := f["service"]; !ok || se.value == nil {
		p.errorf(p.pos(root), "Sloth spec: missing service; add `service: <service name>`")
		return nil
	} else if service, ok = p.str(se, "service"); !ok {
		return nil
	}
	var labels map[string]string
	if le, ok := f["labels"]; ok {
		labels = p.labelMap(le, "labels")
	}
	source := slo.SourceSloth
	if crd {
		source = slo.SourceSlothCRD
	}
	se, ok := f["slos"]
	if !ok {
		p.errorf(p.pos(root), "Sloth spec: missing slos")
		return nil
	}
	items, _ := p.list(se, "slos")
	var out []foreignSLO
	for i, it := range items {
		what := fmt.Sprintf("slos[%d]", i)
		sf := p.lenient(it, what, []string{"name", "objective", "description", "labels", "sli", "alerting", k("plugins", "plugins")})
		o := &slo.SLO{Service: service, Source: source, Labels: labels, Window: slo.Window{Rolling: slo.Duration(slo.DefaultPeriod)}}
		if ne, ok := sf["name"]; ok {
			o.Name, _ = p.str(ne, what+".name")
		}
		if o.Name == "" {
			p.errorf(p.pos(it), "%s: missing name", what)
		}
		if oe, ok := sf["objective"]; ok {
			o.Objective = p.objective(oe, what+".objective", 1)
		} else {
			p.errorf(p.pos(it), "%s: missing objective; add `objective: 99.9`", what)
		}
		if de, ok := sf["description"]; ok {
			o.Description, _ = p.str(de, what+".description")
		}
		if le, ok := sf["labels"]; ok {
			own := p.labelMap(le, what+".labels")
			merged := make(map[string]string, len(labels)+len(own))
			maps.Copy(merged, labels)
			maps.Copy(merged, own)
			o.Labels = merged // the service's labels are shared by the SLOs without their own
		}
		if sle, ok := sf["sli"]; !ok || sle.value == nil {
			p.errorf(p.pos(it), "%s: missing sli", what)
		} else {
			lf := p.lenient(sle.value, what+".sli", []string{"events", "raw", "plugin"})
			if ev, ok := lf["events"]; ok {
				ef := p.lenient(ev.value, what+".sli.events", []string{k("error_query", "errorQuery"), k("total_query", "totalQuery")})
				r := &slo.Ratio{}
				if q, ok := ef[k("error_query", "errorQuery")]; ok {
					r.Errors = p.query(q, what+".sli.events."+q.key, true)
				}
				if q, ok := ef[k("total_query", "totalQuery")]; ok {
					r.Total = p.query(q, what+".sli.events."+q.key, true)
				}
				if r.Errors == "" && r.Total == "" && len(ef) < 2 {
					p.errorf(p.valuePos(ev), "%s.sli.events: give %s and %s", what, k("error_query", "errorQuery"), k("total_query", "totalQuery"))
				}
				o.SLI.Ratio = r
			} else if raw, ok := lf["raw"]; ok {
				rf := p.lenient(raw.value, what+".sli.raw", []string{k("error_ratio_query", "errorRatioQuery")})
				if q, ok := rf[k("error_ratio_query", "errorRatioQuery")]; ok {
					o.SLI.Raw = p.query(q, what+".sli.raw."+q.key, true)
				} else {
					p.errorf(p.valuePos(raw), "%s.sli.raw: give %s", what, k("error_ratio_query", "errorRatioQuery"))
				}
			} else if pl, ok := lf["plugin"]; ok {
				p.errorf(p.valuePos(pl), "%s.sli.plugin: Sloth SLI plugins are not supported; write the SLI as events or raw", what)
			} else {
				p.errorf(p.valuePos(sle), "%s.sli: give events or raw", what)
			}
		}
		if ae, ok := sf["alerting"]; ok && ae.value != nil {
			af := p.lenient(ae.value, what+".alerting", []string{"name", "labels", "annotations", k("page_alert", "pageAlert"), k("ticket_alert", "ticketAlert")})
			if ne, ok := af["name"]; ok {
				o.Alerting.Name, _ = p.str(ne, what+".alerting.name")
			}
			if le, ok := af["labels"]; ok {
				o.Alerting.Labels = p.labelMap(le, what+".alerting.labels")
			}
			if an, ok := af["annotations"]; ok {
				o.Alerting.Annotations = p.stringMap(an, what+".alerting.annotations")
			}
			for _, sev := range []string{"page", "ticket"} {
				key := k(sev+"_alert", sev+"Alert")
				se, ok := af[key]
				if !ok || se.value == nil {
					continue
				}
				sf := p.lenient(se.value, what+".alerting."+key, []string{"disable", "labels", "annotations"})
				spec := p.alertSpec(sf, what+".alerting."+key, "disable")
				if sev == "page" {
					o.Alerting.Page = spec
				} else {
					o.Alerting.Ticket = spec
				}
			}
		}
		out = append(out, foreignSLO{slo: o, pos: p.pos(it)})
	}
	return out
}

// lenient reads a mapping's fields; unknown ones are warnings, not errors:
// foreign formats grow fields tsuna does not need.
func (p *docParser) lenient(n ast.Node, what string, known []string) map[string]entry {
	pairs, ok := mappingPairs(n)
	if !ok {
		p.errorf(p.pos(n), "%s must be a mapping, got %s", what, describe(n))
		return map[string]entry{}
	}
	out := map[string]entry{}
	for _, kv := range pairs {
		key := kv.Key.String()
		if !slices.Contains(known, key) {
			p.warnf(p.pos(kv.Key), "field %q of %s is not used by tsuna and is ignored%s", key, what, didYouMean(key, known))
			continue
		}
		v := p.unwrap(kv.Value)
		if _, ok := v.(*ast.NullNode); ok {
			v = nil
		}
		out[key] = entry{key: key, pos: p.pos(kv.Key), value: v}
	}
	return out
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
	// OpenSLO queries rarely carry the placeholder: use them as rates over 5m.
	for _, q := range []*string{&r.Total, &r.Good, &r.Errors} {
		if *q != "" && !strings.Contains(*q, slo.WindowPlaceholder) {
			p.warnf(p.valuePos(e), "%s: queries without %s are read as per-second rates; tsuna sums them over each window", what, slo.WindowPlaceholder)
			break
		}
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
		if err != nil {
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
		switch unit {
		case "Day":
			d = time.Duration(n) * slo.Day
		case "Week":
			d = time.Duration(n) * 7 * slo.Day
		default:
			p.errorf(p.pos(items[0]), "%s[0].unit %q: use Day or Week", what, unit)
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

var metricNameRE = labelNameRE
