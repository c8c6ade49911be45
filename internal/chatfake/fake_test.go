package chatfake_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/tsuna-sre/tsuna/internal/chatfake"
)

// clock is a settable clock for Fake.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newFake(t *testing.T) (*chatfake.Fake, *slack.Client) {
	t.Helper()
	f := chatfake.New(t)
	return f, client(f, f.Token())
}

func client(f *chatfake.Fake, token string, opts ...slack.Option) *slack.Client {
	return slack.New(token, append([]slack.Option{slack.OptionAPIURL(f.URL() + "/api/")}, opts...)...)
}

// slackErr is the Slack error code of err, failing the test if err is not
// a Slack API error.
func slackErr(t *testing.T, err error) string {
	t.Helper()
	var e slack.SlackErrorResponse
	if !errors.As(err, &e) {
		t.Fatalf("want a Slack API error, got %v", err)
	}
	return e.Err
}

func wantErr(t *testing.T, err error, code string) {
	t.Helper()
	if got := slackErr(t, err); got != code {
		t.Fatalf("error = %q, want %q", got, code)
	}
}

func post(t *testing.T, api *slack.Client, channel string, opts ...slack.MsgOption) (string, string, error) {
	t.Helper()
	return api.PostMessage(channel, opts...)
}

func text(s string) slack.MsgOption { return slack.MsgOptionText(s, false) }

func TestAuthTest(t *testing.T) {
	_, api := newFake(t)
	r, err := api.AuthTest()
	if err != nil {
		t.Fatal(err)
	}
	if r.UserID != chatfake.BotUserID || r.TeamID != chatfake.TeamID || r.BotID != chatfake.BotID {
		t.Errorf("auth.test = %+v", r)
	}
}

func TestTokenChecks(t *testing.T) {
	f, _ := newFake(t)
	ch := f.AddChannel("incidents")
	f.Join(ch, chatfake.BotUserID)

	_, _, err := post(t, client(f, ""), ch, text("hi"))
	wantErr(t, err, "not_authed")
	_, _, err = post(t, client(f, "xoxb-not-the-token"), ch, text("hi"))
	wantErr(t, err, "invalid_auth")
	// views.* post JSON with the token in an Authorization header.
	_, err = client(f, "xoxb-not-the-token").OpenView(f.NewTriggerID(), modal("T", 1))
	wantErr(t, err, "invalid_auth")
	if n := len(f.Messages(ch)); n != 0 {
		t.Errorf("%d messages posted with bad tokens", n)
	}

	f.RevokeToken()
	_, _, err = post(t, client(f, f.Token()), ch, text("hi"))
	wantErr(t, err, "token_revoked")
}

func TestMissingScope(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("incidents")
	f.Join(ch, chatfake.BotUserID)
	f.RevokeScopes("chat:write")
	_, _, err := post(t, api, ch, text("hi"))
	var e slack.SlackErrorResponse
	if !errors.As(err, &e) || e.Err != "missing_scope" || e.Needed != "chat:write" {
		t.Fatalf("err = %#v, want missing_scope needing chat:write", err)
	}
}

