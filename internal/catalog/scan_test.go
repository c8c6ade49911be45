package catalog

import (
	"fmt"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// astStats returns the deepest nesting of collections and the most keys of
// a mapping under n, as the YAML parser built them.
func astStats(n ast.Node, depth int) (deepest, keys int) {
	deepest = depth
	visit := func(c ast.Node) {
		d, k := astStats(c, depth+1)
		deepest, keys = max(deepest, d), max(keys, k)
	}
	switch v := n.(type) {
	case *ast.DocumentNode:
		return astStats(v.Body, depth)
	case *ast.AnchorNode:
		return astStats(v.Value, depth)
	case *ast.TagNode:
		return astStats(v.Value, depth)
	case *ast.MappingKeyNode:
		return astStats(v.Value, depth)
	case *ast.MappingNode:
		deepest, keys = depth+1, len(v.Values)
		for _, kv := range v.Values {
			visit(kv.Key)
			visit(kv.Value)
		}
	case *ast.MappingValueNode:
		deepest, keys = depth+1, 1
		visit(v.Key)
		visit(v.Value)
	case *ast.SequenceNode:
		deepest = depth + 1
		for _, item := range v.Values {
			visit(item)
		}
	}
	return deepest, keys
}

// TestScanCountsAsTheParserBuilds checks the counts of the scan against
// the tree the YAML parser builds, on YAML that is easy to miscount:
// brackets inside scalars and comments, lists at the column of their key,
// keys in quotes, collections over several lines. The scan must never count
// less than the parser builds (the limits would not hold), nor more than a
// level over (catalogs would be refused for nothing).
func TestScanCountsAsTheParserBuilds(t *testing.T) {
	for _, src := range []string{
		"a: |\n  [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n  - - - - -\n  k: v\nb: 1\n",
		"a: >-\n  {{{{{{{{{{{{{{{{{\n\n  x: y\nb: [1]\n",
		"- |\n  [[[[\n- b\n",
		"a: \"[[[[[[[[[[[[\"\nb: '[[[[ it''s'\nc: it's [x\n",
		"a: 1 # [[[[[[[[[[[[[[[[[[[[[[\n# {{{{{{{{{{{{{{{{\nb: 2\n",
		"a: \"x\n  [[[[[[[[[[[\n  - y\"\nb: 'p\n  {{{{{{{{\n  q'\n",
		"a: [\n  1,\n  [2, [3, [4]]],\n  {b: c, d: [e]},\n  \"]]]\"\n]\nz: 1\n",
		"a: {\n  b: 1,\n  c: 2,\n  d: {e: [f, g]}\n}\n",
		"- - - - x\n- y\n",
		"k0:\n- k1:\n  - k2:\n    - k3: v\nz: 1\n",
		"a:\n- b\n- c\nd:\n  - e\n  - f: g\n    h: i\n",
		"\"a b\": 1\n'c: d': {e: f}\n\"g\": [h]\n",
		"a: &x !mytag [1, [2]]\nb: *x\nc: !tag\n  d: e\n",
		"expr: sum(rate(x[5m])) by (job) > 0.1 and on() vector(1)\nfor: 5m\n",
		"apiVersion: tsuna/v1\nkind: Service\nname: checkout\nlabels:\n  tier: \"1\"\n  team: payments\nslos:\n  - name: availability\n    sli:\n      ratio:\n        errors: |\n          sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))\n        total: sum(rate(http_requests_total[{{.window}}]))\n",
		"? complex\n: value\n? other\n: c\n",
		"a: b\n  continued [[[[\n  more text\nc: d\n",
	} {
		s := scanFile([]byte(src))
		f, err := parser.ParseBytes([]byte(src), 0)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		depth, keys := 0, 0
		for _, doc := range f.Docs {
			d, k := astStats(doc, 0)
			depth, keys = max(depth, d), max(keys, k)
		}
		if s.over != nil || s.maxDepth < depth || s.maxDepth > depth+1 || s.maxKeys < keys || s.maxKeys > keys+1 {
			t.Errorf("%q:\nscan: depth %d, keys %d (over: %v); parser: depth %d, keys %d", src, s.maxDepth, s.maxKeys, s.over, depth, keys)
		}
	}
}

// TestScanFindsDocuments checks where documents start, that documents of
// nothing or comments are left out, and that directives stay with theirs.
func TestScanFindsDocuments(t *testing.T) {
	src := "%YAML 1.2\n---\na: 1\n...\n---\n# only a comment\n---\n---\nb: 2\n--- |\n  text\n...\n# c\nd: 3\n"
	s := scanFile([]byte(src))
	var got []string
	for _, d := range s.docs {
		got = append(got, fmt.Sprintf("%d:%q", d.line, src[d.start:d.end]))
	}
	want := []string{`1:"%YAML 1.2\n---\na: 1\n"`, `8:"---\nb: 2\n"`, `10:"--- |\n  text\n"`, `13:"# c\nd: 3\n"`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("documents:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNoSuggestionForLongNames: "did you mean" compares every pair of
// names; long names are not compared at all, and the work is bounded.
func TestNoSuggestionForLongNames(t *testing.T) {
	long := strings.Repeat("x", MaxSuggestionLength+1)
	work := 1 << 40
	if got := closestWithin(long, []string{long + "y", "x"}, &work); got != "" || work != 1<<40 {
		t.Errorf("closest = %q, spent %d cells", got, 1<<40-work)
	}
	names := make([]string, 100_000)
	for i := range names {
		names[i] = fmt.Sprintf("service-%054d", i) // same length: no shortcut
	}
	work = 1_000_000
	closestWithin("service-x", names, &work)
	if work < 0 {
		t.Errorf("spent %d cells over the budget", -work)
	}
	if got := closest("servce-000000000000000000000000000000000000000000000000000007", names); got != names[7] {
		t.Errorf("closest = %q", got)
	}
}

// TestNodeBudgetAcrossFiles: past nodeBudget nodes in all files, the file
// that goes over is reported at the document that does, and the files
// after it are not read; the same whatever the scheduling.
func TestNodeBudgetAcrossFiles(t *testing.T) {
	defer func(b int) { nodeBudget = b }(nodeBudget)
	nodeBudget = 1000
	var files []File
	for i := range 40 {
		var b strings.Builder
		for j := range 5 { // 5 documents of 6 nodes (apiVersion, kind, name: 2 each)
			fmt.Fprintf(&b, "---\napiVersion: tsuna/v1\nkind: Team\nname: t%d-%d\n", i, j)
		}
		files = append(files, File{Path: fmt.Sprintf("f%02d.yaml", i), Data: []byte(b.String())})
	}
	for range 3 {
		c, diags := Parse(files)
		// 30 nodes a file: files 0-32 are read (990 nodes), then the
		// first document of file 33 (996); its second goes over.
		if c != nil || len(diags) != 1 || diags[0].Pos().String() != "f33.yaml:5:1" ||
			diags[0].Message != "more than 1000 YAML nodes (keys, values, list items, comments) in the files read together; lint or apply the catalog in parts" {
			t.Fatalf("catalog %v, diagnostics %v", c != nil, diags)
		}
	}
}
