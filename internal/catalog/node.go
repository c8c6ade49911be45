package catalog

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// pos returns the position of n: for a mapping, the position of its first key.
func (p *docParser) pos(n ast.Node) Pos {
	switch v := n.(type) {
	case *ast.MappingNode:
		if len(v.Values) > 0 {
			return p.pos(v.Values[0])
		}
	case *ast.MappingValueNode:
		return p.pos(v.Key)
	}
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			return Pos{File: p.file.Path, Line: tk.Position.Line + p.lineOffset, Column: tk.Position.Column}
		}
	}
	return Pos{File: p.file.Path, Line: 1, Column: 1}
}

// unwrap resolves anchors, aliases and tags to the node they stand for.
func (p *docParser) unwrap(n ast.Node) ast.Node {
	for range 64 { // bounded: an alias cannot refer to itself, but be safe
		switch v := n.(type) {
		case *ast.AnchorNode:
			if v.Name != nil {
				p.anchors[v.Name.String()] = v.Value
			}
			n = v.Value
		case *ast.AliasNode:
			if v.Value == nil {
				return nil
			}
			target, ok := p.anchors[v.Value.String()]
			if !ok {
				p.errorf(p.pos(v), "unknown alias *%s: define the anchor &%s before using it", v.Value, v.Value)
				return nil
			}
			p.spendAlias(v, target)
			n = target
		case *ast.TagNode:
			if v.Start != nil && v.Start.Value == "!!str" {
				if s, ok := v.Value.(ast.ScalarNode); ok && v.Value.GetToken() != nil {
					return &ast.StringNode{BaseNode: &ast.BaseNode{}, Token: v.Value.GetToken(), Value: fmt.Sprint(s.GetValue())}
				}
			}
			n = v.Value
		default:
			return n
		}
	}
	return n
}

// spendAlias deducts what alias refers to from the file's alias budget
// (see MaxAliasExpansion). When the budget is spent, it reports an error
// and stops reading the file.
func (p *docParser) spendAlias(alias *ast.AliasNode, target ast.Node) {
	size, ok := p.aliasSizes[target]
	if !ok {
		size = nodeSize(target, p.aliasBudget+1)
		if p.aliasSizes == nil {
			p.aliasSizes = map[ast.Node]int{}
		}
		p.aliasSizes[target] = size
	}
	p.aliasBudget -= size
	if p.aliasBudget < 0 {
		p.errorf(p.pos(alias), "aliases in this file refer to more than %d times its size; write the repeated values out, or alias smaller ones", MaxAliasExpansion)
		panic(stopFile{})
	}
}

// stopFile is panicked to stop reading a file when it goes over a limit,
// so that the limit is reported once, without the errors that reading on
// would add; readDocument recovers it.
type stopFile struct{}

// nodeSize returns the bytes of YAML that n spans, visiting at most limit
// nodes: each spans a byte or more, so past that it returns limit+1.
func nodeSize(n ast.Node, limit int) int {
	v := &spanVisitor{lo: math.MaxInt, nodes: limit}
	ast.Walk(v, n)
	if v.nodes < 0 {
		return limit + 1
	}
	return max(v.hi-v.lo, 1)
}

// spanVisitor finds the first and last byte of the nodes it visits.
type spanVisitor struct{ lo, hi, nodes int }

func (v *spanVisitor) Visit(n ast.Node) ast.Visitor {
	if v.nodes--; v.nodes < 0 {
		return nil
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		v.lo = min(v.lo, tk.Position.Offset)
		v.hi = max(v.hi, tk.Position.Offset+len(tk.Value))
	}
	return v
}

// mappingPairs returns the key: value pairs of a mapping node. goccy/go-yaml
// represents a mapping of one pair as the pair itself.
func mappingPairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	}
	return nil, false
}

// entry is one key of a mapping with its value.
type entry struct {
	key   string
	pos   Pos      // position of the key
	value ast.Node // unwrapped; nil for an explicit null
}