// recorder keeps every response body the client reads.
type recorder struct {
	mu     sync.Mutex
	bodies []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.bodies = append(r.bodies, string(b)+" "+fmt.Sprint(resp.Header))
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

func TestTokensNeverInErrors(t *testing.T) {
	f := chatfake.New(t)
	ch := f.AddChannel("incidents")
	rec := &recorder{}
	hc := &http.Client{Transport: rec}
	bad := "xoxb-1111-secret-bad-token"
	good, wrong := client(f, f.Token(), slack.OptionHTTPClient(hc)), client(f, bad, slack.OptionHTTPClient(hc))

	var errs []error
	_, _, err := post(t, wrong, ch, text("hi"))
	errs = append(errs, err)
	_, err = wrong.OpenView("1.2.abc", modal("T", 1))
	errs = append(errs, err)
	_, _, err = post(t, good, ch, text("hi")) // not_in_channel
	errs = append(errs, err)
	_, _, err = post(t, good, "#nope", text("hi"))
	errs = append(errs, err)
	_, err = good.OpenView("1.2.abc", modal("T", 1))
	errs = append(errs, err)
	f.RateLimit("chat.postMessage", 1, time.Second)
	_, _, err = post(t, good, ch, text("hi"))
	errs = append(errs, err)
	f.RevokeScopes("chat:write")
	_, _, err = post(t, good, ch, text("hi"))
	errs = append(errs, err)
	f.RevokeToken()
	_, _, err = post(t, good, ch, text("hi"))
	errs = append(errs, err)

	for _, err := range errs {
		if err == nil {
			t.Fatal("want an error")
		}
		for _, tok := range []string{bad, f.Token()} {
			if strings.Contains(err.Error(), tok) {
				t.Errorf("error %q contains a token", err)
			}
		}
	}
	if len(rec.bodies) != len(errs) {
		t.Fatalf("recorded %d answers, want %d", len(rec.bodies), len(errs))
	}
	for _, b := range rec.bodies {
		if strings.Contains(b, bad) || strings.Contains(b, f.Token()) {
			t.Errorf("answer %q contains a token", b)
		}
	}
}

func TestPostMessage(t *testing.T) {
	f, api := newFake(t)
	clk := &clock{t: time.Unix(1700000000, 0)}
	f.Now = clk.Now
	ch := f.AddChannel("incidents")
	f.Join(ch, chatfake.BotUserID)

	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*DB down*", false, false), nil, nil))
	var tss []string
	for _, ref := range []string{"#incidents", "incidents", ch} {
		gotCh, ts, err := post(t, api, ref, text("DB down in "+ref), blocks)
		if err != nil {
			t.Fatalf("post to %s: %v", ref, err)
		}
		if gotCh != ch {
			t.Errorf("post to %s answered channel %s, want %s", ref, gotCh, ch)
		}
		tss = append(tss, ts)
	}
	// The clock stood still; timestamps still differ and grow.
	if want := []string{"1700000000.000000", "1700000000.000001", "1700000000.000002"}; !slices.Equal(tss, want) {
		t.Errorf("ts = %v, want %v", tss, want)
	}
	clk.Add(time.Second)
	_, reply, err := post(t, api, ch, text("update"), slack.MsgOptionTS(tss[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^1700000001\.\d{6}$`).MatchString(reply) {
		t.Errorf("ts = %q", reply)
	}

	msgs := f.Messages("incidents")
	if len(msgs) != 4 {
		t.Fatalf("%d messages, want 4", len(msgs))
	}
	m := msgs[0]
	if m.Text != "DB down in #incidents" || m.User != chatfake.BotUserID || m.TS != tss[0] || m.Replies != 1 {
		t.Errorf("message = %+v", m)
	}
	if !strings.Contains(string(m.Blocks), `"*DB down*"`) {
		t.Errorf("blocks = %s", m.Blocks)
	}
	if msgs[3].ThreadTS != tss[0] {
		t.Errorf("reply thread_ts = %q, want %q", msgs[3].ThreadTS, tss[0])
	}
}

func TestPostMessageChannelChecks(t *testing.T) {
	f, api := newFake(t)
	public := f.AddChannel("public")
	private := f.AddPrivateChannel("secret")
	archived := f.AddChannel("old")
	f.Join(archived, chatfake.BotUserID)
	f.Archive(archived)

	_, _, err := post(t, api, "#nope", text("hi"))
	wantErr(t, err, "channel_not_found")
	_, _, err = post(t, api, public, text("hi"))
	wantErr(t, err, "not_in_channel")
	_, _, err = post(t, api, private, text("hi"))
	wantErr(t, err, "channel_not_found")
	_, _, err = post(t, api, archived, text("hi"))
	wantErr(t, err, "is_archived")

	f.GrantScopes("chat:write.public")
	if _, _, err := post(t, api, "#public", text("hi")); err != nil {
		t.Errorf("public channel with chat:write.public: %v", err)
	}
	_, _, err = post(t, api, private, text("hi"))
	wantErr(t, err, "channel_not_found")
	f.Join(private, chatfake.BotUserID)
	if _, _, err := post(t, api, "#secret", text("hi")); err != nil {
		t.Errorf("private channel as a member: %v", err)
	}
}

func TestPostMessageTextChecks(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("incidents")
	f.Join(ch, chatfake.BotUserID)

	_, _, err := post(t, api, ch, text(""))
	wantErr(t, err, "no_text")
	_, _, err = post(t, api, ch, text(strings.Repeat("é", 40001)))
	wantErr(t, err, "msg_too_long")
	if _, _, err := post(t, api, ch, text(strings.Repeat("é", 40000))); err != nil {
		t.Errorf("40,000 characters: %v", err)
	}
	if _, _, err := post(t, api, ch, slack.MsgOptionBlocks(slack.NewDividerBlock())); err != nil {
		t.Errorf("blocks without text: %v", err)
	}
}

func md(s string) *slack.TextBlockObject { return slack.NewTextBlockObject("mrkdwn", s, false, false) }

func section(n int) slack.Block { return slack.NewSectionBlock(md(strings.Repeat("x", n)), nil, nil) }

func repeat(b slack.Block, n int) []slack.Block {
	out := make([]slack.Block, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func fields(n, size int) slack.Block {
	fs := make([]*slack.TextBlockObject, n)
	for i := range fs {
		fs[i] = md(strings.Repeat("f", size))
	}
	return slack.NewSectionBlock(nil, fs, nil)
}

func contextBlock(n int) slack.Block {
	els := make([]slack.MixedElement, n)
	for i := range els {
		els[i] = md("c")
	}
	return slack.NewContextBlock("", els...)
}

func header(n int) slack.Block {
	return slack.NewHeaderBlock(slack.NewTextBlockObject("plain_text", strings.Repeat("h", n), false, false))
}

func TestBlockLimits(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("incidents")
	f.Join(ch, chatfake.BotUserID)
	f.AddUser("U1", "alice", "alice@example.com")
	f.Join(ch, "U1")
	_, ts, err := post(t, api, ch, text("first"))
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name      string
		ok, wrong []slack.Block
		pointer   string
	}{
		{"50 blocks", repeat(slack.NewDividerBlock(), 50), repeat(slack.NewDividerBlock(), 51), "/blocks"},
		{"section text", []slack.Block{section(3000)}, []slack.Block{section(3001)}, "/blocks/0/text/text"},
		{"section field", []slack.Block{fields(1, 2000)}, []slack.Block{fields(1, 2001)}, "/blocks/0/fields/0/text"},
		{"10 fields", []slack.Block{fields(10, 1)}, []slack.Block{fields(11, 1)}, "/blocks/0/fields"},
		{"header", []slack.Block{header(150)}, []slack.Block{header(151)}, "/blocks/0/text/text"},
		{"context elements", []slack.Block{contextBlock(10)}, []slack.Block{contextBlock(11)}, "/blocks/0/elements"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := post(t, api, ch, text("x"), slack.MsgOptionBlocks(c.ok...)); err != nil {
				t.Errorf("at the limit: %v", err)
			}
			for name, send := range map[string]func() error{
				"chat.postMessage": func() error {
					_, _, err := post(t, api, ch, text("x"), slack.MsgOptionBlocks(c.wrong...))
					return err
				},
				"chat.update": func() error {
					_, _, _, err := api.UpdateMessage(ch, ts, text("x"), slack.MsgOptionBlocks(c.wrong...))
					return err
				},
				"chat.postEphemeral": func() error {
					_, err := api.PostEphemeral(ch, "U1", text("x"), slack.MsgOptionBlocks(c.wrong...))
					return err
				},
			} {
				err := send()
				var e slack.SlackErrorResponse
				if !errors.As(err, &e) || e.Err != "invalid_blocks" {
					t.Errorf("%s over the limit: err = %v, want invalid_blocks", name, err)
					continue
				}
				if !strings.Contains(strings.Join(e.ResponseMetadata.Messages, " "), "[json-pointer:"+c.pointer+"]") {
					t.Errorf("%s: messages %q do not point at %s", name, e.ResponseMetadata.Messages, c.pointer)
				}
			}
		})
	}
	if got := f.Messages(ch)[0]; got.Text != "first" || len(got.Edits) != 0 {
		t.Errorf("refused updates changed the message: %+v", got)
	}
}

func TestInvalidBlocksFormat(t *testing.T) {
	f, _ := newFake(t)
	ch := f.AddChannel("incidents")
	f.Join(ch, chatfake.BotUserID)
	resp, err := http.PostForm(f.URL()+"/api/chat.postMessage", url.Values{
		"token": {f.Token()}, "channel": {ch}, "text": {"x"}, "blocks": {`[{"type":"section",`},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"error":"invalid_blocks_format"`) || !strings.Contains(string(b), `"ok":false`) {
		t.Errorf("answer %d %s, want 200 invalid_blocks_format", resp.StatusCode, b)
	}
}

func TestUpdate(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("incidents")
	other := f.AddChannel("other")
	f.Join(ch, chatfake.BotUserID)
	f.Join(other, chatfake.BotUserID)
	f.AddUser("U1", "alice", "alice@example.com")
	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(md("FIRING"), nil, nil))
	_, ts1, err := post(t, api, ch, text("FIRING"), blocks)
	if err != nil {
		t.Fatal(err)
	}

	_, _, _, err = api.UpdateMessage(ch, "1600000000.000001", text("RESOLVED"))
	wantErr(t, err, "message_not_found")
	_, _, _, err = api.UpdateMessage(other, ts1, text("RESOLVED"))
	wantErr(t, err, "message_not_found")
	_, _, _, err = api.UpdateMessage("#incidents", ts1, text("RESOLVED"))
	wantErr(t, err, "channel_not_found")
	userTS := f.Post(ch, "U1", "I am on it")
	_, _, _, err = api.UpdateMessage(ch, userTS, text("edited"))
	wantErr(t, err, "cant_update_message")

	gotCh, gotTS, gotText, err := api.UpdateMessage(ch, ts1, text("RESOLVED"))
	if err != nil || gotCh != ch || gotTS != ts1 || gotText != "RESOLVED" {
		t.Fatalf("update = %s %s %q %v", gotCh, gotTS, gotText, err)
	}
	m := f.Messages(ch)[0]
	if m.Text != "RESOLVED" || len(m.Edits) != 1 || m.Edits[0].Text != "FIRING" {
		t.Errorf("message = %+v", m)
	}
	// Blocks not sent in chat.update stay, as in Slack.
	if !strings.Contains(string(m.Blocks), "FIRING") {
		t.Errorf("blocks = %s", m.Blocks)
	}
}

func TestEphemeral(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("incidents")
	f.Join(ch, chatfake.BotUserID)
	f.AddUser("U1", "alice", "alice@example.com")
	f.AddUser("U2", "bob", "bob@example.com")
	f.Join(ch, "U1")

	_, err := api.PostEphemeral(ch, "U2", text("psst"))
	wantErr(t, err, "user_not_in_channel")
	_, err = api.PostEphemeral(ch, "U9", text("psst"))
	wantErr(t, err, "user_not_found")
	ts, err := api.PostEphemeral("#incidents", "U1", text("psst"))
	if err != nil || ts == "" {
		t.Fatalf("ephemeral = %q %v", ts, err)
	}
	if e := f.Ephemeral(ch); len(e) != 1 || e[0].User != "U1" || e[0].Text != "psst" {
		t.Errorf("ephemeral = %+v", e)
	}
	if n := len(f.Messages(ch)); n != 0 {
		t.Errorf("ephemeral message in history: %d messages", n)
	}
}

func TestConversationsCreate(t *testing.T) {
	f, api := newFake(t)
	c, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-42-db_down"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "inc-42-db_down" || c.IsPrivate || !strings.HasPrefix(c.ID, "C") {
		t.Errorf("channel = %+v", c.GroupConversation)
	}
	if got, ok := f.Channel("#inc-42-db_down"); !ok || got.ID != c.ID || !slices.Equal(got.Members, []string{chatfake.BotUserID}) || got.Creator != chatfake.BotUserID {
		t.Errorf("Channel = %+v %v", got, ok)
	}
	// The creator is a member: it can post at once.
	if _, _, err := post(t, api, c.ID, text("Incident declared")); err != nil {
		t.Errorf("post to the new channel: %v", err)
	}
	_, err = api.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-42-db_down"})
	wantErr(t, err, "name_taken")

	p, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-43", IsPrivate: true})
	if err != nil || !p.IsPrivate {
		t.Errorf("private channel = %+v %v", p, err)
	}

	if _, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: strings.Repeat("a", 80)}); err != nil {
		t.Errorf("80 characters: %v", err)
	}
	for name, code := range map[string]string{
		"":                      "invalid_name_required",
		strings.Repeat("a", 81): "invalid_name_maxlength",
		"Inc-44":                "invalid_name_specials",
		"inc 44":                "invalid_name_specials",
		"inc.44":                "invalid_name_specials",
		"#inc-44":               "invalid_name_specials",
		"--_":                   "invalid_name_punctuation",
	} {
		_, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: name})
		if got := slackErr(t, err); got != code {
			t.Errorf("name %q: %s, want %s", name, got, code)
		}
	}
}

