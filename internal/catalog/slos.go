package catalog

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// foreignSLO is an SLO read from a foreign spec, with where it was declared.
type foreignSLO struct {
	slo *slo.SLO
	pos Pos
	// indicatorRef names an OpenSLO SLI document to resolve later.
	indicatorRef string
	refPos       Pos
	// windows, when set, is an AlertWindows document, not an SLO.
	windows *slo.WindowSet
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
	if sn, ok := e.value.(*ast.StringNode); ok && strings.HasSuffix(strings.TrimSpace(sn.Value), "%") {
		num := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(sn.Value), "%"))
		if scale == 1 {
			p.errorf(p.valuePos(e), "%s %q: write the percentage as a number without the %% sign: %s: %s", what, sn.Value, e.key, num)
		} else {
			p.errorf(p.valuePos(e), "%s %q: write a ratio, a number between 0 and 1 without the %% sign (99.5%% is %s: 0.995)", what, sn.Value, e.key)
		}
		return 0
	}
	v, ok := p.number(e, what)
	if !ok {
		return 0
	}
	if scale == 1 && v > 0 && v <= 1 {
		p.errorf(p.valuePos(e), "%s %s is a percentage: it reads as %s%%, whose error budget is over 99%% and whose alerts can never fire; write %s: %s",
			what, formatNum(v), formatNum(v), e.key, formatNum(slo.Round(v*100, 9)))
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

// durationAtMost reports whether s, a duration as slo.ParseDuration reads
// it, is at most limit. slo.ParseDuration wraps around past the range of
// time.Duration, so a huge value must be caught before its result is used.
// It reports true for what is not a duration: slo.ParseDuration says why.
func durationAtMost(s string, limit time.Duration) bool {
	units := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": slo.Day, "w": 7 * slo.Day, "y": 365 * slo.Day}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		j := i
		for j < len(s) && (s[j] < '0' || s[j] > '9') {
			j++
		}
		unit, ok := units[s[i:j]]
		if i == 0 || !ok {
			return true
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n > int64((limit-total)/unit) {
			return false
		}
		total += time.Duration(n) * unit
		s = s[j:]
	}
	return true
}

// window reads `28d` or `{calendar: month, timeZone: Europe/Paris}`.
func (p *docParser) window(e entry, what string) slo.Window {
	if _, ok := e.value.(*ast.StringNode); ok {
		s, _ := p.str(e, what)
		d, err := slo.ParseDuration(s)
		switch {
		case !durationAtMost(s, MaxSLOWindow):
			p.errorf(p.valuePos(e), "%s %q is too long: use at most %s (28d and 30d are usual)", what, s, slo.FormatDuration(MaxSLOWindow))
		case err != nil:
			p.errorf(p.valuePos(e), "%s: %v", what, err)
		case d < MinSLOWindow || d%slo.Day != 0:
			p.errorf(p.valuePos(e), "%s %q: use whole days, at least 1d (28d and 30d are usual)", what, s)
		default:
			if want := slo.FormatDuration(d); want != s {
				p.warnf(p.valuePos(e), "%s %q: write periods in days, as %s: %s (read as %s)", what, s, e.key, want, want)
			}
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
