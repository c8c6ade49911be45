package catalog

import (
	"encoding/json"
	"strings"
	"testing"
)

func obj(kind, name, team, spec string) Object {
	return Object{Kind: kind, Name: name, Team: team, Spec: json.RawMessage(spec)}
}

func TestDiffOrdersChangesSoReferencesHold(t *testing.T) {
	current := []Object{
		obj(KindTeam, "old", "old", `{"name":"old"}`),
		obj(KindTeam, "a", "a", `{"name":"a"}`),
		obj(KindService, "gone", "old", `{"name":"gone"}`),
		obj(KindService, "same", "a", `{"name":"same"}`),
		obj(KindService, "moved", "old", `{"name":"moved","team":"old"}`),
	}
	desired := []Object{
		obj(KindTeam, "a", "a", `{"name":"a"}`),
		obj(KindTeam, "new", "new", `{"name":"new"}`),
		obj(KindService, "same", "a", `{"name":"same"}`),
		obj(KindService, "moved", "new", `{"name":"moved","team":"new"}`),
	}
	var got []string
	for _, c := range Diff(current, desired, true) {
		got = append(got, c.Action+" "+c.Kind+"/"+c.Name+" "+strings.Join(c.Teams(), "+"))
	}
	want := "create Team/new new, delete Service/gone old, update Service/moved old+new, delete Team/old old"
	if strings.Join(got, ", ") != want {
		t.Fatalf("diff =\n%s\nwant\n%s", strings.Join(got, ", "), want)
	}
	if n := len(Diff(current, desired, false)); n != 2 {
		t.Fatalf("without prune: %d changes, want 2 (create and update)", n)
	}
	if n := len(Diff(desired, desired, true)); n != 0 {
		t.Fatalf("identical: %d changes", n)
	}
}

func TestOutputFormats(t *testing.T) {
	ds := Diagnostics{
		{File: "a,b.yaml", Line: 3, Column: 7, Severity: SeverityError, Message: "bad: 50%\nreally", Source: "name: x"},
		{File: "c.yaml", Line: 1, Column: 1, Severity: SeverityWarning, Message: "hmm"},
	}
	var b strings.Builder
	ds.WriteGitHub(&b)
	want := "::error file=a%2Cb.yaml,line=3,col=7::bad: 50%25%0Areally\n::warning file=c.yaml,line=1,col=1::hmm\n"
	if b.String() != want {
		t.Errorf("github =\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	ds.WriteJSON(&b)
	var list []map[string]any
	if err := json.Unmarshal([]byte(b.String()), &list); err != nil || len(list) != 2 {
		t.Fatalf("json = %s (%v)", b.String(), err)
	}
	if list[0]["file"] != "a,b.yaml" || list[0]["line"] != 3.0 || list[0]["column"] != 7.0 || list[0]["severity"] != "error" || list[1]["severity"] != "warning" {
		t.Errorf("json fields = %v", list)
	}
	if _, ok := list[0]["source"]; ok {
		t.Error("json output carries the source line; the contract is {file,line,column,severity,message}")
	}
	b.Reset()
	ds.WriteText(&b)
	if !strings.HasPrefix(b.String(), "a,b.yaml:3:7: bad: 50%\nreally\n    name: x\n          ^\nc.yaml:1:1: warning: hmm\n") {
		t.Errorf("text =\n%s", b.String())
	}
}

func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"teem", "team"}, {"dependson", "dependsOn"}, {"xyz", ""}, {"labels", "labels"},
	} {
		if got := closest(tc.in, serviceFields); got != tc.want {
			t.Errorf("closest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if suggestName("Checkout API v2!") != "checkout-api-v2" {
		t.Error(suggestName("Checkout API v2!"))
	}
}