func TestTopicInviteJoinInfo(t *testing.T) {
	f, api := newFake(t)
	f.AddUser("U1", "alice", "alice@example.com")
	f.AddUser("U2", "bob", "bob@example.com")
	f.AddUser("U3", "carol", "carol@example.com")
	c, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-1"})
	if err != nil {
		t.Fatal(err)
	}
	ch := c.ID

	_, err = api.SetTopicOfConversation(ch, strings.Repeat("t", 251))
	wantErr(t, err, "too_long")
	topic := strings.Repeat("t", 250)
	if _, err := api.SetTopicOfConversation(ch, topic); err != nil {
		t.Fatal(err)
	}
	if f.Topic("inc-1") != topic {
		t.Errorf("topic = %q", f.Topic("inc-1"))
	}
	_, err = api.SetTopicOfConversation("inc-1", "by name")
	wantErr(t, err, "channel_not_found")
	notMember := f.AddChannel("general")
	_, err = api.SetTopicOfConversation(notMember, "x")
	wantErr(t, err, "not_in_channel")

	_, err = api.InviteUsersToConversation(ch, "U2", "U404")
	wantErr(t, err, "user_not_found")
	if slices.Contains(f.Members(ch), "U2") {
		t.Error("a refused invite added U2")
	}
	if _, err := api.InviteUsersToConversation(ch, "U1", "U2"); err != nil {
		t.Fatal(err)
	}
	_, err = api.InviteUsersToConversation(ch, "U1")
	wantErr(t, err, "already_in_channel")
	_, err = api.InviteUsersToConversation(notMember, "U3")
	wantErr(t, err, "not_in_channel")
	if got := f.Members(ch); !slices.Equal(got, []string{chatfake.BotUserID, "U1", "U2"}) {
		t.Errorf("members = %v", got)
	}

	// conversations.members pages with a cursor.
	var all []string
	params := &slack.GetUsersInConversationParameters{ChannelID: ch, Limit: 2}
	for pages := 0; ; pages++ {
		ids, next, err := api.GetUsersInConversation(params)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids...)
		if next == "" {
			if pages != 1 {
				t.Errorf("%d pages, want 2", pages+1)
			}
			break
		}
		params.Cursor = next
	}
	if !slices.Equal(all, f.Members(ch)) {
		t.Errorf("conversations.members = %v", all)
	}

	info, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: ch})
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "inc-1" || info.Topic.Value != topic || info.NumMembers != 3 {
		t.Errorf("info = %+v", info.GroupConversation)
	}

	_, warning, _, err := api.JoinConversation(notMember)
	if err != nil || warning != "" {
		t.Fatalf("join = %q %v", warning, err)
	}
	_, warning, _, err = api.JoinConversation(notMember)
	if err != nil || warning != "already_in_channel" {
		t.Errorf("second join = %q %v, want the already_in_channel warning", warning, err)
	}
	_, _, _, err = api.JoinConversation(f.AddPrivateChannel("hidden"))
	wantErr(t, err, "channel_not_found")
}

