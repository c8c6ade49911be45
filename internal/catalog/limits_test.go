package catalog_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/catalog/catalogtest"
)

// These tests feed hostile inputs, and assert what a user sees (one clear
// diagnostic, at the place that goes over a limit) and that the work stays
// small: allocation is measured, with generous ceilings; time is only
// guarded by a deadline far above what any machine needs.

const guard = 60 * time.Second

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// within runs f, failing t if it has not returned after guard.
func within(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(guard):
		t.Fatalf("still running after %v", guard)
	}
}

// parseBounded parses files, failing t when that allocates more than
// ceiling bytes or runs past the guard.
func parseBounded(t *testing.T, files []catalog.File, ceiling uint64) (*catalog.Catalog, catalog.Diagnostics) {
	t.Helper()
	var c *catalog.Catalog
	var diags catalog.Diagnostics
	var alloc uint64
	within(t, func() { alloc = allocated(func() { c, diags = catalog.Parse(files) }) })
	if alloc > ceiling {
		t.Errorf("allocated %d MiB, want at most %d MiB", alloc>>20, ceiling>>20)
	}
	return c, diags
}

// wantOne checks that diags is one error at pos whose message starts with
// prefix.
func wantOne(t *testing.T, diags catalog.Diagnostics, pos, prefix string) {
	t.Helper()
	if len(diags) != 1 {
		var b bytes.Buffer
		diags[:min(len(diags), 5)].WriteText(&b)
		t.Fatalf("%d diagnostics, want 1; the first:\n%s", len(diags), b.String())
	}
	d := diags[0]
	if d.Severity != catalog.SeverityError || d.Pos().String() != pos || !strings.HasPrefix(d.Message, prefix) {
		t.Errorf("got %s %s: %s\nwant error %s: %s…", d.Severity, d.Pos(), d.Message, pos, prefix)
	}
	if n := len([]rune(d.Source)); n > catalog.MaxSourceExcerpt+2 {
		t.Errorf("source excerpt of %d characters", n)
	}
}

func file(name, data string) []catalog.File {
	return []catalog.File{{Path: name, Data: []byte(data)}}
}

// indentless nests n lists written at the column of their key:
//
//	k0:
//	- k1:
//	  - k2:
func indentless(n int) string {
	var b strings.Builder
	b.WriteString("k0:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s- k%d:\n", strings.Repeat("  ", i-1), i)
	}
	return b.String()
}

func TestDeepNestingIsOneDiagnostic(t *testing.T) {
	head := "apiVersion: tsuna/v1\nkind: Service\nname: x\nteam: t\n"
	for _, tc := range []struct {
		name  string
		files []catalog.File
		pos   string
		msg   string
	}{
		// The root mapping is level 1: the 32nd bracket is level 33.
		{"brackets on one line", file("f.yaml", head+"labels: "+strings.Repeat("[", 8000)+strings.Repeat("]", 8000)+"\n"),
			"f.yaml:5:40", "nesting deeper than 32 levels"},
		{"80 KB of brackets", file("f.yaml", head+"labels: "+strings.Repeat("[", 40000)+strings.Repeat("]", 40000)+"\n"),
			"f.yaml:5:16385", "line longer than 16384 bytes"},
		{"a bracket a line", catalogtest.Adversarial("deep-flow", 1<<20), "deep-flow.yaml:36:1", "nesting deeper than 32 levels"},
		{"indentation", catalogtest.Adversarial("deep-indent", 1<<20), "deep-indent.yaml:37:34", "nesting deeper than 32 levels"},
		{"dashes", catalogtest.Adversarial("deep-dashes", 1<<20), "deep-dashes.yaml:6:63", "nesting deeper than 32 levels"},
		{"lists without indentation", file("f.yaml", indentless(20)), "f.yaml:17:33", "nesting deeper than 32 levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, diags := parseBounded(t, tc.files, 16<<20)
			if c != nil {
				t.Error("catalog returned")
			}
			wantOne(t, diags, tc.pos, tc.msg)
		})
	}
}

