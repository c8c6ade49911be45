package catalog

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/strutil"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// promql parses PromQL; the package-level parser is safe for concurrent use.
var promql = parser.NewParser(parser.Options{})

// query reads a PromQL field holding the {{.window}} placeholder and checks
// its syntax with the window replaced, reporting an error at its position in
// the file.
func (p *docParser) query(e entry, what string, needWindow bool) string {
	q, ok := p.str(e, what)
	if !ok {
		return ""
	}
	if strings.TrimSpace(q) == "" {
		p.errorf(p.valuePos(e), "%s is empty; write a PromQL expression", what)
		return ""
	}
	if needWindow && !strings.Contains(q, slo.WindowPlaceholder) {
		p.errorf(p.valuePos(e), "%s has no %s placeholder; write the range as [%s] so tsuna can compute each alert window", what, slo.WindowPlaceholder, slo.WindowPlaceholder)
		return ""
	}
	if err := checkPromQL(withoutRegexps(strings.ReplaceAll(q, slo.WindowPlaceholder, "5m"))); err != nil {
		// Only now map the error's offset back to the text as written.
		_, offsets := expandWindow(q)
		var perrs parser.ParseErrors
		off := 0
		msg := err.Error()
		if errors.As(err, &perrs) && len(perrs) > 0 {
			off = int(perrs[0].PositionRange.Start)
			msg = perrs[0].Err.Error()
			if off >= 0 && off < len(offsets) {
				off = offsets[off]
			} else {
				off = len(q)
			}
		}
		p.errorf(p.offsetPos(e, q, off), "%s is not valid PromQL: %s", what, msg)
		return ""
	}
	return strings.TrimSpace(q)
}

// checkPromQL parses q, unless a query of the same shape (see shape) was
// valid: the SLOs of a catalog repeat a few forms, which differ only in
// the values they match.
func checkPromQL(q string) error {
	key := shape(q, "x")
	if _, ok := validShapes.Load(key); ok {
		return nil
	}
	if _, err := promql.ParseExpr(q); err != nil {
		return err
	}
	if len(key) <= 1024 && validShapesHeld.Add(1) <= maxShapes {
		validShapes.Store(key, struct{}{})
	}
	return nil
}

// validShapes holds the shapes of valid queries, up to maxShapes of them,
// so that a long-running server's cache is bounded.
var (
	validShapes     sync.Map // string → struct{}
	validShapesHeld atomic.Int32
)

const maxShapes = 4096

// shape returns q with the value of each = and != matcher (and each
// string after =, ==, != , <= or >=, which is a type error whatever it
// holds) written as content, when the value is not empty and holds only
// printable ASCII without quotes or backslashes: the parser's verdict does
// not depend on such a value, only on whether it is empty. The values of
// regexp matchers (=~, !~; see withoutRegexps), label names, function
// arguments and everything else are kept as written.
func shape(q, content string) string {
	var b strings.Builder
	done := 0 // q[:done] is in b
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '#':
			i = commentEnd(q, i)
		case '"', '\'', '`':
			end := slo.QuoteEnd(q, i)
			if end >= len(q) {
				return q
			}
			before := strings.TrimRight(q[:i], " \t\n\r")
			if !strings.HasSuffix(before, "=") || end == i+1 || !simpleValue(q[i+1:end], q[i]) {
				i = end
				continue
			}
			if b.Len() == 0 {
				b.Grow(len(q))
			}
			b.WriteString(q[done : i+1])
			b.WriteString(content)
			done, i = end, end
		}
	}
	if done == 0 {
		return q
	}
	b.WriteString(q[done:])
	return b.String()
}

// simpleValue reports whether the string value v, quoted with quote, holds
// only printable ASCII other than quotes and backslashes.
func simpleValue(v string, quote byte) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c > '~' || c == '\\' || c == '"' || c == '\'' || c == '`' || c == quote {
			return false
		}
	}
	return true
}

// regexps caches, per regular expression of a =~ matcher, whether it is
// valid and matches no empty string. Compiling one costs as much as
// parsing the rest of a query, and SLO queries repeat a few of them.
var (
	regexps     sync.Map     // string → bool
	regexpsHeld atomic.Int32 // entries, at most maxRegexps
)

// maxRegexps bounds the cache of a long-running server, which reads
// catalogs it is sent.
const maxRegexps = 4096

// withoutRegexps returns q with each =~ matcher whose regular expression is
// valid and matches no empty string written as "= " instead: the parser
// then checks the query without compiling it again, and finds the same
// errors at the same offsets (the length is the same, and neither matcher
// matches the empty string). Other matchers are left to the parser.
func withoutRegexps(q string) string {
	var b []byte    // a copy, once there is something to change
	braces := false // inside {…}, where matchers are
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '#':
			i = commentEnd(q, i)
		case '"', '\'', '`':
			i = slo.QuoteEnd(q, i)
		case '{':
			braces = true
		case '}':
			braces = false
		case '=':
			if !braces || i+1 >= len(q) || q[i+1] != '~' || !afterLabelName(q[:i]) {
				continue
			}
			j := i + 2
			for j < len(q) && (q[j] == ' ' || q[j] == '\t' || q[j] == '\n') {
				j++
			}
			if j >= len(q) || !strings.ContainsRune("\"'`", rune(q[j])) {
				continue
			}
			end := slo.QuoteEnd(q, j)
			if end >= len(q) {
				return q
			}
			if re, err := strutil.Unquote(q[j : end+1]); err == nil && re != "" && compiles(re) {
				if b == nil {
					b = []byte(q)
				}
				b[i+1] = ' '
			}
			i = end
		}
	}
	if b == nil {
		return q
	}
	return string(b)
}

