package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// File is one catalog source file.
type File struct {
	// Path names the file in diagnostics.
	Path string
	// Data is the file's content; when nil, Parse reads Path from disk.
	Data []byte
}

// Parse parses and validates files: ParseContext without a deadline.
func Parse(files []File) (*Catalog, Diagnostics) {
	return ParseContext(context.Background(), files)
}

// ParseContext parses and validates files. It returns the catalog, or nil
// when any diagnostic is an error, and every diagnostic sorted by position.
// Files are parsed concurrently; the result does not depend on their order.
// The work is bounded by the limits (MaxFileSize and the others): a file
// over one is reported where it goes over, and not parsed. When ctx is
// done, parsing stops between documents and ParseContext returns an error
// diagnostic saying so.
func ParseContext(ctx context.Context, files []File) (*Catalog, Diagnostics) {
	jobs := make([]fileJob, len(files))
	for i := range jobs {
		jobs[i].scanned = make(chan struct{})
		jobs[i].done = make(chan struct{})
	}
	workers := min(runtime.GOMAXPROCS(0), len(files))
	// Workers take files in order and run at most window files ahead of
	// the merge, which takes results in order: the results held at once are
	// bounded, and the limits across files apply in file order.
	window := make(chan struct{}, 8*max(workers, 1))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				var prev *fileJob
				if i > 0 {
					prev = &jobs[i-1]
				}
				jobs[i].run(ctx, &files[i], prev)
			}
		})
	}
	go func() {
		for i := range files {
			window <- struct{}{}
			next <- i
		}
		close(next)
	}()

	m := merge{out: report{limit: MaxDiagnostics}, indicators: map[string]*slo.Ratio{}}
	for i := range jobs {
		<-jobs[i].done
		m.add(&jobs[i].res)
		jobs[i].res = fileResult{}
		<-window
	}
	wg.Wait()

	c := &Catalog{Teams: m.teams, Services: m.services}
	if !m.stopped {
		check := validate(c, files, m.foreign, m.indicators, m.refs, m.severityLevels, MaxDiagnostics-len(m.out.diags))
		m.out.diags = append(m.out.diags, check.diags...)
		m.out.absorb(&check)
	}
	diags := m.out.diags
	diags.Sort()
	if note, ok := m.out.note("%d more diagnostics are not shown (at most %d in all); fix the ones above and lint again", MaxDiagnostics); ok {
		diags = append(diags, note)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return c, diags
}

// nodeBudget is MaxNodes, lowered by tests.
var nodeBudget = MaxNodes

// fileJob is the parsing of one file by a worker.
type fileJob struct {
	res fileResult
	// nodesAfter is the nodes of the files up to this one, past which
	// files are not parsed (MaxNodes); set when scanned is closed.
	nodesAfter int
	scanned    chan struct{}
	done       chan struct{}
}

// merge gathers the results of the files in order.
type merge struct {
	out        report
	stopped    bool
	teams      []*Team
	services   []*Service
	foreign    []foreignSLO
	refs       []ruleRef
	indicators map[string]*slo.Ratio
	// severityLevels in file order
	severityLevels []*SeverityLevel
}

func (m *merge) add(r *fileResult) {
	if m.stopped {
		return
	}
	for _, d := range r.diags {
		if m.out.room() {
			m.out.diags = append(m.out.diags, d)
		} else {
			m.out.omit(d.Severity, d.Pos())
		}
	}
	if r.stopped != nil {
		m.stopped = true
		m.out.diags = append(m.out.diags, *r.stopped) // always shown
		return
	}
	m.teams = append(m.teams, r.teams...)
	m.services = append(m.services, r.services...)
	m.foreign = append(m.foreign, r.foreign...)
	m.refs = append(m.refs, r.ruleRefs...)
	m.severityLevels = append(m.severityLevels, r.severityLevels...)
	maps.Copy(m.indicators, r.indicators)
}

