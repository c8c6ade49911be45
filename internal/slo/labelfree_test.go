package slo

import "testing"

// TestLabelFree: "or vector(0)" replaces "or 0 * total" only where the
// query surely has no labels left; anything that may keep labels keeps the
// form that matches them.
func TestLabelFree(t *testing.T) {
	for q, want := range map[string]bool{
		`sum(rate(errors_total{code=~"(5..|429)"}[5m]))`:                          true,
		`(sum(rate(a_count{job="x"}[5m]))) - (sum(rate(a_bucket{le="0.3"}[5m])))`: true,
		`sum(rate(x{path="/a-(b)"}[5m])) / 2`:                                     true,
		`count(up == 0)`:                                                          true,
		`sum(rate(x[5m])) by (code)`:                                              false,
		`sum by (code) (rate(x[5m]))`:                                             false,
		`sum without (pod) (rate(x[5m]))`:                                         false,
		`rate(x[5m])`:                                                             false,
		`sum(rate(x[5m])) / ignoring(a) sum(rate(y[5m]))`:                         false,
		`sum(rate(x[5m])) offset 5m`:                                              false,
		`-sum(rate(x[5m]))`:                                                       false,
		`sum(rate(x{a=")"}[5m])`:                                                  false,
		`topk(1, sum(rate(x[5m])))`:                                               false,
		``:                                                                        false,
	} {
		if got := labelFree(q); got != want {
			t.Errorf("labelFree(%q) = %v, want %v", q, got, want)
		}
	}
}
