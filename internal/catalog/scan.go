package catalog

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
)

// scan checks the raw bytes of one file against the limits before the
// YAML parser sees them, and finds its documents, to parse a few at a
// time. It follows the structure of YAML closely enough to count nesting,
// keys, nodes and documents: indentation, "- " and "? " indicators, keys,
// flow collections, quoted and block scalars, comments, directives and
// document markers. It is linear in the file and allocates little.
type scan struct {
	data []byte
	// docs are the documents that hold something, in order; documents of
	// only comments or nothing are left out.
	docs []docInfo
	// nodes counts the YAML nodes of the whole file.
	nodes int
	// over is the first limit the file goes over, or nil.
	over *limitHit

	line      int // the line being read, from 1
	lineStart int // its offset

	// the current document
	docStart  int  // offset of its first line (---, or a directive)
	docLine   int  // line of docStart
	inDoc     bool // it holds something
	docMarked bool // it started with ---
	docNodes  int
	// the open block nodes, by column
	levels []level
	// the open flow collections, innermost last
	flow []flowLevel
	// an open quoted scalar: '"' or '\'', 0 when none
	quote byte
	// an open block scalar (| or >), whose lines are indented more than
	// blockIndent
	blockScalar bool
	blockIndent int
	// a plain scalar that may go on over the next lines
	plain bool
	// where the last scalar started (offset and line), for
	// MaxScalarLength
	scalarStart, scalarLine int

	// the deepest nesting and the most keys of a mapping seen
	maxDepth, maxKeys int
}

// docInfo is a document that holds something.
type docInfo struct {
	start, end int // byte offsets in the file
	line       int // line of start
	// nodesAfter counts the nodes of the file up to the document's end.
	nodesAfter int
}

// level is an open block node at a column: a list, or a mapping that
// counts its keys.
type level struct {
	column int
	list   bool
	keys   int
}

// flowLevel is an open [...] or {...}.
type flowLevel struct {
	mapping bool
	keys    int
}

// limitHit is the place where a file goes over a limit, and the message.
type limitHit struct {
	line, column int
	msg          string
}

// scanFile scans data; see scan.
func scanFile(data []byte) *scan {
	s := &scan{data: data, docLine: 1}
	directives := false // the current document so far is directives
	for off := 0; off < len(data) && s.over == nil; {
		s.line++
		s.lineStart = off
		end, next := len(data), len(data)
		if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
			end, next = off+i, off+i+1
		}
		if end-off > MaxLineLength {
			s.stop(s.column(MaxLineLength), "line longer than %d bytes; catalog lines need far less: break long values over several lines (a block scalar, `key: >-`, folds them back)", MaxLineLength)
			break
		}
		text := bytes.TrimSuffix(data[off:end], []byte("\r"))
		switch {
		case marker(text, '-'):
			s.endDocument(off)
			if !directives {
				s.docStart, s.docLine = off, s.line
			}
			directives = false
			s.resetDocument()
			s.docMarked = true
			s.content(text, 3, -1)
		case marker(text, '.'):
			s.endDocument(off)
			directives = false
			s.resetDocument()
			s.docStart, s.docLine = next, s.line+1
		case !s.inDoc && !s.docMarked && len(text) > 0 && text[0] == '%':
			// A directive (%YAML, %TAG) belongs to the document it precedes.
			if !directives {
				s.docStart, s.docLine = off, s.line
			}
			directives = true
		default:
			s.readLine(text)
		}
		off = next
	}
	if s.over == nil {
		s.endDocument(len(data))
	}
	return s
}

func (s *scan) stop(col int, format string, args ...any) {
	if s.over == nil {
		s.over = &limitHit{line: s.line, column: col, msg: fmt.Sprintf(format, args...)}
	}
}

// column is the 1-based column, in characters, of byte i of the line.
func (s *scan) column(i int) int {
	return utf8.RuneCount(s.data[s.lineStart:s.lineStart+i]) + 1
}