type fileResult struct {
	teams      []*Team
	services   []*Service
	ruleRefs   []ruleRef
	foreign    []foreignSLO
	indicators map[string]*slo.Ratio // OpenSLO SLI documents by name
	// severityLevels are the SeverityLevel documents, in order.
	severityLevels []*SeverityLevel
	diags          Diagnostics
	// stopped says that parsing stopped because the context is done.
	stopped *Diagnostic
}

// docParser turns one file's YAML documents into objects, collecting
// diagnostics instead of stopping at the first.
type docParser struct {
	file      *File
	lines     *sourceLines
	report    report
	anchors   map[string]ast.Node
	interned  map[string]map[string]string // see intern
	internKey []byte
	// lineOffset is added to the lines of the parser, which parses a few
	// documents at a time.
	lineOffset int
	// aliasBudget is what aliases may still refer to, in bytes; see
	// MaxAliasExpansion.
	aliasBudget int
	aliasSizes  map[ast.Node]int
}

// run parses f, after prev (nil for the first file).
func (j *fileJob) run(ctx context.Context, f *File, prev *fileJob) {
	defer close(j.done)
	nodes, before := 0, 0 // the nodes of this file, and of the files before
	scanned := func() {
		if prev != nil {
			<-prev.scanned
			before = prev.nodesAfter
		}
		j.nodesAfter = min(before+nodes, nodeBudget+1)
		close(j.scanned)
	}
	if err := ctx.Err(); err != nil {
		scanned()
		j.res.stopped = stoppedAt(f, err)
		return
	}
	data, err := readFile(f)
	p := &docParser{file: f, lines: &sourceLines{data: data}, report: report{limit: MaxDiagnosticsPerFile}}
	defer func() {
		p.lines.fill(p.report.diags)
		if note, ok := p.report.note("%d more diagnostics in this file are not shown (at most %d per file); fix the ones above and lint again", MaxDiagnosticsPerFile); ok {
			note.Source = p.lines.excerpt(note.Line, note.Column)
			p.report.diags = append(p.report.diags, note)
		}
		j.res.diags = p.report.diags
	}()
	if err != nil {
		scanned()
		p.errorf(Pos{File: f.Path, Line: 1, Column: 1}, "%v", err)
		return
	}
	s := scanFile(data)
	if s.over == nil {
		nodes = s.nodes
	}
	scanned()
	if s.over != nil {
		p.errorf(Pos{File: f.Path, Line: s.over.line, Column: s.over.column}, "%s", s.over.msg)
		return
	}
	if before > nodeBudget {
		return // reported in the file that went over
	}
	docs := s.docs
	for k, d := range docs {
		if before+d.nodesAfter > nodeBudget {
			p.errorf(Pos{File: f.Path, Line: d.line, Column: 1}, "more than %d YAML nodes (keys, values, list items, comments) in the files read together; lint or apply the catalog in parts", nodeBudget)
			docs = docs[:k]
			break
		}
	}
	p.aliasBudget = MaxAliasExpansion*len(data) + aliasSlack
	for len(docs) > 0 {
		if err := ctx.Err(); err != nil {
			j.res.stopped = stoppedAt(f, err)
			return
		}
		// A group is a few documents that follow one another: an empty
		// document between two never reaches the parser (it drops the
		// documents after one).
		n := 1
		for n < len(docs) && n < groupDocuments && docs[n].start == docs[n-1].end && docs[n].end-docs[0].start <= groupBytes {
			n++
		}
		group := data[docs[0].start:docs[n-1].end]
		if simple := parseSimpleYAML(group); simple != nil || n == 1 {
			if !p.parseGroup(ctx, group, simple, docs[0].line, &j.res) {
				return
			}
		} else {
			// A document that is not simple YAML sends only itself to the
			// general parser, four times slower: the documents are read
			// one at a time up to it, and grouped again after it.
			for k, d := range docs[:n] {
				doc := data[d.start:d.end]
				simple := parseSimpleYAML(doc)
				if !p.parseGroup(ctx, doc, simple, d.line, &j.res) {
					return
				}
				if simple == nil {
					n = k + 1
					break
				}
			}
		}
		docs = docs[n:]
	}
}

