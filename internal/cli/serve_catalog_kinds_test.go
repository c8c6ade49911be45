package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeCatalogAppliesChecklists: a checklist in the catalog given to
// `serve --catalog` is applied at start, as `tsuna apply` applies it.
func TestServeCatalogAppliesChecklists(t *testing.T) {
	dir := copyCatalog(t)
	os.WriteFile(filepath.Join(dir, "prr.yaml"), []byte(`apiVersion: tsuna/v1
kind: Checklist
name: prr
version: 1
levels: [bronze]
categories:
  - name: Basics
    items:
      - id: runbook
        question: Is there a runbook?
        check: catalog.runbook != ""
`), 0o644)
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--catalog", dir)
	body := bodyOf(call(t, "GET", srv.url+"/api/v1/readiness/checklists", adminSecret, "", nil))
	if !strings.Contains(body, `"name": "prr"`) && !strings.Contains(body, `"name":"prr"`) {
		t.Errorf("checklists after serve --catalog: %s", body)
	}
}
