package catalogtest

import (
	"fmt"
	"strings"

	"github.com/tsuna-sre/tsuna/internal/catalog"
)

// AdversarialNames names the hostile inputs of Adversarial.
var AdversarialNames = []string{
	"deep-flow", "deep-indent", "deep-dashes", "long-line", "flow-keys",
	"tiny-documents", "empty-documents", "long-name", "block-keys",
	"flow-values", "comments", "aliases", "many-errors", "huge-window",
	"realistic",
}

// Adversarial returns the named hostile input (see AdversarialNames) of
// about size bytes in all, as files for Parse. Each probes one way input
// could make parsing slow or large:
//
//   - deep-flow: labels: [[[[...]]]], one bracket a line
//   - deep-indent: a: / b: / c: ..., each key indented one more
//   - deep-dashes: - - - - ... x on lines of 8 KiB
//   - long-line: one line, a flow mapping of thousands of keys
//   - flow-keys: a flow mapping of thousands of keys, one a line
//   - tiny-documents: "---\na\n" over and over
//   - empty-documents: "---\n" over and over
//   - long-name: a team and a service whose names are size/2 bytes
//     (folded block scalars), the service naming a near miss of the team
//   - block-keys: one mapping of many keys
//   - flow-values: a list of many 1-byte items, a few hundred a line
//   - comments: "#\n" over and over
//   - aliases: an anchor on a long query, aliased over and over
//   - many-errors: files of services with three errors each
//   - huge-window: one SLO whose window is 281474976710686d
//   - realistic: a valid catalog (Generate)
func Adversarial(name string, size int) []catalog.File {
	one := func(s string) []catalog.File {
		return []catalog.File{{Path: name + ".yaml", Data: []byte(s)}}
	}
	head := "apiVersion: tsuna/v1\nkind: Service\nname: x\nteam: t\n"
	switch name {
	case "deep-flow":
		n := max(size-len(head)-8, 0) / 4
		return one(head + "labels: " + strings.Repeat("[\n", n) + strings.Repeat("]\n", n))
	case "deep-indent":
		var b strings.Builder
		b.WriteString(head + "labels:\n")
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, "%sk%d:\n", strings.Repeat(" ", 2+i%8000), i)
		}
		return one(b.String())
	case "deep-dashes":
		line := strings.Repeat("- ", 4<<10) + "x\n"
		return one(head + "labels:\n" + strings.Repeat(line, max(size/len(line), 1)))
	case "long-line":
		var b strings.Builder
		b.WriteString(head + "labels: {")
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, "k%d: v, ", i)
		}
		b.WriteString("}\n")
		return one(b.String())
	case "flow-keys":
		var b strings.Builder
		b.WriteString(head + "labels: {\n")
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, "  k%d: v,\n", i)
		}
		b.WriteString("}\n")
		return one(b.String())
	case "tiny-documents":
		return one(strings.Repeat("---\na\n", max(size/6, 1)))
	case "empty-documents":
		return one(strings.Repeat("---\n", max(size/4, 1)))
	case "long-name":
		fold := func(prefix string) string {
			line := "  " + prefix + strings.Repeat("x", 1000) + "\n"
			return strings.Repeat(line, max(size/2/len(line), 1))
		}
		return one("apiVersion: tsuna/v1\nkind: Team\nname: >-\n" + fold("a") +
			"---\napiVersion: tsuna/v1\nkind: Service\nname: s\nteam: >-\n" + fold("b"))
	case "block-keys":
		var b strings.Builder
		b.WriteString(head + "labels:\n")
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, "  k%d: v\n", i)
		}
		return one(b.String())
	case "flow-values":
		line := strings.Repeat("1,", 500) + "\n"
		return one(head + "dependsOn: [\n" + strings.Repeat(line, max(size/len(line), 1)) + "1]\n")
	case "comments":
		return one(head + strings.Repeat("#\n", max(size/2, 1)))
	case "aliases":
		query := "sum(rate(x[{{.window}}])) " + strings.Repeat("+ sum(rate(x[{{.window}}])) ", 500)
		var b strings.Builder
		for i := 0; b.Len() < size; i++ {
			if i%2000 == 0 { // documents within MaxDocumentNodes
				fmt.Fprintf(&b, "---\nversion: prometheus/v1\nservice: x\nq: &q %q\nslos:\n", query)
			}
			fmt.Fprintf(&b, "  - {name: s%d, objective: 99, sli: {raw: {error_ratio_query: *q}}, alerting: {name: A}}\n", i)
		}
		return one(b.String())
	case "many-errors":
		var files []catalog.File
		doc := "apiVersion: tsuna/v1\nkind: Service\nname: Bad_Name\nteam: nobody\ntier: 9\n---\n"
		perFile := strings.Repeat(doc, 20)
		for i := 0; i*len(perFile) < size; i++ {
			files = append(files, catalog.File{Path: fmt.Sprintf("errors/%06d.yaml", i), Data: []byte(perFile)})
		}
		return files
	case "huge-window":
		return one("apiVersion: tsuna/v1\nkind: Team\nname: t\nchat: {channel: \"#t\"}\n---\n" + head +
			"links: {runbook: \"https://runbooks.example.com/x\"}\nslos:\n  - name: availability\n    objective: 99.9\n    window: 281474976710686d\n" +
			"    sli: {ratio: {errors: \"sum(rate(e[{{.window}}]))\", total: \"sum(rate(t[{{.window}}]))\"}}\n")
	case "realistic":
		services := max(size/430, 1) // about 430 bytes a service
		return Generate(max(services/20, 1), services)
	}
	panic("catalogtest: no adversarial input named " + name)
}
