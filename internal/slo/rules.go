package slo

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Groups []RuleGroup `yaml:"groups"`
}

// RuleGroup is a named group of rules, evaluated in order every Interval
// (Prometheus's evaluation_interval when empty).
type RuleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is a recording or an alerting rule.
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// Series names. They follow Sloth's, so dashboards built for Sloth work.
const (
	// SeriesErrors and SeriesTotal are the recorded 5-minute rates of
	// bad and all events, by sloth_id, recorded every RatesInterval: the
	// samples tile time, so sums over a window weigh each moment by its
	// traffic, and a 30-day window reads 8,640 samples, not 43,200.
	SeriesErrors = "slo:sli_errors:rate5m"
	SeriesTotal  = "slo:sli_total:rate5m"
	// RatesInterval is how often SeriesErrors and SeriesTotal are recorded.
	RatesInterval = "5m"
	// SeriesRatioPrefix, followed by a window ("5m", "30d"), names the
	// recorded error ratio over that window.
	SeriesRatioPrefix = "slo:sli_error:ratio_rate"
)

// Options change the rules generated, as the flags of sloth generate do.
type Options struct {
	// ExtraLabels go on every rule; they win over the SLO's labels, as
	// sloth generate --extra-labels does.
	ExtraLabels map[string]string
	// DisableRecordings leaves out the SLI and metadata recordings (the
	// alerts then need them from elsewhere); DisableAlerts the alerts.
	DisableRecordings, DisableAlerts bool
	// GroupPrefix starts every group name: DefaultGroupPrefix gives
	// Sloth's names (sloth-slo-sli-recordings-<id>).
	GroupPrefix string
}

// DefaultGroupPrefix makes group names Sloth's.
const DefaultGroupPrefix = "sloth-"

// Windows returns every window an SLO's rules record: 5m (the current
// burn rate), the alert windows, then the period, sorted, without
// duplicates.
func (s *SLO) Windows() []time.Duration { return s.windows(s.BurnWindows()) }

// windows is Windows for the alert windows burn of s.
func (s *SLO) windows(burn []BurnWindow) []time.Duration {
	ws := make([]time.Duration, 1, 2*len(burn)+2)
	ws[0] = 5 * time.Minute
	for _, bw := range burn {
		ws = append(ws, bw.Short, bw.Long)
	}
	if s.Window.Calendar == "" {
		ws = append(ws, s.Window.Length())
	}
	slices.Sort(ws)
	return slices.Compact(ws)
}

// baseLabels are on every rule of s: its labels, the extra ones (which
// win), and the identifying ones (which win over both).
func (s *SLO) baseLabels(extra map[string]string) *labelSet {
	l := make(map[string]string, len(s.Labels)+len(extra)+3)
	maps.Copy(l, s.Labels)
	maps.Copy(l, extra)
	l["sloth_id"] = s.ID()
	l["sloth_service"] = s.Service
	l["sloth_slo"] = s.Name
	set := setOf(l)
	return &set
}

// selector matches the series of s.
func (s *SLO) selector() string {
	return `{sloth_id="` + s.ID() + `", sloth_service="` + s.Service + `", sloth_slo="` + s.Name + `"}`
}

// with is base with the labels kv (name, value, name, value…), which win.
func with(base *labelSet, kv ...string) ruleLabels {
	add := make(labelSet, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		add = append(add, label{kv[i], kv[i+1]})
	}
	slices.SortFunc(add, func(a, b label) int { return strings.Compare(a.name, b.name) })
	return ruleLabels{shared: base, add: add}
}

// Queries returns the PromQL of bad events and all events over window w,
// for SLIs that count events.
func (s *SLO) Queries(w time.Duration) (errors, total string, ok bool) {
	switch {
	case s.SLI.Ratio != nil:
		r := s.SLI.Ratio
		total = Expand(r.Total, w)
		if r.Errors != "" {
			return Expand(r.Errors, w), total, true
		}
		return fmt.Sprintf("(%s) - (%s)", total, Expand(r.Good, w)), total, true
	case s.SLI.Latency != nil:
		l := s.SLI.Latency
		inner := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(l.Selector), "{"), "}"))
		sep := ""
		if inner != "" {
			sep = ", "
		}
		le := strconv.FormatFloat(l.Threshold, 'f', -1, 64)
		total = fmt.Sprintf("sum(rate(%s_count{%s}[%s]))", l.Metric, inner, SeriesWindow(w))
		good := fmt.Sprintf(`sum(rate(%s_bucket{%s%sle="%s"}[%s]))`, l.Metric, inner, sep, le, SeriesWindow(w))
		return fmt.Sprintf("(%s) - (%s)", total, good), total, true
	}
	return "", "", false
}

