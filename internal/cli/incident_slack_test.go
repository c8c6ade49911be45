package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/chatfake"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/promtest"
)

const slackSecret = "e2e-signing-secret-0123456789abcdef"

// slackPost sends body to tsuna at base (not through the API proxy: Slack's
// endpoints are not the API), signed as Slack signs.
func slackPost(t *testing.T, base, path, contentType string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", contentType)
	chatfake.SignRequest(req, slackSecret, time.Now(), body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func slackForm(t *testing.T, base, path string, v url.Values) (int, string) {
	t.Helper()
	return slackPost(t, base, path, "application/x-www-form-urlencoded", []byte(v.Encode()))
}

// slackUsers seeds the catalog's people in the fake.
func slackUsers(f *slackFake) {
	for id, name := range map[string]string{"U02PAY0001": "ada", "U02PAY0002": "bruno", "U02STF0002": "gustav"} {
		f.AddUser(id, name, name+"@example.com")
	}
	f.Join(f.AddChannel("general"), chatfake.BotUserID)
	f.Join(f.AddChannel("incidents"), chatfake.BotUserID)
}

// submit submits view v as user with a title, severity and service.
func submit(t *testing.T, f *slackFake, base string, v chatfake.View, user, title, severity, service string) string {
	t.Helper()
	values := map[string]map[string]chatfake.Input{
		"title":    {"title": {Type: "plain_text_input", Value: title}},
		"severity": {"severity": {Type: "static_select", SelectedOption: &chatfake.Option{Text: severity, Value: severity}}},
	}
	if service != "" {
		values["service"] = map[string]chatfake.Input{"service": {Type: "static_select", SelectedOption: &chatfake.Option{Text: service, Value: service}}}
	}
	code, body := slackForm(t, base, api.SlackInteractionsPath, f.NewViewSubmission(v.ID, user, values).Form())
	if code != 200 || !strings.Contains(body, `"response_action":"update"`) {
		t.Fatalf("submission: %d %s", code, body)
	}
	return body
}

// TestDeclareFromFiringAlert runs the alert path with real peers
// (Prometheus → Alertmanager → tsuna → Slack) and declares the incident
// with the alert message's "Declare incident" button: the modal comes
// filled from the alert, and the incident's detected time is the alert's
// startsAt, from which TTD is measured.
func TestDeclareFromFiringAlert(t *testing.T) {
	promtest.Binary(t, "prometheus")
	promtest.Binary(t, "prometheus-alertmanager")
	fake := newSlackFake(t)
	slackUsers(fake)
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--catalog", exampleCatalog, "--alertmanager-token", amSecret,
		"--slack-token", fake.Token(), "--slack-api-url", fake.URL()+"/api/", "--slack-signing-secret", slackSecret)
	direct := "http://" + srv.addr
	checkoutAlerts(t, srv, `{summary: "Checkout is down"}`)

	waitUntil(t, srv, "the alert message", func() bool { return len(fake.botMessages("checkout-alerts")) > 0 })
	msg := fake.botMessages("checkout-alerts")[0]
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     struct{ Text string }
		} `json:"elements"`
	}
	json.Unmarshal(msg.Blocks, &blocks)
	var button chatfake.Action
	for _, b := range blocks {
		for _, e := range b.Elements {
			if b.Type == "actions" && e.ActionID == alerting.ActionDeclareIncident {
				button = chatfake.Action{ActionID: e.ActionID, Input: chatfake.Input{Value: e.Value}}
			}
		}
	}
	if button.Value == "" {
		t.Fatalf("no Declare incident button on the alert message: %s", msg.Blocks)
	}
	click := fake.NewMessageAction(msg.Channel, msg.TS, "U02PAY0002", button)
	if code, body := slackForm(t, direct, api.SlackInteractionsPath, click.Form()); code != 200 {
		t.Fatalf("click: %d %s", code, body)
	}
	waitUntil(t, srv, "the modal", func() bool { return len(fake.Views()) == 1 })
	v := fake.Views()[0]
	var inputs []struct {
		BlockID string `json:"block_id"`
		Element struct {
			InitialValue  string                 `json:"initial_value"`
			InitialOption struct{ Value string } `json:"initial_option"`
		} `json:"element"`
	}
	json.Unmarshal(v.Blocks, &inputs)
	filled := map[string]string{}
	for _, in := range inputs {
		filled[in.BlockID] = in.Element.InitialValue + in.Element.InitialOption.Value
	}
	if filled["title"] != "CheckoutDown: Checkout is down" || filled["service"] != "checkout-api" {
		t.Fatalf("modal not filled from the alert: %s", v.Blocks)
	}
	submit(t, fake, direct, v, "U02PAY0002", "CheckoutDown: Checkout is down", "SEV1", "checkout-api")

	var alerts struct{ Alerts []alerting.StoredAlert }
	call(t, "GET", srv.url+"/api/v1/alerts", adminSecret, "", &alerts)
	var inc incident.Incident
	call(t, "GET", srv.url+"/api/v1/incidents/INC-1", adminSecret, "", &inc)
	if len(alerts.Alerts) == 0 || inc.Timestamps.Detected == nil || !inc.Timestamps.Detected.Equal(alerts.Alerts[0].StartsAt) ||
		len(inc.Alerts) != 1 || inc.Alerts[0] != button.Value || inc.Team != "payments" {
		t.Fatalf("incident %+v from alert %+v", inc, alerts.Alerts)
	}
	impact := alerts.Alerts[0].StartsAt.Add(-4 * time.Minute)
	admin := cliVars(srv, adminSecret)
	if r := run(t, admin, "incident", "update", "INC-1", "--timestamp", "impactStarted="+impact.Format(time.RFC3339Nano)); r.code != 0 {
		t.Fatalf("update: %s", r.stderr)
	}
	r := run(t, admin, "incident", "metrics", "--since", "1h", "-o", "json")
	var rep incident.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("metrics: %v %s", err, r.stderr)
	}
	if rep.All.TTD.Count != 1 || rep.All.TTD.Median == nil || *rep.All.TTD.Median != 240 {
		t.Fatalf("TTD = %+v, want 240 s (impact started → the alert's startsAt)", rep.All.TTD)
	}
}

