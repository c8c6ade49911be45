package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

// pmTemplateV2 replaces the embedded default template.
const pmTemplateV2 = `apiVersion: tsuna/v1
kind: PostmortemTemplate
name: default
version: 2
sections:
  - title: Summary
    prefill: summary
  - title: Timeline
    prefill: timeline
  - title: Reading club notes
    help: What the reading club took from it.
`

// TestPostmortemTemplateAppliedLater: a template applied with tsuna apply
// after the server started (POST /api/v1/catalog) is the one the next
// draft takes, and the draft remembers its version; an editor may not
// apply one (it belongs to no team), and a version applied before cannot
// change. On both engines.
func TestPostmortemTemplateAppliedLater(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "catalog.yaml"), []byte(pmE2ECatalog), 0o644)
		srv := startServer(t, dsn, "--catalog", dir)
		admin := cliVars(srv, adminSecret)
		payments := cliVars(srv, newToken(t, srv, "payments-ci", "editor", "payments"))

		os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(pmTemplateV2), 0o644)
		if r := run(t, payments, "apply", dir); r.code == 0 || !strings.Contains(r.stderr, "needs an admin token") {
			t.Fatalf("an editor applies a template: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, admin, "apply", dir); r.code != 0 || !strings.Contains(r.stdout, "create PostmortemTemplate/default/v2") {
			t.Fatalf("apply: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, admin, "apply", dir); r.code != 0 || strings.Contains(r.stdout, "PostmortemTemplate") {
			t.Errorf("applied again: %d %s %s, want nothing new", r.code, r.stdout, r.stderr)
		}

		if r := run(t, payments, "incident", "declare", "Checkout errors", "--service", "checkout-api", "--lead", "ana@example.com"); r.code != 0 {
			t.Fatalf("declare: %s", r.stderr)
		}
		if r := run(t, payments, "incident", "resolve", "INC-1"); r.code != 0 {
			t.Fatalf("resolve: %s", r.stderr)
		}
		r := run(t, payments, "postmortem", "create", "INC-1", "-o", "json")
		var p postmortem.Postmortem
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &p) != nil {
			t.Fatalf("create: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if p.Template != "default" || p.TemplateVersion != 2 || !strings.Contains(p.Body, "## Reading club notes") || strings.Contains(p.Body, "## Root causes") {
			t.Errorf("drafted from %s v%d, want the applied default v2:\n%s", p.Template, p.TemplateVersion, p.Body)
		}

		// Version 2 with other sections is refused, and changes nothing.
		os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(strings.Replace(pmTemplateV2, "Reading club notes", "Other notes", 1)), 0o644)
		if r := run(t, admin, "apply", dir); r.code == 0 || !strings.Contains(r.stderr, "raise its version to 3") {
			t.Errorf("a changed version 2: %d %s %s, want a conflict", r.code, r.stdout, r.stderr)
		}
	})
}
