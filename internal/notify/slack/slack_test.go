package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/notify"
)

const token = "xoxb-very-secret-token"

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
// HTTP server; no error carries the token.
func TestSenderOverHTTP(t *testing.T) {
	var calls []string
	mode := "ok"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		calls = append(calls, r.URL.Path+" "+r.Form.Get("channel")+" "+r.Form.Get("ts"))
		switch mode {
		case "ratelimit":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		case "invalid":
			fmt.Fprintf(w, `{"ok":false,"error":"invalid_auth"}`)
		case "down":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			fmt.Fprintf(w, `{"ok":true,"channel":"C1","ts":"111.222"}`)
		}
	}))
	defer srv.Close()
	s := NewSender(token, srv.URL)
	msg := alerting.Message(payload(), alerting.Route{Channel: "#c", Routed: true})
	ctx := context.Background()
	ref, err := s.Send(ctx, "#c", notify.Ref{}, msg)
	if err != nil || ref.ChannelID != "C1" || ref.MessageID != "111.222" {
		t.Fatalf("post = %+v %v", ref, err)
	}
	if _, err := s.Send(ctx, "#c", ref, msg); err != nil {
		t.Fatalf("update: %v", err)
	}
	if calls[0] != "/chat.postMessage #c " || calls[1] != "/chat.update C1 111.222" {
		t.Errorf("calls = %q", calls)
	}
	mode = "ratelimit"
	_, err = s.Send(ctx, "#c", notify.Ref{}, msg)
	var ra *notify.RetryAfterError
	if !errors.As(err, &ra) || ra.After != 7*time.Second {
		t.Errorf("429: %v", err)
	}
	for _, m := range []string{"invalid", "down"} {
		mode = m
		_, err = s.Send(ctx, "#c", notify.Ref{}, msg)
		if err == nil || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error %v (it must exist and never hold the token)", m, err)
		}
	}
}
