package catalog

import (
	"github.com/goccy/go-yaml/ast"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

var headerFields = []string{"apiVersion", "kind"}

// document decodes one YAML document into a *Team or *Service, or nil.
func (p *docParser) document(body ast.Node) any {
	pairs, ok := mappingPairs(body)
	if !ok {
		p.errorf(p.pos(body), "a catalog document must be a mapping starting with `apiVersion: %s` and a kind, got %s", APIVersion, describe(body))
		return nil
	}
	docPos := p.pos(body)
	var apiVersion, kind, version, groups *entry
	for _, kv := range pairs {
		e := entry{key: kv.Key.String(), pos: p.pos(kv.Key), value: p.unwrap(kv.Value)}
		switch e.key {
		case "apiVersion":
			apiVersion = &e
		case "kind":
			kind = &e
		case "version":
			version = &e
		case "groups":
			groups = &e
		}
	}
	if apiVersion == nil && version == nil && groups != nil {
		return p.ruleFile(body)
	}
	if apiVersion == nil && version != nil {
		if v, _ := p.str(*version, "version"); v == slo.SourceSloth {
			return p.sloth(body, false)
		} else {
			p.errorf(p.valuePos(*version), "unknown Sloth spec version %q: tsuna reads %q", v, slo.SourceSloth)
			return nil
		}
	}
	if apiVersion == nil {
		p.errorf(docPos, "missing apiVersion: start the document with `apiVersion: %s`", APIVersion)
		return nil
	}
	v, ok := p.str(*apiVersion, "apiVersion")
	if !ok {
		return nil
	}
	k := ""
	if kind != nil {
		k, _ = p.str(*kind, "kind")
	}
	switch {
	case v == slo.SourceSlothCRD && k == "PrometheusServiceLevel":
		return p.sloth(body, true)
	case (v == slo.SourceOpenSLO || v == slo.SourceOpenSLOAlpha) && k == "SLO":
		return p.openSLO(body, v)
	case v == slo.SourceOpenSLO && k == "SLI":
		name, ratio := p.openSLOIndicator(body)
		return openSLOIndicator{name: name, ratio: ratio}
	case v == slo.SourceOpenSLO || v == slo.SourceOpenSLOAlpha:
		return nil // other OpenSLO kinds (Service, AlertPolicy, ...) carry nothing tsuna uses
	case v != APIVersion:
		p.errorf(p.valuePos(*apiVersion), "unknown apiVersion %q: use %q (Sloth's %q and OpenSLO's %q are read too)", v, APIVersion, slo.SourceSloth, slo.SourceOpenSLO)
		return nil
	}
	if kind == nil {
		p.errorf(docPos, "missing kind: add `kind: %s` or `kind: %s`", KindTeam, KindService)
		return nil
	}
	switch k {
	case KindTeam:
		return p.team(body, docPos)
	case KindService:
		return p.service(body, docPos)
	}
	p.errorf(p.valuePos(*kind), "unknown kind %q%s (kinds in %s: %s, %s)", k, didYouMean(k, []string{KindTeam, KindService}), APIVersion, KindTeam, KindService)
	return nil
}
