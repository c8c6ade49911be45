package catalog

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Severity says whether a diagnostic fails lint.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Pos is a position in a catalog file; Line and Column start at 1.
type Pos struct {
	File   string
	Line   int
	Column int
}

// String returns "file:line:column".
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column) }

// Diagnostic is one finding of lint, at a position.
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	// Source is the text of the line the diagnostic points at: for a
	// long line, at most MaxSourceExcerpt characters around the column,
	// marked with "…" where cut.
	Source string `json:"source,omitempty"`
}

// Pos returns the position of d.
func (d Diagnostic) Pos() Pos { return Pos{File: d.File, Line: d.Line, Column: d.Column} }

// Diagnostics is a list of findings.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	return slices.ContainsFunc(ds, func(d Diagnostic) bool { return d.Severity == SeverityError })
}

// Errors returns how many diagnostics are errors.
func (ds Diagnostics) Errors() int {
	n := 0
	for _, d := range ds {
		if d.Severity == SeverityError {
			n++
		}
	}
	return n
}

// Sort orders ds by file, line and column, keeping the order of findings at
// one position.
func (ds Diagnostics) Sort() {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// WriteText writes each diagnostic as "file:line:column: message" followed by
// the source line and a caret under the column. A long source line is
// shown as an excerpt around the column (see MaxSourceExcerpt). The time
// it takes is linear in the size of ds.
func (ds Diagnostics) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, d := range ds {
		msg := d.Message
		if d.Severity == SeverityWarning {
			msg = "warning: " + msg
		}
		fmt.Fprintf(&b, "%s:%d:%d: %s\n", d.File, d.Line, d.Column, msg)
		if d.Source != "" {
			src, col := sourceAndColumn(d)
			fmt.Fprintf(&b, "    %s\n    %s^\n", src, caretPad(src, col))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sourceAndColumn returns the source text to show for d and the column of
// d in it: d.Source as Parse made it (an excerpt that starts with "…" puts
// the column excerptBefore characters after it), or an excerpt of a longer
// source line, as a client given diagnostics made elsewhere may have.
func sourceAndColumn(d Diagnostic) (string, int) {
	src, col := d.Source, d.Column
	trimmed := strings.HasPrefix(src, "…") && col-1 > excerptBefore
	if !trimmed && len(src) > MaxSourceExcerpt*utf8.UTFMax+2*len("…") {
		src = excerpt([]byte(src), col)
		trimmed = col-1 > excerptBefore
	}
	if trimmed {
		col = 1 + excerptBefore + 1 // after "…" and the characters before
	}
	return src, col
}

// caretPad returns the whitespace that puts a caret under column col of
// line, keeping tabs so the caret lines up in a terminal.
func caretPad(line string, col int) string {
	var b strings.Builder
	n := 0
	for _, r := range line {
		if n >= col-1 {
			break
		}
		n++
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// WriteJSON writes ds as a JSON array of {file,line,column,severity,message}.
func (ds Diagnostics) WriteJSON(w io.Writer) error {
	type out struct {
		File     string   `json:"file"`
		Line     int      `json:"line"`
		Column   int      `json:"column"`
		Severity Severity `json:"severity"`
		Message  string   `json:"message"`
	}
	list := make([]out, len(ds))
	for i, d := range ds {
		list[i] = out{d.File, d.Line, d.Column, d.Severity, d.Message}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}

// WriteGitHub writes ds as GitHub Actions workflow commands, so a pull
// request shows each finding on its line.
func (ds Diagnostics) WriteGitHub(w io.Writer) error {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "::%s file=%s,line=%d,col=%d::%s\n", d.Severity,
			ghProperty(d.File), d.Line, d.Column, ghData(d.Message))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var (
	ghDataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	ghPropertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func ghData(s string) string     { return ghDataEscaper.Replace(s) }
func ghProperty(s string) string { return ghPropertyEscaper.Replace(s) }