func TestBookmarks(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("inc-1")
	b, err := api.AddBookmark(ch, slack.AddBookmarkParameters{Title: "Runbook", Type: "link", Link: "https://runbooks/db"})
	if err != nil || b.ID == "" || b.ChannelID != ch || b.Link != "https://runbooks/db" {
		t.Fatalf("bookmark = %+v %v", b, err)
	}
	if got := f.Bookmarks("inc-1"); len(got) != 1 || got[0].Title != "Runbook" || got[0].Type != "link" {
		t.Errorf("bookmarks = %+v", got)
	}
	_, err = api.AddBookmark(ch, slack.AddBookmarkParameters{Title: "x", Type: "file", Link: "https://x"})
	wantErr(t, err, "invalid_bookmark_type")
	_, err = api.AddBookmark(ch, slack.AddBookmarkParameters{Title: "x", Type: "link", Link: "runbooks/db"})
	wantErr(t, err, "invalid_link")
	_, err = api.AddBookmark("C404", slack.AddBookmarkParameters{Title: "x", Type: "link", Link: "https://x"})
	wantErr(t, err, "channel_not_found")
}

func TestPinsHistoryReactions(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("inc-1")
	f.AddUser("U1", "alice", "alice@example.com")
	f.Join(ch, chatfake.BotUserID)
	f.Join(ch, "U1")
	ts1 := f.Post(ch, "U1", "Customer impact: checkout fails")
	_, ts2, err := post(t, api, ch, text("Incident declared"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = post(t, api, ch, text("a reply"), slack.MsgOptionTS(ts1))
	if err != nil {
		t.Fatal(err)
	}
	ts3 := f.Post(ch, "U1", "latest")

	ref := slack.NewRefToMessage(ch, ts1)
	if err := api.AddPin(ch, ref); err != nil {
		t.Fatal(err)
	}
	wantErr(t, api.AddPin(ch, ref), "already_pinned")
	wantErr(t, api.AddPin(ch, slack.NewRefToMessage(ch, "1600000000.000001")), "message_not_found")
	wantErr(t, api.RemovePin(ch, slack.NewRefToMessage(ch, ts3)), "no_pin")
	if !f.Messages(ch)[0].Pinned {
		t.Error("message not pinned")
	}

	// One message by ts: latest=ts, inclusive, limit=1.
	h, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch, Latest: ts1, Inclusive: true, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Messages) != 1 || h.Messages[0].Text != "Customer impact: checkout fails" || h.Messages[0].User != "U1" || len(h.Messages[0].PinnedTo) != 1 {
		t.Fatalf("history = %+v", h.Messages)
	}
	h, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch, Latest: ts1, Limit: 1})
	if err != nil || len(h.Messages) != 0 {
		t.Errorf("latest is exclusive without inclusive: %+v %v", h, err)
	}
	// The whole history: newest first, thread replies left out.
	h, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range h.Messages {
		got = append(got, m.Timestamp)
	}
	if want := []string{ts3, ts2, ts1}; !slices.Equal(got, want) {
		t.Errorf("history ts = %v, want %v", got, want)
	}
	h, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch, Limit: 2})
	if err != nil || len(h.Messages) != 2 || !h.HasMore {
		t.Errorf("limit 2: %d messages, has_more %v, %v", len(h.Messages), h.HasMore, err)
	}

	f.UserReacts("U1", ch, ts1, "eyes")
	item, err := api.GetReactions(ref, slack.GetReactionsParameters{})
	if err != nil {
		t.Fatal(err)
	}
	if len(item.Reactions) != 1 || item.Reactions[0].Name != "eyes" || item.Reactions[0].Count != 1 {
		t.Errorf("reactions = %+v", item.Reactions)
	}
	if item.Message == nil || item.Message.Text != "Customer impact: checkout fails" {
		t.Errorf("reactions.get message = %+v", item.Message)
	}
	if err := api.RemovePin(ch, ref); err != nil {
		t.Fatal(err)
	}

	outside := f.AddChannel("outside")
	f.Post(outside, "U1", "hello")
	_, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: outside})
	wantErr(t, err, "not_in_channel")
}

