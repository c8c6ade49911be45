package cli

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna/internal/api"
)

// slackBotScopes are the bot token scopes tsuna's Slack app asks for, and
// why. chat:write.public lets tsuna post to any public channel without
// being invited; private channels still need /invite @tsuna.
var slackBotScopes = []struct{ Scope, Why string }{
	{"chat:write", "post alerts and incident updates, and update them as they change"},
	{"chat:write.public", "post to public channels the bot was not invited to (alert channels named in the catalog)"},
	{"commands", "the /tsuna slash command"},
	{"channels:manage", "create an incident's channel, set its topic, invite the responders"},
	{"channels:join", "join a public channel before posting to it"},
	{"channels:read", "find channels and their members"},
	{"channels:history", "read an incident channel's messages for the timeline"},
	{"groups:read", "find private channels the bot was invited to"},
	{"groups:write", "manage private incident channels"},
	{"groups:history", "read a private incident channel's messages for the timeline"},
	{"im:write", "send reminders to a person"},
	{"im:history", "read direct messages sent to the bot"},
	{"pins:read", "pins in an incident channel become timeline entries"},
	{"pins:write", "pin the incident summary"},
	{"reactions:read", "reactions mark messages for the timeline"},
	{"reactions:write", "acknowledge with a reaction"},
	{"bookmarks:write", "bookmark the incident's documents in its channel"},
	{"users:read", "show who acted"},
	{"users:read.email", "map on-call people of the catalog (by email) to Slack users"},
}

// slackBotEvents are the Events API events tsuna subscribes to.
var slackBotEvents = []string{"pin_added", "pin_removed", "reaction_added", "reaction_removed"}

// slackManifest returns the Slack app manifest for tsuna at base.
func slackManifest(base *url.URL, name string) yaml.MapSlice {
	at := func(path string) string { return base.JoinPath(path).String() }
	scopes := make([]string, len(slackBotScopes))
	for i, s := range slackBotScopes {
		scopes[i] = s.Scope
	}
	return yaml.MapSlice{
		{Key: "_metadata", Value: yaml.MapSlice{{Key: "major_version", Value: 1}, {Key: "minor_version", Value: 1}}},
		{Key: "display_information", Value: yaml.MapSlice{
			{Key: "name", Value: name},
			{Key: "description", Value: "Alerts, incidents and error budgets of your services, from tsuna"},
			{Key: "background_color", Value: "#1d3557"},
		}},
		{Key: "features", Value: yaml.MapSlice{
			{Key: "bot_user", Value: yaml.MapSlice{{Key: "display_name", Value: name}, {Key: "always_online", Value: true}}},
			{Key: "slash_commands", Value: []yaml.MapSlice{{
				{Key: "command", Value: "/tsuna"},
				{Key: "url", Value: at(api.SlackCommandsPath)},
				{Key: "description", Value: "Declare and run incidents, see error budgets"},
				{Key: "usage_hint", Value: "help"},
				{Key: "should_escape", Value: true}, // mentions arrive as <@U123|name>: /tsuna incident lead @ana
			}}},
		}},
		{Key: "oauth_config", Value: yaml.MapSlice{{Key: "scopes", Value: yaml.MapSlice{{Key: "bot", Value: scopes}}}}},
		{Key: "settings", Value: yaml.MapSlice{
			{Key: "event_subscriptions", Value: yaml.MapSlice{
				{Key: "request_url", Value: at(api.SlackEventsPath)},
				{Key: "bot_events", Value: slackBotEvents},
			}},
			{Key: "interactivity", Value: yaml.MapSlice{
				{Key: "is_enabled", Value: true},
				{Key: "request_url", Value: at(api.SlackInteractionsPath)},
			}},
			{Key: "org_deploy_enabled", Value: false},
			{Key: "socket_mode_enabled", Value: false},
			{Key: "token_rotation_enabled", Value: false},
		}},
	}
}

func newSlack(env *Env) *cobra.Command {
	c := &cobra.Command{Use: "slack", Short: "Set up tsuna's Slack app"}
	var base, name, output string
	manifest := &cobra.Command{
		Use:   "manifest --url https://TSUNA",
		Short: "Print the Slack app manifest to paste into Slack's \"Create an app > From a manifest\"",
		Long: `Print a Slack app manifest for tsuna reachable at --url: the bot scopes tsuna
uses, the /tsuna slash command (--url/slack/commands), interactivity
(--url/slack/interactions) and event subscriptions (--url/slack/events).

Paste it at https://api.slack.com/apps > Create New App > From a manifest,
install the app to the workspace, then give tsuna serve the bot token
(xoxb-..., OAuth & Permissions) and the signing secret (Basic Information).
Slack must reach --url over HTTPS. See docs/slack.md.

Scopes:
` + scopeTable(),
		Example: `  tsuna slack manifest --url https://tsuna.example.com > slack-manifest.yaml
  tsuna slack manifest --url https://tsuna.example.com --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "yaml", "json"); err != nil {
				return err
			}
			if base == "" {
				return usageError{fmt.Errorf("give tsuna's public address with --url https://tsuna.example.com: Slack calls it")}
			}
			u, err := url.Parse(base)
			if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
				return usageError{fmt.Errorf("--url %q: Slack calls only https:// addresses; give tsuna's public https URL, such as https://tsuna.example.com", base)}
			}
			if strings.TrimSpace(name) == "" || len(name) > 35 {
				return usageError{fmt.Errorf("--name %q: give 1 to 35 characters (Slack's limit for an app name)", name)}
			}
			m := slackManifest(u, name)
			if output == "json" {
				return writeJSON(env.Stdout, mapSliceToMap(m))
			}
			b, err := yaml.MarshalWithOptions(m, yaml.Indent(2), yaml.IndentSequence(true))
			if err != nil {
				return err
			}
			_, err = env.Stdout.Write(b)
			return err
		},
	}
	manifest.Flags().StringVar(&base, "url", "", "tsuna's public https address, as Slack reaches it (required)")
	manifest.Flags().StringVar(&name, "name", "tsuna", "the app's and bot's name in Slack")
	manifest.Flags().StringVarP(&output, "output", "o", "yaml", "output format: yaml or json")
	c.AddCommand(manifest)
	return c
}

func scopeTable() string {
	var b strings.Builder
	for _, s := range slackBotScopes {
		fmt.Fprintf(&b, "  %-18s %s\n", s.Scope, s.Why)
	}
	return strings.TrimRight(b.String(), "\n")
}

// mapSliceToMap turns ordered YAML maps into values encoding/json writes.
func mapSliceToMap(v any) any {
	switch v := v.(type) {
	case yaml.MapSlice:
		m := make(map[string]any, len(v))
		for _, it := range v {
			m[fmt.Sprint(it.Key)] = mapSliceToMap(it.Value)
		}
		return m
	case []yaml.MapSlice:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = mapSliceToMap(x)
		}
		return out
	}
	return v
}
