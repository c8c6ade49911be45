package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// docKind is one kind of document the catalog reads: how to recognise it
// and how to read it. Adding a kind is one entry of documentKinds; the
// messages about unknown apiVersions and kinds follow from the table.
type docKind struct {
	// apiVersions and kind match a document's `apiVersion:` and `kind:`.
	// An empty kind matches every kind of those apiVersions that no other
	// entry claims (formats whose other kinds tsuna ignores).
	apiVersions []string
	kind        string
	// detect recognises a document without apiVersion by its other keys
	// (Sloth's `version:`, a rule file's `groups:`); apiVersions is then
	// empty. The first entry whose detect matches reads the document.
	detect func(h *header) bool
	// family names a foreign format in messages ("Sloth"), with the
	// version they suggest; both are empty for tsuna's own kinds.
	family, version string
	// read reads the document, adding what it declares to res.
	read func(p *docParser, h *header, res *fileResult)
}

// documentKinds lists every kind of document, in the order messages name
// them.
var documentKinds = kindRegistry{
	teamKind,
	serviceKind,
	severityLevelKind,
	checklistKind,
	postmortemTemplateKind,
	slothKind,
	slothCRDKind,
	alertWindowsKind,
	openSLOKind,
	openSLOIndicatorKind,
	openSLOOtherKinds,
	ruleFileKind,
}

// headerFields are the keys that identify a tsuna document.
var headerFields = []string{"apiVersion", "kind"}

// header is what identifies a document: its body, where it starts, and its
// top-level keys.
type header struct {
	body    ast.Node
	pos     Pos
	entries []entry // unwrapped, in order
	// apiVersion and kind are the values of those keys, "" when absent or
	// not strings.
	apiVersion, kind string
}

// field returns the top-level key named key (its last occurrence), or nil.
func (h *header) field(key string) *entry {
	for i := len(h.entries) - 1; i >= 0; i-- {
		if h.entries[i].key == key {
			return &h.entries[i]
		}
	}
	return nil
}

// kindRegistry is an ordered table of document kinds.
type kindRegistry []docKind

// match returns the kind that reads a document of apiVersion v and kind k:
// the entry naming both, else the entry taking any kind of v.
func (r kindRegistry) match(v, k string) *docKind {
	var anyKind *docKind
	for i := range r {
		if !slices.Contains(r[i].apiVersions, v) {
			continue
		}
		if r[i].kind == k && k != "" {
			return &r[i]
		}
		if r[i].kind == "" && anyKind == nil {
			anyKind = &r[i]
		}
	}
	return anyKind
}

// detect returns the first header-less kind that recognises h, or nil.
func (r kindRegistry) detect(h *header) *docKind {
	for i := range r {
		if r[i].detect != nil && r[i].detect(h) {
			return &r[i]
		}
	}
	return nil
}

// kinds returns the kinds declared under apiVersion v, in table order.
func (r kindRegistry) kinds(v string) []string {
	var out []string
	for _, k := range r {
		if k.kind != "" && slices.Contains(k.apiVersions, v) && !slices.Contains(out, k.kind) {
			out = append(out, k.kind)
		}
	}
	return out
}

// foreign describes the foreign formats read too, such as
// `Sloth's "prometheus/v1" and OpenSLO's "openslo/v1"`.
func (r kindRegistry) foreign() string {
	var seen, parts []string
	for _, k := range r {
		if k.family == "" || slices.Contains(seen, k.family) {
			continue
		}
		seen = append(seen, k.family)
		parts = append(parts, fmt.Sprintf("%s's %q", k.family, k.version))
	}
	return joinWords(parts, "and")
}

// joinWords joins words as a sentence does: "a", "a and b", "a, b and c".
func joinWords(words []string, conj string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// document reads one YAML document with the kind that matches its header,
// adding what it declares to res.
func (p *docParser) document(body ast.Node, res *fileResult) {
	documentKinds.read(p, body, res)
}

// read identifies the document body by its header and reads it, or reports
// why no kind of r reads it.
func (r kindRegistry) read(p *docParser, body ast.Node, res *fileResult) {
	pairs, ok := mappingPairs(body)
	if !ok {
		p.errorf(p.pos(body), "a catalog document must be a mapping starting with `apiVersion: %s` and a kind, got %s", APIVersion, describe(body))
		return
	}
	h := &header{body: body, pos: p.pos(body), entries: make([]entry, 0, len(pairs))}
	for _, kv := range pairs {
		h.entries = append(h.entries, entry{key: kv.Key.String(), pos: p.pos(kv.Key), value: p.unwrap(kv.Value)})
	}
	apiVersion, kind := h.field("apiVersion"), h.field("kind")
	if apiVersion == nil {
		if k := r.detect(h); k != nil {
			k.read(p, h, res)
			return
		}
		p.errorf(h.pos, "missing apiVersion: start the document with `apiVersion: %s`", APIVersion)
		return
	}
	if h.apiVersion, ok = p.str(*apiVersion, "apiVersion"); !ok {
		return
	}
	if kind != nil {
		h.kind, _ = p.str(*kind, "kind")
	}
	if k := r.match(h.apiVersion, h.kind); k != nil {
		k.read(p, h, res)
		return
	}
	known := r.kinds(h.apiVersion)
	switch {
	case len(known) == 0:
		p.errorf(p.valuePos(*apiVersion), "unknown apiVersion %q: use %q (%s are read too)", h.apiVersion, APIVersion, r.foreign())
	case kind == nil:
		adds := make([]string, len(known))
		for i, k := range known {
			adds[i] = fmt.Sprintf("`kind: %s`", k)
		}
		p.errorf(h.pos, "missing kind: add %s", joinWords(adds, "or"))
	default:
		p.errorf(p.valuePos(*kind), "unknown kind %q%s (kinds in %s: %s)", h.kind, didYouMean(h.kind, known), h.apiVersion, strings.Join(known, ", "))
	}
}
