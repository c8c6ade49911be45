package chatfake_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/tsuna-sre/tsuna/internal/chatfake"
)

const secret = "8f742231b10e8888abcd99yyyzzz85a5"

func TestSign(t *testing.T) {
	body := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fwebhook-collect&text=")
	ts, sig := chatfake.Sign(secret, time.Unix(1531420618, 0), body)
	// Computed independently: python3 hmac.new(secret, b"v0:1531420618:"+body, sha256).
	if ts != "1531420618" || sig != "v0=e9787f088754cc77ad06159c56b534a895134b5ef51154428691dd769a2fc406" {
		t.Errorf("Sign = %s %s", ts, sig)
	}
}

// app is a stand-in for tsuna's Slack endpoint: it verifies the signature
// as slack-go does and keeps the verified bodies.
type app struct {
	t      *testing.T
	srv    *httptest.Server
	bodies chan []byte
}

func newApp(t *testing.T) *app {
	a := &app{t: t, bodies: make(chan []byte, 10)}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v, err := slack.NewSecretsVerifier(r.Header, secret)
		if err == nil {
			_, _ = v.Write(body)
			err = v.Ensure()
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		a.bodies <- body
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// send posts a body signed with key and returns the HTTP status.
func (a *app) send(key string, ts time.Time, contentType string, body []byte) int {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.srv.URL, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	chatfake.SignRequest(req, key, ts, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

const form = "application/x-www-form-urlencoded"

// formRequest rebuilds a verified form body as a request for slack-go's
// parsers.
func formRequest(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", form)
	return r
}

func TestSignedSlashCommand(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("incidents")
	f.AddUser("U1", "alice", "alice@example.com")
	a := newApp(t)

	cmd := f.NewSlashCommand("/incident", "declare checkout is down", "U1", ch)
	body := []byte(cmd.Form().Encode())
	if code := a.send("wrong-secret", time.Now(), form, body); code != http.StatusUnauthorized {
		t.Errorf("wrong secret: HTTP %d, want 401", code)
	}
	if code := a.send(secret, time.Now(), form, body); code != http.StatusOK {
		t.Fatalf("HTTP %d", code)
	}
	s, err := slack.SlashCommandParse(formRequest(<-a.bodies))
	if err != nil {
		t.Fatal(err)
	}
	if s.Command != "/incident" || s.Text != "declare checkout is down" || s.UserID != "U1" || s.UserName != "alice" ||
		s.ChannelID != ch || s.ChannelName != "incidents" || s.TeamID != chatfake.TeamID || s.APIAppID != chatfake.AppID {
		t.Errorf("command = %+v", s)
	}

	// Its trigger opens a modal; its response_url answers the user.
	if _, err := api.OpenView(s.TriggerID, modal("Declare", 1)); err != nil {
		t.Errorf("views.open with the command's trigger: %v", err)
	}
	if _, _, err := slack.New("").PostMessage("", text("Declaring…"), slack.MsgOptionResponseURL(s.ResponseURL, slack.ResponseTypeEphemeral)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := slack.New("").PostMessage("", text("Incident declared"), slack.MsgOptionResponseURL(s.ResponseURL, slack.ResponseTypeInChannel)); err != nil {
		t.Fatal(err)
	}
	rs := f.Responses()
	if len(rs) != 2 || rs[0].Text != "Declaring…" || rs[0].ResponseType != "ephemeral" || rs[1].ResponseType != "in_channel" {
		t.Errorf("responses = %+v", rs)
	}
	if e := f.Ephemeral(ch); len(e) != 1 || e[0].User != "U1" || e[0].Text != "Declaring…" {
		t.Errorf("ephemeral = %+v", e)
	}
	if m := f.Messages(ch); len(m) != 1 || m[0].Text != "Incident declared" || m[0].User != chatfake.BotUserID {
		t.Errorf("messages = %+v", m)
	}
}

func TestResponseURLLimits(t *testing.T) {
	f, _ := newFake(t)
	clk := &clock{t: time.Unix(1700000000, 0)}
	f.Now = clk.Now
	ch := f.AddChannel("incidents")
	f.AddUser("U1", "alice", "alice@example.com")
	u := f.NewResponseURL(ch, "U1", "")
	send := func(u string) error {
		_, _, err := slack.New("").PostMessage("", text("hi"), slack.MsgOptionResponseURL(u, slack.ResponseTypeEphemeral))
		return err
	}
	for i := range 5 {
		if err := send(u); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	if err := send(u); err == nil {
		t.Error("a sixth use succeeded; Slack allows 5")
	}
	old := f.NewResponseURL(ch, "U1", "")
	clk.Add(31 * time.Minute)
	if err := send(old); err == nil {
		t.Error("a response_url worked after 30 minutes")
	}
	if n := len(f.Responses()); n != 5 {
		t.Errorf("%d responses recorded, want 5", n)
	}
}

func TestBlockActions(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("alerts")
	f.Join(ch, chatfake.BotUserID)
	f.AddUser("U1", "alice", "alice@example.com")
	f.Join(ch, "U1")
	_, ts, err := post(t, api, ch, text("FIRING: HighLatency"), slack.MsgOptionBlocks(
		slack.NewActionBlock("alert", slack.NewButtonBlockElement("ack", "g1", slack.NewTextBlockObject("plain_text", "Ack", false, false)))))
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t)

	ba := f.NewMessageAction(ch, ts, "U1", chatfake.Action{ActionID: "ack", BlockID: "alert", Input: chatfake.Input{Value: "g1"}})
	if code := a.send(secret, time.Now(), form, []byte(ba.Form().Encode())); code != http.StatusOK {
		t.Fatalf("HTTP %d", code)
	}
	ic, err := slack.InteractionCallbackParse(formRequest(<-a.bodies))
	if err != nil {
		t.Fatal(err)
	}
	if ic.Type != slack.InteractionTypeBlockActions || ic.User.ID != "U1" || ic.Channel.ID != ch ||
		ic.Container.MessageTs != ts || ic.Message.Text != "FIRING: HighLatency" || ic.TriggerID == "" || ic.ResponseURL == "" {
		t.Errorf("callback = %+v", ic)
	}
	if acts := ic.ActionCallback.BlockActions; len(acts) != 1 || acts[0].ActionID != "ack" || acts[0].Value != "g1" || acts[0].Type != "button" {
		t.Errorf("actions = %+v", acts)
	}

	// replace_original on the action's response_url edits the message.
	if _, _, err := slack.New("").PostMessage("", text("ACKED by alice"), slack.MsgOptionReplaceOriginal(ic.ResponseURL)); err != nil {
		t.Fatal(err)
	}
	m := f.Messages(ch)[0]
	if m.Text != "ACKED by alice" || len(m.Edits) != 1 || m.Edits[0].Text != "FIRING: HighLatency" || m.Blocks != nil {
		t.Errorf("message = %+v", m)
	}
}

func TestViewSubmission(t *testing.T) {
	f, api := newFake(t)
	f.AddUser("U1", "alice", "alice@example.com")
	view := modal("Declare incident", 0)
	view.Submit = slack.NewTextBlockObject("plain_text", "Declare", false, false)
	view.Blocks.BlockSet = []slack.Block{slack.NewInputBlock("sev", slack.NewTextBlockObject("plain_text", "Severity", false, false), nil,
		slack.NewOptionsSelectBlockElement("static_select", nil, "sev_select",
			slack.NewOptionBlockObject("sev1", slack.NewTextBlockObject("plain_text", "SEV1", false, false), nil)))}
	v, err := api.OpenView(f.NewTriggerID(), view)
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t)

	sub := f.NewViewSubmission(v.ID, "U1", map[string]map[string]chatfake.Input{
		"sev": {"sev_select": {Type: "static_select", SelectedOption: &chatfake.Option{Text: "SEV1", Value: "sev1"}}},
	})
	if code := a.send(secret, time.Now(), form, []byte(sub.Form().Encode())); code != http.StatusOK {
		t.Fatalf("HTTP %d", code)
	}
	ic, err := slack.InteractionCallbackParse(formRequest(<-a.bodies))
	if err != nil {
		t.Fatal(err)
	}
	if ic.Type != slack.InteractionTypeViewSubmission || ic.User.ID != "U1" || ic.View.ID != v.ID ||
		ic.View.CallbackID != "declare" || ic.View.PrivateMetadata != "meta" || ic.View.Hash != v.Hash {
		t.Errorf("callback = %+v", ic)
	}
	if got := ic.View.State.Values["sev"]["sev_select"].SelectedOption; got.Value != "sev1" || got.Text.Text != "SEV1" {
		t.Errorf("selected option = %+v", got)
	}
	// Its trigger pushes a view.
	if _, err := api.PushView(ic.TriggerID, modal("Confirm", 1)); err != nil {
		t.Errorf("views.push with the submission's trigger: %v", err)
	}
}

func TestEvents(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("inc-1")
	f.Join(ch, chatfake.BotUserID)
	f.AddUser("U1", "alice", "alice@example.com")
	f.Join(ch, "U1")
	f.AddUser("U2", "bob", "bob@example.com")
	ts := f.Post(ch, "U1", "Root cause: expired certificate")
	a := newApp(t)

	parse := func(env []byte) slackevents.EventsAPIEvent {
		t.Helper()
		if code := a.send(secret, time.Now(), "application/json", env); code != http.StatusOK {
			t.Fatalf("HTTP %d", code)
		}
		ev, err := slackevents.ParseEvent(json.RawMessage(<-a.bodies), slackevents.OptionVerifyToken(&slackevents.TokenComparator{VerificationToken: chatfake.VerificationToken}))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}

	ev := parse(chatfake.URLVerification("challenge-42"))
	if uv, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent); !ok || uv.Challenge != "challenge-42" {
		t.Errorf("url_verification = %#v", ev.Data)
	}

	pin := f.UserPins("U1", ch, ts)
	ev = parse(pin.JSON())
	cb, _ := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if ev.Type != slackevents.CallbackEvent || cb == nil || cb.EventID != pin.EventID || cb.TeamID != chatfake.TeamID || cb.EventTime == 0 {
		t.Fatalf("envelope = %#v", ev.Data)
	}
	pa, ok := ev.InnerEvent.Data.(*slackevents.PinAddedEvent)
	if !ok || pa.User != "U1" || pa.Channel != ch || pa.Item.Message == nil || pa.Item.Message.Text != "Root cause: expired certificate" || pa.Item.Message.Timestamp != ts {
		t.Errorf("pin_added = %#v", ev.InnerEvent.Data)
	}
	// The pin is in Slack's state, for the app's follow-up calls.
	h, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch, Latest: ts, Inclusive: true, Limit: 1})
	if err != nil || len(h.Messages) != 1 || len(h.Messages[0].PinnedTo) != 1 {
		t.Errorf("history after the pin = %+v %v", h, err)
	}

	unpin := f.UserUnpins("U1", ch, ts)
	if unpin.EventID == pin.EventID {
		t.Error("two events share an event_id")
	}
	if _, ok := parse(unpin.JSON()).InnerEvent.Data.(*slackevents.PinRemovedEvent); !ok || f.Messages(ch)[0].Pinned {
		t.Error("pin_removed did not unpin")
	}

	ev = parse(f.UserReacts("U1", ch, ts, "white_check_mark").JSON())
	if ra, ok := ev.InnerEvent.Data.(*slackevents.ReactionAddedEvent); !ok || ra.Reaction != "white_check_mark" || ra.Item.Timestamp != ts || ra.Item.Channel != ch || ra.ItemUser != "U1" {
		t.Errorf("reaction_added = %#v", ev.InnerEvent.Data)
	}
	ev = parse(f.UserUnreacts("U1", ch, ts, "white_check_mark").JSON())
	if _, ok := ev.InnerEvent.Data.(*slackevents.ReactionRemovedEvent); !ok || len(f.Messages(ch)[0].Reactions) != 0 {
		t.Errorf("reaction_removed = %#v", ev.InnerEvent.Data)
	}

	ev = parse(f.UserJoins("U2", ch, "U1").JSON())
	if mj, ok := ev.InnerEvent.Data.(*slackevents.MemberJoinedChannelEvent); !ok || mj.User != "U2" || mj.Channel != ch || mj.Inviter != "U1" {
		t.Errorf("member_joined_channel = %#v", ev.InnerEvent.Data)
	}
	if !strings.Contains(strings.Join(f.Members(ch), ","), "U2") {
		t.Error("U2 is not a member")
	}
}
