// Package slack renders alert notifications as Slack Block Kit messages and
// delivers them through the Slack Web API: chat.postMessage for the first
// notification of an alert group, chat.update for every later one.
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/tsuna-sre/tsuna/internal/alerting"
)

// Message is what is stored in the outbox and sent.
type Message struct {
	Text   string          `json:"text"`
	Blocks json.RawMessage `json:"blocks"`
}

// Render makes the message of a notification: status, severity, service,
// team, the on-call mention, summary and description, and links to the
// runbook, the dashboard, the Prometheus graph and an Alertmanager silence.
func Render(p *alerting.Payload, r alerting.Route) ([]byte, error) {
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
		if a.Status == "firing" {
			firing++
		}
	}
	icon, state := ":red_circle:", fmt.Sprintf("FIRING (%d)", firing)
	if p.Status == "resolved" {
		icon, state = ":large_green_circle:", "RESOLVED"
	}
	name := label("alertname")
	title := fmt.Sprintf("%s %s: %s", icon, state, name)
	fields := []*slack.TextBlockObject{
		md("*Severity*\n" + dash(label("severity"))),
		md("*Service*\n" + dash(r.Service)),
		md("*Team*\n" + dash(r.Team)),
	}
	if r.Mention != "" && p.Status == "firing" {
		fields = append(fields, md("*On call*\n<@"+r.Mention+">"))
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(md("*"+escape(title)+"*"), nil, nil),
		slack.NewSectionBlock(nil, fields, nil),
	}
	var body []string
	if s := ann("summary"); s != "" {
		body = append(body, "*"+escape(s)+"*")
	}
	if s := ann("description"); s != "" {
		body = append(body, escape(s))
	}
	if len(body) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(md(strings.Join(body, "\n")), nil, nil))
	}
	var links []string
	runbook := r.Runbook
	if v := ann("runbook_url"); v != "" {
		runbook = v
	}
	for _, l := range []struct{ name, url string }{
		{"Runbook", runbook}, {"Dashboard", r.Dashboard}, {"Prometheus", first.GeneratorURL}, {"Silence", silenceURL(p)},
	} {
		if l.url != "" {
			links = append(links, "<"+l.url+"|"+l.name+">")
		}
	}
	if len(links) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", md(strings.Join(links, " · "))))
	}
	if !r.Routed {
		blocks = append(blocks, slack.NewContextBlock("", md(fmt.Sprintf(
			"Unrouted: no catalog service %q or team %q matched; add `service` and `team` labels to the alert rule.", r.Service, r.Team))))
	}
	b, err := json.Marshal(blocks)
	if err != nil {
		return nil, err
	}
	mention := ""
	if r.Mention != "" && p.Status == "firing" {
		mention = " <@" + r.Mention + ">"
	}
	return json.Marshal(Message{Text: fmt.Sprintf("%s %s: %s (%s)%s", state, name, dash(r.Service), dash(label("severity")), mention), Blocks: b})
}

func md(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// escape keeps Slack from reading &, < and > in alert text as markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// silenceURL links to a new Alertmanager silence for the group's labels.
func silenceURL(p *alerting.Payload) string {
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

// Sender delivers messages through the Slack Web API.
type Sender struct {
	client *slack.Client
}

// NewSender returns a Sender with a bot token; apiURL overrides Slack's API
// address (for tests), "" keeps it.
func NewSender(token, apiURL string) *Sender {
	// A bounded call: the delivery loop's lease must outlast it.
	opts := []slack.Option{slack.OptionHTTPClient(&http.Client{Timeout: 10 * time.Second})}
	if apiURL != "" {
		opts = append(opts, slack.OptionAPIURL(strings.TrimRight(apiURL, "/")+"/"))
	}
	return &Sender{client: slack.New(token, opts...)}
}

// RetryAfterError says Slack asked to wait before the next call.
type RetryAfterError struct{ After time.Duration }

// Error says how long to wait.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("rate limited by Slack: retry after %s", e.After)
}

// Send posts msg to channel, or updates the message channelID/ts when ts is
// set. It returns the channel ID and timestamp of the message.
func (s *Sender) Send(ctx context.Context, channel, channelID, ts, msg string) (string, string, error) {
	var m Message
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		return "", "", fmt.Errorf("stored message: %w", err)
	}
	var blocks slack.Blocks
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		return "", "", fmt.Errorf("stored message blocks: %w", err)
	}
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(blocks.BlockSet...)}
	var err error
	var gotChannel, gotTS string
	if ts == "" {
		gotChannel, gotTS, err = s.client.PostMessageContext(ctx, channel, opts...)
	} else {
		gotChannel, gotTS, _, err = s.client.UpdateMessageContext(ctx, channelID, ts, opts...)
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return "", "", &RetryAfterError{After: rl.RetryAfter}
	}
	if err != nil {
		return "", "", fmt.Errorf("slack: %w", err)
	}
	return gotChannel, gotTS, nil
}
