package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// dumpYAML writes what the catalog's readers look at in a syntax tree:
// node types, values, token types, lines and columns, and the text of keys.
func dumpYAML(b *strings.Builder, n ast.Node, depth int) {
	ind := strings.Repeat("  ", depth)
	if n == nil {
		fmt.Fprintf(b, "%snil\n", ind)
		return
	}
	fmt.Fprintf(b, "%s%T", ind, n)
	if tk := n.GetToken(); tk != nil {
		fmt.Fprintf(b, " %v %q %d:%d (%v %v)", tk.Type, tk.Value, tk.Position.Line, tk.Position.Column, tk.CharacterType, tk.Indicator)
	}
	switch v := n.(type) {
	case *ast.MappingNode:
		fmt.Fprintf(b, " flow=%v\n", v.IsFlowStyle)
		for _, mv := range v.Values {
			dumpYAML(b, mv, depth+1)
		}
	case *ast.MappingValueNode:
		fmt.Fprintf(b, " key=%q\n", v.Key.String())
		dumpYAML(b, v.Key, depth+1)
		dumpYAML(b, v.Value, depth+1)
	case *ast.SequenceNode:
		fmt.Fprintf(b, " flow=%v\n", v.IsFlowStyle)
		for _, x := range v.Values {
			dumpYAML(b, x, depth+1)
		}
	case *ast.LiteralNode:
		// (The line of the value's token, which the parser sets oddly
		// after blank lines, is not looked at: the indicator's is.)
		fmt.Fprintf(b, " value=%q\n", v.Value.Value)
	case ast.ScalarNode:
		fmt.Fprintf(b, " value=%#v\n", v.GetValue())
	default:
		b.WriteString("\n")
	}
}

func dumpFile(f *ast.File) string {
	var b strings.Builder
	for _, d := range f.Docs {
		if d.Start != nil {
			fmt.Fprintf(&b, "document %v %d:%d\n", d.Start.Type, d.Start.Position.Line, d.Start.Position.Column)
		} else {
			b.WriteString("document\n")
		}
		dumpYAML(&b, d.Body, 1)
	}
	return b.String()
}

// sameAsParser reports whether parseSimpleYAML either leaves data to the
// general parser, or gives the tree it gives; and whether it read data.
func sameAsParser(t *testing.T, name string, data []byte) (read bool) {
	t.Helper()
	fast := parseSimpleYAML(data)
	if fast == nil {
		return false
	}
	slow, err := parser.ParseBytes(data, 0)
	if err != nil {
		t.Fatalf("%s: read as simple YAML, but the parser refuses it: %v\n%s", name, err, data)
	}
	if got, want := dumpFile(fast), dumpFile(slow); got != want {
		t.Fatalf("%s: read as simple YAML differently from the parser:\n%s\ngot:\n%s\nwant:\n%s", name, data, got, want)
	}
	return true
}

// TestSimpleYAMLAsTheParser: the catalog's own files, the corpus's Sloth
// and OpenSLO specs and generated catalogs read as the general parser
// reads them; the common ones take the fast path.
func TestSimpleYAMLAsTheParser(t *testing.T) {
	var files []string
	for _, root := range []string{"../../examples", "../../../shared/corpus", "testdata"} {
		filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				files = append(files, path)
			}
			return nil
		})
	}
	read := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sameAsParser(t, path, data) // the whole file, as one group
		s := scanFile(data)
		if s.over != nil {
			continue
		}
		for _, d := range s.docs {
			if sameAsParser(t, path, data[d.start:d.end]) {
				read++
			}
		}
	}
	t.Logf("%d files, %d documents read as simple YAML", len(files), read)
	if read == 0 {
		t.Error("no file took the fast path")
	}
}

// SameAsParser is sameAsParser, for the tests of package catalog_test.
var SameAsParser = sameAsParser