// marker reports whether line is a document marker: --- or ... alone or
// followed by a space.
func marker(line []byte, c byte) bool {
	return len(line) >= 3 && line[0] == c && line[1] == c && line[2] == c &&
		(len(line) == 3 || line[3] == ' ' || line[3] == '\t')
}

// endDocument ends the current document before offset end, recording it
// if it holds something.
func (s *scan) endDocument(end int) {
	if s.inDoc {
		s.docs = append(s.docs, docInfo{start: s.docStart, end: end, line: s.docLine, nodesAfter: s.nodes})
	}
}

func (s *scan) resetDocument() {
	s.inDoc, s.docMarked = false, false
	s.docNodes = 0
	s.levels = s.levels[:0]
	s.flow = s.flow[:0]
	s.quote = 0
	s.blockScalar = false
	s.plain = false
}

// startContent notes that the current document holds something.
func (s *scan) startContent(i int) {
	if s.inDoc {
		return
	}
	s.inDoc = true
	if len(s.docs) == MaxDocumentsPerFile {
		s.stop(s.column(i), "more than %d YAML documents in one file; split the file (a catalog file holds a team and its services, or one spec)", MaxDocumentsPerFile)
	}
}

// node counts a node at byte i of the line.
func (s *scan) node(i int) {
	s.nodes++
	s.docNodes++
	if s.docNodes == MaxDocumentNodes+1 {
		s.stop(s.column(i), "more than %d YAML nodes (keys, values, list items, comments) in one document; split it into several documents or files", MaxDocumentNodes)
	}
}

// nest checks the depth of a node opened at byte i of the line.
func (s *scan) nest(i int) {
	s.maxDepth = max(s.maxDepth, len(s.levels)+len(s.flow))
	if len(s.levels)+len(s.flow) > MaxNesting {
		s.stop(s.column(i), "nesting deeper than %d levels; catalog documents need at most about ten: write nested values as separate fields or documents", MaxNesting)
	}
}

// readLine reads one line that is not a document marker.
func (s *scan) readLine(text []byte) {
	indent := 0
	for indent < len(text) && text[indent] == ' ' {
		indent++
	}
	if s.blockScalar {
		if indent > s.blockIndent || skipSpaces(text, indent) == len(text) {
			s.scalarGoesOn(text, indent) // a line of the block scalar
			return
		}
		s.blockScalar = false
	}
	if s.quote != 0 {
		s.scalarGoesOn(text, indent)
		if len(s.flow) > 0 {
			s.flowRun(text, 0)
		} else if i := s.skipQuote(text, 0); i >= 0 {
			s.afterScalar(text, i, -1)
		}
		return
	}
	if len(s.flow) > 0 {
		s.flowRun(text, 0)
		return
	}
	i := skipSpaces(text, indent)
	if i == len(text) {
		return // blank lines go on a plain scalar, if any
	}
	plain := s.plain
	s.plain = false
	if text[i] == '#' {
		s.node(i) // comments cost the parser as much as values
		return
	}
	if plain && !startsNode(text, i) {
		s.plain = true // the plain scalar of the lines before goes on
		s.scalarGoesOn(text, indent)
		return
	}
	// Close the block nodes this line is not inside of.
	n := len(s.levels)
	for n > 0 && s.levels[n-1].column > indent {
		n--
	}
	s.levels = s.levels[:n]
	s.content(text, indent, indent)
}

// open notes a block node at column col, a list item or a mapping key: a
// sibling of the open node at that column, or a child of the innermost
// one. A list may have the column of the key it is the value of.
func (s *scan) open(col int, item bool) {
	n := len(s.levels)
	if n > 0 && s.levels[n-1].column == col && s.levels[n-1].list && !item {
		s.levels = s.levels[:n-1] // a key after a list at the key's column
		n--
	}
	if n > 0 && s.levels[n-1].column == col && s.levels[n-1].list == item {
		if !item {
			s.levels[n-1].keys++
			s.maxKeys = max(s.maxKeys, s.levels[n-1].keys)
			if s.levels[n-1].keys == MaxMappingKeys+1 {
				s.stop(s.column(col), "mapping with more than %d keys; catalog mappings need a few dozen: split it into documents, or its values into lists", MaxMappingKeys)
			}
		}
		return
	}
	l := level{column: col, list: item}
	if !item {
		l.keys = 1
		s.maxKeys = max(s.maxKeys, 1)
	}
	s.levels = append(s.levels, l)
	s.nest(col)
}

