package cli_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

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

// burnPairs extracts, from every alert of a rule file, which window pairs
// it checks at which factor.
func burnPairs(t *testing.T, data []byte) (pairs []burnPair, ids []string) {
	t.Helper()
	// Sloth's files may hold several documents, and PrometheusRule objects.
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
	for _, g := range groups {
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

// TestSlothCorpus generates rules for every Sloth example and compares the
// alerts with what Sloth generates for the same file: same SLO ids, same
// window pairs, same burn factors. promtool checks every output.
func TestSlothCorpus(t *testing.T) {
	promtool := promtest.Binary(t, "promtool")
	specs, _ := filepath.Glob(corpus + "/sloth/specs/*")
	if len(specs) != 9 {
		t.Fatalf("found %d Sloth specs in %s, want 9", len(specs), corpus)
	}
	for _, spec := range specs {
		name := filepath.Base(spec)
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			if r := run(t, nil, "slo", "rules", "-i", spec, "-o", out); r.code != 0 {
				t.Fatalf("slo rules: %d %s", r.code, r.stderr)
			}
			files, _ := filepath.Glob(out + "/*.yaml")
			var got []burnPair
			var gotIDs []string
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
			// Sloth writes no alerts for OpenSLO specs; tsuna pages by default.
			if strings.HasPrefix(name, "openslo-") && len(want) == 0 {
				return
			}
			if !slices.Equal(got, want) {
				t.Errorf("burn windows differ from Sloth's:\n got %v\nwant %v", got, want)
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
	if r := run(t, nil, "slo", "rules", "-i", exampleCatalog, "-o", "one.yaml"); r.code != 2 || !strings.Contains(r.stderr, "one file per service") {
		t.Errorf("several services into one file: %d %s", r.code, r.stderr)
	}
}
