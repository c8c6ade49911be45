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
}

// DefaultPolicy freezes every tier once its budget is spent.
func DefaultPolicy() Policy { return Policy{FreezeBelow: map[int]float64{1: 0, 2: 0, 3: 0}} }

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
	var frozen, unknown []string
	for _, s := range statuses {
		switch {
		case s.State == StateUnknown:
			unknown = append(unknown, fmt.Sprintf("%s (%s)", s.SLO, s.Reason))
		case s.BudgetRemaining != nil && *s.BudgetRemaining <= threshold:
			frozen = append(frozen, fmt.Sprintf("%s has %s of its error budget left", s.SLO, FormatPercent(*s.BudgetRemaining)))
		}
	}
	sort.Strings(frozen)
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
	default:
		d.Reason = fmt.Sprintf("every SLO has more than %s of its error budget left", FormatPercent(threshold))
	}
	d.Decision = map[bool]string{true: "allow", false: "deny"}[d.Allow]
	return d
}
