package slo_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/promtest"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// TestPromtoolRules runs the promtool unit tests of testdata/promtool: in
// each directory, slos.yaml declares SLOs, the test generates their rules
// as rules.yaml, and `promtool test rules test.yaml` checks them on series
// written for the case (traffic shifting, a step of errors, periods of 7
// to 90 days), beside any reference rules of the directory.
func TestPromtoolRules(t *testing.T) {
	promtool := promtest.Binary(t, "promtool")
	cases, _ := filepath.Glob("testdata/promtool/*/test.yaml")
	if len(cases) < 3 {
		t.Fatalf("found %d promtool cases", len(cases))
	}
	for _, tc := range cases {
		src := filepath.Dir(tc)
		t.Run(filepath.Base(src), func(t *testing.T) {
			files, err := catalog.ListFiles([]string{filepath.Join(src, "slos.yaml")})
			if err != nil {
				t.Fatal(err)
			}
			c, diags := catalog.Parse(files)
			if c == nil {
				t.Fatalf("slos.yaml: %v", diags)
			}
			dir := t.TempDir()
			var rules bytes.Buffer
			if err := slo.WriteRules(&rules, c.SLOs, slo.Options{GroupPrefix: slo.DefaultGroupPrefix}, slo.FormatPrometheus, ""); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "rules.yaml"), rules.Bytes(), 0o644)
			entries, _ := os.ReadDir(src)
			for _, e := range entries {
				if e.Name() != "slos.yaml" {
					b, _ := os.ReadFile(filepath.Join(src, e.Name()))
					os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
				}
			}
			cmd := exec.Command(promtool, "test", "rules", "test.yaml")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("promtool test rules: %v\n%s", err, out)
			}
		})
	}
}
