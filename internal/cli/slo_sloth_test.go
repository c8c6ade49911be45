package cli_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// positioned matches a diagnostic at file:line:column.
var positioned = regexp.MustCompile(`(?m)^\S+:\d+:\d+: `)

// TestSlothRepositoryFixtures runs every example and test fixture of a
// checkout of Sloth's repository (TSUNA_SLOTH_REPO) through sloth generate
// (from PATH) and tsuna slo rules. Each either gives Sloth's group names,
// recordings and labels, and alert names, labels and annotations, or fails
// with messages at file:line:column; tsuna never accepts what Sloth refuses.
// Neither Sloth's code nor its fixtures are part of this repository, so the
// test runs only where both are given.
func TestSlothRepositoryFixtures(t *testing.T) {
	repo := os.Getenv("TSUNA_SLOTH_REPO")
	sloth, err := exec.LookPath("sloth")
	if repo == "" || err != nil {
		t.Skip("set TSUNA_SLOTH_REPO to a checkout of github.com/slok/sloth and put its sloth binary on PATH")
	}
	var specs []string
	for _, dir := range []string{"examples", "test/integration/prometheus/testdata"} {
		filepath.WalkDir(filepath.Join(repo, dir), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml")) && !strings.Contains(path, "/_gen/") && !strings.Contains(path, "/windows/") {
				specs = append(specs, path)
			}
			return nil
		})
	}
	if len(specs) < 30 {
		t.Fatalf("found %d specs in %s", len(specs), repo)
	}
	same, refused := 0, 0
	for _, spec := range specs {
		name, _ := filepath.Rel(repo, spec)
		t.Run(name, func(t *testing.T) {
			want := filepath.Join(t.TempDir(), "sloth.yaml")
			slothOut, slothErr := exec.Command(sloth, "generate", "-i", spec, "-o", want, "-l", "cmd=fixture").CombinedOutput()
			got := filepath.Join(t.TempDir(), "tsuna.yaml")
			r := run(t, nil, "slo", "rules", "-i", spec, "-o", got, "-l", "cmd=fixture")
			switch {
			case r.code != 0:
				for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
					if strings.HasPrefix(line, "tsuna: ") || strings.HasPrefix(line, " ") || line == "" {
						continue
					}
					if !positioned.MatchString(line) {
						t.Errorf("a message without file:line:column: %s", line)
					}
				}
				if !positioned.MatchString(r.stderr) {
					t.Errorf("refused without a positioned message:\n%s", r.stderr)
				}
				refused++
			case slothErr != nil:
				t.Errorf("tsuna accepts a spec Sloth refuses (%v):\n%s", slothErr, slothOut)
			default:
				wantData, _ := os.ReadFile(want)
				gotData, _ := os.ReadFile(got)
				for _, d := range sameAsSloth(t, ruleGroups(t, wantData), ruleGroups(t, gotData)) {
					t.Error(d)
				}
				same++
			}
		})
	}
	t.Logf("%d specs: %d give Sloth's names, labels and alerts, %d refused with positioned messages", len(specs), same, refused)
}
