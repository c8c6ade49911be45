package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLintCommand(t *testing.T) {
	r := run(t, nil, "lint", exampleCatalog)
	if r.code != 0 || !strings.Contains(r.stdout, "ok: 4 teams, 11 services, 3 SLOs in 8 files") {
		t.Errorf("lint examples: %d %s", r.code, r.stdout)
	}
	const bad = "../catalog/testdata/lint/unknown-team"
	r = run(t, nil, "lint", bad)
	if r.code != 1 || !strings.Contains(r.stdout, "unknown-team/service.yaml:4:7: unknown team \"paymnts\"") || !strings.Contains(r.stdout, "2 errors, 0 warnings in 2 files") {
		t.Errorf("lint bad: %d %s", r.code, r.stdout)
	}
	r = run(t, nil, "lint", "--output", "json", bad)
	var diags []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &diags); err != nil || r.code != 1 || len(diags) != 2 {
		t.Fatalf("json: %d %s %v", r.code, r.stdout, err)
	}
	if diags[0]["file"] != bad+"/service.yaml" || diags[0]["line"] != 4.0 || diags[0]["column"] != 7.0 || diags[0]["severity"] != "error" {
		t.Errorf("json diagnostic = %v", diags[0])
	}
	r = run(t, nil, "lint", "--format", "github", bad)
	if r.code != 1 || !strings.HasPrefix(r.stdout, "::error file="+bad+"/service.yaml,line=4,col=7::unknown team") {
		t.Errorf("github: %d %s", r.code, r.stdout)
	}
	r = run(t, nil, "lint", "../catalog/testdata/lint/warnings-only")
	if r.code != 0 || !strings.Contains(r.stdout, "warning: dependency \"old-mailer\" is listed twice") {
		t.Errorf("warnings only: %d %s", r.code, r.stdout)
	}
	for _, args := range [][]string{{"lint"}, {"lint", "--output", "xml", "x"}, {"lint", "--bogus", "x"}, {"frobnicate"}} {
		if r := run(t, nil, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)", args, r.code)
		}
	}
	if r := run(t, nil, "lint", "does-not-exist"); r.code != 1 || !strings.Contains(r.stderr, "does-not-exist") {
		t.Errorf("missing path: %d %s", r.code, r.stderr)
	}
}

func TestVersionAndHelp(t *testing.T) {
	if r := run(t, nil, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "tsuna ") {
		t.Errorf("version: %d %s", r.code, r.stdout)
	}
	r := run(t, nil, "help")
	for _, cmd := range []string{"serve", "lint", "apply", "token", "audit", "version"} {
		if !strings.Contains(r.stdout, cmd) {
			t.Errorf("help lacks %s", cmd)
		}
	}
	if r := run(t, nil, "apply", "x"); r.code != 2 || !strings.Contains(r.stderr, "TSUNA_TOKEN") {
		t.Errorf("apply without token: %d %s", r.code, r.stderr)
	}
}
