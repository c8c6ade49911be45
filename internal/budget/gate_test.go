package budget_test

import (
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/budget"
)

// TestNewSLOCannotFreezeDeploys: a new SLO with 4 minutes of 50% errors
// has spent its budget many times over (−9900%), but that is no evidence
// about its period: the gate allows the deploy and says why, until the SLO
// has data over the policy's share of its period (or, for pushed events,
// enough events). Then the same budget freezes.
func TestNewSLOCannotFreezeDeploys(t *testing.T) {
	p := budget.DefaultPolicy()
	left := -9900.0
	fourMinutes := 4.0 / (30 * 24 * 60)
	status := func(e *budget.Evidence) []budget.Status {
		return []budget.Status{{Service: "shop", SLO: "availability", State: budget.StateExhausted, BudgetRemaining: &left, Evidence: e}}
	}
	d := p.Gate("shop", 1, status(&budget.Evidence{Observed: &fourMinutes}))
	if !d.Allow || !strings.Contains(d.Reason, "not frozen yet: availability has -9900% of its error budget left on data over 0.009% of its period") ||
		!strings.Contains(d.Reason, "minimum of evidence to freeze (data over 5% of the period") {
		t.Errorf("new SLO: allow %v: %s", d.Allow, d.Reason)
	}
	tenth := 0.1
	if d := p.Gate("shop", 1, status(&budget.Evidence{Observed: &tenth})); d.Allow || !strings.HasPrefix(d.Reason, "frozen: availability has -9900%") {
		t.Errorf("SLO with 10%% of its period: allow %v: %s", d.Allow, d.Reason)
	}
	few, many := 40.0, 5000.0
	if d := p.Gate("shop", 1, status(&budget.Evidence{Events: &few})); !d.Allow || !strings.Contains(d.Reason, "about 40 events") {
		t.Errorf("40 pushed events: allow %v: %s", d.Allow, d.Reason)
	}
	if d := p.Gate("shop", 1, status(&budget.Evidence{Events: &many})); d.Allow {
		t.Errorf("5000 pushed events: allow %v: %s", d.Allow, d.Reason)
	}
	if d := p.Gate("shop", 1, status(nil)); d.Allow { // not measured: the budget decides
		t.Errorf("no evidence measured: allow %v: %s", d.Allow, d.Reason)
	}
}
