package cli_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/tsuna-sre/tsuna/internal/promtest"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// corpus is shared/ beside the repository, as CI lays it out.
const corpus = "../../../shared/corpus"

type burnPair struct {
	id, severity, short, long, factor string
}

var (
	pairRE = regexp.MustCompile(`slo:sli_error:ratio_rate(\w+)\{[^}]*\} > \(([0-9.]+) \*`)
	idRE   = regexp.MustCompile(`sloth_id="([^"]+)"`)
)

// ruleGroups reads every group of a rule file, which may hold several
// documents, and PrometheusRule objects.
func ruleGroups(t *testing.T, data []byte) []slo.RuleGroup {
	t.Helper()
	var groups []slo.RuleGroup
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc struct {
			Groups []slo.RuleGroup `yaml:"groups"`
			Spec   slo.RuleFile    `yaml:"spec"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("rule file: %v", err)
		}
		groups = append(groups, doc.Groups...)
		groups = append(groups, doc.Spec.Groups...)
	}
	return groups
}

// burnPairs extracts, from every alert of a rule file, which window pairs
// it checks at which factor.
func burnPairs(t *testing.T, data []byte) (pairs []burnPair, ids []string) {
	t.Helper()
	for _, g := range ruleGroups(t, data) {
		for _, r := range g.Rules {
			if r.Record != "" && r.Labels["sloth_id"] != "" && !slices.Contains(ids, r.Labels["sloth_id"]) {
				ids = append(ids, r.Labels["sloth_id"])
			}
			if r.Alert == "" {
				continue
			}
			id := idRE.FindStringSubmatch(r.Expr)[1]
			m := pairRE.FindAllStringSubmatch(r.Expr, -1)
			for i := 0; i+1 < len(m); i += 2 {
				if m[i][2] != m[i+1][2] {
					t.Fatalf("alert %s: windows %s and %s at different factors", r.Alert, m[i][1], m[i+1][1])
				}
				pairs = append(pairs, burnPair{id, r.Labels["sloth_severity"], m[i][1], m[i+1][1], strings.TrimRight(strings.TrimRight(m[i][2], "0"), ".")})
			}
		}
	}
	slices.SortFunc(pairs, func(a, b burnPair) int { return strings.Compare(a.id+a.severity+a.long, b.id+b.severity+b.long) })
	slices.Sort(ids)
	return pairs, ids
}

// sameAsSloth reports how tsuna's rules differ from Sloth's for what users
// key on: group names, every recording's name and labels (the info
// series' sloth_mode and sloth_version name the generator), and every
// alert's name, labels and annotations. tsuna may add labels where Sloth
// sets none (service, slo, team, severity) and recordings of its own.
func sameAsSloth(t *testing.T, sloth, tsuna []slo.RuleGroup) []string {
	var diffs []string
	key := func(r slo.Rule) string {
		var kv []string
		for k, v := range r.Labels {
			if k != "sloth_mode" && k != "sloth_version" && !strings.HasPrefix(k, "tsuna_") {
				kv = append(kv, k+"="+v)
			}
		}
		slices.Sort(kv)
		return r.Record + "{" + strings.Join(kv, ",") + "}"
	}
	have := map[string]bool{}
	var groups []string
	var alerts []slo.Rule
	for _, g := range tsuna {
		groups = append(groups, g.Name)
		for _, r := range g.Rules {
			if r.Record != "" {
				have[key(r)] = true
			} else {
				alerts = append(alerts, r)
			}
		}
	}
	i := 0
	for _, g := range sloth {
		if !slices.Contains(groups, g.Name) {
			diffs = append(diffs, "no group "+g.Name)
		}
		for _, r := range g.Rules {
			if r.Record != "" {
				if !have[key(r)] {
					diffs = append(diffs, "no recording "+key(r))
				}
				continue
			}
			if i >= len(alerts) {
				diffs = append(diffs, "no alert "+r.Alert)
				continue
			}
			a := alerts[i]
			i++
			if a.Alert != r.Alert {
				diffs = append(diffs, fmt.Sprintf("alert %s, Sloth's %s", a.Alert, r.Alert))
			}
			for k, v := range r.Labels {
				if a.Labels[k] != v {
					diffs = append(diffs, fmt.Sprintf("alert %s label %s=%q, Sloth's %q", a.Alert, k, a.Labels[k], v))
				}
			}
			for k, v := range r.Annotations {
				if a.Annotations[k] != v {
					diffs = append(diffs, fmt.Sprintf("alert %s annotation %s=%q, Sloth's %q", a.Alert, k, a.Annotations[k], v))
				}
			}
		}
	}
	return diffs
}

// TestSlothCorpus generates rules for every Sloth example as sloth generate
// did for the expected files (-l cmd=examplesgen.sh), and compares them with
// Sloth's: same group names, recording names and labels, alert names,
// labels and annotations, window pairs and burn factors. A spec tsuna
// cannot generate as Sloth does fails with a message at its line. promtool
// checks every output.
func TestSlothCorpus(t *testing.T) {
	promtool := promtest.Binary(t, "promtool")
	specs, _ := filepath.Glob(corpus + "/sloth/specs/*")
	if len(specs) != 9 {
		t.Fatalf("found %d Sloth specs in %s, want 9", len(specs), corpus)
	}
	refused := map[string]string{
		"contrib-denominator-corrected.yaml": "contrib-denominator-corrected.yaml:10:3: sloPlugins: tsuna does not run Sloth SLO plugins",
	}
	for _, spec := range specs {
		name := filepath.Base(spec)
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			r := run(t, nil, "slo", "rules", "-i", spec, "-o", out, "-l", "cmd=examplesgen.sh")
			if want, ok := refused[name]; ok {
				if r.code != 1 || !strings.Contains(r.stderr, want) {
					t.Errorf("slo rules: exit %d, want 1 and %q\n%s", r.code, want, r.stderr)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("slo rules: %d %s", r.code, r.stderr)
			}
			files, _ := filepath.Glob(out + "/*.yaml")
			var got []burnPair
			var gotIDs []string
			var groups []slo.RuleGroup
			for _, f := range files {
				if b, err := exec.Command(promtool, "check", "rules", f).CombinedOutput(); err != nil {
					t.Errorf("promtool check rules %s: %v\n%s", f, err, b)
				}
				data, _ := os.ReadFile(f)
				if strings.Count(string(data), "\n---") > 0 {
					t.Errorf("%s holds several YAML documents; Prometheus reads only the first", f)
				}
				p, ids := burnPairs(t, data)
				got = append(got, p...)
				gotIDs = append(gotIDs, ids...)
				groups = append(groups, ruleGroups(t, data)...)
			}
			slices.SortFunc(got, func(a, b burnPair) int { return strings.Compare(a.id+a.severity+a.long, b.id+b.severity+b.long) })
			slices.Sort(gotIDs)
			expected, err := os.ReadFile(filepath.Join(corpus, "sloth/expected", name))
			if err != nil {
				t.Fatal(err)
			}
			want, wantIDs := burnPairs(t, expected)
			if !slices.Equal(gotIDs, wantIDs) {
				t.Errorf("SLO ids = %v, Sloth's = %v", gotIDs, wantIDs)
			}
			slothGroups := ruleGroups(t, expected)
			// Sloth writes no alerts for OpenSLO specs; tsuna pages by default.
			if strings.HasPrefix(name, "openslo-") && len(want) == 0 {
				var recordings []slo.RuleGroup
				for _, g := range slothGroups {
					if !strings.Contains(g.Name, "-alerts-") {
						recordings = append(recordings, g)
					}
				}
				slothGroups = recordings
			} else if !slices.Equal(got, want) {
				t.Errorf("burn windows differ from Sloth's:\n got %v\nwant %v", got, want)
			}
			for _, d := range sameAsSloth(t, slothGroups, groups) {
				t.Error(d)
			}
			if name == "no-alerts.yml" && len(got) != 0 {
				t.Errorf("alerts generated for a spec that disables them: %v", got)
			}
		})
	}
}

// TestOpenSLOCorpus reads every OpenSLO example: those tsuna cannot
// evaluate fail with a message that says why, at the right line.
func TestOpenSLOCorpus(t *testing.T) {
	want := map[string]string{
		"budgeting-method-occurences-slo.yaml":                       "budgeting-method-occurences-slo.yaml:15:7: spec.indicator.spec.thresholdMetric is not supported",
		"budgeting-method-ratio-timeslices.yaml":                     "budgeting-method-ratio-timeslices.yaml:29:20: budgetingMethod \"RatioTimeslices\" is not supported",
		"budgeting-method-timeslices-slo.yaml":                       "budgeting-method-timeslices-slo.yaml:32:20: budgetingMethod \"Timeslices\" is not supported",
		"treat-low-traffic-as-equally-important-timeslices-slo.yaml": "treat-low-traffic-as-equally-important-timeslices-slo.yaml:30:20: budgetingMethod \"Timeslices\" is not supported",
	}
	files, _ := filepath.Glob(corpus + "/openslo/*.yaml")
	if len(files) != len(want) {
		t.Fatalf("found %d OpenSLO examples, want %d", len(files), len(want))
	}
	for _, f := range files {
		r := run(t, nil, "lint", f)
		if r.code != 1 || !strings.Contains(r.stdout, want[filepath.Base(f)]) {
			t.Errorf("lint %s: exit %d\n%s", filepath.Base(f), r.code, r.stdout)
		}
	}
	// A supported OpenSLO v1 SLO, with its SLI by reference.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "slo.yaml"), []byte(`apiVersion: openslo/v1
kind: SLI
metadata:
  name: web-availability
spec:
  ratioMetric:
    good:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{code!~"5.."}[{{.window}}]))
    total:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total[{{.window}}]))
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability
spec:
  service: web
  indicatorRef: web-availability
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.995
`), 0o644)
	r := run(t, nil, "slo", "rules", "-i", dir, "-o", "-")
	if r.code != 0 || !strings.Contains(r.stdout, `sloth_id: web-availability`) || !strings.Contains(r.stdout, `(13.44 * 0.005)`) ||
		!strings.Contains(r.stdout, `(sum(rate(http_requests_total[5m]))) - (sum(rate(http_requests_total{code!~"5.."}[5m])))`) {
		t.Errorf("OpenSLO v1 with indicatorRef: %d %s\n%s", r.code, r.stderr, r.stdout)
	}
}

// TestSLORulesStableAndOperatorFormat: the same input gives the same bytes
// (pull-request diffs show only real changes), and the prometheus-operator
// format wraps the same groups in a PrometheusRule.
func TestSLORulesStableAndOperatorFormat(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, out := range []string{a, b} {
		if r := run(t, nil, "slo", "rules", "-i", exampleCatalog, "-o", out); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	files, _ := filepath.Glob(a + "/*.yaml")
	if len(files) != 2 {
		t.Fatalf("%d rule files for the example catalog, want 2 (checkout-api, auth-service)", len(files))
	}
	for _, f := range files {
		x, _ := os.ReadFile(f)
		y, _ := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		if string(x) != string(y) {
			t.Errorf("%s differs between two runs", filepath.Base(f))
		}
	}
	one := t.TempDir()
	os.WriteFile(filepath.Join(one, "shop.yaml"), []byte(promCatalog), 0o644)
	if r := run(t, nil, "slo", "rules", "-i", one, "-o", a); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := run(t, nil, "slo", "rules", "-i", one, "-o", "-", "--format", "prometheus-operator")
	var obj struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec slo.RuleFile `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(r.stdout), &obj); err != nil || obj.Kind != "PrometheusRule" || obj.APIVersion != "monitoring.coreos.com/v1" || obj.Metadata.Name != "shop-slos" {
		t.Fatalf("operator format: %v %+v\n%s", err, obj, r.stderr)
	}
	plain, _ := os.ReadFile(filepath.Join(a, "shop.yaml"))
	var f slo.RuleFile
	yaml.Unmarshal(plain, &f)
	if len(obj.Spec.Groups) != len(f.Groups) || obj.Spec.Groups[2].Rules[0].Expr != f.Groups[2].Rules[0].Expr {
		t.Errorf("operator groups differ from the rule file's")
	}
	// Several services into one file: one document holding every group
	// (Prometheus reads only the first document of a file).
	oneFile := filepath.Join(t.TempDir(), "one.yaml")
	if r := run(t, nil, "slo", "rules", "-i", exampleCatalog, "-o", oneFile); r.code != 0 {
		t.Fatalf("several services into one file: %d %s", r.code, r.stderr)
	}
	data, _ := os.ReadFile(oneFile)
	var all slo.RuleFile
	if err := yaml.Unmarshal(data, &all); err != nil || strings.Contains(string(data), "\n---") {
		t.Fatalf("one file: %v\n%s", err, data)
	}
	services := map[string]bool{}
	for _, g := range all.Groups {
		for _, r := range g.Rules {
			services[r.Labels["sloth_service"]] = true
		}
	}
	if !services["checkout-api"] || !services["auth-service"] {
		t.Errorf("one file holds the groups of %v, want checkout-api and auth-service", services)
	}
}