func modal(title string, blocks int) slack.ModalViewRequest {
	bs := make([]slack.Block, blocks)
	for i := range bs {
		bs[i] = slack.NewSectionBlock(md(fmt.Sprint("line ", i)), nil, nil)
	}
	return slack.ModalViewRequest{
		Type: slack.VTModal, Title: slack.NewTextBlockObject("plain_text", title, false, false),
		Blocks: slack.Blocks{BlockSet: bs}, CallbackID: "declare", PrivateMetadata: "meta",
	}
}

func TestTriggerIDs(t *testing.T) {
	f, api := newFake(t)
	clk := &clock{t: time.Unix(1700000000, 0)}
	f.Now = clk.Now

	trigger := f.NewTriggerID()
	v, err := api.OpenView(trigger, modal("Declare incident", 1))
	if err != nil {
		t.Fatal(err)
	}
	if v.ID == "" || v.CallbackID != "declare" || v.PrivateMetadata != "meta" || v.Hash == "" {
		t.Errorf("view = %+v", v.View)
	}
	_, err = api.OpenView(trigger, modal("Again", 1))
	wantErr(t, err, "exchanged_trigger_id")

	late := f.NewTriggerID()
	clk.Add(chatfake.TriggerTTL - time.Millisecond)
	if _, err := api.OpenView(late, modal("In time", 1)); err != nil {
		t.Errorf("trigger used within 3 s: %v", err)
	}
	expired := f.NewTriggerID()
	clk.Add(chatfake.TriggerTTL + time.Millisecond)
	_, err = api.OpenView(expired, modal("Too late", 1))
	wantErr(t, err, "expired_trigger_id")
	_, err = api.OpenView("12345.98765.abcd2358fdea", modal("Unknown", 1))
	wantErr(t, err, "invalid_trigger_id")

	if got := f.Views(); len(got) != 2 || got[0].Title != "Declare incident" || got[1].Title != "In time" {
		t.Errorf("views = %+v", got)
	}
}

