package catalog

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"strings"
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

// Parse parses and validates files. It returns the catalog, or nil when any
// diagnostic is an error, and every diagnostic sorted by position. Files are
// parsed concurrently; the result does not depend on their order.
func Parse(files []File) (*Catalog, Diagnostics) {
	results := make([]fileResult, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for i := range next {
				results[i] = parseFile(&files[i])
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()

	var diags Diagnostics
	var teams []*Team
	var services []*Service
	var foreign []foreignSLO
	var refs []ruleRef
	indicators := map[string]*slo.Ratio{}
	for _, r := range results {
		diags = append(diags, r.diags...)
		teams = append(teams, r.teams...)
		services = append(services, r.services...)
		foreign = append(foreign, r.foreign...)
		refs = append(refs, r.ruleRefs...)
		maps.Copy(indicators, r.indicators)
	}
	c := &Catalog{Teams: teams, Services: services}
	diags = append(diags, validate(c, files, foreign, indicators, refs)...)
	diags.Sort()
	if diags.HasErrors() {
		return nil, diags
	}
	return c, diags
}

type fileResult struct {
	teams      []*Team
	services   []*Service
	ruleRefs   []ruleRef
	foreign    []foreignSLO
	indicators map[string]*slo.Ratio // OpenSLO SLI documents by name
	diags      Diagnostics
}

// docParser turns one file's YAML documents into objects, collecting
// diagnostics instead of stopping at the first.
type docParser struct {
	file     *File
	lines    *sourceLines
	diags    Diagnostics
	anchors  map[string]ast.Node
	interned map[string]map[string]string // see intern
}

func parseFile(f *File) fileResult {
	data := f.Data
	if data == nil {
		var err error
		if data, err = os.ReadFile(f.Path); err != nil {
			return fileResult{diags: Diagnostics{{File: f.Path, Line: 1, Column: 1, Severity: SeverityError,
				Message: fmt.Sprintf("cannot read the file: %v", err)}}}
		}
	}
	p := &docParser{file: f, lines: &sourceLines{data: data}}
	var res fileResult
	astFile, err := parser.ParseBytes(data, 0)
	if err != nil {
		p.syntaxError(err)
		res.diags = p.diags
		return res
	}
	for _, doc := range astFile.Docs {
		p.anchors = map[string]ast.Node{}
		body := p.unwrap(doc.Body)
		if body == nil {
			continue // an empty document, such as a leading "---"
		}
		if _, ok := body.(*ast.CommentGroupNode); ok {
			continue
		}
		p.document(body, &res)
	}
	res.diags = p.diags
	return res
}

func (p *docParser) syntaxError(err error) {
	var se *yaml.SyntaxError
	pos := Pos{File: p.file.Path, Line: 1, Column: 1}
	msg := err.Error()
	if errors.As(err, &se) {
		msg = se.Message
		if se.Token != nil {
			pos.Line, pos.Column = se.Token.Position.Line, se.Token.Position.Column
		}
	}
	p.errorf(pos, "invalid YAML: %s; fix the syntax at this line (check indentation, quotes and the ':' after each key)", msg)
}

// sourceLines finds the text of a line on demand; most files need none.
type sourceLines struct {
	once  sync.Once
	data  []byte
	start []int
}

func (s *sourceLines) line(n int) string {
	s.once.Do(func() {
		s.start = append(s.start, 0)
		for i, c := range s.data {
			if c == '\n' {
				s.start = append(s.start, i+1)
			}
		}
	})
	if n < 1 || n > len(s.start) {
		return ""
	}
	end := len(s.data)
	if n < len(s.start) {
		end = s.start[n] - 1
	}
	return strings.TrimRight(string(s.data[s.start[n-1]:end]), "\r")
}

func (p *docParser) add(sev Severity, pos Pos, msg string) {
	p.diags = append(p.diags, Diagnostic{File: pos.File, Line: pos.Line, Column: pos.Column,
		Severity: sev, Message: msg, Source: p.lines.line(pos.Line)})
}

func (p *docParser) errorf(pos Pos, format string, args ...any) {
	p.add(SeverityError, pos, fmt.Sprintf(format, args...))
}

func (p *docParser) warnf(pos Pos, format string, args ...any) {
	p.add(SeverityWarning, pos, fmt.Sprintf(format, args...))
}
