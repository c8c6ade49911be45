package fact

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	for _, tc := range []struct {
		expr, unknown, msg string
		off                int
	}{
		{expr: `catalog.runbok != ""`, unknown: "catalog.runbok", off: 0},
		{expr: `size(catalog.oncall) > 0 && catalog.dashbord != ""`, unknown: "catalog.dashbord", off: 28},
		{expr: `catalog.tier == "1"`, off: 13, msg: "found no matching overload for '_==_' applied to '(int, string)'"},
		{expr: "catalog.tier +\n  1", msg: "the check is of type int; it must be true or false, such as `catalog.runbook != \"\"`"},
		{expr: `catalog.tier ==`, off: 15},
	} {
		_, err := Compile(tc.expr)
		ce, ok := err.(*CheckError)
		if !ok {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if ce.Unknown != tc.unknown || ce.Offset != tc.off || tc.msg != "" && ce.Msg != tc.msg {
			t.Errorf("%s: got %+v", tc.expr, *ce)
		}
	}
}

func TestEvalUnknown(t *testing.T) {
	p, err := Compile(`catalog.tier == 1 || incidents.major_90d == 0`)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := p.Eval(Values{"catalog.tier": int64(1)}); got != True {
		t.Errorf("known true side: %s", got)
	}
	if got, _ := p.Eval(Values{"catalog.tier": int64(2)}); got != Unknown {
		t.Errorf("unknown side: %s", got)
	}
	if got, _ := p.Eval(Values{"catalog.tier": int64(2), "incidents.major_90d": int64(1)}); got != False {
		t.Errorf("complete: %s", got)
	}
	if len(p.Refs) != 2 || p.Refs[0] != "catalog.tier" {
		t.Errorf("refs %v", p.Refs)
	}
}

// TestFactsDocumented keeps docs/readiness.md's table of facts equal to All.
func TestFactsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/readiness.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range All {
		if !strings.Contains(string(doc), fmt.Sprintf("| `%s` | %s |", f.Name, f.Type)) {
			t.Errorf("docs/readiness.md does not document fact %s (%s)", f.Name, f.Type)
		}
	}
}
