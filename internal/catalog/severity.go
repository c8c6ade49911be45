package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// KindSeverityLevel is the kind of a document declaring an incident
// severity level.
const KindSeverityLevel = "SeverityLevel"

// SeverityLevel is an incident severity the organisation defines in
// advance: what it means (shown when declaring), whether it reaches the
// organisation-wide incidents channel, the roles its incidents staff and
// when tsuna reminds their channel.
type SeverityLevel struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description" yaml:"description"`
	// NotifyOrganization posts its incidents to the organisation-wide
	// incidents channel too.
	NotifyOrganization bool `json:"notifyOrganization,omitempty" yaml:"notifyOrganization"`
	// Roles are the roles besides the lead, such as comms and scribe.
	Roles     []string  `json:"roles,omitempty" yaml:"roles"`
	Reminders Reminders `json:"reminders" yaml:"reminders"`

	Pos Pos `json:"-" yaml:"-"`
}

// Reminders say when tsuna reminds an incident's channel; zero is never.
type Reminders struct {
	// NoLead: the incident has had no lead for this long since reported.
	NoLead time.Duration `json:"noLead,omitempty" yaml:"-"`
	// NoUpdate: no status update for this long while active.
	NoUpdate time.Duration `json:"noUpdate,omitempty" yaml:"-"`
	// Unclosed: resolved and not closed for this long.
	Unclosed time.Duration `json:"unclosed,omitempty" yaml:"-"`
}

// DefaultRoles are the roles of a severity level that declares none.
var DefaultRoles = []string{"comms", "scribe"}

// DefaultSeverityLevels are the levels used when the catalog declares
// none: SEV1 (most severe) to SEV4.
func DefaultSeverityLevels() []SeverityLevel {
	roles := func() []string { return slices.Clone(DefaultRoles) }
	return []SeverityLevel{
		{Name: "SEV1", Description: "Critical: many customers cannot use a core feature. All hands, public status update, executives informed.",
			NotifyOrganization: true, Roles: roles(), Reminders: Reminders{NoLead: 5 * time.Minute, NoUpdate: 30 * time.Minute, Unclosed: 72 * time.Hour}},
		{Name: "SEV2", Description: "Major: a core feature is degraded for many customers, or broken for some.",
			NotifyOrganization: true, Roles: roles(), Reminders: Reminders{NoLead: 10 * time.Minute, NoUpdate: time.Hour, Unclosed: 72 * time.Hour}},
		{Name: "SEV3", Description: "Minor: partial loss of a non-core feature, or a workaround exists.",
			Roles: roles(), Reminders: Reminders{NoLead: 30 * time.Minute, NoUpdate: 4 * time.Hour, Unclosed: 7 * 24 * time.Hour}},
		{Name: "SEV4", Description: "No customer impact yet: a near miss, internal tooling.",
			Roles: roles(), Reminders: Reminders{NoLead: time.Hour, NoUpdate: 24 * time.Hour, Unclosed: 14 * 24 * time.Hour}},
	}
}

// MaxSeverityLevels bounds the levels a catalog declares.
const MaxSeverityLevels = 20

var (
	severityNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
	roleNameRE     = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

// severityLevelKind reads `apiVersion: tsuna/v1`, `kind: SeverityLevel`:
// it checks the document, reporting each problem at its position, and
// keeps the level for the catalog.
var severityLevelKind = docKind{
	apiVersions: []string{APIVersion},
	kind:        KindSeverityLevel,
	read: func(p *docParser, h *header, res *fileResult) {
		if s := p.severityLevel(h); s != nil {
			res.severityLevels = append(res.severityLevels, s)
		}
	},
}

// severityLevels returns the levels read from the files, in the order of
// their names, reporting a name declared twice (whatever its case) and
// more than MaxSeverityLevels at the document that declares it.
func (d *checker) severityLevels(levels []*SeverityLevel) []SeverityLevel {
	if len(levels) == 0 {
		return nil // the defaults apply
	}
	first := make(map[string]Pos, len(levels))
	out := make([]SeverityLevel, 0, len(levels))
	for i, l := range levels {
		key := strings.ToLower(l.Name)
		if pos, dup := first[key]; dup {
			d.errorf(l.Pos, "severity level %q is declared twice: here and at %s; keep one", l.Name, pos)
			continue
		}
		first[key] = l.Pos
		if i == MaxSeverityLevels {
			d.errorf(l.Pos, "more than %d severity levels declared; keep at most %d", MaxSeverityLevels, MaxSeverityLevels)
		}
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b SeverityLevel) int { return strings.Compare(a.Name, b.Name) })
	return out
}

var severityFields = append(slices.Clone(headerFields), "name", "description", "notifyOrganization", "roles", "reminders")

