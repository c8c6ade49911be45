package catalog_test

import (
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/catalog"
)

const badChecklist = `apiVersion: tsuna/v1
kind: Checklist
name: prr
version: 2
levels: [bronze, silver]
categories:
  - name: Monitoring
    items:
      - id: runbook
        question: Is there a runbook?
        check: catalog.runbok != ""
      - id: tier
        question: Tier one?
        check: 'catalog.tier == "1"'
      - id: block
        question: Block scalar?
        level: silvr
        check: |
          size(catalog.oncall) > 0 &&
            catalog.dashboard + 1
      - id: int
        question: Not a boolean?
        check: size(catalog.slos)
      - id: runbook
        question: Twice?
        lifecycles: [prod]
        tiers: [4]
        expires: 2h
`

// TestChecklistLint: a CEL type error is reported at its line and column
// in the file (plain, quoted and block scalars), an unknown fact with a
// suggestion, and every other mistake where it is.
func TestChecklistLint(t *testing.T) {
	_, diags := catalog.Parse([]catalog.File{{Path: "prr.yaml", Data: []byte(badChecklist)}})
	var got []string
	for _, d := range diags {
		got = append(got, d.Pos().String()+": "+d.Message)
	}
	want := []string{
		`prr.yaml:11:16: items[0].check: unknown fact "catalog.runbok"; did you mean "catalog.runbook"? (the facts are listed in docs/readiness.md)`,
		`prr.yaml:14:30: items[1].check is not a valid check: found no matching overload for '_==_' applied to '(int, string)'`,
		`prr.yaml:17:16: items[2].level "silvr" is not a level of this checklist; did you mean "silver"? (levels: bronze, silver)`,
		`prr.yaml:20:31: items[2].check is not a valid check: found no matching overload for '_+_' applied to '(string, int)'`,
		`prr.yaml:23:16: items[3].check is not a valid check: the check is of type int; it must be true or false, such as ` + "`catalog.runbook != \"\"`",
		`prr.yaml:24:13: item id "runbook" is used twice (first at line 9); ids must be unique in a checklist`,
		`prr.yaml:26:22: items[4].lifecycles[0] "prod" is not a lifecycle; use experimental, production or deprecated`,
		`prr.yaml:27:17: items[4].tiers[0] 4: tiers are 1 to 3`,
		`prr.yaml:28:18: items[4].expires "2h" is not a duration between 1d and 3y; write it as 90d, 26w or 1y`,
	}
	for i := range got {
		got[i] = strings.Replace(got[i], "categories[0].", "", 1)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := catalog.ChecklistsOf([]catalog.File{{Path: "prr.yaml", Data: []byte(badChecklist)}}); err == nil {
		t.Error("ChecklistsOf took a checklist with errors")
	}
}

func TestChecklistsOf(t *testing.T) {
	good := strings.Join([]string{`apiVersion: tsuna/v1
kind: Team
name: a
---
apiVersion: tsuna/v1
kind: Checklist
name: prr
version: 3
levels: [bronze, silver]
categories:
  - name: Monitoring
    items:
      - id: runbook
        question: Is there a runbook?
        check: catalog.runbook != ""
      - id: load
        question: Load test?
        level: silver
        tiers: [1]
        lifecycles: [experimental]
        expires: 90d
`}, "")
	if _, diags := catalog.Parse([]catalog.File{{Path: "c.yaml", Data: []byte(good)}}); diags.HasErrors() {
		t.Fatalf("lint: %v", diags)
	}
	cls, err := catalog.ChecklistsOf([]catalog.File{{Path: "c.yaml", Data: []byte(good)}})
	if err != nil || len(cls) != 1 {
		t.Fatalf("%v %v", cls, err)
	}
	c := cls[0]
	items := c.Items()
	if c.Name != "prr" || c.Version != 3 || len(items) != 2 || items[0].Manual || !items[1].Manual || items[0].Level != "bronze" ||
		items[1].Expires.Hours() != 90*24 || items[0].Expires != catalog.DefaultAnswerExpiry {
		t.Errorf("checklist read as %+v", c)
	}
	if items[0].AppliesTo(1, catalog.LifecycleExperimental) || !items[0].AppliesTo(3, catalog.LifecycleDeprecated) ||
		!items[1].AppliesTo(1, catalog.LifecycleExperimental) || items[1].AppliesTo(2, catalog.LifecycleExperimental) {
		t.Error("AppliesTo")
	}
}
