// Package amconfig writes an Alertmanager configuration from the catalog:
// one route per team on the `team` label, and one per service whose chat
// channel overrides its team's, each to a receiver that calls tsuna's
// webhook. A base file's global settings, receivers and routes are kept, so
// nobody edits the routing tree by hand. Alerts that no route matches reach
// tsuna's fallback receiver (tsuna alerts unrouted lists them) and, with a
// base, the base's default receiver as well.
package amconfig

import (
	"fmt"
	"slices"

	"github.com/goccy/go-yaml"

	"github.com/tsuna-sre/tsuna/internal/catalog"
)

// Options configure the generated configuration.
type Options struct {
	// WebhookURL is tsuna's /hooks/alertmanager address.
	WebhookURL string
	// CredentialsFile holds the webhook's bearer secret on the Alertmanager
	// host; the secret itself never enters the configuration.
	CredentialsFile string
	// Base is an existing configuration to extend; nil starts empty.
	Base []byte
}

// ReceiverPrefix starts the names of the receivers tsuna manages.
const ReceiverPrefix = "tsuna-"

// Generate returns the configuration as YAML.
func Generate(c *catalog.Catalog, opts Options) ([]byte, error) {
	var base yaml.MapSlice
	if len(opts.Base) > 0 {
		if err := yaml.UnmarshalWithOptions(opts.Base, &base, yaml.UseOrderedMap()); err != nil {
			return nil, fmt.Errorf("base config: %w", err)
		}
	}
	receiver := func(name string) yaml.MapSlice {
		return yaml.MapSlice{
			{Key: "name", Value: name},
			{Key: "webhook_configs", Value: []yaml.MapSlice{{
				{Key: "url", Value: opts.WebhookURL},
				{Key: "send_resolved", Value: true},
				{Key: "max_alerts", Value: 100},
				{Key: "http_config", Value: yaml.MapSlice{{Key: "authorization", Value: yaml.MapSlice{
					{Key: "type", Value: "Bearer"}, {Key: "credentials_file", Value: opts.CredentialsFile}}}}},
			}}},
		}
	}
	var routes, receivers []any
	// Services whose channel differs from their team's come first: a route
	// on service is more specific than one on team.
	for _, s := range c.Services {
		t := c.Team(s.Team)
		if s.Chat.Channel == "" || t == nil || s.Chat.Channel == t.Chat.Channel {
			continue
		}
		name := ReceiverPrefix + "service-" + s.Name
		routes = append(routes, yaml.MapSlice{{Key: "receiver", Value: name},
			{Key: "matchers", Value: []string{fmt.Sprintf("service=%q", s.Name)}}})
		receivers = append(receivers, receiver(name))
	}
	for _, t := range c.Teams {
		name := ReceiverPrefix + "team-" + t.Name
		routes = append(routes, yaml.MapSlice{{Key: "receiver", Value: name},
			{Key: "matchers", Value: []string{fmt.Sprintf("team=%q", t.Name)}}})
		receivers = append(receivers, receiver(name))
	}
	fallback := ReceiverPrefix + "fallback"
	receivers = append(receivers, receiver(fallback))

	out := yaml.MapSlice{}
	var route yaml.MapSlice
	var baseReceivers []any
	for _, item := range base {
		switch item.Key {
		case "route":
			route, _ = item.Value.(yaml.MapSlice)
		case "receivers":
			list, _ := item.Value.([]any)
			for _, r := range list {
				if m, ok := r.(yaml.MapSlice); ok && isManaged(m) {
					continue // regenerated below
				}
				baseReceivers = append(baseReceivers, r)
			}
		default:
			out = append(out, item)
		}
	}
	if route == nil {
		route = yaml.MapSlice{{Key: "receiver", Value: fallback},
			{Key: "group_by", Value: []string{"alertname", "service"}},
			{Key: "group_wait", Value: "30s"}, {Key: "group_interval", Value: "5m"}, {Key: "repeat_interval", Value: "4h"}}
	}
	rootReceiver := fmt.Sprint(valueOf(route, "receiver"))
	var kept []any
	routeOut := yaml.MapSlice{}
	for _, item := range route {
		if item.Key == "routes" {
			list, _ := item.Value.([]any)
			afterCatchAll := false
			for _, r := range list {
				m, ok := r.(yaml.MapSlice)
				if ok && isManaged(m) {
					afterCatchAll = isCatchAll(m)
					continue
				}
				// The copy of the root receiver that follows tsuna's
				// catch-all is regenerated below.
				if ok && afterCatchAll && isCatchAll(m) && fmt.Sprint(valueOf(m, "receiver")) == rootReceiver {
					afterCatchAll = false
					continue
				}
				afterCatchAll = false
				kept = append(kept, r)
			}
			continue
		}
		routeOut = append(routeOut, item)
	}
	all := slices.Concat(routes, kept)
	if rootReceiver != fallback {
		// With a base, the root's receiver is the base's: alerts no route
		// matches would never reach tsuna, so `tsuna alerts unrouted`
		// would see nothing. A last route sends them to tsuna's fallback
		// and, continuing, one more to the base's own default receiver,
		// which keeps getting them as before. (Alertmanager uses the
		// root's receiver only when no child route matches.)
		all = append(all,
			yaml.MapSlice{{Key: "receiver", Value: fallback}, {Key: "continue", Value: true}},
			yaml.MapSlice{{Key: "receiver", Value: rootReceiver}})
	}
	routeOut = append(routeOut, yaml.MapSlice{{Key: "routes", Value: all}}...)
	out = append(out, yaml.MapItem{Key: "route", Value: routeOut})
	out = append(out, yaml.MapItem{Key: "receivers", Value: slices.Concat(baseReceivers, receivers)})
	b, err := yaml.MarshalWithOptions(out, yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		return nil, err
	}
	return append([]byte("# Generated by tsuna alertmanager config from the catalog: teams change their channel in their own YAML.\n"), b...), nil
}

// isManaged reports whether a route or receiver was generated by tsuna.
func isManaged(m yaml.MapSlice) bool {
	for _, it := range m {
		if (it.Key == "receiver" || it.Key == "name") && len(fmt.Sprint(it.Value)) > len(ReceiverPrefix) && fmt.Sprint(it.Value)[:len(ReceiverPrefix)] == ReceiverPrefix {
			return true
		}
	}
	return false
}

// valueOf returns the value of key in m, or nil.
func valueOf(m yaml.MapSlice, key string) any {
	for _, it := range m {
		if it.Key == key {
			return it.Value
		}
	}
	return nil
}

// isCatchAll reports whether a route matches every alert: it has a
// receiver and nothing else but continue.
func isCatchAll(m yaml.MapSlice) bool {
	for _, it := range m {
		if it.Key != "receiver" && it.Key != "continue" {
			return false
		}
	}
	return true
}
