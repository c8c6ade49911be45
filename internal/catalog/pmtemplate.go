package catalog

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
)

// KindPostmortemTemplate is the kind of a document declaring a postmortem
// template: Markdown sections with help text, versioned.
const KindPostmortemTemplate = "PostmortemTemplate"

// PostmortemTemplate is a postmortem template as code. A postmortem
// remembers the Name and Version it was drafted from; change the version
// whenever the sections change.
type PostmortemTemplate struct {
	Name        string `json:"name" yaml:"name"`
	Version     int    `json:"version" yaml:"version"`
	Description string `json:"description,omitempty" yaml:"description"`
	// Sections are the Markdown sections of a postmortem, in order.
	Sections []TemplateSection `json:"sections" yaml:"sections"`

	Pos Pos `json:"-" yaml:"-"`
}

// TemplateSection is one "## Title" section of a postmortem.
type TemplateSection struct {
	Title string `json:"title" yaml:"title"`
	// Help says what to write; shown to authors as a comment, never
	// published.
	Help string `json:"help,omitempty" yaml:"help"`
	// Prefill names what tsuna writes in the section when drafting from an
	// incident: one of PrefillKinds, or "" for Text only.
	Prefill string `json:"prefill,omitempty" yaml:"prefill"`
	// Text is the section's starting text.
	Text string `json:"text,omitempty" yaml:"text"`
}

// PrefillKinds are what a section may be pre-filled with from an incident.
var PrefillKinds = []string{"summary", "impact", "timeline", "metrics", "budget", "alerts", "participants", "actions"}

// Limits of a template.
const (
	MaxTemplateSections = 40
	MaxTemplateText     = 8000 // bytes of a section's help or text
	MaxTemplateTitle    = 200
)

var templateNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// postmortemTemplateKind reads `apiVersion: tsuna/v1`,
// `kind: PostmortemTemplate`: it checks the document, reporting each
// problem at its position. The templates are taken by
// PostmortemTemplatesOf from checked files.
var postmortemTemplateKind = docKind{
	apiVersions: []string{APIVersion},
	kind:        KindPostmortemTemplate,
	read: func(p *docParser, h *header, _ *fileResult) {
		p.postmortemTemplate(h)
	},
}

var pmTemplateFields = append(slices.Clone(headerFields), "name", "version", "description", "sections")

func (p *docParser) postmortemTemplate(h *header) {
	f, ok := p.fields(h.body, KindPostmortemTemplate, pmTemplateFields)
	if !ok {
		return
	}
	if e, ok := f["name"]; !ok || e.value == nil {
		p.errorf(p.entryOr(f, "name", h.pos), "PostmortemTemplate: missing name; add `name: default` (lowercase letters, digits and '-')")
	} else if v, ok := p.str(e, "name"); ok && !templateNameRE.MatchString(v) {
		p.errorf(p.valuePos(e), "invalid template name %q: use lowercase letters, digits and '-', at most 63 characters, such as blameless", v)
	}
	if e, ok := f["version"]; !ok || e.value == nil {
		p.errorf(p.entryOr(f, "version", h.pos), "PostmortemTemplate: missing version; add `version: 1` and raise it whenever the sections change (each postmortem remembers the version it was drafted from)")
	} else if v, ok := p.integer(e, "version"); ok && v < 1 {
		p.errorf(p.valuePos(e), "version must be 1 or more, got %d", v)
	}
	if e, ok := f["description"]; ok {
		if v, ok := p.str(e, "description"); ok && len(v) > 500 {
			p.errorf(p.valuePos(e), "description is %d bytes; keep it under 500", len(v))
		}
	}
	e, ok := f["sections"]
	if !ok || e.value == nil {
		p.errorf(p.entryOr(f, "sections", h.pos), "PostmortemTemplate: missing sections; list them as `- title: Summary` with `help:` saying what to write")
		return
	}
	items, _ := p.list(e, "sections")
	if len(items) > MaxTemplateSections {
		p.errorf(p.valuePos(e), "sections: %d listed; at most %d", len(items), MaxTemplateSections)
		return
	}
	var titles []string
	for i, it := range items {
		what := fmt.Sprintf("sections[%d]", i)
		sf, ok := p.fields(it, what, []string{"title", "help", "prefill", "text"})
		if !ok {
			continue
		}
		if te, ok := sf["title"]; !ok || te.value == nil {
			p.errorf(p.pos(it), "%s: missing title; add `title: Summary`", what)
		} else if v, ok := p.str(te, what+".title"); ok {
			switch {
			case strings.TrimSpace(v) == "" || len(v) > MaxTemplateTitle || strings.ContainsAny(v, "\n\r#"):
				p.errorf(p.valuePos(te), "%s.title %q: one line of at most %d bytes, without '#'", what, v, MaxTemplateTitle)
			case slices.Contains(titles, v):
				p.errorf(p.valuePos(te), "%s.title %q is used by another section; each section has its own title", what, v)
			}
			titles = append(titles, v)
		}
		for _, key := range []string{"help", "text"} {
			if te, ok := sf[key]; ok {
				if v, ok := p.str(te, what+"."+key); ok && len(v) > MaxTemplateText {
					p.errorf(p.valuePos(te), "%s.%s is %d bytes; at most %d", what, key, len(v), MaxTemplateText)
				}
			}
		}
		if te, ok := sf["prefill"]; ok {
			if v, ok := p.str(te, what+".prefill"); ok && v != "" && !slices.Contains(PrefillKinds, v) {
				p.errorf(p.valuePos(te), "%s.prefill %q: use one of %s", what, v, strings.Join(PrefillKinds, ", "))
			}
		}
	}
}

