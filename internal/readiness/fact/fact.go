// Package fact declares the facts a readiness checklist's automated checks
// read, and compiles and evaluates those checks: CEL expressions over the
// facts, type-checked when the checklist is linted.
//
// It imports nothing of tsuna, so the catalog (which checks checklists at
// lint time) and the readiness package (which computes the facts) share
// one declaration of them.
package fact

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// Type is the type of a fact's value, as a CEL expression sees it.
type Type string

// Fact types.
const (
	Bool    Type = "bool"
	Int     Type = "int"
	Double  Type = "double"
	String  Type = "string"
	Strings Type = "list(string)"
	Map     Type = "map(string, string)"
)

func (t Type) cel() *cel.Type {
	switch t {
	case Bool:
		return cel.BoolType
	case Int:
		return cel.IntType
	case Double:
		return cel.DoubleType
	case String:
		return cel.StringType
	case Strings:
		return cel.ListType(cel.StringType)
	case Map:
		return cel.MapType(cel.StringType, cel.StringType)
	}
	panic("fact: unknown type " + string(t))
}

// Fact is one thing tsuna knows about a service, named as checks write it.
type Fact struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
	// Doc says what the value means.
	Doc string `json:"doc"`
	// Source says where tsuna takes it from.
	Source string `json:"source"`
}

// Sources of facts.
const (
	SourceCatalog     = "catalog"
	SourceSLO         = "slo"
	SourceAlerting    = "alerting"
	SourceIncidents   = "incidents"
	SourcePostmortems = "postmortems"
	SourceEvidence    = "evidence"
)

// All lists every fact, by source then name. docs/readiness.md documents
// each (a test keeps them equal).
var All = []Fact{
	{"catalog.team", String, "the owning team's name", "the service's `team:` in the catalog"},
	{"catalog.oncall", Strings, "the on-call set: member emails of the owning team, in escalation order", "the team's `oncall:` in the catalog"},
	{"catalog.members", Int, "how many members the owning team lists", "the team's `members:` in the catalog"},
	{"catalog.channel", String, "the chat channel the service's alerts and messages go to (the service's own, else its team's); \"\" when none", "`chat.channel` of the service or the team"},
	{"catalog.runbook", String, "the runbook link; \"\" when none", "the service's `links.runbook`"},
	{"catalog.dashboard", String, "the dashboard link; \"\" when none", "the service's `links.dashboard`"},
	{"catalog.repo", String, "the source repository link; \"\" when none", "the service's `links.repo`"},
	{"catalog.docs", String, "the documentation link; \"\" when none", "the service's `links.docs`"},
	{"catalog.description", String, "the service's description", "the service's `description`"},
	{"catalog.dependencies", Strings, "the services it depends on, as declared", "the service's `dependsOn`"},
	{"catalog.tier", Int, "the tier, 1 (most critical) to 3", "the service's `tier`"},
	{"catalog.lifecycle", String, "experimental, production or deprecated", "the service's `lifecycle`"},
	{"catalog.slos", Strings, "the names of the SLOs declared for the service", "the service's `slos` and Sloth or OpenSLO specs naming it"},
	{"catalog.labels", Map, "the service's labels", "the service's `labels`"},
	{"slo.known", Bool, "every declared SLO has a known status (its SLI could be read); false when none is declared", "the SLO evaluator (Prometheus or the event store), at evaluation"},
	{"slo.budget_left", Double, "the lowest error budget left among the service's SLOs, in percent (below 0 when overspent); unknown when no SLO has a status", "the SLO evaluator, at evaluation"},
	{"slo.burn_alerts_routed", Bool, "the SLOs' burn alerts reach the team: SLOs are declared and a chat channel is set for the service or its team (tsuna's generated rules carry the service label that routing follows)", "the catalog's SLOs and channel, as alert routing uses them"},
	{"alerting.alerts_90d", Int, "alerts of the service received from Alertmanager in the last 90 days: evidence that alerting rules exist for it", "alerts stored by the Alertmanager webhook"},
	{"alerting.routed_to_team", Bool, "every alert of the service in the last 90 days reached the owning team's channel (true when there was none)", "the routing recorded with each stored alert"},
	{"incidents.count_90d", Int, "incidents of the service reported in the last 90 days", "tsuna's incidents"},
	{"incidents.major_90d", Int, "SEV1 and SEV2 incidents of the service in the last 90 days", "tsuna's incidents"},
	{"incidents.days_since_last", Int, "whole days since the service's last incident; -1 when it never had one", "tsuna's incidents"},
	{"postmortems.missing", Int, "SEV1 and SEV2 incidents of the last 90 days, resolved, without a published postmortem", "tsuna's postmortems"},
	{"postmortems.overdue_followups", Int, "postmortem follow-ups of the service past their due date and not done", "tsuna's postmortems"},
	{"evidence.links", Map, "evidence attached to the service's current review, by item ID: the link given with an answer (such as a load test report)", "answers of the service's review"},
}

// Lookup returns the fact named name.
func Lookup(name string) (Fact, bool) {
	i := slices.IndexFunc(All, func(f Fact) bool { return f.Name == name })
	if i < 0 {
		return Fact{}, false
	}
	return All[i], true
}

