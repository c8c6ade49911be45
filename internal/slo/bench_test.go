package slo_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// BenchmarkMarshalService measures what tsuna slo rules does per service
// once the specs are read: the rules of 10 SLOs, written as one file.
//
//	go test -run '^$' -bench MarshalService -benchmem ./internal/slo
func BenchmarkMarshalService(b *testing.B) {
	var slos []*slo.SLO
	for i := range 10 {
		slos = append(slos, &slo.SLO{Service: "svc-00042", Name: fmt.Sprintf("slo-%d", i), Objective: 99.9, Source: "prometheus/v1",
			Labels: map[string]string{"owner": "team-4", "tier": "1"},
			SLI: slo.SLI{Ratio: &slo.Ratio{
				Errors: fmt.Sprintf(`sum(rate(http_request_duration_seconds_count{job="svc-00042",route="/r%d",code=~"(5..|429)"}[{{.window}}]))`, i),
				Total:  fmt.Sprintf(`sum(rate(http_request_duration_seconds_count{job="svc-00042",route="/r%d"}[{{.window}}]))`, i)}},
			Alerting: slo.Alerting{Name: fmt.Sprintf("svc00042SLO%dBurn", i), Labels: map[string]string{"category": "availability"},
				Annotations: map[string]string{"summary": "High error rate"},
				Page:        slo.AlertSpec{Labels: map[string]string{"severity": "critical"}},
				Ticket:      slo.AlertSpec{Labels: map[string]string{"severity": "warning"}}}})
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := slo.WriteRules(&buf, slos, slo.Options{GroupPrefix: slo.DefaultGroupPrefix}, slo.FormatPrometheus, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/service")
}
