// Package slack renders chat-neutral messages (notify.Message) as Slack
// Block Kit and delivers them through the Slack Web API: chat.postMessage
// for the first message of a key, chat.update for every later one.
//
// Every text from outside is escaped (&, <, >), so an alert label can never
// mention @channel or spoof a link; links are built only from http(s) URLs;
// text is cut to Slack's documented limits so a message is never refused
// for its length. Slack's answers become notify's typed outcomes: 429 waits
// for Retry-After, content and channel errors are permanent, the rest is
// retried.
package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/tsuna-sre/tsuna/internal/notify"
)

// Slack's documented limits (api.slack.com/reference/block-kit).
const (
	MaxSectionText = 3000  // characters in a section's text
	MaxFieldText   = 2000  // characters in a section field
	MaxFields      = 10    // fields in a section
	MaxContext     = 10    // elements in a context block
	MaxMessageText = 40000 // characters in a message's text
	MaxBlocks      = 50    // blocks in a message
	MaxButtonText  = 75    // characters in a button's label
	MaxButtonValue = 2000  // characters in a button's value
	MaxActionID    = 255   // characters in an action_id
	MaxActions     = 25    // elements in an actions block
)

// Render returns the fallback text and the blocks of m.
func Render(m notify.Message) (string, []slack.Block) {
	if m.Title == "" && len(m.Fields) == 0 && m.Summary == "" && m.Body == "" {
		// A message with text only, such as one queued by an older tsuna.
		return cut(m.Fallback, MaxMessageText), nil
	}
	icon := ""
	switch m.Status {
	case notify.StatusFiring:
		icon = ":red_circle: "
	case notify.StatusResolved:
		icon = ":large_green_circle: "
	}
	blocks := []slack.Block{slack.NewSectionBlock(md(cut("*"+Escape(icon+m.Title)+"*", MaxSectionText)), nil, nil)}
	var fields []*slack.TextBlockObject
	for _, f := range m.Fields {
		v := Escape(f.Value)
		if len(f.Users) > 0 {
			v = strings.TrimSpace(v + " " + mentions(f.Users))
		}
		fields = append(fields, md(cut("*"+Escape(f.Name)+"*\n"+v, MaxFieldText)))
	}
	if len(fields) > MaxFields {
		fields = fields[:MaxFields]
	}
	if len(fields) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	var body []string
	if m.Summary != "" {
		body = append(body, "*"+Escape(m.Summary)+"*")
	}
	if m.Body != "" {
		body = append(body, Escape(m.Body))
	}
	if len(body) > 0 {
		text := strings.Join(body, "\n")
		if utf8.RuneCountInString(text) > MaxSectionText && notify.SafeURL(m.URL) {
			more := "… <" + m.URL + "|full text>"
			text = cut(text, MaxSectionText-utf8.RuneCountInString(more)) + more
		}
		blocks = append(blocks, slack.NewSectionBlock(md(cut(text, MaxSectionText)), nil, nil))
	}
	var links []string
	for _, l := range m.Links {
		if notify.SafeURL(l.URL) {
			links = append(links, Link(l.URL, l.Title))
		}
	}
	var context []slack.MixedElement
	if len(links) > 0 {
		context = append(context, md(cut(strings.Join(links, " · "), MaxSectionText)))
	}
	for _, n := range m.Notes {
		context = append(context, md(cut(Escape(n), MaxSectionText)))
	}
	if len(context) > MaxContext {
		context = context[:MaxContext]
	}
	if len(context) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", context...))
	}
	if b := actions(m.Actions); b != nil {
		blocks = append(blocks, b)
	}
	text := m.Fallback
	if text == "" {
		text = m.Title
	}
	text = Escape(text)
	if len(m.Mentions) > 0 {
		text += " " + mentions(m.Mentions)
	}
	return cut(text, MaxMessageText), blocks
}

// actions renders m's buttons as an actions block, or nil. A button whose
// ID or value would not fit is left out rather than cut: a cut value would
// name something else.
func actions(as []notify.Action) slack.Block {
	var elems []slack.BlockElement
	for _, a := range as {
		if a.ID == "" || len(a.ID) > MaxActionID || a.Text == "" || utf8.RuneCountInString(a.Value) > MaxButtonValue || len(elems) == MaxActions {
			continue
		}
		b := slack.NewButtonBlockElement(a.ID, a.Value, slack.NewTextBlockObject(slack.PlainTextType, cut(a.Text, MaxButtonText), false, false))
		if a.Primary {
			b.Style = slack.StylePrimary
		}
		elems = append(elems, b)
	}
	if len(elems) == 0 {
		return nil
	}
	return slack.NewActionBlock("", elems...)
}

func mentions(ids []string) string {
	var b []string
	for _, id := range ids {
		if validID(id) {
			b = append(b, "<@"+id+">")
		}
	}
	return strings.Join(b, " ")
}

// validID reports whether s looks like a Slack user ID, so a mention can
// never carry other markup.
func validID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') })
}

func md(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// Escape keeps Slack from reading &, < and > in text as markup.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Link formats a link to u named title, or "" when u is not an http(s)
// URL. The title is escaped and cannot hold "|", which would end it.
func Link(u, title string) string {
	if !notify.SafeURL(u) {
		return ""
	}
	u = strings.NewReplacer("<", "%3C", ">", "%3E", "|", "%7C", " ", "%20").Replace(u)
	return "<" + u + "|" + strings.ReplaceAll(Escape(title), "|", "¦") + ">"
}

// cut shortens s to at most n characters, ending with "…" when cut, and
// never inside an escape (&amp;) or a link (<...>).
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	for i := len(r) - 1; i >= 0 && i >= len(r)-8; i-- {
		if r[i] == ';' || r[i] == '>' {
			break
		}
		if r[i] == '&' {
			r = r[:i]
			break
		}
	}
	if i := lastIndex(r, '<'); i >= 0 && lastIndex(r, '>') < i {
		r = r[:i]
	}
	return string(r) + "…"
}

func lastIndex(r []rune, c rune) int {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] == c {
			return i
		}
	}
	return -1
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

// permanent lists Slack errors that no retry can mend: the message or the
// channel must change first.
var permanent = map[string]bool{
	"invalid_blocks": true, "invalid_blocks_format": true, "msg_too_long": true, "no_text": true,
	"too_many_attachments": true, "invalid_attachments": true,
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "restricted_action": true,
	"message_not_found": true, "cant_update_message": true, "edit_window_closed": true,
}

// Send posts m to channel, or updates the message ref when it is set, and
// returns the reference of the posted message.
func (s *Sender) Send(ctx context.Context, channel string, ref notify.Ref, m notify.Message) (notify.Ref, error) {
	text, blocks := Render(m)
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	var err error
	var got notify.Ref
	if ref.IsZero() {
		got.ChannelID, got.MessageID, err = s.client.PostMessageContext(ctx, channel, opts...)
	} else {
		got.ChannelID, got.MessageID, _, err = s.client.UpdateMessageContext(ctx, ref.ChannelID, ref.MessageID, opts...)
	}
	if err != nil {
		return notify.Ref{}, classify(err)
	}
	return got, nil
}

// classify turns a Slack error into notify's outcomes.
func classify(err error) error {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &notify.RetryAfterError{After: rl.RetryAfter, Cause: "rate limited by Slack"}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanent[se.Err] {
		return notify.Permanent("slack refused the message: %s", se.Err)
	}
	return fmt.Errorf("slack: %w", err)
}