// PostmortemTemplatesOf returns the postmortem templates declared in
// files, which Parse has checked (so every error was reported with its
// position), sorted by name. Declaring the same name twice is an error.
func PostmortemTemplatesOf(files []File) ([]PostmortemTemplate, error) {
	var out []PostmortemTemplate
	for _, f := range files {
		data, err := readFile(&f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		if !bytes.Contains(data, []byte(KindPostmortemTemplate)) {
			continue
		}
		// Within the catalog's limits, one document at a time: linear in
		// the file's size whatever it holds.
		sc := scanFile(data)
		if sc.over != nil {
			return nil, fmt.Errorf("%s:%d:%d: %s", f.Path, sc.over.line, sc.over.column, sc.over.msg)
		}
		for _, doc := range sc.docs {
			var d struct {
				APIVersion         string `yaml:"apiVersion"`
				Kind               string `yaml:"kind"`
				PostmortemTemplate `yaml:",inline"`
			}
			if err := yaml.Unmarshal(data[doc.start:doc.end], &d); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
			if d.APIVersion != APIVersion || d.Kind != KindPostmortemTemplate {
				continue
			}
			t := d.PostmortemTemplate
			if err := t.Check(); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
			if slices.ContainsFunc(out, func(o PostmortemTemplate) bool { return o.Name == t.Name }) {
				return nil, fmt.Errorf("%s: postmortem template %q is declared twice; keep one", f.Path, t.Name)
			}
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b PostmortemTemplate) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Check checks a decoded template: what the parser checks at positions,
// for templates that did not come through Parse (such as an embedded one).
func (t *PostmortemTemplate) Check() error {
	switch {
	case !templateNameRE.MatchString(t.Name):
		return fmt.Errorf("postmortem template name %q: use lowercase letters, digits and '-'", t.Name)
	case t.Version < 1:
		return fmt.Errorf("postmortem template %s: version must be 1 or more", t.Name)
	case len(t.Sections) == 0 || len(t.Sections) > MaxTemplateSections:
		return fmt.Errorf("postmortem template %s: 1 to %d sections", t.Name, MaxTemplateSections)
	}
	for i, s := range t.Sections {
		if strings.TrimSpace(s.Title) == "" || len(s.Title) > MaxTemplateTitle || strings.ContainsAny(s.Title, "\n\r#") {
			return fmt.Errorf("postmortem template %s: sections[%d].title must be one line without '#'", t.Name, i)
		}
		if s.Prefill != "" && !slices.Contains(PrefillKinds, s.Prefill) {
			return fmt.Errorf("postmortem template %s: sections[%d].prefill %q: use one of %s", t.Name, i, s.Prefill, strings.Join(PrefillKinds, ", "))
		}
		if len(s.Help) > MaxTemplateText || len(s.Text) > MaxTemplateText {
			return fmt.Errorf("postmortem template %s: sections[%d]: help and text at most %d bytes", t.Name, i, MaxTemplateText)
		}
	}
	return nil
}
