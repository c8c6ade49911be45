package catalog

import (
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// serviceKind reads `apiVersion: tsuna/v1`, `kind: Service`.
var serviceKind = docKind{
	apiVersions: []string{APIVersion},
	kind:        KindService,
	read: func(p *docParser, h *header, res *fileResult) {
		if s := p.service(h.body, h.pos); s != nil {
			res.services = append(res.services, s)
		}
	},
}

var serviceFields = append(slices.Clone(headerFields),
	"name", "team", "tier", "lifecycle", "description", "links", "dependsOn", "chat", "labels", "slos")

var linkFields = []string{"runbook", "dashboard", "repo", "docs"}

func (p *docParser) service(body ast.Node, docPos Pos) *Service {
	f, ok := p.fields(body, "Service", serviceFields)
	if !ok {
		return nil
	}
	s := &Service{Pos: docPos, Tier: DefaultTier, Lifecycle: DefaultLifecycle}
	p.objectName(f, "Service", docPos, &s.Name, &s.Pos)
	if e, ok := f["team"]; !ok || e.value == nil {
		p.errorf(p.entryOr(f, "team", docPos), "Service %q: missing team; add `team: <team name>` naming the team that owns it", s.Name)
	} else if v, ok := p.str(e, "team"); !ok {
	} else {
		s.Team = v
		s.teamPos = p.valuePos(e)
	}
	if e, ok := f["tier"]; ok && e.value != nil {
		if n, ok := p.integer(e, "tier"); !ok {
		} else if n < 1 || n > 3 {
			p.errorf(p.valuePos(e), "tier %d is out of range; use 1 (most critical), 2 or 3 (the default)", n)
		} else {
			s.Tier = n
		}
	}
	if e, ok := f["lifecycle"]; ok && e.value != nil {
		lifecycles := []string{LifecycleExperimental, LifecycleProduction, LifecycleDeprecated}
		if v, ok := p.str(e, "lifecycle"); !ok {
		} else if !slices.Contains(lifecycles, v) {
			p.errorf(p.valuePos(e), "lifecycle %q is not one of %s%s", v, strings.Join(lifecycles, ", "), didYouMean(v, lifecycles))
		} else {
			s.Lifecycle = v
		}
	}
	if e, ok := f["description"]; ok {
		s.Description, _ = p.str(e, "description")
	}
	if e, ok := f["links"]; ok && e.value != nil {
		lf, _ := p.fields(e.value, "links", linkFields)
		for _, name := range linkFields {
			le, ok := lf[name]
			if !ok {
				continue
			}
			u, ok := p.str(le, "links."+name)
			if ok && u != "" && !validURL(u) {
				p.errorf(p.valuePos(le), "links.%s %q is not an absolute http(s) URL; write it as https://host/path", name, u)
			}
			switch name {
			case "runbook":
				s.Links.Runbook = u
			case "dashboard":
				s.Links.Dashboard = u
			case "repo":
				s.Links.Repo = u
			case "docs":
				s.Links.Docs = u
			}
		}
	}
	if e, ok := f["dependsOn"]; ok {
		s.DependsOn, s.depPos = p.strList(e, "dependsOn")
	}
	if e, ok := f["chat"]; ok {
		p.chat(e, "Service", &s.Chat)
	}
	if e, ok := f["labels"]; ok && e.value != nil {
		p.labels(e, s)
	}
	if e, ok := f["slos"]; ok && e.value != nil {
		p.serviceSLOs(e, s)
	}
	if s.Name == "" {
		return nil
	}
	return s
}

func (p *docParser) labels(e entry, s *Service) {
	pairs, ok := mappingPairs(e.value)
	if !ok {
		p.errorf(p.valuePos(e), "labels must be a mapping of name: value, got %s", describe(e.value))
		return
	}
	s.Labels = make(map[string]string, len(pairs))
	for _, kv := range pairs {
		key := kv.Key.String()
		if !isLabelName(key) {
			p.errorf(p.pos(kv.Key), "label name %q is invalid; use letters, digits and '_', not starting with a digit (they become Prometheus labels)", key)
			continue
		}
		if _, dup := s.Labels[key]; dup {
			p.errorf(p.pos(kv.Key), "label %q is set twice; keep one", key)
			continue
		}
		v, _ := p.str(entry{key: key, pos: p.pos(kv.Key), value: p.unwrap(kv.Value)}, "labels."+key)
		s.Labels[key] = v
	}
}