// TestLongLineIsOneDiagnostic: one line of thousands of keys is reported
// once, with an excerpt of the line, where it used to be one diagnostic a
// key, each carrying the whole line (60 KB gave a 301 MB response).
func TestLongLineIsOneDiagnostic(t *testing.T) {
	_, diags := parseBounded(t, catalogtest.Adversarial("long-line", 60<<10), 8<<20)
	wantOne(t, diags, "long-line.yaml:5:16385", "line longer than 16384 bytes")
	var js bytes.Buffer
	diags.WriteJSON(&js)
	if js.Len() > 4<<10 {
		t.Errorf("JSON output of %d bytes", js.Len())
	}
	if src := diags[0].Source; !strings.HasPrefix(src, "…") || !strings.HasSuffix(src, "…") {
		t.Errorf("source %q is not an excerpt around the column", src)
	}
}

// TestThousandsOfErrorsOnOneLineAreCapped: a line within the limits with
// 2,000 errors gives at most MaxDiagnostics, each with a short excerpt,
// and a last diagnostic saying how many more there are.
func TestThousandsOfErrorsOnOneLineAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: tsuna/v1\nkind: Team\nname: t\nchat: {channel: \"#t\"}\n---\napiVersion: tsuna/v1\nkind: Service\nname: x\nteam: t\ndependsOn: [")
	for i := range 2000 {
		fmt.Fprintf(&b, "d%d,", i)
	}
	b.WriteString("]\n")
	_, diags := parseBounded(t, file("f.yaml", b.String()), 64<<20)
	if len(diags) != catalog.MaxDiagnostics+1 {
		t.Fatalf("%d diagnostics, want %d and a note", len(diags), catalog.MaxDiagnostics)
	}
	last := diags[len(diags)-1]
	if want := fmt.Sprintf("%d more diagnostics are not shown (at most %d in all)", 2000-catalog.MaxDiagnostics, catalog.MaxDiagnostics); !strings.HasPrefix(last.Message, want) || last.Severity != catalog.SeverityError {
		t.Errorf("last diagnostic %s: %s, want an error starting %q", last.Pos(), last.Message, want)
	}
	size := 0
	for _, d := range diags {
		size += len(d.Source) + len(d.Message)
	}
	if size > 1<<20 {
		t.Errorf("diagnostics hold %d KiB of text", size>>10)
	}
}

// TestDiagnosticsPerFileAreCapped: a file of 150 errors shows 100 and says
// how many more it has, at the first left out.
func TestDiagnosticsPerFileAreCapped(t *testing.T) {
	var b strings.Builder
	for i := range 50 { // 7 lines and 3 errors each: name, tier, lifecycle
		fmt.Fprintf(&b, "apiVersion: tsuna/v1\nkind: Service\nname: Bad_%d\nteam: nobody\ntier: 9\nlifecycle: bogus\n---\n", i)
	}
	_, diags := parseBounded(t, file("f.yaml", b.String()), 64<<20)
	var notes []catalog.Diagnostic
	shown := 0
	for _, d := range diags {
		switch {
		case strings.Contains(d.Message, "not shown"):
			notes = append(notes, d)
		case !strings.HasPrefix(d.Message, "unknown team"): // found across files, after
			shown++
		}
	}
	if shown != catalog.MaxDiagnosticsPerFile || len(notes) != 1 ||
		notes[0].Message != "50 more diagnostics in this file are not shown (at most 100 per file); fix the ones above and lint again" ||
		notes[0].Severity != catalog.SeverityError {
		t.Fatalf("%d shown, notes %v", shown, notes)
	}
	// Documents 1-33 give 99 errors, the name of the 34th the 100th: its
	// tier is the first left out.
	if got, want := notes[0].Pos().String(), fmt.Sprintf("f.yaml:%d:7", 7*33+5); got != want {
		t.Errorf("note at %s, want at the first left out, %s", got, want)
	}
}