func TestViewChecks(t *testing.T) {
	f, api := newFake(t)
	trigger := f.NewTriggerID()
	for name, view := range map[string]slack.ModalViewRequest{
		"101 blocks":              modal("T", 101),
		"25-character title":      modal(strings.Repeat("t", 25), 1),
		"input without a submit":  {Type: slack.VTModal, Title: slack.NewTextBlockObject("plain_text", "T", false, false), Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock("b", slack.NewTextBlockObject("plain_text", "Label", false, false), nil, slack.NewPlainTextInputBlockElement(nil, "a"))}}},
		"section text over 3,000": {Type: slack.VTModal, Title: slack.NewTextBlockObject("plain_text", "T", false, false), Blocks: slack.Blocks{BlockSet: []slack.Block{section(3001)}}},
	} {
		_, err := api.OpenView(trigger, view)
		if got := slackErr(t, err); got != "invalid_arguments" {
			t.Errorf("%s: %s, want invalid_arguments", name, got)
		}
	}
	// A refused view leaves the trigger usable; the limits themselves pass.
	v, err := api.OpenView(trigger, modal(strings.Repeat("t", 24), 100))
	if err != nil {
		t.Fatal(err)
	}

	_, err = api.UpdateView(modal("New", 1), "", "1.stale", v.ID)
	wantErr(t, err, "hash_conflict")
	_, err = api.UpdateView(modal("New", 1), "", "", "V404")
	wantErr(t, err, "not_found")
	u, err := api.UpdateView(modal("Updated", 2), "", v.Hash, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != v.ID || u.Hash == v.Hash {
		t.Errorf("update = %+v", u.View)
	}
	_, err = api.UpdateView(modal("Updated", 101), "", "", v.ID)
	wantErr(t, err, "invalid_arguments")
	if got := f.Views()[0]; got.Title != "Updated" || got.Updates != 1 {
		t.Errorf("view = %+v", got)
	}

	// views.push stacks on the open view, up to 3 views.
	p1, err := api.PushView(f.NewTriggerID(), modal("Step 2", 1))
	if err != nil {
		t.Fatal(err)
	}
	if p1.RootViewID != v.ID || p1.PreviousViewID != v.ID {
		t.Errorf("pushed view = root %s previous %s", p1.RootViewID, p1.PreviousViewID)
	}
	if _, err := api.PushView(f.NewTriggerID(), modal("Step 3", 1)); err != nil {
		t.Fatal(err)
	}
	_, err = api.PushView(f.NewTriggerID(), modal("Step 4", 1))
	wantErr(t, err, "push_limit_reached")
}