// botMessages are the bot's messages in a channel.
func (f *slackFake) botMessages(channel string) []chatfake.Message {
	var out []chatfake.Message
	for _, m := range f.Messages(channel) {
		if m.User == chatfake.BotUserID {
			out = append(out, m)
		}
	}
	return out
}

// TestDeclarationSurvivesSIGKILL kills tsuna right after it acknowledged
// a declaration from Slack, restarts it, and finds the incident and its
// one channel.
func TestDeclarationSurvivesSIGKILL(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		fake := newSlackFake(t)
		slackUsers(fake)
		env := []string{"TSUNA_BOOTSTRAP_TOKEN=" + adminSecret, "TSUNA_SLACK_TOKEN=" + fake.Token(), "TSUNA_SLACK_SIGNING_SECRET=" + slackSecret,
			"TSUNA_AUDIT_KEY_FILE=" + filepath.Join(t.TempDir(), "audit.key")}
		args := []string{"--catalog", exampleCatalog, "--slack-api-url", fake.URL() + "/api/"}
		p := startProcess(t, dsn, env, args...)
		cmd := fake.NewSlashCommand("/tsuna", "incident Payments double charge", "U02PAY0002", "general")
		if code, body := slackForm(t, p.url, api.SlackCommandsPath, cmd.Form()); code != 200 {
			t.Fatalf("command: %d %s", code, body)
		}
		waitUntil(t, &testServer{stderr: p.log}, "the modal", func() bool { return len(fake.Views()) == 1 })
		submit(t, fake, p.url, fake.Views()[0], "U02PAY0002", "Payments double charge", "SEV2", "checkout-api")
		// The answer is in: kill at once.
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()

		p2 := startProcess(t, dsn, env, args...)
		var inc incident.Incident
		if resp := call(t, "GET", p2.url+"/api/v1/incidents/INC-1", adminSecret, "", &inc); resp.StatusCode != 200 {
			t.Fatalf("after SIGKILL: %d", resp.StatusCode)
		}
		waitUntil(t, &testServer{stderr: p2.log}, "the incident channel", func() bool {
			call(t, "GET", p2.url+"/api/v1/incidents/INC-1", adminSecret, "", &inc)
			return inc.Channel != nil
		})
		n := 0
		for _, c := range fake.Channels() {
			if strings.HasPrefix(c.Name, "inc-1-") {
				n++
			}
		}
		if n != 1 || inc.Channel.Name != "inc-1-payments-double-charge" {
			t.Fatalf("%d channels for INC-1 (recorded %+v), want 1", n, inc.Channel)
		}
		var list struct{ Incidents []incident.Incident }
		call(t, "GET", p2.url+"/api/v1/incidents", adminSecret, "", &list)
		if len(list.Incidents) != 1 {
			t.Fatalf("%d incidents, want 1", len(list.Incidents))
		}
	})
}

