package catalog

import (
	"bytes"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// parseYAML parses data, one or a few YAML documents, into the syntax tree
// the goccy parser gives. Most catalog files are written in a small part of
// YAML: block mappings and lists, one-line scalars, literal blocks and
// comments. parseSimpleYAML reads that part four times faster than the
// general parser; anything else, and anything it is unsure of, goes to the
// general parser, which also says what is wrong with invalid YAML.
func parseYAML(data []byte) (*ast.File, error) {
	if f := parseSimpleYAML(data); f != nil {
		return f, nil
	}
	return parser.ParseBytes(data, 0)
}

// parseSimpleYAML returns the syntax tree of data as the goccy parser
// builds it, as far as the catalog's readers look at it (node types,
// values, token types, lines and columns; FuzzSimpleYAML and
// FuzzSimpleYAMLShapes check it), or nil when data is not simple:
// documents (after "---" lines) of block mappings and lists whose keys are
// plain words, one-line plain or quoted scalars without escapes, literal
// blocks (| and |-) and comments, in printable ASCII without tabs or
// trailing spaces. It reports no errors: the general parser does.
func parseSimpleYAML(data []byte) *ast.File {
	for _, c := range data {
		if c != '\n' && (c < ' ' || c > '~') {
			return nil // tabs, CR, control characters and non-ASCII (columns count runes)
		}
	}
	y := simpleYAML{data: data, lines: make([]simpleLine, 0, bytes.Count(data, []byte{'\n'})+1)}
	for start := 0; start < len(data); {
		end := start
		for end < len(data) && data[end] != '\n' {
			end++
		}
		y.lines = append(y.lines, simpleLine{start: start, end: end})
		start = end + 1
	}
	for i := range y.lines {
		l := &y.lines[i]
		text := data[l.start:l.end]
		for l.indent < len(text) && text[l.indent] == ' ' {
			l.indent++
		}
		l.skip = l.indent == len(text) || text[l.indent] == '#'
		if l.indent < len(text) && text[len(text)-1] == ' ' {
			// The parser moves a plain scalar's column by the spaces
			// after it, and drops them from a literal's last line.
			return nil
		}
		l.marker = string(text) == "---"
		if !l.skip && !l.marker && l.indent == 0 && (len(text) >= 3 && (string(text[:3]) == "---" || string(text[:3]) == "...") || text[0] == '%') {
			return nil // other document markers, and directives
		}
	}
	f := &ast.File{}
	for y.next(); y.at < len(y.lines); y.next() {
		var start *token.Token
		if y.lines[y.at].marker {
			start = token.DocumentHeader("---", y.pos(y.at, 0))
			y.at++
			y.next()
		}
		if y.end() || y.lines[y.at].indent != 0 {
			return nil // an empty document, or an indented one
		}
		body := y.block(0, -1)
		if body == nil {
			return nil
		}
		if y.next(); !y.end() {
			return nil
		}
		f.Docs = append(f.Docs, ast.Document(start, body))
	}
	if len(f.Docs) == 0 {
		return nil
	}
	return f
}

// simpleYAML is the state of parseSimpleYAML. Reading a node leaves at
// on the line after the node's last.
type simpleYAML struct {
	data  []byte
	lines []simpleLine
	at    int // the line being read
	// The nodes and tokens of a document are made from chunks: a few
	// allocations instead of four per scalar.
	keys      map[string]string // each key once
	positions []token.Position
	tokens    []token.Token
	strings   []ast.StringNode
	pairs     []ast.MappingValueNode
	bases     []ast.BaseNode
}

// alloc returns a new element of *chunk, taken from a chunk of up to 256
// (sized for the lines of the data: a node or two each).
func alloc[T any](chunk *[]T) *T {
	if len(*chunk) == cap(*chunk) {
		*chunk = make([]T, 0, min(2*max(cap(*chunk), 8), 256))
	}
	*chunk = append(*chunk, *new(T))
	return &(*chunk)[len(*chunk)-1]
}

// str returns a string node of the plain, single- or double-quoted
// scalar v at p, as ast.String(token.New(…)) does when v starts with a
// letter and is no keyword (it then is no number either), else nil.
func (y *simpleYAML) str(typ token.Type, v, org string, p *token.Position) *ast.StringNode {
	if typ == token.StringType {
		if c := v[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return nil
		}
		switch v {
		case "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE":
			return nil
		}
	}
	tk := alloc(&y.tokens)
	*tk = token.Token{Type: typ, CharacterType: token.CharacterTypeMiscellaneous, Indicator: token.NotIndicator, Value: v, Origin: org, Position: p}
	if typ != token.StringType {
		tk.CharacterType, tk.Indicator = token.CharacterTypeIndicator, token.QuotedScalarIndicator
	}
	n := alloc(&y.strings)
	*n = ast.StringNode{BaseNode: alloc(&y.bases), Token: tk, Value: v}
	return n
}

// simpleLine is one line of the data: [start, end) without its newline,
// its indentation, whether it is blank or a comment, and whether it is
// "---", which starts a document.
type simpleLine struct {
	start, end, indent int
	skip, marker       bool
}

// next moves to the next line that is not blank or a comment, from the
// current one.
func (y *simpleYAML) next() {
	for y.at < len(y.lines) && y.lines[y.at].skip {
		y.at++
	}
}

// end reports whether the current line ends the document.
func (y *simpleYAML) end() bool { return y.at >= len(y.lines) || y.lines[y.at].marker }

// nextIndent returns the indentation of the next line from i that is not
// blank or a comment, or -1 at the end of the document.
func (y *simpleYAML) nextIndent(i int) int {
	for ; i < len(y.lines); i++ {
		if y.lines[i].marker {
			return -1
		}
		if !y.lines[i].skip {
			return y.lines[i].indent
		}
	}
	return -1
}

// pos is the position of column col (from 0) of line i.
func (y *simpleYAML) pos(i, col int) *token.Position {
	p := alloc(&y.positions)
	*p = token.Position{Line: i + 1, Column: col + 1, Offset: y.lines[i].start + col + 1, IndentNum: y.lines[i].indent}
	return p
}

// block reads the mapping or list that starts at column col of the current
// line, whose parent is indented by parent (-1 for the document).
func (y *simpleYAML) block(col, parent int) ast.Node {
	l := y.lines[y.at]
	text := y.data[l.start:l.end]
	if text[col] == '-' && (col+1 == len(text) || text[col+1] == ' ') {
		return y.sequence(col, parent)
	}
	return y.mapping(col)
}

// mapping reads a block mapping whose first key is at column col of the
// current line, and whose other keys start lines indented by col.
func (y *simpleYAML) mapping(col int) ast.Node {
	var values []*ast.MappingValueNode
	var keys []string
	for {
		i := y.at
		l := y.lines[i]
		text := y.data[l.start:l.end]
		end := col
		for end < len(text) && isKeyChar(text[end]) {
			end++
		}
		if end == col || text[col] == '-' || text[col] == '.' || end == len(text) || text[end] != ':' || end+1 < len(text) && text[end+1] != ' ' {
			return nil
		}
		key, seen := y.keys[string(text[col:end])]
		if !seen {
			// Keys repeat (every SLO has a name): one string each.
			key = string(text[col:end])
			if y.keys == nil {
				y.keys = map[string]string{}
			}
			y.keys[key] = key
		}
		for _, k := range keys {
			if k == key {
				return nil // the general parser refuses it
			}
		}
		keys = append(keys, key)
		k := y.str(token.StringType, key, key, y.pos(i, col))
		if k == nil {
			tk := token.New(key, key, y.pos(i, col))
			if tk.Type != token.StringType {
				return nil
			}
			k = ast.String(tk)
		}
		value := y.value(end+1, col)
		if value == nil {
			return nil
		}
		colon := alloc(&y.tokens)
		*colon = token.Token{Type: token.MappingValueType, CharacterType: token.CharacterTypeIndicator, Indicator: token.BlockStructureIndicator,
			Value: ":", Origin: ":", Position: y.pos(i, end)}
		pair := alloc(&y.pairs)
		*pair = ast.MappingValueNode{BaseNode: alloc(&y.bases), Start: colon, Key: k, Value: value}
		values = append(values, pair)
		y.next()
		if y.end() || y.lines[y.at].indent < col {
			break
		}
		if y.lines[y.at].indent > col {
			return nil
		}
	}
	return ast.Mapping(values[0].Start, false, values...)
}

// sequence reads a block list whose first "-" is at column col of the
// current line, and whose other items start lines indented by col. A list
// may be indented as its parent mapping's keys.
func (y *simpleYAML) sequence(col, parent int) ast.Node {
	seq := ast.Sequence(token.SequenceEntry("-", y.pos(y.at, col)), false)
	for {
		i := y.at
		l := y.lines[i]
		text := y.data[l.start:l.end]
		if l.indent != col || text[col] != '-' || col+1 < len(text) && text[col+1] != ' ' {
			return nil
		}
		item := col + 1
		for item < len(text) && text[item] == ' ' {
			item++
		}
		var v ast.Node
		switch {
		case item == len(text) || text[item] == '#':
			return nil // an item on the next lines, or none
		case text[item] == '-':
			return nil // a list in a list
		case isMappingEntry(text[item:]):
			v = y.mapping(item)
		default:
			v = y.value(item, col)
		}
		if v == nil {
			return nil
		}
		seq.Values = append(seq.Values, v)
		y.next()
		if y.end() || y.lines[y.at].indent < col || y.lines[y.at].indent == col && parent == col && y.data[y.lines[y.at].start+col] != '-' {
			break
		}
		if y.lines[y.at].indent > col {
			return nil
		}
	}
	return seq
}

// value reads the value after a key or "-" of a node indented by indent:
// from column col of the current line to its end, or a block on the
// next lines.
func (y *simpleYAML) value(col, indent int) ast.Node {
	i := y.at
	l := y.lines[i]
	text := y.data[l.start:l.end]
	for col < len(text) && text[col] == ' ' {
		col++
	}
	if col == len(text) || text[col] == '#' {
		if col < len(text) && text[col-1] != ' ' {
			return nil
		}
		// A block on the next lines: more indented, or a list as
		// indented as the key.
		y.at = i + 1
		y.next()
		if y.end() {
			return nil // null
		}
		n := y.lines[y.at]
		next := y.data[n.start:n.end]
		if n.indent > indent || n.indent == indent && next[n.indent] == '-' && (n.indent+1 == len(next) || next[n.indent+1] == ' ') {
			return y.block(n.indent, indent)
		}
		return nil // null
	}
	switch c := text[col]; c {
	case '"', '\'':
		end := col + 1
		for end < len(text) && text[end] != c {
			if text[end] == '\\' || text[end] == '"' || text[end] == '\'' {
				return nil // escapes, or quotes of the other kind: simple, but rare
			}
			end++
		}
		if end == len(text) || !onlyComment(text[end+1:]) {
			return nil
		}
		if y.nextIndent(i+1) > indent {
			return nil
		}
		y.at = i + 1
		org := string(text[col : end+1])
		v := org[1 : len(org)-1]
		if c == '"' {
			return y.str(token.DoubleQuoteType, v, org, y.pos(i, col))
		}
		return y.str(token.SingleQuoteType, v, org, y.pos(i, col))
	case '|':
		return y.literal(col, indent)
	case '[', ']', '{', '}', '&', '*', '!', '>', '%', '@', '`', ',', '?', ':', '-':
		if c == '-' && col+1 < len(text) && text[col+1] != ' ' {
			break // a plain scalar such as -1
		}
		return nil
	}
	end := len(text)
	for j := col; j < len(text); j++ {
		if text[j] == '#' && text[j-1] == ' ' {
			end = j
			break
		}
		if text[j] == ':' && (j+1 == len(text) || text[j+1] == ' ') {
			return nil
		}
	}
	for text[end-1] == ' ' {
		end--
	}
	v := string(text[col:end])
	if n := y.str(token.StringType, v, v, y.pos(i, col)); n != nil {
		if y.nextIndent(i+1) > indent {
			return nil // a plain scalar that goes on over the next lines, or a mistake
		}
		y.at = i + 1
		return n
	}
	tk := token.New(v, v, y.pos(i, col))
	if y.nextIndent(i+1) > indent {
		return nil // a plain scalar that goes on over the next lines, or a mistake
	}
	y.at = i + 1
	switch tk.Type {
	case token.StringType:
		return ast.String(tk)
	case token.IntegerType, token.BinaryIntegerType, token.OctetIntegerType, token.HexIntegerType:
		return ast.Integer(tk)
	case token.FloatType:
		return ast.Float(tk)
	case token.BoolType:
		return ast.Bool(tk)
	case token.InfinityType:
		return ast.Infinity(tk)
	case token.NanType:
		return ast.Nan(tk)
	}
	return nil
}

// literal reads a literal block (| or |-) whose indicator is at column col
// of the current line, in a node indented by indent.
func (y *simpleYAML) literal(col, indent int) ast.Node {
	i := y.at
	l := y.lines[i]
	text := y.data[l.start:l.end]
	header := "|"
	if col+1 < len(text) && text[col+1] == '-' {
		header = "|-"
	}
	if !onlyComment(text[col+len(header):]) {
		return nil // |+, an indentation indicator, or more on the line
	}
	first := i + 1
	if first >= len(y.lines) || y.lines[first].marker || y.lines[first].indent == y.lines[first].end-y.lines[first].start || y.lines[first].indent <= indent {
		return nil // leading blank lines, or an empty block
	}
	in := y.lines[first].indent
	last := first // the last line with content
	j := first
	for ; j < len(y.lines); j++ {
		n := y.lines[j]
		if n.marker {
			break
		}
		if n.indent == n.end-n.start { // blank
			if n.indent > in {
				return nil
			}
			continue
		}
		if n.indent < in {
			break
		}
		last = j
	}
	var b []byte
	for k := first; k <= last; k++ {
		if n := y.lines[k]; n.end-n.start > in {
			b = append(b, y.data[n.start+in:n.end]...)
		}
		if k < last || header == "|" && y.lines[k].end < len(y.data) { // clip keeps the last line break, if any
			b = append(b, '\n')
		}
	}
	if y.nextIndent(last+1) > indent {
		return nil // what follows must be less indented than the node
	}
	y.at = last + 1
	tk := token.Literal(header, string(text[col:]), y.pos(i, col))
	lit := ast.Literal(tk)
	lit.Value = ast.String(token.String(string(b), string(b), &token.Position{Line: first + 1, Column: 0}))
	return lit
}

// isKeyChar reports whether c may be in a key parseSimpleYAML reads.
func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '/'
}

// isMappingEntry reports whether text starts with a key and ": " (or ":"
// at the end).
func isMappingEntry(text []byte) bool {
	j := 0
	for j < len(text) && isKeyChar(text[j]) {
		j++
	}
	return j > 0 && j < len(text) && text[j] == ':' && (j+1 == len(text) || text[j+1] == ' ')
}

// onlyComment reports whether text is spaces, then maybe a comment after
// at least one space.
func onlyComment(text []byte) bool {
	for j, c := range text {
		switch {
		case c == ' ':
		case c == '#' && j > 0:
			return true
		default:
			return false
		}
	}
	return true
}
