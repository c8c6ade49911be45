package budget

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Policy is the organisation's error budget policy: per tier, the remaining
// budget (percent) at or below which a service is frozen, and what to do
// when a budget cannot be evaluated.
type Policy struct {
	// FreezeBelow maps a tier (1–3) to its threshold in percent of budget
	// left: 0 freezes a service once its budget is spent, 25 keeps a
	// quarter in reserve, -50 tolerates overspending by half.
	FreezeBelow map[int]float64
	// DenyUnknown denies a deploy when a budget is unknown (Prometheus
	// down). The default allows it: an outage of monitoring should not stop
	// every team from shipping a fix.
	DenyUnknown bool
	// MinObserved and MinEvents are the least evidence on which a budget
	// may freeze deploys: data over MinObserved of the SLO's period (a
	// share, 0 to 1) and MinEvents events in it. Four minutes of errors on
	// a new SLO say little about its period. Where the evidence cannot be
	// measured (the SLI's own queries), it does not hold a freeze back.
	MinObserved, MinEvents float64
}

// Defaults of the minimum of evidence.
const (
	DefaultMinObserved = 0.05 // 1.5 days of a 30-day period
	DefaultMinEvents   = 100
)

// DefaultPolicy freezes every tier once its budget is spent, given the
// default minimum of evidence.
func DefaultPolicy() Policy {
	return Policy{FreezeBelow: map[int]float64{1: 0, 2: 0, 3: 0}, MinObserved: DefaultMinObserved, MinEvents: DefaultMinEvents}
}

// enough reports whether e is evidence enough to freeze on; nil (not
// measured) is.
func (p Policy) enough(e *Evidence) bool {
	if e == nil {
		return true
	}
	return (e.Observed == nil || *e.Observed >= p.MinObserved) && (e.Events == nil || *e.Events >= p.MinEvents)
}

// ParseFreezeBelow reads "1=0,2=0,3=-50" into the policy.
func (p *Policy) ParseFreezeBelow(s string) error {
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		tier, err1 := strconv.Atoi(strings.TrimSpace(k))
		pct, err2 := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err1 != nil || err2 != nil || tier < 1 || tier > 3 || pct > 100 {
			return fmt.Errorf("%q: write TIER=PERCENT pairs such as 1=0,2=0,3=-50 (tiers 1 to 3, percent of budget left)", part)
		}
		p.FreezeBelow[tier] = pct
	}
	return nil
}

// Decision says whether a service may deploy now, and why.
type Decision struct {
	Service string `json:"service"`
	Allow   bool   `json:"allow"`
	// Decision is "allow" or "deny", for pipelines that match a string.
	Decision string   `json:"decision"`
	Reason   string   `json:"reason"`
	Tier     int      `json:"tier"`
	Freeze   float64  `json:"freezeBelow"`
	SLOs     []Status `json:"slos"`
}

// Gate decides on a deploy of a service of tier tier with these SLO statuses.
func (p Policy) Gate(service string, tier int, statuses []Status) Decision {
	threshold, ok := p.FreezeBelow[tier]
	if !ok {
		threshold = 0
	}
	d := Decision{Service: service, Tier: tier, Freeze: threshold, SLOs: statuses, Allow: true}
	var frozen, unknown, young []string
	for _, s := range statuses {
		switch {
		case s.State == StateUnknown:
			unknown = append(unknown, fmt.Sprintf("%s (%s)", s.SLO, s.Reason))
		case s.BudgetRemaining != nil && *s.BudgetRemaining <= threshold && !p.enough(s.Evidence):
			young = append(young, fmt.Sprintf("%s has %s of its error budget left on %s", s.SLO, FormatPercent(*s.BudgetRemaining), s.Evidence))
		case s.BudgetRemaining != nil && *s.BudgetRemaining <= threshold:
			frozen = append(frozen, fmt.Sprintf("%s has %s of its error budget left", s.SLO, FormatPercent(*s.BudgetRemaining)))
		}
	}
	sort.Strings(frozen)
	sort.Strings(young)
	waiting := ""
	if len(young) > 0 {
		waiting = fmt.Sprintf("; not frozen yet: %s, less than the policy's minimum of evidence to freeze (data over %s of the period and %s events)",
			strings.Join(young, ", "), FormatPercent(100*p.MinObserved), strconv.FormatFloat(p.MinEvents, 'f', -1, 64))
	}
	switch {
	case len(frozen) > 0:
		d.Allow = false
		d.Reason = fmt.Sprintf("frozen: %s; tier %d services freeze at %s or less. Ship reliability fixes only, or ask SRE for an exception", strings.Join(frozen, ", "), tier, FormatPercent(threshold))
	case len(unknown) > 0 && p.DenyUnknown:
		d.Allow = false
		d.Reason = "budget unknown: " + strings.Join(unknown, ", ") + "; the policy denies deploys when a budget cannot be evaluated"
	case len(unknown) > 0:
		d.Reason = "allowed although budget unknown: " + strings.Join(unknown, ", ")
	case len(statuses) == 0:
		d.Reason = "the service has no SLO: nothing to gate on"
	case len(young) > 0:
		d.Reason = "allowed" + waiting
		waiting = ""
	default:
		d.Reason = fmt.Sprintf("every SLO has more than %s of its error budget left", FormatPercent(threshold))
	}
	d.Reason += waiting
	d.Decision = map[bool]string{true: "allow", false: "deny"}[d.Allow]
	return d
}