// severityCatalog is the example catalog with one severity level that
// reminds after a minute without a lead.
func severityCatalog(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(exampleCatalog)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "severities.yaml"), []byte(`apiVersion: tsuna/v1
kind: SeverityLevel
name: P1
description: Everything is down.
notifyOrganization: true
reminders: {noLead: 1m, noUpdate: 30m}
---
apiVersion: tsuna/v1
kind: SeverityLevel
name: P2
description: Something is down.
`), 0o644)
	return dir
}

// TestSeverityLevelsFromTheCatalog: the levels a catalog declares reach
// the incident service, by serve --catalog and by tsuna apply; only an
// admin changes them.
func TestSeverityLevelsFromTheCatalog(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := startServer(t, dsn, "--catalog", exampleCatalog)
		admin := cliVars(srv, adminSecret)
		var levels api.SeverityList
		call(t, "GET", srv.url+"/api/v1/incidents/severities", adminSecret, "", &levels)
		if len(levels.Levels) != 4 || levels.Levels[0].Name != "SEV1" {
			t.Fatalf("default levels: %+v", levels.Levels)
		}
		editor := cliVars(srv, newToken(t, srv, "payments-ci", "editor", "payments"))
		dir := severityCatalog(t)
		if r := run(t, editor, "apply", dir); r.code == 0 || !strings.Contains(r.stderr, "SeverityLevel/P1") {
			t.Fatalf("an editor applied severity levels: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, admin, "apply", dir); r.code != 0 {
			t.Fatalf("apply: %s %s", r.stdout, r.stderr)
		}
		call(t, "GET", srv.url+"/api/v1/incidents/severities", adminSecret, "", &levels)
		if len(levels.Levels) != 2 || levels.Levels[0].Name != "P1" || levels.Levels[0].Reminders.NoLead != time.Minute {
			t.Fatalf("applied levels: %+v", levels.Levels)
		}
		if r := run(t, admin, "incident", "declare", "Everything is down", "--severity", "P1"); r.code != 0 {
			t.Fatalf("declare P1: %s", r.stderr)
		}
		if r := run(t, admin, "incident", "declare", "Old level", "--severity", "SEV2"); r.code == 0 || !strings.Contains(r.stderr, "use one of P1, P2") {
			t.Fatalf("declare SEV2 after the catalog replaced the levels: %d %s", r.code, r.stderr)
		}
	})
}

// TestRemindersOnceAcrossReplicas runs two tsuna serve on one PostgreSQL:
// the "no lead" reminder of an incident is sent once, and kept once in its
// timeline.
func TestRemindersOnceAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	fake := newSlackFake(t)
	fake.Join(fake.AddChannel("incidents"), chatfake.BotUserID)
	env := []string{"TSUNA_BOOTSTRAP_TOKEN=" + adminSecret, "TSUNA_SLACK_TOKEN=" + fake.Token(), "TSUNA_AUDIT_KEY_FILE=" + filepath.Join(t.TempDir(), "audit.key")}
	args := []string{"--catalog", severityCatalog(t), "--slack-api-url", fake.URL() + "/api/"}
	p1 := startProcess(t, dsn, env, args...)
	p2 := startProcess(t, dsn, env, args...)
	var inc incident.Incident
	if resp := call(t, "POST", p1.url+"/api/v1/incidents", adminSecret, `{"title":"Checkout down","severity":"P1","services":["checkout-api"]}`, &inc); resp.StatusCode != 201 {
		t.Fatalf("declare: %d %s", resp.StatusCode, bodyOf(resp))
	}
	reminders := func() int {
		n := 0
		for _, m := range fake.botMessages("checkout-alerts") {
			if strings.Contains(m.Text, "has had no lead") {
				n++
			}
		}
		return n
	}
	// The reminder is due a minute after the declaration.
	deadline := time.Now().Add(3 * time.Minute)
	for reminders() == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	// Give a second sending, if there were one, time to show.
	time.Sleep(5 * time.Second)
	if n := reminders(); n != 1 {
		t.Fatalf("%d reminders sent by two replicas, want 1\nreplica 1:\n%s\nreplica 2:\n%s", n, p1.log.String(), p2.log.String())
	}
	var tl api.TimelineList
	call(t, "GET", p2.url+"/api/v1/incidents/INC-1/timeline", adminSecret, "", &tl)
	kept := 0
	for _, e := range tl.Entries {
		if e.Kind == incident.EntryReminder {
			kept++
		}
	}
	if kept != 1 {
		t.Errorf("%d reminder entries in the timeline, want 1", kept)
	}
	// The P1 level notifies the organisation's channel.
	if len(fake.botMessages("incidents")) != 1 {
		t.Errorf("%d messages in #incidents, want 1", len(fake.botMessages("incidents")))
	}
}
