package catalog

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/tsuna-sre/tsuna/internal/readiness/fact"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// KindChecklist is the kind of a document declaring a production readiness
// checklist.
const KindChecklist = "Checklist"

// Checklist is a production readiness checklist as code: versioned
// categories of items, each answered by an automated check over facts
// tsuna knows, by a person, or both. Levels are ordered, lowest first.
type Checklist struct {
	Name        string              `json:"name"`
	Version     int                 `json:"version"`
	Description string              `json:"description,omitempty"`
	Levels      []string            `json:"levels"`
	Categories  []ChecklistCategory `json:"categories"`

	Pos Pos `json:"-"`
}

// ChecklistCategory groups items, such as "Monitoring and logging".
type ChecklistCategory struct {
	Name  string          `json:"name"`
	Items []ChecklistItem `json:"items"`
}

// ChecklistItem is one question of a checklist.
type ChecklistItem struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Help     string `json:"help,omitempty"`
	// Level is the level this item is required for.
	Level string `json:"level"`
	// Tiers the item applies to; empty: every tier.
	Tiers []int `json:"tiers,omitempty"`
	// Lifecycles the item applies to; empty: production and deprecated
	// (experimental services are held only to items that name them).
	Lifecycles []string `json:"lifecycles,omitempty"`
	// Check is a CEL expression over facts; "" for a manual-only item.
	Check string `json:"check,omitempty"`
	// Manual asks a person to answer (to confirm, with a check).
	Manual bool `json:"manual,omitempty"`
	// Expires is how long a manual answer counts.
	Expires time.Duration `json:"expires,omitempty"`

	Pos Pos `json:"-"`
}

// Checklist limits and defaults.
const (
	MaxChecklistItems  = 200
	MaxChecklistLevels = 10
	// DefaultAnswerExpiry is how long a manual answer counts when its item
	// sets no expires.
	DefaultAnswerExpiry = 180 * slo.Day
)

// AppliesTo reports whether it applies to a service of tier and lifecycle.
func (it *ChecklistItem) AppliesTo(tier int, lifecycle string) bool {
	if len(it.Tiers) > 0 && !slices.Contains(it.Tiers, tier) {
		return false
	}
	if len(it.Lifecycles) == 0 {
		return lifecycle != LifecycleExperimental
	}
	return slices.Contains(it.Lifecycles, lifecycle)
}

// Items returns every item, in order.
func (c *Checklist) Items() []*ChecklistItem {
	var out []*ChecklistItem
	for i := range c.Categories {
		for j := range c.Categories[i].Items {
			out = append(out, &c.Categories[i].Items[j])
		}
	}
	return out
}

// LevelIndex returns the rank of level name (0 the lowest), or -1.
func (c *Checklist) LevelIndex(name string) int { return slices.Index(c.Levels, name) }

var checklistNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// checklistKind reads `apiVersion: tsuna/v1`, `kind: Checklist`, reporting
// each problem at its position; ChecklistsOf takes the checklists from
// checked files.
var checklistKind = docKind{
	apiVersions: []string{APIVersion},
	kind:        KindChecklist,
	read: func(p *docParser, h *header, _ *fileResult) {
		p.checklist(h)
	},
}

var (
	checklistFields = append(slices.Clone(headerFields), "name", "version", "description", "levels", "categories")
	categoryFields  = []string{"name", "items"}
	itemFields      = []string{"id", "question", "help", "level", "tiers", "lifecycles", "check", "manual", "expires"}
	lifecycles      = []string{LifecycleExperimental, LifecycleProduction, LifecycleDeprecated}
)

