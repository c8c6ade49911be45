package catalog_test

import (
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/catalog/catalogtest"
)

func TestGeneratedCatalogIsValid(t *testing.T) {
	c, diags := catalog.Parse(catalogtest.Generate(50, 1000))
	if c == nil || len(c.Teams) != 50 || len(c.Services) != 1000 {
		var b strings.Builder
		diags.WriteText(&b)
		t.Fatalf("generated catalog does not lint clean:\n%s", b.String())
	}
}

// BenchmarkParse10k lints 10,000 services in 500 teams:
//
//	go test -run '^$' -bench Parse10k -benchmem ./internal/catalog
func BenchmarkParse10k(b *testing.B) {
	files := catalogtest.Generate(500, 10000)
	size := 0
	for _, f := range files {
		size += len(f.Data)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		if c, _ := catalog.Parse(files); c == nil {
			b.Fatal("invalid")
		}
	}
}

// TestGeneratedFilesAreSimpleYAML: the generated Sloth specs and service
// files the benchmarks read take the fast path, and read as the parser
// reads them.
func TestGeneratedFilesAreSimpleYAML(t *testing.T) {
	for _, f := range append(catalogtest.Generate(2, 20), catalogtest.GenerateSloth(20)...) {
		if !catalog.SameAsParser(t, f.Path, f.Data) && !strings.HasPrefix(f.Path, "teams/") { // teams have a flow list
			t.Errorf("%s: a generated file was left to the general parser", f.Path)
		}
	}
}