// content reads block content from byte i of text: list items, keys and a
// value. parent is the column of the node it is in (-1 at the root).
func (s *scan) content(text []byte, i, parent int) {
	for s.over == nil {
		i = skipSpaces(text, i)
		if i >= len(text) || text[i] == '#' && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t') {
			return
		}
		s.startContent(i)
		c := text[i]
		if (c == '-' || c == '?') && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t') {
			// A list item or a complex key; more may follow on the line.
			s.open(i, c == '-')
			s.node(i)
			parent = i
			i++
			continue
		}
		if c == ':' && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t') {
			s.value(text, i+1, i) // the value of a complex key (? key)
			return
		}
		if valueAt, ok := findKey(text, i); ok {
			s.open(i, false)
			s.node(i)
			s.value(text, valueAt, i)
			return
		}
		s.value(text, i, parent)
		return
	}
}

// value reads a value that starts at byte i of text (after a key, after
// "- ", or on a line of its own), in a node at column parent.
func (s *scan) value(text []byte, i, parent int) {
	for s.over == nil { // anchors and tags come before the value they mark
		i = skipSpaces(text, i)
		if i < len(text) && (text[i] == '&' || text[i] == '!') {
			for i < len(text) && text[i] != ' ' && text[i] != '\t' {
				i++
			}
			continue
		}
		break
	}
	if s.over != nil || i >= len(text) || text[i] == '#' && (text[i-1] == ' ' || text[i-1] == '\t') {
		return // the value is on the next lines, or null
	}
	s.node(i)
	s.scalarStart, s.scalarLine = s.lineStart+i, s.line
	switch text[i] {
	case '[', '{':
		s.flowRun(text, i)
	case '"', '\'':
		s.quote = text[i]
		if j := s.skipQuote(text, i+1); j >= 0 {
			s.afterScalar(text, j, parent)
		}
	case '|', '>':
		s.blockScalar, s.blockIndent = true, parent
	case '*':
	default:
		s.plain = true
	}
}

// scalarGoesOn checks the length of the scalar that goes on over this
// line, whose text starts at byte indent.
func (s *scan) scalarGoesOn(text []byte, indent int) {
	if s.lineStart+len(text)-s.scalarStart > MaxScalarLength {
		s.stop(s.column(min(indent, len(text))), "value longer than %d bytes (it starts on line %d); catalog values need far less: shorten it, or link to a document", MaxScalarLength, s.scalarLine)
	}
}

// startsNode reports whether the content at byte i of a line starts a node
// of its own (a list item, a key, a collection...), rather than going on
// with a plain scalar of the lines before.
func startsNode(text []byte, i int) bool {
	c := text[i]
	if (c == '-' || c == '?' || c == ':') && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t') {
		return true
	}
	_, key := findKey(text, i)
	return key
}

// afterScalar reads what follows a quoted scalar that ended before byte i:
// nothing, a comment, or ": " and a value when the scalar was a key.
func (s *scan) afterScalar(text []byte, i, parent int) {
	i = skipSpaces(text, i)
	if i < len(text) && text[i] == ':' && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t') {
		s.value(text, i+1, parent)
	}
}

// skipQuote skips the open quoted scalar from byte i of text, and returns
// the offset after its closing quote, or -1 when it goes on past the line.
func (s *scan) skipQuote(text []byte, i int) int {
	q := s.quote
	for ; i < len(text); i++ {
		switch {
		case q == '"' && text[i] == '\\':
			i++
		case text[i] == q:
			if q == '\'' && i+1 < len(text) && text[i+1] == '\'' {
				i++
				continue
			}
			s.quote = 0
			return i + 1
		}
	}
	return -1
}