func (p *docParser) checklist(h *header) *Checklist {
	f, ok := p.fields(h.body, KindChecklist, checklistFields)
	if !ok {
		return nil
	}
	c := &Checklist{Pos: h.pos}
	if e, ok := f["name"]; !ok || e.value == nil {
		p.errorf(p.entryOr(f, "name", h.pos), "Checklist: missing name; add `name: production-readiness` (lowercase letters, digits and '-')")
	} else if v, ok := p.str(e, "name"); ok {
		if !checklistNameRE.MatchString(v) {
			p.errorf(p.valuePos(e), "invalid checklist name %q: use lowercase letters, digits and '-', such as %q", v, suggestName(v))
		}
		c.Name, c.Pos = v, p.valuePos(e)
	}
	if e, ok := f["version"]; !ok || e.value == nil {
		p.errorf(p.entryOr(f, "version", h.pos), "Checklist: missing version; add `version: 1` and raise it with every change, so reviews of the older version are marked stale")
	} else if v, ok := p.integer(e, "version"); ok {
		if v < 1 {
			p.errorf(p.valuePos(e), "version %d: start at 1 and raise it with every change", v)
		}
		c.Version = v
	}
	if e, ok := f["description"]; ok {
		c.Description, _ = p.str(e, "description")
	}
	if e, ok := f["levels"]; !ok || e.value == nil {
		p.errorf(p.entryOr(f, "levels", h.pos), "Checklist: missing levels; list them lowest first, such as `levels: [bronze, silver, gold]`")
	} else {
		levels, pos := p.strList(e, "levels")
		for i, l := range levels {
			switch {
			case !checklistNameRE.MatchString(l):
				p.errorf(pos[i], "levels[%d] %q: use lowercase letters, digits and '-', such as bronze", i, l)
			case slices.Contains(levels[:i], l):
				p.errorf(pos[i], "levels[%d] %q is listed twice; keep one", i, l)
			}
		}
		if len(levels) > MaxChecklistLevels {
			p.errorf(p.valuePos(e), "%d levels; at most %d", len(levels), MaxChecklistLevels)
		}
		c.Levels = levels
	}
	e, ok := f["categories"]
	if !ok || e.value == nil {
		p.errorf(p.entryOr(f, "categories", h.pos), "Checklist: missing categories; add `categories:` with a name and items each")
		return c
	}
	cats, ok := p.list(e, "categories")
	if !ok {
		return c
	}
	ids := map[string]Pos{}
	n := 0
	for i, cn := range cats {
		what := fmt.Sprintf("categories[%d]", i)
		cf, ok := p.fields(cn, what, categoryFields)
		if !ok {
			continue
		}
		var cat ChecklistCategory
		if ce, ok := cf["name"]; !ok || ce.value == nil {
			p.errorf(p.entryOr(cf, "name", p.pos(cn)), "%s: missing name, such as `name: Monitoring and logging`", what)
		} else {
			cat.Name, _ = p.str(ce, what+".name")
		}
		ie, ok := cf["items"]
		if !ok || ie.value == nil {
			p.errorf(p.entryOr(cf, "items", p.pos(cn)), "%s: missing items; list its questions", what)
			continue
		}
		items, ok := p.list(ie, what+".items")
		if !ok {
			continue
		}
		for j, in := range items {
			if n++; n > MaxChecklistItems {
				p.errorf(p.pos(in), "more than %d items in checklist %s; split it", MaxChecklistItems, c.Name)
				return c
			}
			it := p.checklistItem(in, fmt.Sprintf("%s.items[%d]", what, j), c)
			if it == nil {
				continue
			}
			if prev, dup := ids[it.ID]; dup && it.ID != "" {
				p.errorf(it.Pos, "item id %q is used twice (first at line %d); ids must be unique in a checklist", it.ID, prev.Line)
			} else if it.ID != "" {
				ids[it.ID] = it.Pos
			}
			cat.Items = append(cat.Items, *it)
		}
		c.Categories = append(c.Categories, cat)
	}
	return c
}

func (p *docParser) checklistItem(n ast.Node, what string, c *Checklist) *ChecklistItem {
	f, ok := p.fields(n, what, itemFields)
	if !ok {
		return nil
	}
	it := &ChecklistItem{Pos: p.pos(n), Expires: DefaultAnswerExpiry}
	if e, ok := f["id"]; !ok || e.value == nil {
		p.errorf(p.entryOr(f, "id", it.Pos), "%s: missing id, such as `id: runbook` (it keeps answers across versions)", what)
	} else if v, ok := p.str(e, what+".id"); ok {
		if !checklistNameRE.MatchString(v) {
			p.errorf(p.valuePos(e), "%s.id %q: use lowercase letters, digits and '-', such as %q", what, v, suggestName(v))
		}
		it.ID, it.Pos = v, p.valuePos(e)
	}
	if e, ok := f["question"]; !ok || e.value == nil {
		p.errorf(p.entryOr(f, "question", it.Pos), "%s: missing question; ask it as \"Is ... considered?\"", what)
	} else if v, ok := p.str(e, what+".question"); ok {
		if len(v) > 500 {
			p.errorf(p.valuePos(e), "%s.question is %d bytes; keep it under 500 and put the rest in help", what, len(v))
		}
		it.Question = strings.TrimSpace(v)
	}
	if e, ok := f["help"]; ok {
		if v, ok := p.str(e, what+".help"); ok {
			if len(v) > 4000 {
				p.errorf(p.valuePos(e), "%s.help is %d bytes; keep it under 4000 and link to a document", what, len(v))
			}
			it.Help = strings.TrimSpace(v)
		}
	}
	if e, ok := f["level"]; ok && e.value != nil {
		if v, ok := p.str(e, what+".level"); ok {
			if len(c.Levels) > 0 && !slices.Contains(c.Levels, v) {
				p.errorf(p.valuePos(e), "%s.level %q is not a level of this checklist%s (levels: %s)", what, v, didYouMean(v, c.Levels), strings.Join(c.Levels, ", "))
			}
			it.Level = v
		}
	} else if len(c.Levels) > 0 {
		it.Level = c.Levels[0]
	}
	if e, ok := f["tiers"]; ok {
		items, _ := p.list(e, what+".tiers")
		for k, tn := range items {
			t, ok := p.integer(entry{key: "tiers", pos: e.pos, value: tn}, fmt.Sprintf("%s.tiers[%d]", what, k))
			if ok && (t < 1 || t > 3) {
				p.errorf(p.pos(tn), "%s.tiers[%d] %d: tiers are 1 to 3", what, k, t)
			}
			it.Tiers = append(it.Tiers, t)
		}
	}
	if e, ok := f["lifecycles"]; ok {
		ls, pos := p.strList(e, what+".lifecycles")
		for k, l := range ls {
			if !slices.Contains(lifecycles, l) {
				p.errorf(pos[k], "%s.lifecycles[%d] %q is not a lifecycle%s; use %s", what, k, l, didYouMean(l, lifecycles), joinWords(lifecycles, "or"))
			}
		}
		it.Lifecycles = ls
	}
	if e, ok := f["check"]; ok && e.value != nil {
		if v, ok := p.str(e, what+".check"); ok {
			it.Check = p.checkExpr(e, v, what+".check")
		}
	}
	if e, ok := f["manual"]; ok {
		it.Manual = p.boolean(e, what+".manual")
		if !it.Manual && it.Check == "" && e.value != nil {
			p.errorf(p.valuePos(e), "%s: manual is false and there is no check; give a check, or let a person answer (manual: true)", what)
		}
	} else {
		it.Manual = it.Check == ""
	}
	if e, ok := f["expires"]; ok && e.value != nil {
		if v, ok := p.str(e, what+".expires"); ok {
			d, err := slo.ParseDuration(v)
			if err != nil || !durationAtMost(v, 3*365*slo.Day) || d < slo.Day {
				p.errorf(p.valuePos(e), "%s.expires %q is not a duration between 1d and 3y; write it as 90d, 26w or 1y", what, v)
			} else {
				it.Expires = d
			}
		}
	}
	return it
}