// TestRuleFilesRewrittenOnlyWhenChanged: regenerating the same rules
// leaves the files alone (their time stays, so a config reloader watching
// them does not fire), a changed SLO replaces its file whole, and no
// temporary file is left behind.
func TestRuleFilesRewrittenOnlyWhenChanged(t *testing.T) {
	src := filepath.Join(t.TempDir(), "catalog")
	os.MkdirAll(src, 0o755)
	spec := `version: "prometheus/v1"
service: "shop"
slos:
  - name: "availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: ShopAvailability
      page_alert: {labels: {severity: critical}}
      ticket_alert: {labels: {severity: warning}}
`
	os.WriteFile(filepath.Join(src, "shop.yml"), []byte(spec), 0o644)
	out := filepath.Join(t.TempDir(), "rules")
	if r := run(t, nil, "slo", "rules", "-i", src, "-o", out); r.code != 0 {
		t.Fatalf("slo rules: %s", r.stderr)
	}
	file := filepath.Join(out, "shop.yaml")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	os.Chtimes(file, old, old)
	if r := run(t, nil, "slo", "rules", "-i", src, "-o", out); r.code != 0 {
		t.Fatalf("slo rules again: %s", r.stderr)
	}
	if st, _ := os.Stat(file); !st.ModTime().Equal(old) {
		t.Errorf("unchanged rules were rewritten: modified %v, want %v", st.ModTime(), old)
	}
	os.WriteFile(filepath.Join(src, "shop.yml"), []byte(strings.Replace(spec, "99.9", "99.5", 1)), 0o644)
	if r := run(t, nil, "slo", "rules", "-i", src, "-o", out); r.code != 0 {
		t.Fatalf("slo rules after a change: %s", r.stderr)
	}
	b, _ := os.ReadFile(file)
	if st, _ := os.Stat(file); st.ModTime().Equal(old) || !strings.Contains(string(b), "vector(0.995)") || st.Mode().Perm() != 0o644 {
		t.Errorf("changed rules not written: mode %v\n%s", st.Mode(), b)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("files in the output directory: %v, want shop.yaml alone", entries)
	}
}