// flowRun reads flow content ([...] and {...}) from byte i of text, where
// a collection opens or goes on from the line before.
func (s *scan) flowRun(text []byte, i int) {
	if s.quote != 0 {
		if i = s.skipQuote(text, i); i < 0 {
			return
		}
	}
	start := true // at the start of a node
	for ; i < len(text) && s.over == nil; i++ {
		c := text[i]
		switch c {
		case ' ', '\t':
			continue
		case '[', '{':
			if len(s.flow) > 0 {
				s.node(i) // the outermost was counted as a value
			}
			s.flow = append(s.flow, flowLevel{mapping: c == '{'})
			s.nest(i)
			s.flowKey(i)
			start = true
			continue
		case ']', '}':
			if len(s.flow) > 0 {
				s.flow = s.flow[:len(s.flow)-1]
			}
			if len(s.flow) == 0 {
				return // what follows is a comment, or an error for the parser
			}
			start = false
			continue
		case ',':
			s.flowKey(i)
			start = true
			continue
		case ':':
			start = true
			continue
		case '#':
			if i == 0 || text[i-1] == ' ' || text[i-1] == '\t' {
				return
			}
		}
		if !start {
			continue
		}
		start = false
		s.node(i)
		if c == '"' || c == '\'' {
			s.scalarStart, s.scalarLine = s.lineStart+i, s.line
			s.quote = c
			j := s.skipQuote(text, i+1)
			if j < 0 {
				return
			}
			i = j - 1
		}
	}
}

// flowKey counts an entry of the innermost flow collection, at byte i.
func (s *scan) flowKey(i int) {
	if len(s.flow) == 0 {
		return
	}
	f := &s.flow[len(s.flow)-1]
	if !f.mapping {
		return
	}
	f.keys++
	s.maxKeys = max(s.maxKeys, f.keys)
	if f.keys == MaxMappingKeys+1 {
		s.stop(s.column(i), "mapping with more than %d keys; catalog mappings need a few dozen: split it into documents, or its values into lists", MaxMappingKeys)
	}
}

// findKey reports whether the scalar at byte i of text is a mapping key,
// and where its value starts.
func findKey(text []byte, i int) (int, bool) {
	switch text[i] {
	case '"', '\'':
		q := text[i]
		for j := i + 1; j < len(text); j++ {
			switch {
			case q == '"' && text[j] == '\\':
				j++
			case text[j] == q:
				if q == '\'' && j+1 < len(text) && text[j+1] == '\'' {
					j++
					continue
				}
				k := skipSpaces(text, j+1)
				if k < len(text) && text[k] == ':' && (k+1 == len(text) || text[k+1] == ' ' || text[k+1] == '\t') {
					return k + 1, true
				}
				return 0, false
			}
		}
		return 0, false
	case '[', '{', '|', '>', '*', '&', '!':
		return 0, false
	}
	for j := i; j < len(text); j++ {
		switch text[j] {
		case ':':
			if j+1 == len(text) || text[j+1] == ' ' || text[j+1] == '\t' {
				return j + 1, true
			}
		case '#':
			if j > i && (text[j-1] == ' ' || text[j-1] == '\t') {
				return 0, false
			}
		}
	}
	return 0, false
}

func skipSpaces(text []byte, i int) int {
	for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	return i
}

// parseBounded parses data as YAML within the catalog's limits, document
// by document, so its cost stays linear in the size: for readers that take
// objects from files Parse has already checked.
func parseBounded(data []byte) (*ast.File, error) {
	s := scanFile(data)
	if s.over != nil {
		return nil, fmt.Errorf("%d:%d: %s", s.over.line, s.over.column, s.over.msg)
	}
	out := &ast.File{}
	for _, d := range s.docs {
		f, err := parseYAML(data[d.start:d.end])
		if err != nil {
			return nil, fmt.Errorf("invalid YAML; run tsuna lint")
		}
		out.Docs = append(out.Docs, f.Docs...)
	}
	return out, nil
}
