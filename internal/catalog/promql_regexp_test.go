package catalog

import (
	"fmt"
	"testing"
)

// TestRegexpsNotCompiledTwiceSameErrors: writing a valid, non-empty =~
// matcher as "= " before parsing changes nothing the parser says: the same
// queries are accepted, and the same errors are reported at the same
// offsets, including those about regexps and empty matchers.
func TestRegexpsNotCompiledTwiceSameErrors(t *testing.T) {
	queries := []string{
		`sum(rate(http_requests_total{job="api",code=~"(5..|429)"}[5m]))`,
		`sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))`,
		`sum(rate(x{code =~ '5..'}[5m]))`,
		"sum(rate(x{code=~`5\\d\\d`}[5m]))",
		`sum(rate(x{code=~".*"}[5m]))`,       // matches the empty string: the selector is empty
		`sum(rate(x{code=~""}[5m]))`,         // empty
		`{code=~".*"}`,                       // no non-empty matcher
		`{code=~"5.."}`,                      // a valid selector without a name
		`sum(rate(x{code=~"("}[5m]))`,        // not a regexp
		`sum(rate(x{code=~"5..}[5m]))`,       // an unterminated string
		`sum(rate(x{path="/a=~\"b\""}[5m]))`, // =~ inside a string
		"sum(rate(x{code=~\"5..\"}[5m])) # code=~\"(\"\n+ 1",
		`sum(rate(x{code!~"2.."}[5m]))`,
		`{__name__=~"http_.*",code=~"5.."}`,
		`x{__name__=~"y"}`,
		`sum(rate(x{code=~"5.."}[5m])`, // a missing parenthesis
		`foo{a=~"b"} == bar{c=~"d"}`,
		`label_replace(x{a=~"b"}, "c", "$1", "a", "(.*)")`,
	}
	for _, q := range queries {
		_, want := promql.ParseExpr(q)
		_, got := promql.ParseExpr(withoutRegexps(q))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s:\nparsed as written: %v\nparsed rewritten:  %v", q, want, got)
		}
	}
	if q := `x{code=~"5.."}`; withoutRegexps(q) == q {
		t.Errorf("%s was not rewritten: the regexp is compiled twice", q)
	}
}

// FuzzWithoutRegexps: for any query, the rewritten one parses to the same
// verdict and error.
func FuzzWithoutRegexps(f *testing.F) {
	for _, q := range []string{`sum(rate(x{code=~"5.."}[5m]))`, `{a=~".*"}`, `x{a=~"("}`, "x{a=~`b`} # c=~\"d\"", `x{a="=~\"b\""}`} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if len(q) > 512 {
			return
		}
		r := withoutRegexps(q)
		if len(r) != len(q) {
			t.Fatalf("rewriting changed the length: %q → %q", q, r)
		}
		_, want := promql.ParseExpr(q)
		_, got := promql.ParseExpr(r)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q:\nparsed as written: %v\nparsed rewritten:  %v", q, want, got)
		}
	})
}

// TestQueriesOfOneShapeParsedOnce: queries that differ only in the values
// of = and != matchers have one shape, and those that differ in anything
// the parser judges (a regexp, an empty value, a label name) do not.
func TestQueriesOfOneShapeParsedOnce(t *testing.T) {
	a := shape(`sum(rate(x{job="api",code= "5.."}[5m]))`, "x")
	if b := shape(`sum(rate(x{job="checkout-frontend",code= "4.."}[5m]))`, "x"); a != b {
		t.Errorf("one form, two shapes:\n%s\n%s", a, b)
	}
	for _, q := range []string{
		`sum(rate(x{job="",code= "5.."}[5m]))`,      // an empty value
		`sum(rate(x{job=~"api",code= "5.."}[5m]))`,  // a regexp
		`sum(rate(x{"job"="api",code= "5.."}[5m]))`, // a quoted label name
		`sum(rate(x{job="a\\pi",code= "5.."}[5m]))`, // an escape
		`sum(rate(y{job="api",code= "5.."}[5m]))`,   // another metric
	} {
		if shape(q, "x") == a {
			t.Errorf("%s has the shape of another query: %s", q, a)
		}
	}
	// A query already judged valid is not parsed again; an invalid one of a
	// valid shape does not exist, and one of another shape is still refused.
	if err := checkPromQL(`sum(rate(http_requests_total{job="a"}[5m]))`); err != nil {
		t.Fatal(err)
	}
	if _, ok := validShapes.Load(shape(`sum(rate(http_requests_total{job="b"}[5m]))`, "x")); !ok {
		t.Error("a valid query's shape was not kept")
	}
	if err := checkPromQL(`sum(rate(http_requests_total{job=~"("}[5m]))`); err == nil {
		t.Error("an invalid regexp passed as a valid query of the same form")
	}
}

// FuzzShapeKeepsTheVerdict: a query parses to the same verdict when the
// values shape replaces hold something else, so one verdict serves every
// query of a shape.
func FuzzShapeKeepsTheVerdict(f *testing.F) {
	for _, q := range []string{`sum(rate(x{code="5.."}[5m]))`, `{a!=""}`, `x{a="b"} == "c"`, "x{a=`b`} # c=\"d\"", `x{"a"="b", c='d'}`, `count_values("x", y{a="b"})`,
		`x{a=~"("}`, `x{a!~".*"}`, `{a=~".+"}`, `sum by ("a") (x)`, `{"a.b"}`} {
		f.Add(q, "v")
	}
	f.Fuzz(func(t *testing.T, q, content string) {
		if len(q) > 512 || content == "" || !simpleValue(content, '"') {
			return
		}
		r := shape(q, content)
		_, want := promql.ParseExpr(q)
		_, got := promql.ParseExpr(r)
		if (got == nil) != (want == nil) {
			t.Errorf("%q: %v\nas %q: %v", q, want, r, got)
		}
	})
}

// TestIsLabelName: the label name check is the regexp's.
func TestIsLabelName(t *testing.T) {
	for _, s := range []string{"", "a", "_", "A9", "9a", "a-b", "a.b", "tier", "sloth_id", "é", "a b", "_9_", "Z"} {
		if got, want := isLabelName(s), labelNameRE.MatchString(s); got != want {
			t.Errorf("isLabelName(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}
