package catalog_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/lint")

// TestLintFixtures lints each directory of testdata/lint and compares the
// text output, positions and source carets included, with want.txt.
func TestLintFixtures(t *testing.T) {
	dirs, err := filepath.Glob("testdata/lint/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			files, err := catalog.ReadFiles([]string{dir})
			if err != nil {
				t.Fatal(err)
			}
			c, diags := catalog.Parse(files)
			var got bytes.Buffer
			diags.WriteText(&got)
			golden := filepath.Join(dir, "want.txt")
			if *update {
				os.WriteFile(golden, got.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("lint %s:\n--- got\n%s--- want\n%s", dir, got.String(), want)
			}
			wantClean := filepath.Base(dir) == "warnings-only"
			if (c != nil) != wantClean {
				t.Errorf("catalog returned = %v, want %v (errors: %d)", c != nil, wantClean, diags.Errors())
			}
		})
	}
}
