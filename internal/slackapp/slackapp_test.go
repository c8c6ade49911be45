package slackapp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/app"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/chatfake"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

const (
	signingSecret  = "8f742231b10e8888abcd99yyyzzz85a5"
	exampleCatalog = "../../examples/catalog"
	publicURL      = "https://tsuna.example.com"

	ada   = "U02PAY0001" // payments, first on-call
	bruno = "U02PAY0002" // payments
	gus   = "U02STF0002" // storefront
	eve   = "U09OUTSIDE" // in Slack, not in the catalog
)

// clock is the fake's clock, movable by the test.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) set(off time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = off
}

// rig is a tsuna server (app.New: store, job runner, delivery loop, Slack
// app) on one engine, against a Slack fake.
type rig struct {
	t     testing.TB
	fake  *chatfake.Fake
	clock *clock
	url   string
	db    *store.DB
	app   *app.App
}

func newRig(t testing.TB, dsn string) *rig {
	t.Helper()
	c := &clock{}
	fake := chatfake.New(t)
	fake.Now = c.now
	for _, u := range []struct{ id, name, email string }{
		{ada, "ada", "ada@example.com"}, {bruno, "bruno", "bruno@example.com"}, {gus, "gustav", "gustav@example.com"}, {eve, "eve", "eve@example.com"},
	} {
		fake.AddUser(u.id, u.name, u.email)
	}
	for _, name := range []string{"checkout-alerts", "payments-alerts", "storefront", "platform-ops", "identity", "incidents", "general", "alerts-unrouted"} {
		fake.Join(fake.AddChannel(name), chatfake.BotUserID)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Config{
		Listen: "127.0.0.1:0", DB: dsn, Catalog: exampleCatalog, Policy: budget.DefaultPolicy(),
		SlackToken: fake.Token(), SlackAPIURL: fake.URL() + "/api/", SlackSigningSecret: signingSecret,
		IncidentChannel: "#incidents", PublicURL: publicURL, FallbackChannel: "#alerts-unrouted",
		BootstrapToken: strings.Repeat("b", 40), AuditKeyFile: filepath.Join(t.TempDir(), "audit.key"),
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	db, err := store.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &rig{t: t, fake: fake, clock: c, url: "http://" + a.Addr().String(), db: db, app: a}
}

// post sends body to path signed with secret at ts, as Slack does.
func (r *rig) post(path, contentType string, body []byte, secret string, ts time.Time) (int, string) {
	r.t.Helper()
	req, _ := http.NewRequest("POST", r.url+path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", contentType)
	chatfake.SignRequest(req, secret, ts, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (r *rig) form(path string, v url.Values) (int, string) {
	r.t.Helper()
	return r.post(path, "application/x-www-form-urlencoded", []byte(v.Encode()), signingSecret, time.Now())
}

func (r *rig) event(env chatfake.Envelope) {
	r.t.Helper()
	if code, body := r.post(api.SlackEventsPath, "application/json", env.JSON(), signingSecret, time.Now()); code != 200 {
		r.t.Fatalf("event: %d %s", code, body)
	}
}

// command runs /tsuna text as user in channel, and returns the command
// as sent (to send again).
func (r *rig) command(user, channel, text string) url.Values {
	r.t.Helper()
	form := r.fake.NewSlashCommand("/tsuna", text, user, channel).Form()
	if code, body := r.form(api.SlackCommandsPath, form); code != 200 {
		r.t.Fatalf("/tsuna %s: %d %s", text, code, body)
	}
	return form
}

// wait polls cond for up to a minute: the machine is shared and slow.
func (r *rig) wait(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rig) incident(n int64) *incident.Incident {
	r.t.Helper()
	inc, err := r.db.Incident(context.Background(), n)
	if err != nil {
		r.t.Fatal(err)
	}
	return inc
}

func (r *rig) incidents() []*incident.Incident {
	r.t.Helper()
	list, err := r.db.Incidents(context.Background(), incident.Filter{})
	if err != nil {
		r.t.Fatal(err)
	}
	return list
}

func (r *rig) timeline(n int64) []incident.Entry {
	r.t.Helper()
	es, err := r.db.Timeline(context.Background(), n, incident.TimelineFilter{})
	if err != nil {
		r.t.Fatal(err)
	}
	return es
}

func entries(es []incident.Entry, kind string) []incident.Entry {
	var out []incident.Entry
	for _, e := range es {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// botPosts are the bot's messages in a channel.
func (r *rig) botPosts(channel string) []chatfake.Message {
	var out []chatfake.Message
	for _, m := range r.fake.Messages(channel) {
		if m.User == chatfake.BotUserID {
			out = append(out, m)
		}
	}
	return out
}

// declare opens the modal with /tsuna incident title and submits it with
// severity and service, and returns the submission as sent.
func (r *rig) declare(user, title, severity, service string) url.Values {
	r.t.Helper()
	before := len(r.fake.Views())
	r.command(user, "general", "incident "+title)
	r.wait("the declaration modal", func() bool { return len(r.fake.Views()) > before })
	v := r.fake.Views()[before]
	values := map[string]map[string]chatfake.Input{
		"title":    {"title": {Type: "plain_text_input", Value: title}},
		"severity": {"severity": {Type: "static_select", SelectedOption: &chatfake.Option{Text: severity, Value: severity}}},
		"summary":  {"summary": {Type: "plain_text_input", Value: "Card payments fail <!channel>"}},
		"triage":   {"triage": {Type: "checkboxes", SelectedOptions: []chatfake.Option{}}},
	}
	if service != "" {
		values["service"] = map[string]chatfake.Input{"service": {Type: "static_select", SelectedOption: &chatfake.Option{Text: service, Value: service}}}
	}
	sub := r.fake.NewViewSubmission(v.ID, user, values).Form()
	code, body := r.form(api.SlackInteractionsPath, sub)
	if code != 200 || !strings.Contains(body, `"response_action":"update"`) {
		r.t.Fatalf("submission: %d %s", code, body)
	}
	return sub
}

// TestDeclareFromSlack is the whole Slack path on both engines: a signed
// /tsuna incident opens the modal, the submission declares one incident,
// which gets one channel (name, topic, bookmarks, invitations) and one
// message in the owning team's channel mentioning the on-call; the
// command retried and the submission replayed still give one.
func TestDeclareFromSlack(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		r := newRig(t, dsn)
		cmd := r.command(bruno, "general", "incident Checkout fails")
		// Slack retries a command it got no answer for in time.
		if code, _ := r.form(api.SlackCommandsPath, cmd); code != 200 {
			t.Fatalf("retried command: %d", code)
		}
		r.wait("both modal attempts", func() bool { return r.fake.Calls("views.open") == 2 })
		views := r.fake.Views()
		if len(views) != 1 || views[0].CallbackID != "incident.declare" || !strings.Contains(string(views[0].Blocks), "Checkout fails") ||
			!strings.Contains(string(views[0].Blocks), "Critical: many customers") || !strings.Contains(string(views[0].Blocks), "checkout-api") {
			t.Fatalf("%d views: %+v", len(views), views)
		}
		sub := r.fake.NewViewSubmission(views[0].ID, bruno, map[string]map[string]chatfake.Input{
			"title":    {"title": {Type: "plain_text_input", Value: "Checkout fails"}},
			"severity": {"severity": {Type: "static_select", SelectedOption: &chatfake.Option{Text: "SEV2", Value: "SEV2"}}},
			"service":  {"service": {Type: "static_select", SelectedOption: &chatfake.Option{Text: "checkout-api", Value: "checkout-api"}}},
			"summary":  {"summary": {Type: "plain_text_input", Value: "Card payments fail <!channel>"}},
		}).Form()
		for range 2 { // the second is a replay
			if code, body := r.form(api.SlackInteractionsPath, sub); code != 200 || !strings.Contains(body, "INC-1") {
				t.Fatalf("submission: %d %s", code, body)
			}
		}
		if list := r.incidents(); len(list) != 1 {
			t.Fatalf("%d incidents after a replayed submission, want 1", len(list))
		}
		inc := r.incident(1)
		if inc.ReportedBy != "bruno@example.com" || inc.Source != "chat" || inc.Team != "payments" || inc.Severity != "SEV2" {
			t.Fatalf("incident: %+v", inc)
		}
		r.wait("the incident channel", func() bool {
			inc := r.incident(1)
			return inc.Channel != nil && len(r.fake.Members(inc.Channel.ID)) >= 3
		})
		inc = r.incident(1)
		ch, _ := r.fake.Channel(inc.Channel.ID)
		if ch.Name != "inc-1-checkout-fails" || !strings.Contains(ch.Topic, "INC-1 SEV2") || !strings.Contains(ch.Topic, "&lt;!channel&gt;") == strings.Contains(ch.Topic, "<!channel>") {
			t.Errorf("channel: %+v", ch)
		}
		var links []string
		for _, b := range ch.Bookmarks {
			links = append(links, b.Link)
		}
		want := []string{publicURL + "/incidents/INC-1", "https://runbooks.example.com/checkout-api", "https://grafana.example.com/d/checkout-api"}
		if strings.Join(links, " ") != strings.Join(want, " ") {
			t.Errorf("bookmarks %v, want %v", links, want)
		}
		for _, u := range []string{chatfake.BotUserID, bruno, ada} {
			if !contains(ch.Members, u) {
				t.Errorf("%s not in the channel: %v", u, ch.Members)
			}
		}
		r.wait("the team's message with the channel", func() bool {
			p := r.botPosts("checkout-alerts")
			return len(p) > 0 && strings.Contains(p[0].Text+string(p[0].Blocks), "inc-1-checkout-fails")
		})
		posts := r.botPosts("checkout-alerts")
		if len(posts) != 1 || !strings.Contains(posts[0].Text, "<@"+ada+">") || !strings.Contains(posts[0].Text, "INC-1") {
			t.Errorf("team channel: %d messages, want 1 mentioning the on-call: %+v", len(posts), posts)
		}
		if strings.Contains(string(posts[0].Blocks), "<!channel>") {
			t.Errorf("text from outside is not escaped: %s", posts[0].Blocks)
		}
		r.wait("the organisation's message", func() bool { return len(r.botPosts("incidents")) == 1 })
		if n := r.fake.Calls("conversations.create"); n != 1 {
			t.Errorf("conversations.create called %d times", n)
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestChannelNameTaken: a name in use gets a suffix.
func TestChannelNameTaken(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		r := newRig(t, dsn)
		r.fake.AddChannel("inc-1-database-down")
		r.declare(gus, "Database down", "SEV3", "web-frontend")
		r.wait("the incident channel", func() bool { return r.incident(1).Channel != nil })
		if ch := r.incident(1).Channel; ch.Name != "inc-1-database-down-2" {
			t.Fatalf("channel %s, want inc-1-database-down-2", ch.Name)
		}
		if len(r.botPosts("incidents")) != 0 {
			t.Error("a SEV3 incident reached the organisation's channel")
		}
	})
}

// TestWorkTheIncidentFromItsChannel: subcommands change the incident as
// the domain allows; pins and 📌 land in the timeline at the time the
// message was written, once, and leave it when unpinned and unmarked; a
// status update is posted and kept at the time it was sent; retries of
// commands and events count once.
func TestWorkTheIncidentFromItsChannel(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		r := newRig(t, dsn)
		r.declare(bruno, "Checkout fails", "SEV2", "checkout-api")
		r.wait("the incident channel", func() bool {
			inc := r.incident(1)
			return inc.Channel != nil && contains(r.fake.Members(inc.Channel.ID), ada)
		})
		chID := r.incident(1).Channel.ID

		// Someone outside the team cannot change it, but may add a note.
		r.fake.Join(chID, eve)
		r.command(eve, chID, "incident severity SEV1")
		r.command(eve, chID, "incident note customers report double charges")
		r.wait("the answers", func() bool { return len(r.fake.Responses()) >= 2 })
		r.wait("the note", func() bool { return len(entries(r.timeline(1), "note")) == 1 })
		if inc := r.incident(1); inc.Severity != "SEV2" {
			t.Fatalf("an outsider changed the severity: %s", inc.Severity)
		}
		refused := false
		for _, resp := range r.fake.Responses() {
			refused = refused || strings.Contains(resp.Text, "needs its lead, an editor of team payments")
		}
		if !refused {
			t.Errorf("the refusal was not answered: %+v", r.fake.Responses())
		}

		r.command(ada, chID, "incident lead me")
		r.command(ada, chID, "incident status identified")
		r.command(ada, chID, "incident role comms <@"+bruno+"|bruno>")
		sent := time.Now()
		upd := r.command(ada, chID, "incident update Rolled back to v41; errors falling")
		r.form(api.SlackCommandsPath, upd) // Slack's retry
		r.wait("the changes", func() bool {
			inc := r.incident(1)
			return inc.Lead == "ada@example.com" && inc.Stage == "identified" && inc.Roles["comms"] == "bruno@example.com" && len(entries(r.timeline(1), "update")) == 1
		})
		u := entries(r.timeline(1), "update")[0]
		if u.Actor != "ada@example.com" || u.Source != "chat" || u.Time.Before(sent.Add(-time.Second).Truncate(time.Second)) || u.Time.After(time.Now()) {
			t.Errorf("update entry %+v, sent at %s", u, sent)
		}
		r.wait("the status update in the channel", func() bool {
			for _, m := range r.botPosts(chID) {
				if strings.Contains(m.Text+string(m.Blocks), "Rolled back to v41") {
					return true
				}
			}
			return false
		})
		if inc := r.incident(1); inc.Timestamps.Acknowledged == nil {
			t.Error("taking the lead did not acknowledge the incident")
		}

		// A message written 10 minutes ago, pinned now, then marked 📌.
		r.clock.set(-10 * time.Minute)
		ts := r.fake.Post(chID, ada, "Error rate back to 0.1% after the rollback")
		r.clock.set(0)
		written := parseTS(t, ts)
		pin := r.fake.UserPins(ada, chID, ts)
		r.event(pin)
		r.event(pin) // Slack's retry, same event_id
		r.event(r.fake.UserReacts(bruno, chID, ts, "pushpin"))
		r.wait("the pinned message", func() bool { return len(entries(r.timeline(1), "pin")) == 1 })
		time.Sleep(300 * time.Millisecond) // let a duplicate show, if one were coming
		pins := entries(r.timeline(1), "pin")
		if len(pins) != 1 || !pins[0].Time.Equal(written) || !strings.Contains(pins[0].Text, "Error rate back to 0.1%") {
			t.Fatalf("pins %+v, want one at %s", pins, written)
		}
		// Unpinned but still marked: kept. Unmarked too: removed.
		r.event(r.fake.UserUnpins(ada, chID, ts))
		r.event(r.fake.UserReacts(ada, chID, r.fake.Post(chID, ada, "unrelated"), "eyes"))
		time.Sleep(500 * time.Millisecond)
		if len(entries(r.timeline(1), "pin")) != 1 {
			t.Fatal("unpinning a message still marked 📌 removed it")
		}
		r.event(r.fake.UserUnreacts(bruno, chID, ts, "pushpin"))
		r.wait("the pin removed", func() bool { return len(entries(r.timeline(1), "pin")) == 0 })

		r.command(ada, chID, "incident resolved")
		r.wait("resolved", func() bool { return r.incident(1).Status == "resolved" })
		if inc := r.incident(1); inc.Timestamps.Resolved == nil || inc.Timestamps.Mitigated == nil {
			t.Errorf("resolved without timestamps: %+v", inc.Timestamps)
		}
		// The audit log names the catalog member and chat.
		recs, err := r.db.AuditRecords(context.Background(), audit.Filter{Kind: "Incident", Name: "INC-1"})
		if err != nil {
			t.Fatal(err)
		}
		byAda := false
		for _, rec := range recs {
			byAda = byAda || rec.Actor == "ada@example.com" && rec.Source == "chat"
		}
		if !byAda {
			t.Errorf("no audit record by ada@example.com from chat: %d records", len(recs))
		}
	})
}

func parseTS(t *testing.T, ts string) time.Time {
	t.Helper()
	sec, frac, _ := strings.Cut(ts, ".")
	var s, us int64
	for _, c := range sec {
		s = s*10 + int64(c-'0')
	}
	for _, c := range frac {
		us = us*10 + int64(c-'0')
	}
	return time.Unix(s, us*1000).UTC()
}

// TestRefusedRequests: a bad signature, or a timestamp 6 minutes old,
// answers 401 and changes nothing.
func TestRefusedRequests(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		r := newRig(t, dsn)
		cmd := r.fake.NewSlashCommand("/tsuna", "incident Checkout fails", bruno, "general").Form()
		body := []byte(cmd.Encode())
		form := "application/x-www-form-urlencoded"
		for name, try := range map[string]func() (int, string){
			"bad signature": func() (int, string) { return r.post(api.SlackCommandsPath, form, body, "not-the-secret", time.Now()) },
			"6 minutes old": func() (int, string) {
				return r.post(api.SlackCommandsPath, form, body, signingSecret, time.Now().Add(-6*time.Minute))
			},
			"tampered body": func() (int, string) {
				req, _ := http.NewRequest("POST", r.url+api.SlackCommandsPath, strings.NewReader(cmd.Encode()+"&x=1"))
				chatfake.SignRequest(req, signingSecret, time.Now(), body)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode, ""
			},
			"unsigned event": func() (int, string) {
				req, _ := http.NewRequest("POST", r.url+api.SlackEventsPath, strings.NewReader(string(chatfake.URLVerification("x"))))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode, ""
			},
		} {
			if code, got := try(); code != 401 {
				t.Errorf("%s: %d %s, want 401", name, code, got)
			}
		}
		// A submission with a bad signature declares nothing either.
		sub := url.Values{"payload": {`{"type":"view_submission","user":{"id":"` + bruno + `"},"view":{"id":"V1","callback_id":"incident.declare","state":{"values":{"title":{"title":{"type":"plain_text_input","value":"x"}}}}}}`}}
		if code, _ := r.post(api.SlackInteractionsPath, form, []byte(sub.Encode()), "wrong", time.Now()); code != 401 {
			t.Errorf("submission with a bad signature: %d", code)
		}
		time.Sleep(500 * time.Millisecond)
		if n := r.fake.Calls("views.open"); n != 0 {
			t.Errorf("views.open called %d times for refused requests", n)
		}
		if list := r.incidents(); len(list) != 0 {
			t.Errorf("%d incidents stored from refused requests", len(list))
		}
		// The URL check answers its challenge when signed.
		code, got := r.post(api.SlackEventsPath, "application/json", chatfake.URLVerification("c-123"), signingSecret, time.Now())
		var ch struct{ Challenge string }
		json.Unmarshal([]byte(got), &ch)
		if code != 200 || ch.Challenge != "c-123" {
			t.Errorf("url_verification: %d %s", code, got)
		}
	})
}

// TestChannelCreatedOnceAcrossACrash: a job that created the channel and
// died before recording it finds that channel on its retry (created by the
// bot under the name it had recorded trying) instead of making another.
func TestChannelCreatedOnceAcrossACrash(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		r := newRig(t, dsn)
		// The first attempt: the name recorded, the channel created, then
		// the crash.
		if err := r.db.MarkChatRequest(context.Background(), "chan/name/INC-1/inc-1-checkout-fails"); err != nil {
			t.Fatal(err)
		}
		sl := slack.New(r.fake.Token(), slack.OptionAPIURL(r.fake.URL()+"/api/"))
		created, err := sl.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-1-checkout-fails"})
		if err != nil {
			t.Fatal(err)
		}
		r.declare(bruno, "Checkout fails", "SEV2", "checkout-api")
		r.wait("the incident channel", func() bool { return r.incident(1).Channel != nil })
		if ch := r.incident(1).Channel; ch.ID != created.ID || ch.Name != "inc-1-checkout-fails" {
			t.Fatalf("channel %+v, want the one created before the crash (%s)", ch, created.ID)
		}
		for _, c := range r.fake.Channels() {
			if strings.HasPrefix(c.Name, "inc-1-") && c.ID != created.ID {
				t.Errorf("a second channel %s was created", c.Name)
			}
		}
	})
}