// commentEnd returns the end of the PromQL comment that starts at q[i]:
// the end of its line.
func commentEnd(q string, i int) int {
	if j := strings.IndexByte(q[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(q)
}

// afterLabelName reports whether q ends in a label name after '{' or ','
// (and spaces).
func afterLabelName(q string) bool {
	q = strings.TrimRight(q, " \t\n")
	name := len(q)
	for name > 0 && (q[name-1] == '_' || q[name-1] >= 'a' && q[name-1] <= 'z' || q[name-1] >= 'A' && q[name-1] <= 'Z' || q[name-1] >= '0' && q[name-1] <= '9') {
		name--
	}
	if name == len(q) || q[name] >= '0' && q[name] <= '9' {
		return false
	}
	q = strings.TrimRight(q[:name], " \t\n")
	return strings.HasSuffix(q, "{") || strings.HasSuffix(q, ",")
}

// compiles reports whether re is a valid regular expression of a label
// matcher that does not match the empty string, as Prometheus compiles it.
func compiles(re string) bool {
	if ok, found := regexps.Load(re); found {
		return ok.(bool)
	}
	m, err := labels.NewFastRegexMatcher(re)
	ok := err == nil && !m.MatchString("")
	if len(re) <= 256 && regexpsHeld.Add(1) <= maxRegexps {
		regexps.Store(re, ok)
	}
	return ok
}

// expandWindow replaces the placeholder with 5m and returns, for each byte
// of the result, its offset in q.
func expandWindow(q string) (string, []int) {
	var b strings.Builder
	var offsets []int
	for i := 0; i < len(q); {
		if strings.HasPrefix(q[i:], slo.WindowPlaceholder) {
			b.WriteString("5m")
			offsets = append(offsets, i, i)
			i += len(slo.WindowPlaceholder)
			continue
		}
		b.WriteByte(q[i])
		offsets = append(offsets, i)
		i++
	}
	return b.String(), offsets
}

// offsetPos is the position in the file of byte off of the string value of e.
func (p *docParser) offsetPos(e entry, value string, off int) Pos {
	start := p.valuePos(e)
	// An error at the end points at the last character, not past a final newline.
	off = min(off, len(strings.TrimRight(value, "\n")))
	before := value[:off]
	if lit, ok := e.value.(*ast.LiteralNode); ok && lit.Value != nil {
		// A block scalar starts on the line after its indicator (| or >).
		line := start.Line + 1 + strings.Count(before, "\n")
		next := string(p.lines.line(start.Line + 1))
		indent := len(next) - len(strings.TrimLeft(next, " "))
		col := indent + 1 + len(before) - (strings.LastIndex(before, "\n") + 1)
		return Pos{File: start.File, Line: line, Column: col}
	}
	if strings.Contains(before, "\n") {
		return start // a folded plain scalar: no exact column
	}
	if tk := e.value.GetToken(); tk != nil && (tk.Type == token.DoubleQuoteType || tk.Type == token.SingleQuoteType) {
		start.Column++ // the opening quote
	}
	start.Column += len(before)
	return start
}

var metricNameRE = labelNameRE

// windowSentinel stands for the {{.window}} placeholder in an expression
// built with the PromQL parser's types; rateOf replaces its printed form.
const windowSentinel = 1234567 * time.Millisecond

// rateOf turns a query of counters (OpenSLO's counter: true) into the rate
// of those counters over {{.window}}: every series selector x becomes
// rate(x[{{.window}}]), and a query that does not aggregate is summed, so
// good and total are one series each.
func rateOf(q string) (string, error) {
	expr, err := promql.ParseExpr(q)
	if err != nil {
		return "", fmt.Errorf("not valid PromQL: %w", err)
	}
	var failed error
	var rewrite func(parser.Expr) parser.Expr
	rewrite = func(n parser.Expr) parser.Expr {
		switch v := n.(type) {
		case *parser.VectorSelector:
			return &parser.Call{Func: parser.Functions["rate"], Args: parser.Expressions{&parser.MatrixSelector{VectorSelector: v, Range: windowSentinel}}}
		case *parser.AggregateExpr:
			v.Expr = rewrite(v.Expr)
		case *parser.BinaryExpr:
			v.LHS, v.RHS = rewrite(v.LHS), rewrite(v.RHS)
		case *parser.ParenExpr:
			v.Expr = rewrite(v.Expr)
		case *parser.UnaryExpr:
			v.Expr = rewrite(v.Expr)
		case *parser.Call:
			for i := range v.Args {
				v.Args[i] = rewrite(v.Args[i])
			}
		case *parser.MatrixSelector, *parser.SubqueryExpr:
			failed = fmt.Errorf("the query already takes a range (%s); with counter: true give the counters alone, such as sum(http_requests_total{code=~\"5..\"}), and tsuna takes their rate over each window", v)
		}
		return n
	}
	expr = rewrite(expr)
	if failed != nil {
		return "", failed
	}
	if _, ok := expr.(*parser.AggregateExpr); !ok {
		expr = &parser.AggregateExpr{Op: parser.SUM, Expr: expr}
	}
	return strings.ReplaceAll(expr.String(), "["+model.Duration(windowSentinel).String()+"]", "["+slo.WindowPlaceholder+"]"), nil
}