// TestManyFilesOfErrorsAreCapped: diagnostics across files stop at
// MaxDiagnostics, the same ones whatever the scheduling.
func TestManyFilesOfErrorsAreCapped(t *testing.T) {
	files := catalogtest.Adversarial("many-errors", 200<<10) // about 1,800 errors
	_, first := parseBounded(t, files, 1<<30)
	if len(first) != catalog.MaxDiagnostics+1 || !strings.Contains(first[len(first)-1].Message, "more diagnostics are not shown") {
		t.Fatalf("%d diagnostics, want %d and a note", len(first), catalog.MaxDiagnostics)
	}
	_, again := catalog.Parse(files)
	var a, b bytes.Buffer
	first.WriteText(&a)
	again.WriteText(&b)
	if a.String() != b.String() {
		t.Error("two runs on the same files give different diagnostics")
	}
}

// TestTinyDocumentsAreCountedBeforeParsing: 200,000 documents took the
// YAML parser minutes (its time grows with their square); the count stops
// them before it runs.
func TestTinyDocumentsAreCountedBeforeParsing(t *testing.T) {
	c, diags := parseBounded(t, file("f.yaml", strings.Repeat("---\na\n", 200_000)), 8<<20)
	if c != nil {
		t.Error("catalog returned")
	}
	wantOne(t, diags, "f.yaml:20002:1", "more than 10000 YAML documents in one file")
}

// TestEmptyDocumentDoesNotHideTheRest: the YAML parser drops what follows
// an empty document ("---" after "---"); the catalog must not.
func TestEmptyDocumentDoesNotHideTheRest(t *testing.T) {
	c, diags := catalog.Parse(file("f.yaml", "apiVersion: tsuna/v1\nkind: Team\nname: ok\n---\n---\napiVersion: tsuna/v1\nkind: Team\nname: UPPER\n"))
	if c != nil || len(diags) != 1 || diags[0].Pos().String() != "f.yaml:8:7" || !strings.HasPrefix(diags[0].Message, "invalid team name") {
		t.Fatalf("catalog %v, diagnostics %v", c != nil, diags)
	}
	c, diags = catalog.Parse(file("f.yaml", "%YAML 1.2\n---\napiVersion: tsuna/v1\nkind: Team\nname: a\n...\n# b\n---\n---\napiVersion: tsuna/v1\nkind: Team\nname: b\n"))
	if c == nil || len(c.Teams) != 2 {
		t.Fatalf("teams %v, diagnostics %v", c, diags)
	}
}

// TestMegabyteNames: names are bounded in length before parsing, and long
// names get no "did you mean", which compared every pair of names (a 120
// KB name took 5.6 s).
func TestMegabyteNames(t *testing.T) {
	_, diags := parseBounded(t, file("f.yaml", "apiVersion: tsuna/v1\nkind: Team\nname: "+strings.Repeat("x", 1<<20)+"\n"), 16<<20)
	wantOne(t, diags, "f.yaml:3:16385", "line longer than 16384 bytes")

	_, diags = parseBounded(t, catalogtest.Adversarial("long-name", 1<<20), 16<<20)
	wantOne(t, diags, "long-name.yaml:69:3", "value longer than 65536 bytes (it starts on line 3)")

	// Just under the limits: 6 teams of 60 KB names (folded over lines
	// of 10 KB), and 6 services naming teams that are not declared, each
	// one character off: 36 comparisons of 60 KB names took minutes.
	var b strings.Builder
	for i := range 6 {
		name := strings.Repeat(strings.Repeat("ab", 5000)+"\n  ", 6) + fmt.Sprint(i)
		fmt.Fprintf(&b, "---\napiVersion: tsuna/v1\nkind: Team\nname: >-\n  %s\n", name)
		fmt.Fprintf(&b, "---\napiVersion: tsuna/v1\nkind: Service\nname: s%d\nteam: >-\n  %sc\n", i, name)
	}
	_, diags = parseBounded(t, file("f.yaml", b.String()), 256<<20)
	unknown := 0
	for _, d := range diags {
		if strings.HasPrefix(d.Message, "unknown team") {
			unknown++
			if strings.Contains(d.Message, "did you mean") || !strings.HasSuffix(d.Message, "declare it with `kind: Team` or name an existing team") {
				t.Fatalf("message %.100q…%q", d.Message, d.Message[len(d.Message)-80:])
			}
			if len(d.Message) > catalog.MaxMessageLength {
				t.Fatalf("message of %d bytes", len(d.Message))
			}
		}
	}
	if unknown != 6 {
		t.Errorf("%d unknown teams reported, want 6", unknown)
	}
}