// ratioExpr is the error ratio over window w. Windows up to
// ExactWindowMax divide the SLI's own queries over the window, so only the
// events inside it count (a sum of 5-minute rates would count the 5
// minutes before it too, which matters when traffic shifts). Longer windows
// divide sums of the recorded 5-minute rates: each moment weighs by its
// traffic, and the 5 minutes at the window's edges are a small share of
// it. No traffic gives no sample, never 0 or 1.
func (s *SLO) ratioExpr(sel string, w time.Duration, plain bool) string {
	if w <= ExactWindowMax {
		errs, total, _ := s.Queries(w)
		return "(\n  (" + errs + ")\n  or\n  " + noErrors(total, plain) + "\n)\n/\n((" + total + ") > 0)"
	}
	d := SeriesWindow(w)
	return "sum_over_time(" + SeriesErrors + sel + "[" + d + "])\n/\n(sum_over_time(" + SeriesTotal + sel + "[" + d + "]) > 0)"
}

// orNone is the bad events, or 0 where none were seen but traffic was:
// "or vector(0)" when neither query has labels left (plain, a plain sum),
// which costs Prometheus nothing, else "or 0 * total", which reads the
// total's series again.
func orNone(errs, total string, plain bool) string {
	return "(" + errs + ")\nor\n" + noErrors(total, plain)
}

// noErrors is the 0 that orNone falls back to.
func noErrors(total string, plain bool) string {
	if plain {
		return "vector(0)"
	}
	return "(0 * (" + total + "))"
}

// labelFree reports whether the PromQL q surely gives at most one series
// with no labels: numbers, and aggregations without by or without
// (sum(…), count(…)…), joined by arithmetic. Anything else may carry
// labels (a false answer only costs a query).
func labelFree(q string) bool {
	q = strings.TrimSpace(q)
	if q == "" {
		return false
	}
	// Split at top-level arithmetic operators: each operand must be label-free.
	depth, start := 0, 0
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '"', '\'', '`':
			if i = QuoteEnd(q, i); i >= len(q) {
				return false
			}
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth < 0 {
				return false
			}
		case '+', '-', '*', '/':
			if depth == 0 && i > start {
				if !labelFreeOperand(q[start:i]) {
					return false
				}
				start = i + 1
			}
		}
	}
	return depth == 0 && labelFreeOperand(q[start:])
}

// labelFreeOperand reports whether one operand of labelFree is a number,
// a parenthesized label-free expression, or a grouping-free aggregation
// whose parentheses close at its end.
func labelFreeOperand(q string) bool {
	q = strings.TrimSpace(q)
	if q == "" {
		return false
	}
	if c := q[0]; c >= '0' && c <= '9' || c == '.' {
		_, err := strconv.ParseFloat(q, 64)
		return err == nil
	}
	name, rest, ok := strings.Cut(q, "(")
	if !ok || !strings.HasSuffix(q, ")") || closing(q, len(name)) != len(q)-1 {
		return false
	}
	switch strings.TrimSpace(name) {
	case "":
		return labelFree(rest[:len(rest)-1])
	case "sum", "count", "min", "max", "avg", "vector":
		return true
	}
	return false
}

// QuoteEnd returns the index of the quote ending the PromQL string that
// starts at q[i], or len(q) when it does not end.
func QuoteEnd(q string, i int) int {
	j := i + 1
	for j < len(q) && q[j] != q[i] {
		if q[j] == '\\' && q[i] != '`' {
			j++
		}
		j++
	}
	return min(j, len(q))
}

