package alerting

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/tsuna-sre/tsuna/internal/notify"
)

// ActionDeclareIncident is the ID of the "Declare incident" button on a
// firing alert's message; its value is the alert's fingerprint.
const ActionDeclareIncident = "incident.declare"

// Message is the chat message of a routed notification: status, severity,
// service, team, the on-call mention, summary and description, and links to
// the runbook, the dashboard, the Prometheus graph and an Alertmanager
// silence. Its key is the alert group, so a resolution updates the message
// of the firing.
func Message(p *Payload, r Route) notify.Message {
	first := p.Alerts[0]
	label := func(k string) string {
		if v := p.CommonLabels[k]; v != "" {
			return v
		}
		return first.Labels[k]
	}
	ann := func(k string) string {
		if v := p.CommonAnnotations[k]; v != "" {
			return v
		}
		return first.Annotations[k]
	}
	firing := 0
	for _, a := range p.Alerts {
		if a.Status == StateFiring {
			firing++
		}
	}
	state := fmt.Sprintf("FIRING (%d)", firing)
	status := notify.StatusFiring
	if p.Status == StateResolved {
		state, status = "RESOLVED", notify.StatusResolved
	}
	name := label("alertname")
	m := notify.Message{
		Key:      p.GroupKey,
		Title:    fmt.Sprintf("%s: %s", state, name),
		Status:   status,
		Severity: label("severity"),
		Summary:  ann("summary"),
		Body:     ann("description"),
		Fields: []notify.Field{
			{Name: "Severity", Value: dash(label("severity"))},
			{Name: "Service", Value: dash(r.Service)},
			{Name: "Team", Value: dash(r.Team)},
		},
		Fallback: fmt.Sprintf("%s %s: %s (%s)", state, name, dash(r.Service), dash(label("severity"))),
	}
	if r.Mention != "" && p.Status == StateFiring {
		m.Mentions = []string{r.Mention}
		m.Fields = append(m.Fields, notify.Field{Name: "On call", Users: m.Mentions})
	}
	runbook := r.Runbook
	if v := ann("runbook_url"); v != "" {
		runbook = v
	}
	for _, l := range []notify.Link{
		{Title: "Runbook", URL: runbook}, {Title: "Dashboard", URL: r.Dashboard},
		{Title: "Prometheus", URL: first.GeneratorURL}, {Title: "Silence", URL: silenceURL(p)},
	} {
		if notify.SafeURL(l.URL) {
			m.Links = append(m.Links, l)
		}
	}
	// The first firing alert can become an incident: its service, team and
	// start come with it.
	for _, a := range p.Alerts {
		if a.Status == StateFiring && a.Fingerprint != "" {
			m.Actions = []notify.Action{{ID: ActionDeclareIncident, Text: "Declare incident", Value: a.Fingerprint}}
			break
		}
	}
	if !r.Routed {
		m.Notes = append(m.Notes, fmt.Sprintf(
			"Unrouted: no catalog service %q or team %q matched; add service and team labels to the alert rule.", r.Service, r.Team))
	}
	return m
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// silenceURL links to a new Alertmanager silence for the group's labels.
func silenceURL(p *Payload) string {
	if p.ExternalURL == "" || len(p.GroupLabels) == 0 {
		return ""
	}
	keys := make([]string, 0, len(p.GroupLabels))
	for k := range p.GroupLabels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	matchers := make([]string, len(keys))
	for i, k := range keys {
		matchers[i] = fmt.Sprintf("%s=%q", k, p.GroupLabels[k])
	}
	return strings.TrimRight(p.ExternalURL, "/") + "/#/silences/new?filter=" + url.QueryEscape("{"+strings.Join(matchers, ", ")+"}")
}