// checkExpr type-checks a CEL check, reporting its error at the line and
// column inside the YAML scalar.
func (p *docParser) checkExpr(e entry, expr, what string) string {
	if strings.TrimSpace(expr) == "" {
		p.errorf(p.valuePos(e), "%s is empty; write a CEL expression over facts, such as `catalog.runbook != \"\"`, or remove it", what)
		return ""
	}
	if _, err := fact.Compile(expr); err != nil {
		ce, ok := err.(*fact.CheckError)
		if !ok {
			p.errorf(p.valuePos(e), "%s: %v", what, err)
			return ""
		}
		pos := p.offsetPos(e, expr, ce.Offset)
		if ce.Unknown != "" {
			p.errorf(pos, "%s: unknown fact %q%s (the facts are listed in docs/readiness.md)", what, ce.Unknown, didYouMean(ce.Unknown, fact.Names()))
			return ""
		}
		p.errorf(pos, "%s is not a valid check: %s", what, ce.Msg)
		return ""
	}
	return expr
}

// ChecklistsOf returns the checklists declared in files, which Parse has
// checked, sorted by name. A file whose checklist has errors, or two
// checklists of one name, is an error.
func ChecklistsOf(files []File) ([]*Checklist, error) {
	var out []*Checklist
	for i := range files {
		f := &files[i]
		data, err := readFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		if !bytes.Contains(data, []byte(KindChecklist)) {
			continue
		}
		astFile, err := parseBounded(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		p := &docParser{file: f, lines: &sourceLines{data: data}, report: report{limit: MaxDiagnosticsPerFile},
			aliasBudget: MaxAliasExpansion*len(data) + aliasSlack}
		var found []*Checklist
		only := kindRegistry{checklistKind, {apiVersions: []string{APIVersion}, read: func(*docParser, *header, *fileResult) {}}}
		only[0].read = func(p *docParser, h *header, _ *fileResult) {
			before := p.report.diags.Errors()
			c := p.checklist(h)
			if p.report.diags.Errors() > before {
				c = nil
			}
			found = append(found, c)
		}
		for _, doc := range astFile.Docs {
			p.anchors = map[string]ast.Node{}
			body := p.unwrap(doc.Body)
			if pairs, ok := mappingPairs(body); !ok || len(pairs) == 0 {
				continue
			}
			only.read(p, body, &fileResult{})
		}
		for _, c := range found {
			if c == nil {
				return nil, fmt.Errorf("%s: a checklist has errors; run tsuna lint %s", f.Path, f.Path)
			}
			if slices.ContainsFunc(out, func(o *Checklist) bool { return o.Name == c.Name }) {
				return nil, fmt.Errorf("%s: checklist %q is declared twice; keep one", f.Path, c.Name)
			}
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *Checklist) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
