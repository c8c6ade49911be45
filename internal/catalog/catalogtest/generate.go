// Package catalogtest generates large, realistic catalogs for benchmarks
// and load tests.
package catalogtest

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/tsuna-sre/tsuna/internal/catalog"
)

// Generate returns a valid catalog of teams teams and services services,
// one file per team holding the team and its services. Services depend on
// up to three services declared before them, so the dependency graph is
// acyclic and references cross files. The same arguments give the same
// files.
func Generate(teams, services int) []catalog.File {
	rng := rand.New(rand.NewPCG(uint64(teams), uint64(services)))
	lifecycles := []string{"production", "production", "production", "experimental", "deprecated"}
	files := make([]catalog.File, teams)
	var b strings.Builder
	svc := 0
	var live []int // services not deprecated: the ones others may depend on
	for t := range teams {
		b.Reset()
		team := fmt.Sprintf("team-%04d", t)
		fmt.Fprintf(&b, "apiVersion: tsuna/v1\nkind: Team\nname: %s\nchat:\n  channel: \"#%s-alerts\"\nmembers:\n", team, team)
		for m := range 3 {
			fmt.Fprintf(&b, "  - name: Member %d of %s\n    email: m%d.%s@example.com\n    slack: U%04dM%d\n", m, team, m, team, t, m)
		}
		fmt.Fprintf(&b, "oncall: [m0.%s@example.com, m1.%s@example.com]\n", team, team)
		per := services / teams
		if t < services%teams {
			per++
		}
		for range per {
			name := fmt.Sprintf("svc-%05d", svc)
			lifecycle := lifecycles[rng.IntN(len(lifecycles))]
			fmt.Fprintf(&b, "---\napiVersion: tsuna/v1\nkind: Service\nname: %s\nteam: %s\ntier: %d\nlifecycle: %s\n",
				name, team, 1+rng.IntN(3), lifecycle)
			fmt.Fprintf(&b, "description: Service %d of team %s, generated for benchmarks.\n", svc, team)
			fmt.Fprintf(&b, "links:\n  runbook: https://runbooks.example.com/%s\n  dashboard: https://grafana.example.com/d/%s\n  repo: https://git.example.com/%s/%s\n", name, name, team, name)
			if len(live) > 0 && lifecycle != "deprecated" {
				b.WriteString("dependsOn:\n")
				picked := map[int]bool{}
				for range 1 + rng.IntN(3) {
					d := live[rng.IntN(len(live))]
					if !picked[d] {
						picked[d] = true
						fmt.Fprintf(&b, "  - svc-%05d\n", d)
					}
				}
			}
			if lifecycle != "deprecated" {
				live = append(live, svc)
			}
			fmt.Fprintf(&b, "labels:\n  domain: d%d\n  cost_center: \"cc-%d\"\n", t%20, t)
			svc++
		}
		files[t] = catalog.File{Path: fmt.Sprintf("teams/%s.yaml", team), Data: []byte(b.String())}
	}
	return files
}

// GenerateSloth returns Sloth specs (version: prometheus/v1) holding slos
// SLOs, ten per service, one file per service: the input of a benchmark
// against `sloth generate`.
func GenerateSloth(slos int) []catalog.File {
	var files []catalog.File
	var b strings.Builder
	for svc := 0; svc*10 < slos; svc++ {
		b.Reset()
		name := fmt.Sprintf("svc-%05d", svc)
		fmt.Fprintf(&b, "version: \"prometheus/v1\"\nservice: %q\nlabels:\n  owner: \"team-%d\"\n  tier: \"%d\"\nslos:\n", name, svc%50, 1+svc%3)
		for i := 0; i < 10 && svc*10+i < slos; i++ {
			fmt.Fprintf(&b, `  - name: "slo-%d"
    objective: %s
    description: "Generated SLO %d of %s."
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{job=%q,route="/r%d",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job=%q,route="/r%d"}[{{.window}}]))
    alerting:
      name: %sSLO%dBurn
      labels:
        category: "availability"
      annotations:
        summary: "High error rate on %s route %d"
      page_alert:
        labels:
          severity: critical
      ticket_alert:
        labels:
          severity: warning
`, i, []string{"99.9", "99.5", "99", "99.95"}[i%4], i, name, name, i, name, i, strings.ReplaceAll(name, "-", ""), i, name, i)
		}
		files = append(files, catalog.File{Path: name + ".yml", Data: []byte(b.String())})
	}
	return files
}
