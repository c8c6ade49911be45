package catalog_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/catalog"
)

// FuzzParse feeds arbitrary bytes to the catalog parser. It must never
// panic; every diagnostic must point into the file; a catalog is returned
// only without errors, and its objects are valid JSON; the memory it
// allocates is bounded by the input's size (what the YAML parser needs for
// its densest input, with room to spare), so no input costs more than in
// proportion. The seed corpus (testdata/fuzz/FuzzParse, with hostile
// inputs just over each limit, plus every lint fixture, the example
// catalog and the Sloth and OpenSLO specs of shared/corpus) runs with the
// ordinary test suite.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/lint/*/*.yaml")
	examples, _ := filepath.Glob("../../examples/catalog/*/*.yaml")
	sloth, _ := filepath.Glob("../../../shared/corpus/sloth/specs/*")
	openslo, _ := filepath.Glob("../../../shared/corpus/openslo/*")
	for _, p := range slices.Concat(seeds, examples, sloth, openslo) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c *catalog.Catalog
		var diags catalog.Diagnostics
		alloc := allocated(func() { c, diags = catalog.Parse([]catalog.File{{Path: "f.yaml", Data: data}}) })
		if limit := uint64(1<<20 + 2<<10*len(data)); alloc > limit {
			t.Fatalf("%d bytes of input allocated %d KiB, more than %d KiB", len(data), alloc>>10, limit>>10)
		}
		if c != nil && diags.HasErrors() {
			t.Fatal("catalog returned despite errors")
		}
		if c == nil && !diags.HasErrors() {
			t.Fatal("no catalog and no error")
		}
		for _, d := range diags {
			if d.File != "f.yaml" || d.Line < 1 || d.Column < 1 || d.Message == "" {
				t.Fatalf("diagnostic without a position or message: %+v", d)
			}
		}
		if c == nil {
			return
		}
		for _, o := range c.Objects() {
			if !json.Valid(o.Spec) || o.Name == "" || o.Team == "" {
				t.Fatalf("bad object %+v", o)
			}
		}
	})
}