// parseGroup parses documents that start at line of the file, unless
// simple is their tree already, and reads each into res. It reports false
// when the rest of the file is not to be read: after a syntax error, or
// when ctx is done.
func (p *docParser) parseGroup(ctx context.Context, data []byte, simple *ast.File, line int, res *fileResult) bool {
	p.lineOffset = line - 1
	astFile, err := simple, error(nil)
	if astFile == nil {
		astFile, err = parser.ParseBytes(data, 0)
	}
	if err != nil {
		// As when the file is parsed whole: the syntax error alone.
		*res = fileResult{}
		p.report = report{limit: MaxDiagnosticsPerFile}
		p.syntaxError(err)
		return false
	}
	for _, doc := range astFile.Docs {
		if err := ctx.Err(); err != nil {
			res.stopped = stoppedAt(p.file, err)
			return false
		}
		if !p.readDocument(doc, res) {
			return false
		}
	}
	return true
}

// readDocument reads one document into res, reporting false when the file
// went over a limit and is not to be read further.
func (p *docParser) readDocument(doc *ast.DocumentNode, res *fileResult) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, stop := r.(stopFile); !stop {
				panic(r)
			}
			ok = false
		}
	}()
	p.anchors = map[string]ast.Node{}
	body := p.unwrap(doc.Body)
	if body == nil {
		return true // an empty document, such as a leading "---"
	}
	switch body.(type) {
	case *ast.CommentGroupNode, *ast.DirectiveNode:
		return true // nothing but comments, or %YAML before a document
	}
	p.document(body, res)
	return true
}

// stoppedAt is the diagnostic of parsing stopped in file f.
func stoppedAt(f *File, err error) *Diagnostic {
	return &Diagnostic{File: f.Path, Line: 1, Column: 1, Severity: SeverityError,
		Message: fmt.Sprintf("the catalog was not read to the end: %v", err)}
}

// readFile returns the content of f, reading it from disk when f.Data is
// nil, up to MaxFileSize.
func readFile(f *File) ([]byte, error) {
	if f.Data != nil {
		if len(f.Data) > MaxFileSize {
			return nil, fmt.Errorf("file larger than %d MiB; split it into several files", MaxFileSize>>20)
		}
		return f.Data, nil
	}
	r, err := os.Open(f.Path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %w", err)
	}
	defer r.Close()
	size := 0
	if info, err := r.Stat(); err == nil && info.Size() <= MaxFileSize {
		size = int(info.Size())
	} else if err == nil {
		return nil, fmt.Errorf("file larger than %d MiB; split it into several files", MaxFileSize>>20)
	}
	// As os.ReadFile: one buffer of the file's size, and a byte more to
	// see the end; grown only if the file grows meanwhile.
	data := make([]byte, 0, size+1)
	for {
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if len(data) > MaxFileSize {
			return nil, fmt.Errorf("file larger than %d MiB; split it into several files", MaxFileSize>>20)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read the file: %w", err)
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
	return data, nil
}

func (p *docParser) syntaxError(err error) {
	var se *yaml.SyntaxError
	pos := Pos{File: p.file.Path, Line: 1, Column: 1}
	msg := err.Error()
	if errors.As(err, &se) {
		msg = se.Message
		if se.Token != nil {
			pos.Line, pos.Column = se.Token.Position.Line+p.lineOffset, se.Token.Position.Column
		}
	}
	p.errorf(pos, "invalid YAML: %s; fix the syntax at this line (check indentation, quotes and the ':' after each key)", msg)
}

func (p *docParser) errorf(pos Pos, format string, args ...any) {
	p.report.add(SeverityError, pos, format, args...)
}

func (p *docParser) warnf(pos Pos, format string, args ...any) {
	p.report.add(SeverityWarning, pos, format, args...)
}
