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

// TestMixedGroupsKeepPositions: a file whose documents are simple YAML but
// for one in the middle (a flow list) reads every document, and reports an
// error in a document read on its own before it at its line.
func TestMixedGroupsKeepPositions(t *testing.T) {
	f := catalogtest.Generate(1, 20)[0]
	docs := strings.Split(string(f.Data), "\n---\n") // the team, then its services
	docs = append(append(append([]string{}, docs[1:9]...), docs[0]), docs[9:]...)
	docs[5] += "\nbogus: 1" // before the team: read on its own
	data := strings.Join(docs, "\n---\n")
	line := strings.Count(data[:strings.Index(data, "bogus: 1")], "\n") + 1
	_, diags := catalog.Parse([]catalog.File{{Path: f.Path, Data: []byte(data)}})
	if len(diags) != 1 || diags[0].Line != line || !strings.Contains(diags[0].Message, `"bogus"`) {
		t.Fatalf("diagnostics %+v, want one about bogus at line %d", diags, line)
	}
	docs[5] = strings.TrimSuffix(docs[5], "\nbogus: 1")
	c, diags := catalog.Parse([]catalog.File{{Path: f.Path, Data: []byte(strings.Join(docs, "\n---\n"))}})
	if c == nil || len(c.Teams) != 1 || len(c.Services) != 20 {
		t.Fatalf("mixed file: %+v", diags)
	}
}