func TestRateLimitAndFailures(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("incidents")
	f.Join(ch, chatfake.BotUserID)
	f.RateLimit("chat.postMessage", 2, 1500*time.Millisecond)

	for i := range 2 {
		_, _, err := post(t, api, ch, text("hi"))
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
			t.Fatalf("call %d: err = %v, want *slack.RateLimitedError retrying after 2s", i, err)
		}
	}
	// Other methods are not limited.
	if _, err := api.AuthTest(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := post(t, api, ch, text("hi")); err != nil {
		t.Fatalf("third call: %v", err)
	}
	if n, m := f.Calls("chat.postMessage"), len(f.Messages(ch)); n != 3 || m != 1 {
		t.Errorf("calls = %d, messages = %d; want 3 and 1", n, m)
	}

	f.Fail("conversations.create", 1, http.StatusServiceUnavailable)
	_, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-1"})
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want HTTP 503", err)
	}
	if _, ok := f.Channel("inc-1"); ok {
		t.Error("a failed call created the channel")
	}
	if _, err := api.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-1"}); err != nil {
		t.Errorf("after the failure: %v", err)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	f := chatfake.New(t)
	api := client(f, f.Token(), slack.OptionRetryConfig(slack.RetryConfig{MaxRetries: 1}))
	f.RateLimit("auth.test", 1, time.Second)
	start := time.Now()
	if _, err := api.AuthTest(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("slack-go retried after %v, before Retry-After", d)
	}
	if n := f.Calls("auth.test"); n != 2 {
		t.Errorf("calls = %d, want 2", n)
	}
}