// TestMappingKeysAreCountedBeforeParsing: the YAML parser takes time in
// the square of the keys of a mapping.
func TestMappingKeysAreCountedBeforeParsing(t *testing.T) {
	_, diags := parseBounded(t, catalogtest.Adversarial("block-keys", 1<<20), 8<<20)
	wantOne(t, diags, "block-keys.yaml:262:3", "mapping with more than 256 keys")
	_, diags = parseBounded(t, catalogtest.Adversarial("flow-keys", 1<<20), 8<<20)
	wantOne(t, diags, "flow-keys.yaml:261:10", "mapping with more than 256 keys")
}

// TestValuesAreCountedBeforeParsing: the YAML parser keeps hundreds of
// bytes a value, so small values (and comments) are counted.
func TestValuesAreCountedBeforeParsing(t *testing.T) {
	_, diags := parseBounded(t, catalogtest.Adversarial("flow-values", 1<<20), 8<<20)
	wantOne(t, diags, "flow-values.yaml:205:981", "more than 100000 YAML nodes (keys, values, list items, comments) in one document")
	_, diags = parseBounded(t, catalogtest.Adversarial("comments", 1<<20), 8<<20)
	wantOne(t, diags, "comments.yaml:99997:1", "more than 100000 YAML nodes")
}

// TestAliasesAreBounded: aliases to a long query read it once each; they
// may add at most MaxAliasExpansion times the file, then reading stops:
// one error, and nothing read after it.
func TestAliasesAreBounded(t *testing.T) {
	_, diags := parseBounded(t, catalogtest.Adversarial("aliases", 128<<10), 128<<20)
	var alias []catalog.Diagnostic
	for _, d := range diags {
		if strings.Contains(d.Message, "aliases in this file") {
			alias = append(alias, d)
		}
	}
	if len(alias) != 1 || alias[0].Pos().String() != "aliases.yaml:29:63" ||
		alias[0].Message != "aliases in this file refer to more than 2 times its size; write the repeated values out, or alias smaller ones" {
		t.Fatalf("alias errors: %v", alias)
	}
	if last := diags[len(diags)-1]; last.Line > alias[0].Line {
		t.Errorf("read on after the alias error: %s: %s", last.Pos(), last.Message)
	}
}

