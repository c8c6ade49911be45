package catalog

import (
	"fmt"
	"maps"

	"github.com/goccy/go-yaml/ast"

	"github.com/tsuna-sre/tsuna/internal/slo"
)

// slothKind reads a Sloth spec, `version: prometheus/v1` without apiVersion.
var slothKind = docKind{
	detect: func(h *header) bool { return h.field("version") != nil },
	family: "Sloth", version: slo.SourceSloth,
	read: func(p *docParser, h *header, res *fileResult) {
		version := h.field("version")
		if v, _ := p.str(*version, "version"); v != slo.SourceSloth {
			p.errorf(p.valuePos(*version), "unknown Sloth spec version %q: tsuna reads %q", v, slo.SourceSloth)
			return
		}
		res.foreign = append(res.foreign, p.sloth(h.body, false)...)
	},
}

// slothCRDKind reads Sloth's Kubernetes PrometheusServiceLevel.
var slothCRDKind = docKind{
	apiVersions: []string{slo.SourceSlothCRD},
	kind:        "PrometheusServiceLevel",
	family:      "Sloth", version: slo.SourceSloth,
	read: func(p *docParser, h *header, res *fileResult) {
		res.foreign = append(res.foreign, p.sloth(h.body, true)...)
	},
}

// sloth reads a Sloth spec: `version: prometheus/v1`, or the Kubernetes
// PrometheusServiceLevel with camelCase fields under spec. Fields tsuna
// does not use are warnings, so every Sloth spec still loads.
func (p *docParser) sloth(body ast.Node, crd bool) []foreignSLO {
	k := func(snake, camel string) string {
		if crd {
			return camel
		}
		return snake
	}
	root := body
	var meta *slo.K8sMeta
	if crd {
		f := p.lenient(body, "PrometheusServiceLevel", []string{"apiVersion", "kind", "metadata", "spec"})
		meta = p.k8sMeta(f, body)
		se, ok := f["spec"]
		if !ok || se.value == nil {
			p.errorf(p.pos(body), "PrometheusServiceLevel: missing spec")
			return nil
		}
		root = se.value
	}
	f := p.lenient(root, "Sloth spec", []string{"version", "service", "labels", k("slo_plugins", "sloPlugins"), "slos"})
	var service string
	if se, ok := f["service"]; !ok || se.value == nil {
		p.errorf(p.pos(root), "Sloth spec: missing service; add `service: <service name>`")
		return nil
	} else if service, ok = p.str(se, "service"); !ok {
		return nil
	} else if service == "" {
		p.errorf(p.valuePos(se), "Sloth spec: service is empty, so its SLOs would be dropped; name the service, such as service: checkout-api")
		return nil
	}
	if pe, ok := f[k("slo_plugins", "sloPlugins")]; ok {
		p.unsupportedPlugins(pe, pe.key)
	}
	var labels map[string]string
	if le, ok := f["labels"]; ok {
		labels = p.slothLabels(le, "labels")
	}
	source := slo.SourceSloth
	if crd {
		source = slo.SourceSlothCRD
	}
	se, ok := f["slos"]
	if !ok {
		p.errorf(p.pos(root), "Sloth spec: missing slos")
		return nil
	}
	items, _ := p.list(se, "slos")
	var out []foreignSLO
	for i, it := range items {
		what := fmt.Sprintf("slos[%d]", i)
		sf := p.lenient(it, what, []string{"name", "objective", "description", "labels", "sli", "alerting", k("plugins", "plugins")})
		o := &slo.SLO{Service: service, Source: source, Labels: labels, Window: slo.Window{Rolling: slo.Duration(slo.DefaultPeriod)}, K8s: meta}
		if pe, ok := sf["plugins"]; ok {
			p.unsupportedPlugins(pe, what+".plugins")
		}
		if ne, ok := sf["name"]; ok {
			o.Name, _ = p.str(ne, what+".name")
		}
		if o.Name == "" {
			p.errorf(p.pos(it), "%s: missing name", what)
		}
		if oe, ok := sf["objective"]; ok {
			o.Objective = p.objective(oe, what+".objective", 1)
		} else {
			p.errorf(p.pos(it), "%s: missing objective; add `objective: 99.9`", what)
		}
		if de, ok := sf["description"]; ok {
			o.Description, _ = p.str(de, what+".description")
		}
		if le, ok := sf["labels"]; ok {
			own := p.slothLabels(le, what+".labels")
			merged := make(map[string]string, len(labels)+len(own))
			maps.Copy(merged, labels)
			maps.Copy(merged, own)
			o.Labels = merged // the service's labels are shared by the SLOs without their own
		}
		if sle, ok := sf["sli"]; !ok || sle.value == nil {
			p.errorf(p.pos(it), "%s: missing sli", what)
		} else {
			lf := p.lenient(sle.value, what+".sli", []string{"events", "raw", "plugin"})
			if n := len(lf); n > 1 {
				second := lf["raw"]
				if _, ok := lf["plugin"]; ok {
					second = lf["plugin"]
				}
				p.errorf(second.pos, "%s.sli gives %d of events, raw and plugin: Sloth refuses this; keep one", what, n)
			} else if ev, ok := lf["events"]; ok {
				ef := p.lenient(ev.value, what+".sli.events", []string{k("error_query", "errorQuery"), k("total_query", "totalQuery")})
				r := &slo.Ratio{}
				if q, ok := ef[k("error_query", "errorQuery")]; ok {
					r.Errors = p.query(q, what+".sli.events."+q.key, true)
				}
				if q, ok := ef[k("total_query", "totalQuery")]; ok {
					r.Total = p.query(q, what+".sli.events."+q.key, true)
				}
				if r.Errors == "" && r.Total == "" && len(ef) < 2 {
					p.errorf(p.valuePos(ev), "%s.sli.events: give %s and %s", what, k("error_query", "errorQuery"), k("total_query", "totalQuery"))
				}
				o.SLI.Ratio = r
			} else if raw, ok := lf["raw"]; ok {
				rf := p.lenient(raw.value, what+".sli.raw", []string{k("error_ratio_query", "errorRatioQuery")})
				if q, ok := rf[k("error_ratio_query", "errorRatioQuery")]; ok {
					o.SLI.Raw = p.query(q, what+".sli.raw."+q.key, true)
				} else {
					p.errorf(p.valuePos(raw), "%s.sli.raw: give %s", what, k("error_ratio_query", "errorRatioQuery"))
				}
			} else if pl, ok := lf["plugin"]; ok {
				p.errorf(p.valuePos(pl), "%s.sli.plugin: Sloth SLI plugins are not supported; write the SLI as events or raw", what)
			} else {
				p.errorf(p.valuePos(sle), "%s.sli: give events or raw", what)
			}
		}
		if ae, ok := sf["alerting"]; ok && ae.value != nil {
			af := p.lenient(ae.value, what+".alerting", []string{"name", "labels", "annotations", k("page_alert", "pageAlert"), k("ticket_alert", "ticketAlert")})
			if ne, ok := af["name"]; ok {
				o.Alerting.Name, _ = p.str(ne, what+".alerting.name")
			}
			if le, ok := af["labels"]; ok {
				o.Alerting.Labels = p.slothLabels(le, what+".alerting.labels")
			}
			if an, ok := af["annotations"]; ok {
				o.Alerting.Annotations = p.stringMap(an, what+".alerting.annotations")
			}
			for _, sev := range []string{"page", "ticket"} {
				key := k(sev+"_alert", sev+"Alert")
				se, ok := af[key]
				if !ok || se.value == nil {
					continue
				}
				sf := p.lenient(se.value, what+".alerting."+key, []string{"disable", "labels", "annotations"})
				spec := p.alertSpec(sf, what+".alerting."+key, "disable")
				if sev == "page" {
					o.Alerting.Page = spec
				} else {
					o.Alerting.Ticket = spec
				}
			}
		}
		if o.Alerting.Name == "" && (!o.Alerting.Page.Disabled || !o.Alerting.Ticket.Disabled) {
			at := p.pos(it)
			if ae, ok := sf["alerting"]; ok {
				at = ae.pos
			}
			p.errorf(at, "%s.alerting.name: Sloth requires an alert name while page or ticket alerts are on; add alerting.name (such as name: %s), or disable both %s and %s",
				what, slo.AlertName(service, o.Name), k("page_alert", "pageAlert"), k("ticket_alert", "ticketAlert"))
		}
		out = append(out, foreignSLO{slo: o, pos: p.pos(it)})
	}
	return out
}