// Names returns the name of every fact.
func Names() []string {
	out := make([]string, len(All))
	for i, f := range All {
		out[i] = f.Name
	}
	return out
}

var (
	envOnce sync.Once
	env     *cel.Env
	envErr  error
)

// Env is the CEL environment of checks: every fact a variable.
func Env() (*cel.Env, error) {
	envOnce.Do(func() {
		opts := make([]cel.EnvOption, 0, len(All))
		for _, f := range All {
			opts = append(opts, cel.VariableWithDoc(f.Name, f.Type.cel(), f.Doc))
		}
		env, envErr = cel.NewEnv(opts...)
	})
	return env, envErr
}

// MaxExprLen bounds a check's text, in bytes.
const MaxExprLen = 4096

// CheckError is why a check does not compile, at a byte offset in its text.
type CheckError struct {
	// Offset is the byte offset in the expression of what is wrong.
	Offset int
	Msg    string
	// Unknown is the fact name the expression uses and no fact has, such
	// as "catalog.runbok"; "" for other errors.
	Unknown string
}

func (e *CheckError) Error() string { return e.Msg }

// Program is a compiled check.
type Program struct {
	Expr string
	// Refs are the facts the check reads, sorted: its evidence.
	Refs    []string
	prg     cel.Program
	partial cel.Program
}

// undeclared matches the checker's message for a name no fact has.
var undeclared = regexp.MustCompile(`^undeclared reference to '([^']*)'`)

func isNameByte(b byte) bool {
	return b == '.' || b == '_' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

// Compile parses and type-checks expr, which must be true or false.
func Compile(expr string) (*Program, error) {
	if len(expr) > MaxExprLen {
		return nil, &CheckError{Offset: 0, Msg: fmt.Sprintf("the check is %d bytes; keep it under %d", len(expr), MaxExprLen)}
	}
	e, err := Env()
	if err != nil {
		return nil, err
	}
	ast, iss := e.Compile(expr)
	if iss != nil && iss.Err() != nil {
		errs := iss.Errors()
		first := errs[0]
		off := offsetOf(expr, first.Location.Line(), first.Location.Column())
		ce := &CheckError{Offset: off, Msg: first.Message}
		if m := undeclared.FindStringSubmatch(first.Message); m != nil {
			// The checker points at the last dot of a qualified name:
			// point at its start instead.
			for ce.Offset > 0 && isNameByte(expr[ce.Offset-1]) {
				ce.Offset--
			}
			ce.Unknown = m[1]
			ce.Msg = fmt.Sprintf("unknown fact %q", m[1])
		}
		return nil, ce
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, &CheckError{Msg: fmt.Sprintf("the check is of type %s; it must be true or false, such as `%s != \"\"`", ast.OutputType(), "catalog.runbook")}
	}
	p := &Program{Expr: expr}
	for _, r := range ast.NativeRep().ReferenceMap() {
		if r.Name != "" && !slices.Contains(p.Refs, r.Name) {
			if _, ok := Lookup(r.Name); ok {
				p.Refs = append(p.Refs, r.Name)
			}
		}
	}
	sort.Strings(p.Refs)
	if p.prg, err = e.Program(ast); err != nil {
		return nil, err
	}
	if p.partial, err = e.Program(ast, cel.EvalOptions(cel.OptPartialEval)); err != nil {
		return nil, err
	}
	return p, nil
}

// offsetOf converts CEL's 1-based line and 0-based column (in characters)
// into a byte offset in expr.
func offsetOf(expr string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(expr[off:], '\n')
		if i < 0 {
			return len(expr)
		}
		off += i + 1
	}
	for c := 0; c < col && off < len(expr) && expr[off] != '\n'; c++ {
		_, n := utf8.DecodeRuneInString(expr[off:])
		off += n
	}
	return off
}

// Result is what a check decided.
type Result string

// Results.
const (
	True    Result = "true"
	False   Result = "false"
	Unknown Result = "unknown"
)

// Values are the facts of one service: name → value (bool, int64,
// float64, string, []string or map[string]string). A fact missing from
// Values is unknown: its source is not wired, or could not be read.
type Values map[string]any

// Eval runs the check over v. A check that depends on an unknown fact is
// Unknown, unless the known facts decide it (`a || b` with a true).
func (p *Program) Eval(v Values) (Result, error) {
	complete := true
	for _, r := range p.Refs {
		if _, ok := v[r]; !ok {
			complete = false
			break
		}
	}
	var out ref.Val
	var err error
	if complete {
		out, _, err = p.prg.Eval(map[string]any(v))
	} else {
		e, _ := Env()
		act, aerr := e.PartialVars(map[string]any(v))
		if aerr != nil {
			return Unknown, aerr
		}
		out, _, err = p.partial.Eval(act)
	}
	if err != nil {
		return Unknown, fmt.Errorf("check %q: %w", p.Expr, err)
	}
	if types.IsUnknown(out) {
		return Unknown, nil
	}
	if b, ok := out.Value().(bool); ok {
		if b {
			return True, nil
		}
		return False, nil
	}
	return Unknown, fmt.Errorf("check %q gave %v, not true or false", p.Expr, out)
}
