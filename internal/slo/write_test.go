package slo_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// TestWrittenRulesAreTheRules: the rule file WriteRules writes reads back
// as the groups Rules returns, labels included, where the labels an SLO's
// rules share are written once and copied, and the labels that win over
// them (extra labels over the SLO's, a window over a user's sloth_window,
// a user's service over tsuna's) are merged in.
func TestWrittenRulesAreTheRules(t *testing.T) {
	slos := []*slo.SLO{
		{Service: "b-svc", Name: "latency", Objective: 99, Source: slo.SourceSloth,
			Labels: map[string]string{"tier": "2", "sloth_window": "mine", "owner": "team-b", "weird key": "x: y"},
			SLI:    slo.SLI{Ratio: &slo.Ratio{Errors: `sum(rate(e{a="1"}[{{.window}}]))`, Total: `sum(rate(t{a="1"}[{{.window}}]))`}},
			Alerting: slo.Alerting{Labels: map[string]string{"service": "routed-elsewhere"},
				Annotations: map[string]string{"summary": "it's slow"},
				Page:        slo.AlertSpec{Labels: map[string]string{"severity": "critical"}}}},
		{Service: "a-svc", Name: "availability", Objective: 99.9, Source: slo.SourceTsuna, Team: "sre",
			SLI: slo.SLI{Raw: `sum(rate(e[{{.window}}])) / sum(rate(t[{{.window}}]))`}},
	}
	opt := slo.Options{GroupPrefix: slo.DefaultGroupPrefix, ExtraLabels: map[string]string{"tier": "1", "env": "prod"}}
	for _, format := range []string{slo.FormatPrometheus, slo.FormatPrometheusOperator} {
		var b bytes.Buffer
		if err := slo.WriteRules(&b, slos, opt, format, "x"); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			slo.RuleFile `yaml:",inline"`
			Spec         slo.RuleFile `yaml:"spec"`
		}
		if err := yaml.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatalf("%s: %v\n%s", format, err, b.String())
		}
		got := append(doc.Groups, doc.Spec.Groups...)
		want := append(slos[1].Rules(opt), slos[0].Rules(opt)...) // by service
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: written rules differ from Rules:\n%s", format, b.String())
		}
		for _, g := range got {
			for _, r := range g.Rules {
				if r.Record != "" && (r.Labels["tier"] != "1" || r.Labels["env"] != "prod") {
					t.Errorf("%s: rule %s%s: extra labels do not win: %v", format, r.Record, r.Alert, r.Labels)
				}
				if strings.HasPrefix(r.Record, slo.SeriesRatioPrefix) && r.Labels["sloth_window"] == "mine" {
					t.Errorf("%s: %s keeps the user's sloth_window", format, r.Record)
				}
				if r.Alert != "" && r.Labels["sloth_id"] == "b-svc-latency" && r.Labels["service"] != "routed-elsewhere" {
					t.Errorf("%s: alert %s: the user's service label lost: %v", format, r.Alert, r.Labels)
				}
			}
		}
	}
}
