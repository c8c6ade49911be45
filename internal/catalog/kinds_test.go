package catalog

import (
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// readWith reads each document of src with the kinds of r, as parseFile
// does with documentKinds.
func readWith(t *testing.T, r kindRegistry, src string) Diagnostics {
	t.Helper()
	f := &File{Path: "k.yaml", Data: []byte(src)}
	p := &docParser{file: f, lines: &sourceLines{data: f.Data}, report: report{limit: MaxDiagnosticsPerFile}}
	astFile, err := parser.ParseBytes(f.Data, 0)
	if err != nil {
		t.Fatal(err)
	}
	var res fileResult
	for _, doc := range astFile.Docs {
		p.anchors = map[string]ast.Node{}
		r.read(p, p.unwrap(doc.Body), &res)
	}
	return p.report.diags
}

func messages(ds Diagnostics) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Message)
	}
	return strings.Join(out, "\n")
}

// TestNewKindIsOneRegistration adds a kind to the table and checks that it
// is read, and that the messages about kinds name it without other edits.
func TestNewKindIsOneRegistration(t *testing.T) {
	known := documentKinds.kinds(APIVersion) // Team, Service, and any added since
	if len(known) < 2 || known[0] != KindTeam || known[1] != KindService {
		t.Fatalf("kinds of %s: %v", APIVersion, known)
	}
	var read []string
	r := append(slices.Clone(documentKinds),
		docKind{apiVersions: []string{APIVersion}, kind: "TestWidget", read: func(p *docParser, h *header, _ *fileResult) {
			read = append(read, h.kind+"@"+h.pos.String())
		}},
		docKind{apiVersions: []string{"n9/v1"}, kind: "SLO", family: "Nobl9", version: "n9/v1",
			read: func(*docParser, *header, *fileResult) {}},
	)
	got := messages(readWith(t, r, "apiVersion: tsuna/v1\nkind: TestWidget\n"+
		"---\napiVersion: tsuna/v1\nkind: TestWidgt\n"+
		"---\napiVersion: tsuna/v1\nname: x\n"+
		"---\napiVersion: tsuna/v9\nkind: Team\n"))
	if want := []string{"TestWidget@k.yaml:1:1"}; !slices.Equal(read, want) {
		t.Errorf("read %v, want %v", read, want)
	}
	adds := ""
	for _, k := range known {
		adds += "`kind: " + k + "`, "
	}
	want := strings.Join([]string{
		`unknown kind "TestWidgt"; did you mean "TestWidget"? (kinds in tsuna/v1: ` + strings.Join(known, ", ") + `, TestWidget)`,
		"missing kind: add " + strings.TrimSuffix(adds, ", ") + " or `kind: TestWidget`",
		`unknown apiVersion "tsuna/v9": use "tsuna/v1" (Sloth's "prometheus/v1", OpenSLO's "openslo/v1" and Nobl9's "n9/v1" are read too)`,
	}, "\n")
	if got != want {
		t.Errorf("messages:\n%s\nwant\n%s", got, want)
	}
}

// TestForeignKindsAreNamedByTheirAPIVersion checks that a known foreign
// apiVersion with a wrong kind is reported as a wrong kind, with the kinds
// of that apiVersion, and that other OpenSLO kinds are accepted silently.
func TestForeignKindsAreNamedByTheirAPIVersion(t *testing.T) {
	got := messages(readWith(t, documentKinds,
		"apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLvl\n"+
			"---\napiVersion: openslo/v1\nkind: AlertPolicy\nmetadata: {name: x}\n"+
			"---\nversion: prometheus/v2\nservice: x\n"))
	want := `unknown kind "PrometheusServiceLvl"; did you mean "PrometheusServiceLevel"? (kinds in sloth.slok.dev/v1: PrometheusServiceLevel, AlertWindows)` + "\n" +
		`unknown Sloth spec version "prometheus/v2": tsuna reads "prometheus/v1"`
	if got != want {
		t.Errorf("messages:\n%s\nwant\n%s", got, want)
	}
}
