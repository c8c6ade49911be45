package catalog

import (
	"fmt"
	"math"

	"github.com/goccy/go-yaml/ast"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// ruleRef is a service or team named by an alerting rule, checked against
// the catalog once every file is read.
type ruleRef struct {
	kind, name string
	pos        Pos
}

// ruleFileKind reads a Prometheus rule file: a document of `groups:`
// without apiVersion.
var ruleFileKind = docKind{
	detect: func(h *header) bool { return h.field("groups") != nil },
	read: func(p *docParser, h *header, res *fileResult) {
		res.ruleRefs = append(res.ruleRefs, p.ruleFile(h.body)...)
	},
}

var (
	groupFields = []string{"name", "interval", "limit", "query_offset", "rules", "labels"}
	ruleFields  = []string{"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
)

// ruleFile checks a Prometheus rule file (a document of `groups:`): PromQL
// syntax at its position, and what tsuna needs of every alerting rule to
// route it and help whoever it wakes up.
func (p *docParser) ruleFile(body ast.Node) []ruleRef {
	f, ok := p.fields(body, "rule file", []string{"groups"})
	if !ok {
		return nil
	}
	groups, _ := p.list(f["groups"], "groups")
	var refs []ruleRef
	for gi, g := range groups {
		what := fmt.Sprintf("groups[%d]", gi)
		gf, ok := p.fields(g, what, groupFields)
		if !ok {
			continue
		}
		if _, ok := gf["name"]; !ok {
			p.errorf(p.pos(g), "%s: missing name", what)
		}
		rules, _ := p.list(gf["rules"], what+".rules")
		for ri, r := range rules {
			rw := fmt.Sprintf("%s.rules[%d]", what, ri)
			rf, ok := p.fields(r, rw, ruleFields)
			if !ok {
				continue
			}
			_, isRecord := rf["record"]
			ae, isAlert := rf["alert"]
			if isRecord == isAlert {
				p.errorf(p.pos(r), "%s: give record or alert (exactly one)", rw)
				continue
			}
			if ee, ok := rf["expr"]; !ok {
				p.errorf(p.pos(r), "%s: missing expr", rw)
			} else {
				p.query(ee, rw+".expr", false)
			}
			if !isAlert {
				continue
			}
			name, _ := p.str(ae, rw+".alert")
			var labels, ann map[string]string
			if le, ok := rf["labels"]; ok {
				labels = p.stringMap(le, rw+".labels")
			}
			if an, ok := rf["annotations"]; ok {
				ann = p.stringMap(an, rw+".annotations")
			}
			switch {
			case labels["severity"] == "":
				p.errorf(p.pos(r), "alert %s: add a severity label (page or ticket, or your own levels) so it reaches the right people", name)
			case labels["service"] == "" && labels["team"] == "":
				p.errorf(p.pos(r), "alert %s: add a service or team label naming its owner in the catalog, or it goes to the fallback channel", name)
			}
			for _, a := range []string{"summary", "runbook_url"} {
				if ann[a] == "" {
					p.errorf(p.pos(r), "alert %s: add a %s annotation", name, a)
				}
			}
			// Multi-window burn-rate alerts (tsuna slo rules) need no for:.
			if labels["severity"] == "page" && labels["sloth_severity"] == "" {
				if fe, ok := rf["for"]; !ok {
					p.errorf(p.pos(r), "alert %s: a page needs a for: duration (such as for: 5m), so a blip does not wake anyone", name)
				} else if s, _ := p.str(fe, rw+".for"); s != "" {
					if d, err := slo.ParseDuration(s); err != nil || d == 0 || !durationAtMost(s, math.MaxInt64) {
						p.errorf(p.valuePos(fe), "alert %s: for %q is not a duration such as 5m", name, s)
					}
				}
			}
			if le, ok := rf["labels"]; ok {
				if pairs, ok := mappingPairs(le.value); ok {
					for _, kv := range pairs {
						if k := kv.Key.String(); (k == "service" || k == "team") && labels[k] != "" {
							refs = append(refs, ruleRef{kind: k, name: labels[k], pos: p.pos(kv.Value)})
						}
					}
				}
			}
		}
	}
	return refs
}