func TestUsersAndDMs(t *testing.T) {
	f, api := newFake(t)
	f.AddUser("U1", "alice", "Alice@Example.com")

	u, err := api.GetUserInfo("U1")
	if err != nil || u.Name != "alice" || u.Profile.Email != "Alice@Example.com" {
		t.Fatalf("users.info = %+v %v", u, err)
	}
	_, err = api.GetUserInfo("U404")
	wantErr(t, err, "user_not_found")
	u, err = api.GetUserByEmail("alice@example.com")
	if err != nil || u.ID != "U1" {
		t.Errorf("users.lookupByEmail = %+v %v", u, err)
	}
	_, err = api.GetUserByEmail("nobody@example.com")
	wantErr(t, err, "users_not_found")

	dm, noOp, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil || !strings.HasPrefix(dm.ID, "D") || noOp {
		t.Fatalf("conversations.open = %+v %v %v", dm, noOp, err)
	}
	again, noOp, already, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil || again.ID != dm.ID || !noOp || !already {
		t.Errorf("second open = %s %v %v %v", again.ID, noOp, already, err)
	}
	_, _, _, err = api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"U404"}})
	wantErr(t, err, "user_not_found")

	if _, _, err := post(t, api, dm.ID, text("You are on call")); err != nil {
		t.Fatal(err)
	}
	// A user ID as the channel posts to the same DM.
	gotCh, _, err := post(t, api, "U1", text("Still on call"))
	if err != nil || gotCh != dm.ID {
		t.Errorf("post to U1 = %s %v, want %s", gotCh, err, dm.ID)
	}
	if n := len(f.Messages(dm.ID)); n != 2 {
		t.Errorf("%d DM messages, want 2", n)
	}
}

func TestUnknownMethod(t *testing.T) {
	f, _ := newFake(t)
	resp, err := http.PostForm(f.URL()+"/api/chat.scheduleMessage", url.Values{"token": {f.Token()}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"error":"unknown_method"`) {
		t.Errorf("answer %s", b)
	}
}

func TestConcurrentPosts(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("incidents")
	f.Join(ch, chatfake.BotUserID)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, _, err := post(t, api, ch, text(fmt.Sprint(i))); err != nil {
				t.Error(err)
			}
			f.Messages(ch)
		})
	}
	wg.Wait()
	msgs := f.Messages(ch)
	seen := map[string]bool{}
	for i, m := range msgs {
		if seen[m.TS] || (i > 0 && m.TS <= msgs[i-1].TS) {
			t.Errorf("ts %s repeats or goes back", m.TS)
		}
		seen[m.TS] = true
	}
	if len(msgs) != 20 || f.Calls("chat.postMessage") != 20 {
		t.Errorf("%d messages, %d calls", len(msgs), f.Calls("chat.postMessage"))
	}
}

func TestJSONPosts(t *testing.T) {
	f, _ := newFake(t)
	ch := f.AddChannel("incidents")
	f.Join(ch, chatfake.BotUserID)
	send := func(auth string, body string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, f.URL()+"/api/chat.postMessage", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	body := `{"channel":"#incidents","text":"hi","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*hi*"}}]}`
	if got := send(f.Token(), body); !strings.Contains(got, `"ok":true`) || !strings.Contains(got, `"channel":"`+ch+`"`) {
		t.Errorf("JSON post: %s", got)
	}
	// Slack reads a JSON post's token from the Authorization header only.
	if got := send("", `{"token":"`+f.Token()+`","channel":"#incidents","text":"hi"}`); !strings.Contains(got, `"error":"not_authed"`) {
		t.Errorf("token in a JSON body: %s", got)
	}
	if m := f.Messages(ch); len(m) != 1 || !strings.Contains(string(m[0].Blocks), "*hi*") {
		t.Errorf("messages = %+v", m)
	}
}