// TestSLOWindowIsBounded: a window of 281474976710686d overflowed to a
// month and linted clean; windows are whole days from 1d to 365d, and the
// error points at the value.
func TestSLOWindowIsBounded(t *testing.T) {
	_, diags := parseBounded(t, catalogtest.Adversarial("huge-window", 0), 8<<20)
	wantOne(t, diags, "huge-window.yaml:14:13", `slos[0].window "281474976710686d" is too long: use at most 365d`)

	slo := func(window string) string {
		return "apiVersion: tsuna/v1\nkind: Team\nname: t\nchat: {channel: \"#t\"}\n---\napiVersion: tsuna/v1\nkind: Service\nname: x\nteam: t\n" +
			"links: {runbook: \"https://runbooks.example.com/x\"}\nslos:\n  - name: a\n    objective: 99.9\n    window: " + window +
			"\n    sli: {ratio: {errors: \"sum(rate(e[{{.window}}]))\", total: \"sum(rate(t[{{.window}}]))\"}}\n"
	}
	for window, want := range map[string]string{
		"365d": "", "1y": "", "52w": "", "1d": "",
		"366d": `slos[0].window "366d" is too long`, "53w": `slos[0].window "53w" is too long`,
		"12h": `slos[0].window "12h": use whole days, at least 1d`,
	} {
		c, diags := catalog.Parse(file("f.yaml", slo(window)))
		switch {
		case want == "" && c == nil:
			t.Errorf("window %s: %v", window, diags)
		case want != "" && (len(diags) != 1 || !strings.HasPrefix(diags[0].Message, want) || diags[0].Pos().String() != "f.yaml:14:13"):
			t.Errorf("window %s: %v, want one error at f.yaml:14:13: %s", window, diags, want)
		}
	}

	openslo := func(window string) string {
		return "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  service: x\n  budgetingMethod: Occurrences\n  timeWindow:\n    - " + window +
			"\n  indicator: {spec: {ratioMetric: {good: {metricSource: {spec: {query: 'sum(rate(g[{{.window}}]))'}}}, total: {metricSource: {spec: {query: 'sum(rate(t[{{.window}}]))'}}}}}}\n  objectives: [{target: 0.99}]\n"
	}
	for window, want := range map[string]string{
		"{duration: 30d, isRolling: true}":       "",
		"{duration: 999999999999999d}":           `spec.timeWindow[0].duration "999999999999999d" is too long`,
		"{count: 100000000000000000, unit: Day}": "spec.timeWindow[0].count 1e+17 Day is too long",
		"{count: 53, unit: Week}":                "spec.timeWindow[0].count 53 Week is too long",
	} {
		c, diags := catalog.Parse(file("f.yaml", openslo(window)))
		switch {
		case want == "" && c == nil:
			t.Errorf("OpenSLO window %s: %v", window, diags)
		case want != "" && (!diags.HasErrors() || !strings.HasPrefix(diags[0].Message, want)):
			t.Errorf("OpenSLO window %s: %v, want %s", window, diags, want)
		}
	}
}

// TestWriteTextIsLinear: 2,000 errors on one 24 KB line (as a client may
// get them from an older server) printed in 78 s, the caret of each found
// by counting the characters before it again and again.
func TestWriteTextIsLinear(t *testing.T) {
	line := strings.Repeat("abcdefghij", 2400)
	line = line[:12000] + "X" + line[12001:]
	var ds catalog.Diagnostics
	for i := range 2000 {
		ds = append(ds, catalog.Diagnostic{File: "f.yaml", Line: 1, Column: 1 + i*12, Severity: catalog.SeverityError, Message: "bad", Source: line})
	}
	ds = append(ds, catalog.Diagnostic{File: "f.yaml", Line: 1, Column: 12001, Severity: catalog.SeverityError, Message: "here", Source: line})
	var out bytes.Buffer
	within(t, func() {
		if alloc := allocated(func() { ds.WriteText(&out) }); alloc > 64<<20 {
			t.Errorf("allocated %d MiB", alloc>>20)
		}
	})
	if out.Len() > 2<<20 {
		t.Errorf("%d KiB of text for 2,000 diagnostics", out.Len()>>10)
	}
	// The caret of the last is under its column.
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	src, caret := []rune(lines[len(lines)-2]), []rune(lines[len(lines)-1])
	if len(caret) == 0 || len(caret) > len(src) || src[len(caret)-1] != 'X' {
		t.Errorf("caret not under the column:\n%s\n%s", string(src), string(caret))
	}
}

// TestExcerptCaretsLineUp checks the excerpts Parse makes: the caret is
// under the character the diagnostic is about, far along a long line too.
func TestExcerptCaretsLineUp(t *testing.T) {
	pad := strings.Repeat("é", 500) // not ASCII: columns count characters
	_, diags := catalog.Parse(file("f.yaml", "apiVersion: tsuna/v1\nkind: Team\nname: t\nmembers: [{email: a@b.c, nme: "+pad+"}]\n"))
	var out bytes.Buffer
	diags.WriteText(&out)
	lines := strings.Split(out.String(), "\n")
	if len(diags) != 1 || len(lines) < 3 {
		t.Fatalf("diagnostics:\n%s", out.String())
	}
	src, caret := []rune(lines[1]), []rune(lines[2])
	if string(src[len(caret)-1:len(caret)+2]) != "nme" {
		t.Errorf("caret not under the field:\n%s", out.String())
	}
}

// countdown is a context that is done after its Err has been asked n
// times: cancellation at a chosen point, without timing.
type countdown struct {
	context.Context
	n atomic.Int64
}