// closing returns the index of the parenthesis closing the one at open in
// q, skipping quoted strings, or -1.
func closing(q string, open int) int {
	depth := 0
	for i := open; i < len(q); i++ {
		switch q[i] {
		case '"', '\'', '`':
			i = QuoteEnd(q, i)
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// Groups returns the rule groups of s with Sloth's group names.
func (s *SLO) Groups() []RuleGroup { return s.Rules(Options{GroupPrefix: DefaultGroupPrefix}) }

// Rules returns the rule groups of s: recordings, metadata, alerts. An SLO
// whose events are pushed to tsuna has none.
func (s *SLO) Rules(opt Options) []RuleGroup {
	gs := s.groups(opt)
	out := make([]RuleGroup, len(gs))
	for i, g := range gs {
		out[i] = RuleGroup{Name: g.name, Interval: g.interval, Rules: make([]Rule, len(g.rules))}
		for j, r := range g.rules {
			out[i].Rules[j] = Rule{Record: r.record, Alert: r.alert, Expr: r.expr, Labels: r.labels.toMap(), Annotations: ruleLabels{add: r.annotations}.toMap()}
		}
	}
	return out
}

// group is a rule group as generated, before it is written or exported.
type group struct {
	name, interval string
	rules          []rule
}

// rule is a Rule as generated: its labels share the SLO's base labels.
type rule struct {
	record, alert, expr string
	labels              ruleLabels
	annotations         labelSet
}

// groups returns the rule groups of s (see Rules).
func (s *SLO) groups(opt Options) []group {
	if s.SLI.Events != nil {
		return nil
	}
	base := s.baseLabels(opt.ExtraLabels)
	sel := s.selector()
	burn := s.BurnWindows()
	errs5m, total5m, counted := s.Queries(5 * time.Minute)
	plain := counted && labelFree(errs5m) && labelFree(total5m) // the same for every window
	groups := make([]group, 0, 4)
	if !opt.DisableRecordings {
		windows := s.windows(burn)
		rec := make([]rule, 0, len(windows))
		var rates *group
		if counted {
			// The 5-minute rates the long windows sum, every 5 minutes:
			// bad events default to 0 where none were seen but traffic was.
			l := with(base, "sloth_window", "5m")
			rates = &group{name: opt.GroupPrefix + "slo-sli-rates-" + s.ID(), interval: RatesInterval, rules: []rule{
				{record: SeriesErrors, expr: orNone(errs5m, total5m, plain), labels: l},
				{record: SeriesTotal, expr: total5m, labels: l}}}
		}
		for _, w := range windows {
			expr := ""
			switch {
			case counted:
				expr = s.ratioExpr(sel, w, plain)
			case w == s.Window.Length():
				// A raw ratio carries no event counts: time-weighted average.
				expr = "avg_over_time(" + SeriesRatioPrefix + "5m" + sel + "[" + SeriesWindow(w) + "])"
			default:
				expr = Expand(s.SLI.Raw, w)
			}
			rec = append(rec, rule{record: RatioSeries(w), expr: expr, labels: with(base, "sloth_window", SeriesWindow(w))})
		}
		groups = append(groups, group{name: opt.GroupPrefix + "slo-sli-recordings-" + s.ID(), rules: rec})
		if rates != nil {
			groups = append(groups, *rates)
		}
		groups = append(groups, group{name: opt.GroupPrefix + "slo-meta-recordings-" + s.ID(), rules: s.metaRules(base, sel)})
	}
	if opt.DisableAlerts {
		return groups
	}
	if alerts := s.alertRules(sel, counted, base, burn); len(alerts) > 0 {
		groups = append(groups, group{name: opt.GroupPrefix + "slo-alerts-" + s.ID(), rules: alerts})
	}
	return groups
}

// formatFloat writes f in the shortest form that reads back exactly.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func (s *SLO) metaRules(base *labelSet, sel string) []rule {
	budget := formatFloat(Round(s.Budget(), 12))
	all := ruleLabels{shared: base}
	rules := make([]rule, 0, 7)
	rules = append(rules,
		rule{record: "slo:objective:ratio", expr: "vector(" + formatFloat(Round(s.Objective/100, 12)) + ")", labels: all},
		rule{record: "slo:error_budget:ratio", expr: "vector(" + budget + ")", labels: all},
		rule{record: "slo:time_period:days", expr: "vector(" + formatFloat(s.Window.Length().Hours()/24) + ")", labels: all},
		rule{record: "slo:current_burn_rate:ratio", expr: SeriesRatioPrefix + "5m" + sel + "\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio" + sel, labels: all},
	)
	if s.Window.Calendar == "" { // a calendar period's start moves: tsuna computes it when evaluating
		rules = append(rules,
			rule{record: "slo:period_burn_rate:ratio", expr: RatioSeries(s.Window.Length()) + sel + "\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio" + sel, labels: all},
			rule{record: "slo:period_error_budget_remaining:ratio", expr: "1 - slo:period_burn_rate:ratio" + sel, labels: all})
	}
	info := with(base, "sloth_objective", formatFloat(s.Objective), "sloth_spec", s.Source, "sloth_mode", "tsuna", "tsuna_window", s.Window.String())
	return append(rules, rule{record: "sloth_slo_info", expr: "vector(1)", labels: info})
}

// alertRules returns the page and ticket alerts: each fires when both
// windows of one of its pairs burn above the pair's factor. The labels the
// user set win: on the alert, on its severity, or on the SLO's series
// (which the alert keeps); tsuna adds service, slo, team and severity only
// where none of those sets them.
func (s *SLO) alertRules(sel string, counted bool, base *labelSet, windows []BurnWindow) []rule {
	var out []rule
	budget := formatFloat(Round(s.Budget(), 12))
	for _, sev := range Severities {
		spec := s.Alerting.Page
		if sev == SeverityTicket {
			spec = s.Alerting.Ticket
		}
		if spec.Disabled {
			continue
		}
		// Each pair, indented in parentheses, the pairs joined by "or".
		var expr strings.Builder
		expr.Grow(4 * (100 + len(sel))) // two pairs, as tsuna's windows have
		for _, bw := range windows {
			if bw.Severity != sev {
				continue
			}
			if expr.Len() > 0 {
				expr.WriteString("\nor\n")
			}
			threshold := " > (" + formatFloat(bw.Factor) + " * " + budget + ")) without (sloth_window)"
			for i, w := range [2]time.Duration{bw.Short, bw.Long} {
				expr.WriteString([2]string{"(\n  max(", "\n  and\n  max("}[i])
				expr.WriteString(RatioSeries(w))
				expr.WriteString(sel)
				expr.WriteString(threshold)
			}
			if counted && s.Alerting.MinEvents > 0 {
				expr.WriteString("\n  and on(sloth_id, sloth_service, sloth_slo)\n  (avg_over_time(" + SeriesTotal + sel + "[" + SeriesWindow(bw.Long) + "]) * " +
					formatFloat(bw.Long.Seconds()) + " >= " + formatFloat(s.Alerting.MinEvents) + ")")
			}
			expr.WriteString("\n)")
		}
		if expr.Len() == 0 {
			continue
		}
		labels := map[string]string{"sloth_severity": sev}
		maps.Copy(labels, s.Alerting.Labels)
		maps.Copy(labels, spec.Labels)
		for _, kv := range [...][2]string{{"service", s.Service}, {"slo", s.Name}, {"team", s.Team}, {"severity", sev}} {
			_, onAlert := labels[kv[0]]
			if kv[1] != "" && !onAlert && !base.has(kv[0]) {
				labels[kv[0]] = kv[1]
			}
		}
		ann := map[string]string{
			"title":   "(" + sev + ") {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is too fast.",
			"summary": "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.",
			"description": "SLO " + s.Name + " of " + s.Service + " (" + formatFloat(s.Objective) + "% over " + s.Window.String() +
				") burns its error budget fast enough to spend " + spentText(windows, sev) + ".",
		}
		if s.Runbook != "" {
			ann["runbook_url"] = s.Runbook
		}
		maps.Copy(ann, s.Alerting.Annotations)
		maps.Copy(ann, spec.Annotations)
		out = append(out, rule{alert: s.alertName(), expr: expr.String(), labels: ruleLabels{add: setOf(labels)}, annotations: setOf(ann)})
	}
	return out
}

func spentText(windows []BurnWindow, sev string) string {
	var parts []string
	for _, bw := range windows {
		if bw.Severity == sev {
			parts = append(parts, formatFloat(Round(bw.Spent*100, 3))+"% of it in "+FormatDuration(bw.Long))
		}
	}
	return strings.Join(parts, " or ")
}

// alertName is the configured name, or one made from the service and SLO
// names: checkout-api/availability gives CheckoutApiAvailabilityBudgetBurn.
func (s *SLO) alertName() string {
	if s.Alerting.Name != "" {
		return s.Alerting.Name
	}
	return AlertName(s.Service, s.Name)
}

// AlertName is the alert name tsuna gives the SLO name of service when
// none is configured: checkout-api/availability gives
// CheckoutApiAvailabilityBudgetBurn.
func AlertName(service, name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(service+"-"+name, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String() + "BudgetBurn"
}

// generate returns the rule groups of slos generated with opt, in a
// stable order: by service, then SLO name.
func generate(slos []*SLO, opt Options) []group {
	sorted := slices.Clone(slos)
	slices.SortFunc(sorted, func(a, b *SLO) int { return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Name, b.Name)) })
	var gs []group
	for _, s := range sorted {
		gs = append(gs, s.groups(opt)...)
	}
	return gs
}
