package catalog

import (
	"fmt"
	"unicode/utf8"
)

// report collects diagnostics up to a limit; past it, it counts those it
// leaves out, and formats nothing. Arguments that cost something to
// compute, such as suggestions, are passed as lazy values, computed only
// for the diagnostics kept.
type report struct {
	limit int
	diags Diagnostics
	// omitted counts the diagnostics left out; the first was at
	// firstOmitted, and omittedError says whether any was an error.
	omitted      int
	omittedError bool
	firstOmitted Pos
}

func (r *report) room() bool { return len(r.diags) < r.limit }

func (r *report) add(sev Severity, pos Pos, format string, args ...any) {
	if !r.room() {
		r.omit(sev, pos)
		return
	}
	r.diags = append(r.diags, Diagnostic{File: pos.File, Line: pos.Line, Column: pos.Column,
		Severity: sev, Message: shorten(fmt.Sprintf(format, args...))})
}

func (r *report) omit(sev Severity, pos Pos) {
	if r.omitted == 0 {
		r.firstOmitted = pos
	}
	r.omitted++
	r.omittedError = r.omittedError || sev == SeverityError
}

// absorb counts what o left out as left out by r.
func (r *report) absorb(o *report) {
	if o.omitted == 0 {
		return
	}
	if r.omitted == 0 {
		r.firstOmitted = o.firstOmitted
	}
	r.omitted += o.omitted
	r.omittedError = r.omittedError || o.omittedError
}

// note returns the diagnostic that says how many were left out, at the
// first of them: an error if any was. format takes that count and the
// limit.
func (r *report) note(format string, limit int) (Diagnostic, bool) {
	if r.omitted == 0 {
		return Diagnostic{}, false
	}
	sev := SeverityWarning
	if r.omittedError {
		sev = SeverityError
	}
	p := r.firstOmitted
	return Diagnostic{File: p.File, Line: max(p.Line, 1), Column: max(p.Column, 1), Severity: sev,
		Message: fmt.Sprintf(format, r.omitted, limit)}, true
}

// lazy is a message argument computed only if the message is formatted.
type lazy func() string

func (f lazy) String() string { return f() }

// shorten cuts msg to MaxMessageLength bytes in the middle, keeping its
// start and the advice at its end.
func shorten(msg string) string {
	if len(msg) <= MaxMessageLength {
		return msg
	}
	head, tail := MaxMessageLength*2/3, MaxMessageLength/3-len("…")
	for head > 0 && !utf8.RuneStart(msg[head]) {
		head--
	}
	cut := len(msg) - tail
	for cut < len(msg) && !utf8.RuneStart(msg[cut]) {
		cut++
	}
	return msg[:head] + "…" + msg[cut:]
}