// k8sMeta reads the metadata of a Kubernetes object: name, namespace,
// labels and annotations.
func (p *docParser) k8sMeta(f map[string]entry, body ast.Node) *slo.K8sMeta {
	me, ok := f["metadata"]
	if !ok || me.value == nil {
		p.errorf(p.pos(body), "missing metadata.name: name the object, as Kubernetes requires")
		return nil
	}
	mf := p.lenient(me.value, "metadata", []string{"name", "namespace", "labels", "annotations"})
	m := &slo.K8sMeta{}
	if ne, ok := mf["name"]; ok {
		m.Name, _ = p.str(ne, "metadata.name")
	}
	if m.Name == "" {
		p.errorf(p.valuePos(me), "missing metadata.name: name the object, as Kubernetes requires")
	}
	if ne, ok := mf["namespace"]; ok {
		m.Namespace, _ = p.str(ne, "metadata.namespace")
	}
	if le, ok := mf["labels"]; ok {
		m.Labels = p.stringMap(le, "metadata.labels")
	}
	if ae, ok := mf["annotations"]; ok {
		m.Annotations = p.stringMap(ae, "metadata.annotations")
	}
	return m
}

// unsupportedPlugins refuses Sloth SLO plugins: tsuna does not run them,
// and generating without them would silently lose what they add.
func (p *docParser) unsupportedPlugins(e entry, what string) {
	p.errorf(e.pos, "%s: tsuna does not run Sloth SLO plugins, and the rules without them would lack what the plugins add; remove %s (tsuna then generates its own rules), or generate this spec with Sloth", what, e.key)
}

// slothLabels reads labels as Sloth does: a number or boolean value is
// read as written (`tier: 2` is "2"), as Sloth's own examples write them.
func (p *docParser) slothLabels(e entry, what string) map[string]string {
	if pairs, ok := mappingPairs(e.value); ok {
		for _, kv := range pairs {
			switch v := p.unwrap(kv.Value).(type) {
			case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
				kv.Value = &ast.StringNode{BaseNode: &ast.BaseNode{}, Token: v.GetToken(), Value: v.GetToken().Value}
			}
		}
	}
	return p.labelMap(e, what)
}
