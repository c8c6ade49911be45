// Command benchseries writes, in OpenMetrics text for `promtool tsdb
// create-blocks-from openmetrics`, the history that scripts/bench-rule-eval
// loads: for every SLO of the Sloth specs in -specs, its raw counters
// (10 requests/s, 0.1% errors), the 5-minute series tsuna's rules record
// (slo:sli_errors:rate5m, slo:sli_total:rate5m) and the one Sloth's record
// (slo:sli_error:ratio_rate5m, for the service renamed with -sloth-prefix),
// every -step over -days, so long windows read as much data for both.
//
//	go run ./tools/benchseries -specs specs -days 30 -step 1m -o history.om
package main

import (
	"bufio"
	"flag"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

var (
	jobRE   = regexp.MustCompile(`job="([^"]+)"`)
	routeRE = regexp.MustCompile(`route="([^"]+)"`)
)

func main() {
	specs := flag.String("specs", "", "directory of Sloth specs (tools/gencatalog -sloth)")
	days := flag.Int("days", 30, "days of history")
	step := flag.Duration("step", time.Minute, "time between samples")
	prefix := flag.String("sloth-prefix", "sl-", "prefix of the service names in Sloth's copy of the specs")
	out := flag.String("o", "history.om", "output file")
	pyrra := flag.String("pyrra", "", "instead, write the SLOs as Pyrra ServiceLevelObjective files in this directory")
	flag.Parse()
	files, err := catalog.ListFiles([]string{*specs})
	if err != nil {
		fatal(err)
	}
	c, diags := catalog.Parse(files)
	if c == nil {
		fatal(fmt.Errorf("specs: %d errors", diags.Errors()))
	}
	if *pyrra != "" {
		writePyrra(c.SLOs, *pyrra)
		return
	}
	f, err := os.Create(*out)
	if err != nil {
		fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	end := time.Now().Truncate(*step)
	start := end.Add(-time.Duration(*days) * 24 * time.Hour)
	n := int(end.Sub(start) / *step)
	secs := step.Seconds()
	type series struct {
		name, labels string
		value        func(i int) float64
	}
	var all []series
	seen := map[string]bool{}
	for _, s := range c.SLOs {
		_, total, _ := s.Queries(5 * time.Minute)
		job, route := jobRE.FindStringSubmatch(total), routeRE.FindStringSubmatch(total)
		if job == nil || route == nil {
			fatal(fmt.Errorf("%s: no job and route in %s", s.ID(), total))
		}
		raw := fmt.Sprintf(`job=%q,route=%q`, job[1], route[1])
		if !seen[raw] {
			seen[raw] = true
			all = append(all,
				series{"http_request_duration_seconds_count", raw + `,code="200"`, func(i int) float64 { return float64(i) * secs * 9.99 }},
				series{"http_request_duration_seconds_count", raw + `,code="500"`, func(i int) float64 { return float64(i) * secs * 0.01 }})
		}
		base := labels(s.Labels, "sloth_id", s.ID(), "sloth_service", s.Service, "sloth_slo", s.Name, "sloth_window", "5m")
		all = append(all,
			series{slo.SeriesErrors, base, func(int) float64 { return 0.01 }},
			series{slo.SeriesTotal, base, func(int) float64 { return 10 }})
		sl := *prefix + s.Service
		all = append(all, series{slo.SeriesRatioPrefix + "5m", labels(s.Labels, "sloth_id", sl+"-"+s.Name, "sloth_service", sl, "sloth_slo", s.Name, "sloth_window", "5m"),
			func(int) float64 { return 0.001 }})
	}
	// OpenMetrics wants each series' samples together, in time order.
	for _, sr := range all {
		for i := 0; i <= n; i++ {
			fmt.Fprintf(w, "%s{%s} %g %d\n", sr.name, sr.labels, sr.value(i), start.Add(time.Duration(i)*(*step)).Unix())
		}
	}
	w.WriteString("# EOF\n")
	if err := w.Flush(); err != nil {
		fatal(err)
	}
	if err := f.Close(); err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "%d series, %d samples each, %s to %s\n", len(all), n+1, start.Format(time.RFC3339), end.Format(time.RFC3339))
}

// writePyrra writes one Pyrra ServiceLevelObjective per SLO, with the same
// counters as the Sloth spec's queries.
func writePyrra(slos []*slo.SLO, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fatal(err)
	}
	for _, s := range slos {
		_, total, _ := s.Queries(5 * time.Minute)
		job, route := jobRE.FindStringSubmatch(total), routeRE.FindStringSubmatch(total)
		if job == nil || route == nil {
			fatal(fmt.Errorf("%s: no job and route in %s", s.ID(), total))
		}
		sel := fmt.Sprintf(`job=%q,route=%q`, job[1], route[1])
		doc := fmt.Sprintf(`apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: %s
  namespace: bench
spec:
  target: "%s"
  window: 30d
  indicator:
    ratio:
      errors:
        metric: http_request_duration_seconds_count{%s,code=~"(5..|429)"}
      total:
        metric: http_request_duration_seconds_count{%s}
`, s.ID(), strconvFloat(s.Objective), sel, sel)
		if err := os.WriteFile(fmt.Sprintf("%s/%s.yaml", dir, s.ID()), []byte(doc), 0o644); err != nil {
			fatal(err)
		}
	}
}

func strconvFloat(f float64) string { return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.6f", f), "0"), ".") }

// labels writes m and kv as name="value" pairs, sorted.
func labels(m map[string]string, kv ...string) string {
	l := maps.Clone(m)
	if l == nil {
		l = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, l[k]))
	}
	return strings.Join(parts, ",")
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchseries:", err)
	os.Exit(1)
}