func newCountdown(n int64) *countdown {
	c := &countdown{Context: context.Background()}
	c.n.Store(n)
	return c
}

func (c *countdown) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestParseContextStopsWhenDone(t *testing.T) {
	files := catalogtest.Generate(20, 2000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, diags := catalog.ParseContext(ctx, files)
	if c != nil || len(diags) != 1 || diags[0].Message != "the catalog was not read to the end: context canceled" {
		t.Fatalf("catalog %v, diagnostics %v", c != nil, diags)
	}
	// Done midway: stops between documents, with the same diagnostic.
	var alloc uint64
	within(t, func() {
		alloc = allocated(func() { c, diags = catalog.ParseContext(newCountdown(100), files) })
	})
	if c != nil || !diags.HasErrors() || diags[len(diags)-1].Message != "the catalog was not read to the end: context canceled" {
		t.Fatalf("catalog %v, diagnostics %v", c != nil, diags)
	}
	full := allocated(func() { catalog.Parse(files) })
	if alloc > full/4 {
		t.Errorf("stopped parse allocated %d KiB, the whole %d KiB", alloc>>10, full>>10)
	}
}

// TestSeverityLevelsAreReadOnce: the levels come from the parse that the
// limits bound; files were read and decoded whole a second time when they
// held the word SeverityLevel, which costs in the square of their
// documents, and a level declared twice was reported without a position.
func TestSeverityLevelsAreReadOnce(t *testing.T) {
	var b strings.Builder
	for i := range 9000 {
		fmt.Fprintf(&b, "---\napiVersion: tsuna/v1\nkind: Team\nname: t%d\n", i)
	}
	plain := allocated(func() { catalog.Parse(file("f.yaml", b.String())) })
	marked := allocated(func() { catalog.Parse(file("f.yaml", "# SeverityLevel\n"+b.String())) })
	if marked > 2*plain {
		t.Errorf("a comment naming SeverityLevel takes the allocation from %d to %d MiB", plain>>20, marked>>20)
	}

	level := "---\napiVersion: tsuna/v1\nkind: SeverityLevel\nname: %s\ndescription: d\n"
	c, diags := catalog.Parse(file("f.yaml", fmt.Sprintf(level+level+level, "SEV2", "SEV1", "sev2")))
	if c != nil || len(diags) != 1 || diags[0].Pos().String() != "f.yaml:14:7" ||
		diags[0].Message != `severity level "sev2" is declared twice: here and at f.yaml:4:7; keep one` {
		t.Fatalf("diagnostics %v", diags)
	}
	c, diags = catalog.Parse(file("f.yaml", fmt.Sprintf(level+level, "SEV2", "SEV1")))
	if c == nil || len(c.SeverityLevels) != 2 || c.SeverityLevels[0].Name != "SEV1" || c.SeverityLevels[1].Roles == nil {
		t.Fatalf("levels %+v, diagnostics %v", c, diags)
	}
}

// TestFileSizeIsBounded: a file over MaxFileSize is not read.
func TestFileSizeIsBounded(t *testing.T) {
	big := make([]byte, catalog.MaxFileSize+1)
	_, diags := parseBounded(t, []catalog.File{{Path: "big.yaml", Data: big}}, 8<<20)
	wantOne(t, diags, "big.yaml:1:1", "file larger than 32 MiB")
}

// BenchmarkAdversarial lints each hostile input of catalogtest at 1 MiB:
//
//	go test -run '^$' -bench Adversarial -benchmem ./internal/catalog
//
// catalogtest/lintbench runs them at the server's 32 MiB through tsuna
// lint, reporting time and peak memory.
func BenchmarkAdversarial(b *testing.B) {
	for _, name := range catalogtest.AdversarialNames {
		files := catalogtest.Adversarial(name, 1<<20)
		b.Run(name, func(b *testing.B) {
			size := 0
			for _, f := range files {
				size += len(f.Data)
			}
			b.SetBytes(int64(size))
			for b.Loop() {
				catalog.Parse(files)
			}
		})
	}
}
