package app_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/tsuna-sre/tsuna"

// deps lists the packages pkg builds with, tests excluded.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestImportRules keeps docs/architecture.md true: domain packages never
// import adapters; the API client links no database driver; delivery knows
// no chat platform and no database.
func TestImportRules(t *testing.T) {
	adapters := []string{"internal/store", "internal/server", "internal/web", "internal/notify/slack", "internal/slackapp", "internal/github", "internal/cli", "internal/app", "internal/client"}
	rules := map[string][]string{
		"internal/client":   {"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/pressly/goose", "internal/store", "internal/server"},
		"internal/delivery": {"github.com/slack-go/slack", "internal/store", "internal/notify/slack"},
		"internal/api":      {"modernc.org/sqlite", "github.com/jackc/pgx", "internal/store", "internal/server"},
	}
	for _, domain := range []string{"internal/catalog", "internal/slo", "internal/budget", "internal/alerting", "internal/audit", "internal/auth", "internal/notify", "internal/jobs",
		"internal/incident", "internal/postmortem", "internal/readiness"} {
		rules[domain] = adapters
	}
	for pkg, banned := range rules {
		for _, d := range deps(t, pkg) {
			for _, b := range banned {
				if strings.HasPrefix(d, b) || strings.HasPrefix(d, module+"/"+b) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}

// TestStoreExportsOnlyTheStore checks that internal/store exports no type
// but DB: domain types live in their domain packages.
func TestStoreExportsOnlyTheStore(t *testing.T) {
	files, _ := filepath.Glob("../store/*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				if name := s.(*ast.TypeSpec).Name.Name; ast.IsExported(name) && name != "DB" {
					t.Errorf("%s: store exports type %s; move it to its domain package", f, name)
				}
			}
		}
	}
}