// fields reads a mapping whose keys must be among allowed, reporting
// duplicates and unknown keys. what names the mapping in messages.
func (p *docParser) fields(n ast.Node, what string, allowed []string) (map[string]entry, bool) {
	pairs, ok := mappingPairs(n)
	if !ok {
		p.errorf(p.pos(n), "%s must be a mapping of key: value lines, got %s", what, describe(n))
		return nil, false
	}
	out := make(map[string]entry, len(pairs))
	for _, kv := range pairs {
		kpos := p.pos(kv.Key)
		if _, ok := kv.Key.(*ast.MergeKeyNode); ok {
			p.errorf(kpos, "merge keys (<<) are not supported in %s; write the fields out", what)
			continue
		}
		key := kv.Key.String()
		if prev, dup := out[key]; dup {
			p.errorf(kpos, "%s sets %q twice (first at line %d); keep one", what, key, prev.pos.Line)
			continue
		}
		if !slices.Contains(allowed, key) {
			p.errorf(kpos, "unknown field %q in %s%s", key, what, lazy(func() string {
				if hint := didYouMean(key, allowed).String(); hint != "" {
					return hint
				}
				return "; allowed fields: " + strings.Join(allowed, ", ")
			}))
			continue
		}
		v := p.unwrap(kv.Value)
		if _, ok := v.(*ast.NullNode); ok {
			v = nil
		}
		out[key] = entry{key: key, pos: kpos, value: v}
	}
	return out, true
}

// valuePos is the position of e's value, or of its key when the value is empty.
func (p *docParser) valuePos(e entry) Pos {
	if e.value == nil {
		return e.pos
	}
	return p.pos(e.value)
}

func describe(n ast.Node) string {
	switch n.(type) {
	case nil, *ast.NullNode:
		return "nothing"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "an integer"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	}
	return "a " + strings.ToLower(n.Type().String())
}

// str reads a string field. A number or boolean is a type error: YAML reads
// `name: 123` or `name: yes`-like values as other types, and silently
// converting them hides mistakes.
func (p *docParser) str(e entry, what string) (string, bool) {
	switch v := e.value.(type) {
	case nil:
		return "", true
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	}
	hint := ""
	if _, ok := e.value.(ast.ScalarNode); ok {
		hint = fmt.Sprintf("; quote it: %s: %q", e.key, e.value.GetToken().Value)
	}
	p.errorf(p.valuePos(e), "%s must be a string, got %s%s", what, describe(e.value), hint)
	return "", false
}

// integer reads an integer field.
func (p *docParser) integer(e entry, what string) (int, bool) {
	if v, ok := e.value.(*ast.IntegerNode); ok {
		switch n := v.Value.(type) {
		case int64:
			if n >= -1<<31 && n < 1<<31 {
				return int(n), true
			}
		case uint64:
			if n < 1<<31 {
				return int(n), true
			}
		}
		p.errorf(p.valuePos(e), "%s %s is out of range", what, v.Token.Value)
		return 0, false
	}
	hint := ""
	if sn, ok := e.value.(*ast.StringNode); ok {
		hint = fmt.Sprintf("; remove the quotes: %s: %s", e.key, sn.Value)
	}
	p.errorf(p.valuePos(e), "%s must be an integer, got %s%s", what, describe(e.value), hint)
	return 0, false
}

// list reads a sequence field, returning its unwrapped items.
func (p *docParser) list(e entry, what string) ([]ast.Node, bool) {
	if e.value == nil {
		return nil, true
	}
	seq, ok := e.value.(*ast.SequenceNode)
	if !ok {
		p.errorf(p.valuePos(e), "%s must be a list (lines starting with \"- \"), got %s", what, describe(e.value))
		return nil, false
	}
	items := make([]ast.Node, len(seq.Values))
	for i, v := range seq.Values {
		items[i] = p.unwrap(v)
	}
	return items, true
}

// strList reads a list of strings, with the position of each item.
func (p *docParser) strList(e entry, what string) ([]string, []Pos) {
	items, ok := p.list(e, what)
	if !ok {
		return nil, nil
	}
	var out []string
	var pos []Pos
	for i, it := range items {
		s, ok := p.str(entry{key: e.key, pos: e.pos, value: it}, fmt.Sprintf("%s[%d]", what, i))
		if ok && s != "" {
			out = append(out, s)
			pos = append(pos, p.pos(it))
		} else if ok {
			p.errorf(p.pos(it), "%s[%d] is empty; remove the line or give a value", what, i)
		}
	}
	return out, pos
}

// entryOr returns the position of field key if present, else def.
func (p *docParser) entryOr(f map[string]entry, key string, def Pos) Pos {
	if e, ok := f[key]; ok {
		return e.pos
	}
	return def
}

