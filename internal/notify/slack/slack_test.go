package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/chatfake"
	"github.com/tsuna-sre/tsuna/internal/notify"
)

func payload() *alerting.Payload {
	p, err := alerting.Parse([]byte(`{"version":"4","groupKey":"g","status":"firing","receiver":"r","groupLabels":{"alertname":"A"},
"commonLabels":{"alertname":"A","severity":"page"},"commonAnnotations":{"summary":"rate <5% & falling","runbook_url":"https://rb.example.com/a"},
"externalURL":"http://127.0.0.1:9093","alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-11-23T01:00:00Z","fingerprint":"f"}]}`))
	if err != nil {
		panic(err)
	}
	return p
}

// render renders the alert message of p routed by r: the text and the
// blocks as JSON.
func render(p *alerting.Payload, r alerting.Route) (string, json.RawMessage) {
	text, blocks := Render(alerting.Message(p, r))
	b, _ := json.Marshal(blocks)
	return text, b
}

func TestRender(t *testing.T) {
	text, b := render(payload(), alerting.Route{Service: "svc", Team: "t", Channel: "#c", Routed: true, Mention: "U123", Dashboard: "https://d.example.com"})
	blocks := texts(b)
	for _, want := range []string{"<@U123>", "rate &lt;5% &amp; falling", "<https://rb.example.com/a|Runbook>", "<https://d.example.com|Dashboard>", "silences/new?filter=%7Balertname%3D%22A%22%7D"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("blocks lack %q:\n%s", want, blocks)
		}
	}
	if !strings.HasPrefix(text, "FIRING (1) A: svc (page) <@U123>") {
		t.Errorf("text = %q", text)
	}
	_, b = render(payload(), alerting.Route{Service: "x", Channel: "#fallback"})
	if !strings.Contains(string(b), "Unrouted") {
		t.Error("an unrouted message does not say so")
	}
}

// texts returns every string of a JSON document, decoded, one per line.
func texts(raw json.RawMessage) string {
	var v any
	json.Unmarshal(raw, &v)
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x + "\n")
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}

// TestSenderOverHTTP posts, updates, and reads Slack's errors over a real
// HTTP server (the chat fake); no error carries the token.
func TestSenderOverHTTP(t *testing.T) {
	fake := chatfake.New(t)
	id := fake.AddChannel("c")
	fake.Join(id, chatfake.BotUserID)
	s := NewSender(fake.Token(), fake.URL()+"/api/")
	msg := alerting.Message(payload(), alerting.Route{Channel: "#c", Routed: true})
	ctx := context.Background()
	ref, err := s.Send(ctx, "#c", notify.Ref{}, msg)
	if err != nil || ref.ChannelID != id || ref.MessageID == "" {
		t.Fatalf("post = %+v %v", ref, err)
	}
	if _, err := s.Send(ctx, "#c", ref, msg); err != nil {
		t.Fatalf("update: %v", err)
	}
	if m := fake.Messages(id); len(m) != 1 || len(m[0].Edits) != 1 {
		t.Errorf("messages = %+v, want one, updated once", m)
	}
	fake.RateLimit("chat.postMessage", 1, 7*time.Second)
	_, err = s.Send(ctx, "#c", notify.Ref{}, msg)
	var ra *notify.RetryAfterError
	if !errors.As(err, &ra) || ra.After != 7*time.Second {
		t.Errorf("429: %v", err)
	}
	fake.Fail("chat.postMessage", 1, 500)
	if _, err = s.Send(ctx, "#c", notify.Ref{}, msg); err == nil || notify.IsPermanent(err) || errors.As(err, &ra) {
		t.Errorf("500: %v, want a transient error", err)
	}
	if _, err = s.Send(ctx, "#nowhere", notify.Ref{}, msg); !notify.IsPermanent(err) {
		t.Errorf("unknown channel: %v, want a permanent error", err)
	}
	bad := NewSender("xoxb-very-secret-token", fake.URL()+"/api/")
	_, err = bad.Send(ctx, "#c", notify.Ref{}, msg)
	for _, e := range []error{err} {
		if e == nil || strings.Contains(e.Error(), "xoxb-very-secret-token") || strings.Contains(e.Error(), fake.Token()) {
			t.Errorf("bad token: error %v (it must exist and never hold the token)", e)
		}
	}
}

// TestLongTextIsCutToSlackLimits sends an alert whose description is longer
// than Slack accepts: it is cut (with a link to the full text), never
// refused.
func TestLongTextIsCutToSlackLimits(t *testing.T) {
	fake := chatfake.New(t)
	id := fake.AddChannel("c")
	fake.Join(id, chatfake.BotUserID)
	p := payload()
	p.CommonAnnotations["description"] = strings.Repeat("long & <b>", 1000)
	p.CommonLabels["severity"] = strings.Repeat("s", 5000)
	msg := alerting.Message(p, alerting.Route{Channel: "#c", Routed: true})
	msg.URL = "https://tsuna.example.com/alerts/x"
	if _, err := NewSender(fake.Token(), fake.URL()+"/api/").Send(context.Background(), "#c", notify.Ref{}, msg); err != nil {
		t.Fatalf("a long alert was refused: %v", err)
	}
	got := string(fake.Messages(id)[0].Blocks)
	if !strings.Contains(got, "full text") || strings.Contains(got, "<b>") {
		t.Errorf("blocks = %.300s", got)
	}
}

// TestOutsideTextCannotInjectMarkup renders labels and annotations that
// try to mention @channel or spoof a link: they are shown as text.
func TestOutsideTextCannotInjectMarkup(t *testing.T) {
	p := payload()
	p.CommonLabels["severity"] = "<!channel> <https://evil.example|click>"
	p.CommonAnnotations["runbook_url"] = "https://ok.example/a|Spoofed"
	p.Alerts[0].GeneratorURL = "javascript:alert(1)"
	text, b := render(p, alerting.Route{Service: "<!here>", Team: "t", Channel: "#c"})
	all := text + string(b)
	for _, bad := range []string{"<!channel>", "<!here>", "<https://evil.example|click>", "|Spoofed>", "javascript:"} {
		if strings.Contains(all, bad) {
			t.Errorf("message carries %q:\n%s", bad, all)
		}
	}
}