// TestSimpleYAMLLeavesTheRestToTheParser: what the fast path does not
// read the same way, or would have to report, goes to the parser.
func TestSimpleYAMLLeavesTheRestToTheParser(t *testing.T) {
	for _, doc := range []string{
		"a: 1\na: 2\n",        // a duplicate key: an error
		"a:\nb: 1\n",          // null
		"a: b\n  c\n",         // a plain scalar over two lines
		"a: \"x\\ty\"\n",      // an escape
		"a: [1, 2]\n",         // flow
		"a: &x 1\nb: *x\n",    // anchors
		"a: !!str 1\n",        // a tag
		"a: >\n  folded\n",    // folded
		"a: |+\n  keep\n\n",   // keep
		"--- # x\na: 1\n",     // a document marker with more
		"a: 1\n---\n",         // an empty document
		"a: 1\n...\n",         // a document end
		"a:\n\tb: 1\n",        // a tab
		"a: é\n",              // not ASCII
		"a: 1\r\n",            // CRLF
		"\"a\": 1\n",          // a quoted key
		"a: b: c\n",           // a mapping in a scalar
		"a:\n  - - x\n",       // a list in a list
		"a:\n  b: 1\n c: 2\n", // bad indentation
		"a: |\n\n  x\n",       // a leading blank line in a literal
		"- a\nb: 1\n",         // a list, then a key
		"a: 1\n  b: 2\n",      // more indented after a scalar
		"a:\n  - x\n  b: 1\n", // a key after a list item
		"a: \"x\" y\n",        // text after a quoted scalar
		"a: null\n",           // null
	} {
		if f := parseSimpleYAML([]byte(doc)); f != nil {
			t.Errorf("%q read as simple YAML:\n%s", doc, dumpFile(f))
		}
	}
}

// FuzzSimpleYAML: whatever the fast path reads, the parser reads the same.
func FuzzSimpleYAML(f *testing.F) {
	for _, s := range []string{
		"a: 1\nb:\n  - x\n  - y: 2\n    z: |\n      q\n\n      r\n",
		"version: \"prometheus/v1\"\nservice: s # c\nslos:\n- name: 'n'\n  objective: 99.9\n  sli:\n    events:\n      error_query: sum(x{a=\"b\"}[{{.window}}])\n",
		"a:\n  b: |-\n    x\n    # y\n  c: -1\n# end\n",
		"k: v:x\nl: a#b\nm: 0x1F\nn: .inf\no: true\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		sameAsParser(t, "fuzz", data)
	})
}

// FuzzSimpleYAMLShapes builds block YAML from pieces the fuzzer picks
// (keys, scalars of every kind, lists, literal blocks, comments, blank
// lines and odd indentation), so that most inputs are read by the fast
// path, and checks that the parser reads them the same.
func FuzzSimpleYAMLShapes(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte{3, 3, 7, 1, 9, 0, 12, 2, 2, 5, 14, 8})
	f.Fuzz(func(t *testing.T, choices []byte) {
		if len(choices) > 256 {
			return
		}
		sameAsParser(t, "shapes", []byte(yamlShapes(choices)))
	})
}

// yamlShapes writes block YAML as choices say.
func yamlShapes(choices []byte) string {
	scalars := []string{"x", "checkout-api", "99.9", "1", "-1", "0x1F", "007", "true", "null", "~", ".inf", "-.inf", ".nan",
		"a b", "a:b", "a#b", "'q'", "\"d q\"", "''", "\"\"", "sum(rate(x{a=\"b\"}[{{.window}}]))", "1e3", "+1", "_x", "x_1.y/z", "Yes", "2026-11-23"}
	keys := []string{"a", "name", "slos", "b_c", "x-y", "1", "true", "null", "k.k", "a"}
	var b strings.Builder
	next := func() int {
		if len(choices) == 0 {
			return 0
		}
		c := int(choices[0])
		choices = choices[1:]
		return c
	}
	var block func(indent, depth int)
	block = func(indent, depth int) {
		pad := strings.Repeat(" ", indent)
		for n := next()%3 + 1; n > 0; n-- {
			switch c := next(); {
			case c%11 == 0:
				b.WriteString(pad + "# a comment\n")
			case c%11 == 1:
				b.WriteString("\n")
			}
			item := next()%4 == 0
			lead := pad
			if item {
				lead = pad + "- "
			}
			if item && next()%2 == 0 {
				b.WriteString(lead + scalars[next()%len(scalars)] + "\n")
				continue
			}
			b.WriteString(lead + keys[next()%len(keys)] + ":")
			switch v := next() % 6; {
			case v == 0 && depth < 4:
				b.WriteString("\n")
				block(indent+[]int{0, 2, 4, 1}[next()%4], depth+1)
			case v == 1:
				b.WriteString([]string{" |", " |-", " |+", " >"}[next()%4] + "\n")
				for l := next() % 3; l >= 0; l-- {
					b.WriteString(strings.Repeat(" ", indent+2+next()%2) + scalars[next()%len(scalars)] + "\n")
					if next()%5 == 0 {
						b.WriteString("\n")
					}
				}
			default:
				b.WriteString(" " + scalars[next()%len(scalars)])
				if next()%7 == 0 {
					b.WriteString(" # why")
				}
				b.WriteString("\n")
			}
		}
	}
	block(0, 0)
	return b.String()
}