// number reads an integer or float field.
func (p *docParser) number(e entry, what string) (float64, bool) {
	switch v := e.value.(type) {
	case *ast.IntegerNode:
		switch n := v.Value.(type) {
		case int64:
			return float64(n), true
		case uint64:
			return float64(n), true
		}
	case *ast.FloatNode:
		return v.Value, true
	}
	hint := ""
	if sn, ok := e.value.(*ast.StringNode); ok {
		hint = fmt.Sprintf("; remove the quotes: %s: %s", e.key, sn.Value)
	}
	p.errorf(p.valuePos(e), "%s must be a number, got %s%s", what, describe(e.value), hint)
	return 0, false
}

func (p *docParser) boolean(e entry, what string) bool {
	if b, ok := e.value.(*ast.BoolNode); ok {
		return b.Value
	}
	if e.value != nil {
		p.errorf(p.valuePos(e), "%s must be true or false, got %s", what, describe(e.value))
	}
	return false
}

// stringMap reads a mapping of strings, such as labels or annotations.
func (p *docParser) stringMap(e entry, what string) map[string]string {
	if e.value == nil {
		return nil
	}
	pairs, ok := mappingPairs(e.value)
	if !ok {
		p.errorf(p.valuePos(e), "%s must be a mapping of name: value, got %s", what, describe(e.value))
		return nil
	}
	var arr [8][2]string
	kvs := arr[:0]
	for _, kv := range pairs {
		key := kv.Key.String()
		var v string
		switch n := p.unwrap(kv.Value).(type) {
		case *ast.StringNode:
			v = n.Value
		case *ast.LiteralNode:
			v = n.Value.Value
		default:
			if v, ok = p.str(entry{key: key, pos: p.pos(kv.Key), value: n}, what+"."+key); !ok {
				continue
			}
		}
		kvs = append(kvs, [2]string{key, v})
	}
	return p.intern(kvs)
}

// intern returns the map of the pairs kvs, or an equal map an earlier call
// returned. Specs repeat the same small maps (severity: critical) in every
// SLO; the maps of an SLO are never modified after parsing, so they can be
// shared, and a map found is not made again.
func (p *docParser) intern(kvs [][2]string) map[string]string {
	if len(kvs) == 0 || len(kvs) > 4 {
		return mapOf(kvs)
	}
	slices.SortStableFunc(kvs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	b := p.internKey[:0]
	for _, kv := range kvs {
		b = append(append(append(append(b, kv[0]...), 0), kv[1]...), 0)
	}
	p.internKey = b
	if shared, ok := p.interned[string(b)]; ok {
		return shared
	}
	m := mapOf(kvs)
	if p.interned == nil {
		p.interned = map[string]map[string]string{}
	}
	p.interned[string(b)] = m
	return m
}

// mapOf returns the map of the pairs kvs.
func mapOf(kvs [][2]string) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv[0]] = kv[1]
	}
	return m
}

// isLabelName reports whether s is a Prometheus label name, as labelNameRE
// does, without a regexp: every label of every SLO is checked.
func isLabelName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// labelMap reads labels that go on Prometheus series: names must be valid.
func (p *docParser) labelMap(e entry, what string) map[string]string {
	m := p.stringMap(e, what)
	if pairs, ok := mappingPairs(e.value); ok {
		for _, kv := range pairs {
			if key := kv.Key.String(); !isLabelName(key) {
				p.errorf(p.pos(kv.Key), "%s name %q is not a Prometheus label name; use letters, digits and '_', not starting with a digit", what, key)
				delete(m, key)
			}
		}
	}
	return m
}

// lenient reads a mapping's fields; unknown ones are warnings, not errors:
// foreign formats grow fields tsuna does not need.
func (p *docParser) lenient(n ast.Node, what string, known []string) map[string]entry {
	pairs, ok := mappingPairs(n)
	if !ok {
		p.errorf(p.pos(n), "%s must be a mapping, got %s", what, describe(n))
		return map[string]entry{}
	}
	out := make(map[string]entry, len(pairs))
	for _, kv := range pairs {
		key := kv.Key.String()
		if !slices.Contains(known, key) {
			p.warnf(p.pos(kv.Key), "field %q of %s is not used by tsuna and is ignored%s", key, what, didYouMean(key, known))
			continue
		}
		v := p.unwrap(kv.Value)
		if _, ok := v.(*ast.NullNode); ok {
			v = nil
		}
		out[key] = entry{key: key, pos: p.pos(kv.Key), value: v}
	}
	return out
}