func (p *docParser) severityLevel(h *header) *SeverityLevel {
	f, ok := p.fields(h.body, KindSeverityLevel, severityFields)
	if !ok {
		return nil
	}
	s := &SeverityLevel{Pos: h.pos}
	if e, ok := f["name"]; !ok || e.value == nil {
		p.errorf(p.entryOr(f, "name", h.pos), "SeverityLevel: missing name; add `name: SEV1` (letters, digits, '-' or '_', at most 32)")
	} else if v, ok := p.str(e, "name"); ok {
		if !severityNameRE.MatchString(v) {
			p.errorf(p.valuePos(e), "invalid severity level name %q: use letters, digits, '-' or '_', at most 32 characters, such as SEV1", v)
		}
		s.Name, s.Pos = v, p.valuePos(e)
	}
	if e, ok := f["description"]; !ok || e.value == nil {
		p.errorf(p.entryOr(f, "description", h.pos), "SeverityLevel: missing description; say what the level means, it is shown to whoever declares an incident")
	} else if v, ok := p.str(e, "description"); ok {
		if len(v) > 500 {
			p.errorf(p.valuePos(e), "description is %d bytes; keep it under 500 (it is shown in a chat menu)", len(v))
		}
		s.Description = v
	}
	if e, ok := f["notifyOrganization"]; ok {
		s.NotifyOrganization = p.boolean(e, "notifyOrganization")
	}
	if e, ok := f["roles"]; ok {
		roles, pos := p.strList(e, "roles")
		for i, r := range roles {
			switch {
			case !roleNameRE.MatchString(r):
				p.errorf(pos[i], "roles[%d] %q is not a role name: use lowercase letters, digits and '-', such as comms", i, r)
			case r == "lead":
				p.errorf(pos[i], "roles[%d]: every incident has a lead; list only the other roles", i)
			case slices.Contains(roles[:i], r):
				p.errorf(pos[i], "roles[%d] %q is listed twice; keep one", i, r)
			}
		}
		s.Roles = roles
	} else {
		s.Roles = slices.Clone(DefaultRoles)
	}
	if e, ok := f["reminders"]; ok && e.value != nil {
		rf, ok := p.fields(e.value, "reminders", []string{"noLead", "noUpdate", "unclosed"})
		if ok {
			for key, dst := range map[string]*time.Duration{"noLead": &s.Reminders.NoLead, "noUpdate": &s.Reminders.NoUpdate, "unclosed": &s.Reminders.Unclosed} {
				re, ok := rf[key]
				if !ok {
					continue
				}
				v, ok := p.str(re, "reminders."+key)
				if !ok || v == "" {
					continue
				}
				d, err := slo.ParseDuration(v)
				if err != nil || !durationAtMost(v, 365*24*time.Hour) || d < time.Minute {
					p.errorf(p.valuePos(re), "reminders.%s %q is not a duration between 1m and 365d; write it as 10m, 4h or 3d", key, v)
					continue
				}
				*dst = d
			}
		}
	}
	return s
}

// severityDoc is a SeverityLevel document as SeverityLevelsOf decodes it.
type severityDoc struct {
	APIVersion         string   `yaml:"apiVersion"`
	Kind               string   `yaml:"kind"`
	Name               string   `yaml:"name"`
	Description        string   `yaml:"description"`
	NotifyOrganization bool     `yaml:"notifyOrganization"`
	Roles              []string `yaml:"roles"`
	Reminders          struct {
		NoLead   string `yaml:"noLead"`
		NoUpdate string `yaml:"noUpdate"`
		Unclosed string `yaml:"unclosed"`
	} `yaml:"reminders"`
}

// SeverityLevelsOf returns the severity levels declared in files, which
// Parse has checked (so every error was reported with its position), in
// the order of their names; DefaultSeverityLevels when none is declared.
// Declaring the same name twice is an error.
func SeverityLevelsOf(files []File) ([]SeverityLevel, error) {
	out, err := declaredSeverityLevels(files)
	if err != nil || len(out) > 0 {
		return out, err
	}
	return DefaultSeverityLevels(), nil
}

// declaredSeverityLevels returns the severity levels declared in files, in
// the order of their names; none when none is declared.
func declaredSeverityLevels(files []File) ([]SeverityLevel, error) {
	var out []SeverityLevel
	for _, f := range files {
		data, err := readFile(&f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		if !bytes.Contains(data, []byte(KindSeverityLevel)) {
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var d severityDoc
			err := dec.Decode(&d)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Path, err)
			}
			if d.APIVersion != APIVersion || d.Kind != KindSeverityLevel {
				continue
			}
			s := SeverityLevel{Name: d.Name, Description: d.Description, NotifyOrganization: d.NotifyOrganization, Roles: d.Roles}
			if s.Roles == nil {
				s.Roles = slices.Clone(DefaultRoles)
			}
			for _, r := range []struct {
				v   string
				dst *time.Duration
			}{{d.Reminders.NoLead, &s.Reminders.NoLead}, {d.Reminders.NoUpdate, &s.Reminders.NoUpdate}, {d.Reminders.Unclosed, &s.Reminders.Unclosed}} {
				if r.v != "" {
					if *r.dst, err = slo.ParseDuration(r.v); err != nil {
						return nil, fmt.Errorf("%s: severity level %s: %w", f.Path, d.Name, err)
					}
				}
			}
			if slices.ContainsFunc(out, func(o SeverityLevel) bool { return strings.EqualFold(o.Name, s.Name) }) {
				return nil, fmt.Errorf("%s: severity level %q is declared twice; keep one", f.Path, s.Name)
			}
			out = append(out, s)
		}
	}
	if len(out) > MaxSeverityLevels {
		return nil, fmt.Errorf("%d severity levels declared; at most %d", len(out), MaxSeverityLevels)
	}
	slices.SortFunc(out, func(a, b SeverityLevel) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
