package cli_test

// Tests for issue 10, "a first day without friction": each guards one thing
// a new user tripped over.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/tsuna-sre/tsuna/internal/chatfake"
)

// TestApplySingleFileSaysApplyTakesTheWholeCatalog guards item 2: applying
// one service's file fails on its team, defined in another file; the error
// says that apply takes the whole catalog, and does not send the user to
// tsuna lint for the lines it just printed.
func TestApplySingleFileSaysApplyTakesTheWholeCatalog(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--catalog", exampleCatalog)
	vars := cliVars(srv, adminSecret)
	file := filepath.Join(exampleCatalog, "services", "payments.yaml")
	r := run(t, vars, "apply", file, "--dry-run")
	if r.code != 1 {
		t.Fatalf("apply of one file: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{`unknown team "payments"`, "tsuna apply takes the whole catalog", "tsuna apply catalog/"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("apply of one file does not say %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "run tsuna lint") {
		t.Errorf("apply sends the user to tsuna lint after printing the lines:\n%s", r.stderr)
	}
	// A directory with an error gets no such hint: it is the whole catalog.
	dir := copyCatalog(t)
	edit(t, filepath.Join(dir, "services", "payments.yaml"), "team: payments", "team: paymnts")
	if r := run(t, vars, "apply", dir, "--dry-run"); r.code != 1 || strings.Contains(r.stderr, "whole catalog") || strings.Contains(r.stderr, "run tsuna lint") {
		t.Errorf("apply of a directory with an error: %d\n%s", r.code, r.stderr)
	}
}

// TestApplyJSONPrintsTheProblemOn403 guards item 4: with --output json, a
// refused apply prints the server's problem on stdout, not nothing.
func TestApplyJSONPrintsTheProblemOn403(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--catalog", exampleCatalog)
	editor := strings.TrimSpace(run(t, cliVars(srv, adminSecret), "token", "create", "--name", "ml-ci", "--role", "editor", "--team", "payments").stdout)
	dir := copyCatalog(t)
	edit(t, filepath.Join(dir, "teams", "storefront.yaml"), "#storefront", "#storefront-new")
	r := run(t, cliVars(srv, editor), "apply", dir, "--output", "json")
	var p struct {
		Status int
		Code   string
		Detail string
	}
	if r.code != 1 || json.Unmarshal([]byte(r.stdout), &p) != nil || p.Status != 403 || p.Code != "forbidden" || !strings.Contains(p.Detail, "storefront") {
		t.Errorf("apply --output json refused: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestUnknownSubcommandIsAnError guards item 8: `tsuna slo history` printed
// the parent's help and exited 0 before the command existed; an unknown
// subcommand of any group is a usage error naming the group's commands.
func TestUnknownSubcommandIsAnError(t *testing.T) {
	for _, args := range [][]string{{"slo", "histogram"}, {"token", "rotate"}, {"outbox", "purge"}} {
		r := run(t, nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, fmt.Sprintf("unknown command %q", args[1])) || !strings.Contains(r.stderr, "its commands:") {
			t.Errorf("tsuna %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if r := run(t, nil, "slo"); r.code != 0 || !strings.Contains(r.stdout, "history") {
		t.Errorf("tsuna slo: exit %d\n%s", r.code, r.stdout)
	}
}

// TestSLOHistoryCommand guards item 8: the history of an SLO from the CLI.
func TestSLOHistoryCommand(t *testing.T) {
	srv := startWithEvent(t, 95, time.Now().Add(-3*time.Hour))
	vars := cliVars(srv, adminSecret)
	r := run(t, vars, "slo", "history", "nightly/jobs", "--from", "24h", "--step", "1h")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "TIME") || !strings.Contains(r.stdout, "95.000%") {
		t.Errorf("slo history: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var h struct {
		Service, SLO string
		Points       []struct{ SLI float64 }
	}
	r = run(t, vars, "slo", "history", "nightly/jobs", "--from", "24h", "--step", "1h", "--output", "json")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &h) != nil || h.Service != "nightly" || h.SLO != "jobs" || len(h.Points) < 2 {
		t.Errorf("slo history --output json: %d %s", r.code, r.stderr)
	}
	if r := run(t, vars, "slo", "history", "nightly"); r.code != 2 || !strings.Contains(r.stderr, "SERVICE/SLO") {
		t.Errorf("slo history without the SLO: %d %s", r.code, r.stderr)
	}
	if r := run(t, vars, "slo", "history", "nightly/nope"); r.code != 1 || !strings.Contains(r.stderr, "404") {
		t.Errorf("slo history of an unknown SLO: %d %s", r.code, r.stderr)
	}
}

// TestSLOGateExitCodes guards item 9: a pipeline tells a freeze (1) from
// tsuna being down (3), a bad token (4) and an unknown service (5), and can
// choose to deploy when tsuna is down (--fail-open).
func TestSLOGateExitCodes(t *testing.T) {
	srv := startWithEvent(t, 10, time.Now().Add(-time.Hour))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() // a port nobody answers on
	ln.Close()
	for _, c := range []struct {
		name string
		vars map[string]string
		args []string
		code int
		out  string
	}{
		{"frozen", cliVars(srv, adminSecret), nil, 1, "deny:"},
		{"unknown service", cliVars(srv, adminSecret), []string{"nobody"}, 5, ""},
		{"bad token", cliVars(srv, "tsuna_wrong_token"), nil, 4, ""},
		{"no token", map[string]string{"TSUNA_SERVER": srv.url}, nil, 4, ""},
		{"tsuna down", map[string]string{"TSUNA_SERVER": down, "TSUNA_TOKEN": adminSecret}, nil, 3, ""},
		{"tsuna down, --fail-open", map[string]string{"TSUNA_SERVER": down, "TSUNA_TOKEN": adminSecret}, []string{"nightly", "--fail-open"}, 0, "allow: tsuna unavailable"},
		{"frozen, --fail-open", cliVars(srv, adminSecret), []string{"nightly", "--fail-open"}, 1, "deny:"},
		{"wrong command line", cliVars(srv, adminSecret), []string{"a", "b"}, 2, ""},
	} {
		args := c.args
		if args == nil {
			args = []string{"nightly"}
		}
		r := run(t, c.vars, append([]string{"slo", "gate"}, args...)...)
		if r.code != c.code || !strings.Contains(r.stdout, c.out) {
			t.Errorf("%s: exit %d, want %d; stdout %q stderr %q", c.name, r.code, c.code, r.stdout, r.stderr)
		}
	}
	// With --output json a failure prints the problem on stdout.
	r := run(t, cliVars(srv, adminSecret), "slo", "gate", "nobody", "--output", "json")
	if r.code != 5 || !strings.Contains(r.stdout, `"code": "not_found"`) {
		t.Errorf("gate --output json of an unknown service: %d %q", r.code, r.stdout)
	}
	// The exit statuses are documented where the user meets them.
	help := run(t, nil, "slo", "gate", "--help").stdout
	for _, want := range []string{"0  the deploy is allowed", "1  the deploy is denied", "3  tsuna is unreachable", "4  no token", "5  the catalog has no service", "--fail-open"} {
		if !strings.Contains(help, want) {
			t.Errorf("slo gate --help does not document %q", want)
		}
	}
}

// TestHelpTextsAreCurrent guards item 11: `tsuna slo --help` names every slo
// command, and the root help advertises no capability without a command.
func TestHelpTextsAreCurrent(t *testing.T) {
	slo := run(t, nil, "slo", "--help").stdout
	for _, sub := range []string{"rules", "status", "history", "gate"} {
		if !strings.Contains(strings.SplitN(slo, "Usage:", 2)[0], sub) {
			t.Errorf("tsuna slo --help does not describe %s:\n%s", sub, slo)
		}
	}
	root := run(t, nil, "--help").stdout
	about, commands, _ := strings.Cut(root, "Available Commands:")
	for _, capability := range []string{"incident", "postmortem", "readiness"} {
		if strings.Contains(strings.ToLower(about), capability) && !strings.Contains(commands, "\n  "+capability) {
			t.Errorf("the root help advertises %ss, which have no command:\n%s", capability, about)
		}
	}
	if !strings.Contains(root, "completion") {
		t.Error("the root help does not mention shell completion")
	}
}

// TestVersionNamesTheBuildCommit guards item 11: a binary built from a git
// clone prints its commit in `tsuna version` and labels tsuna_build_info
// with it.
func TestVersionNamesTheBuildCommit(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD (tests run in a git clone): %v", err)
	}
	rev := strings.TrimSpace(string(head))
	bin := filepath.Join(t.TempDir(), "tsuna")
	// -buildvcs=true: what `go build` does by default in a clone, whatever
	// GOFLAGS this machine sets.
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "../../cmd/tsuna").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.Contains(string(out), rev[:12]) {
		t.Errorf("tsuna version = %q (%v), want the commit %s", out, err, rev[:12])
	}
	out, _ = exec.Command(bin, "version", "--output", "json").Output()
	var v struct{ Version, Revision string }
	if json.Unmarshal(out, &v) != nil || !strings.HasPrefix(v.Revision, rev) {
		t.Errorf("tsuna version --output json = %s, want revision %s", out, rev)
	}
}

// TestSlackManifest guards item 14: the manifest names the slash command,
// interactivity and events at the paths tsuna serves, and the bot scopes;
// it refuses an address Slack cannot call.
func TestSlackManifest(t *testing.T) {
	r := run(t, nil, "slack", "manifest", "--url", "https://tsuna.example.com/")
	if r.code != 0 {
		t.Fatalf("slack manifest: %d %s", r.code, r.stderr)
	}
	var m struct {
		Features struct {
			BotUser struct {
				DisplayName string `yaml:"display_name"`
			} `yaml:"bot_user"`
			SlashCommands []struct{ Command, URL string } `yaml:"slash_commands"`
		}
		OAuthConfig struct {
			Scopes struct{ Bot []string }
		} `yaml:"oauth_config"`
		Settings struct {
			EventSubscriptions struct {
				RequestURL string   `yaml:"request_url"`
				BotEvents  []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				IsEnabled  bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			}
		}
	}
	if err := yaml.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("manifest is not YAML: %v\n%s", err, r.stdout)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/tsuna" || m.Features.SlashCommands[0].URL != "https://tsuna.example.com/slack/commands" {
		t.Errorf("slash commands = %+v", m.Features.SlashCommands)
	}
	if !m.Settings.Interactivity.IsEnabled || m.Settings.Interactivity.RequestURL != "https://tsuna.example.com/slack/interactions" {
		t.Errorf("interactivity = %+v", m.Settings.Interactivity)
	}
	if m.Settings.EventSubscriptions.RequestURL != "https://tsuna.example.com/slack/events" || len(m.Settings.EventSubscriptions.BotEvents) == 0 {
		t.Errorf("event subscriptions = %+v", m.Settings.EventSubscriptions)
	}
	scopes := strings.Join(m.OAuthConfig.Scopes.Bot, " ")
	for _, want := range []string{"chat:write", "chat:write.public", "commands", "reactions:read", "pins:read"} {
		if !strings.Contains(" "+scopes+" ", " "+want+" ") {
			t.Errorf("bot scopes lack %s: %s", want, scopes)
		}
	}
	if r := run(t, nil, "slack", "manifest", "--url", "https://tsuna.example.com", "--output", "json"); r.code != 0 || !json.Valid([]byte(r.stdout)) {
		t.Errorf("slack manifest --output json: %d %s", r.code, r.stdout)
	}
	for _, bad := range []string{"http://tsuna.example.com", "tsuna.example.com", ""} {
		if r := run(t, nil, "slack", "manifest", "--url", bad); r.code != 2 || !strings.Contains(r.stderr, "https") {
			t.Errorf("slack manifest --url %q: %d %s", bad, r.code, r.stderr)
		}
	}
}

// TestSlackManifestScopesDeliverAlerts guards item 14: a bot token with
// only the manifest's scopes delivers an alert to a public channel it was
// never invited to (chat:write.public), against the Slack fake that checks
// scopes and membership as Slack does.
func TestSlackManifestScopesDeliverAlerts(t *testing.T) {
	r := run(t, nil, "slack", "manifest", "--url", "https://tsuna.example.com", "--output", "json")
	var m struct {
		OAuthConfig struct{ Scopes struct{ Bot []string } } `json:"oauth_config"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatal(err)
	}
	fake := chatfake.New(t)
	fake.RevokeScopes("bookmarks:write", "channels:history", "channels:join", "channels:manage", "channels:read", "chat:write",
		"groups:history", "groups:read", "groups:write", "im:history", "im:write", "pins:read", "pins:write", "reactions:read",
		"reactions:write", "users:read", "users:read.email")
	fake.GrantScopes(m.OAuthConfig.Scopes.Bot...)
	fake.AddChannel("checkout-alerts") // the bot is not a member
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--catalog", exampleCatalog, "--alertmanager-token", amSecret,
		"--slack-token", fake.Token(), "--slack-api-url", fake.URL()+"/api/")
	if resp := call(t, "POST", srv.url+"/hooks/alertmanager", amSecret, notification("firing", "checkout-api", "CheckoutErrors"), nil); resp.StatusCode != 200 {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	c, _ := fake.Channel("checkout-alerts")
	waitUntil(t, srv, "the post with the manifest's scopes", func() bool { return len(fake.Messages(c.ID)) == 1 })
}

// TestOutboxCommandsAndMetrics guards item 12: a stuck delivery is visible
// in `tsuna outbox list`, `tsuna outbox stats` and /metrics, with its
// reason; the backlog and its age are exported.
func TestOutboxCommandsAndMetrics(t *testing.T) {
	fake := chatfake.New(t) // no channel exists: every post fails with channel_not_found
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--catalog", exampleCatalog, "--alertmanager-token", amSecret,
		"--slack-token", fake.Token(), "--slack-api-url", fake.URL()+"/api/")
	if resp := call(t, "POST", srv.url+"/hooks/alertmanager", amSecret, notification("firing", "checkout-api", "CheckoutErrors"), nil); resp.StatusCode != 200 {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	vars := cliVars(srv, adminSecret)
	waitUntil(t, srv, "the failed delivery", func() bool {
		return strings.Contains(run(t, vars, "outbox", "list", "--state", "failed").stdout, "channel_not_found")
	})
	r := run(t, vars, "outbox", "list", "--state", "failed")
	if r.code != 0 || !strings.Contains(r.stdout, "#checkout-alerts") || !strings.Contains(r.stdout, "CheckoutErrors") {
		t.Errorf("outbox list --state failed: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, vars, "outbox", "stats")
	if r.code != 0 || !strings.Contains(r.stdout, "failed:     1 channel_not_found") || !strings.Contains(r.stdout, "pending:    0") {
		t.Errorf("outbox stats: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	metrics := bodyOf(call(t, "GET", srv.url+"/metrics", "", "", nil))
	for _, want := range []string{`tsuna_outbox_failed_messages{reason="channel_not_found"} 1`, `tsuna_outbox_messages{state="failed"} 1`,
		`tsuna_outbox_messages{state="pending"} 0`, "tsuna_outbox_oldest_pending_age_seconds 0", "tsuna_outbox_delivery_attempts_total 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if r := run(t, vars, "outbox", "list", "--state", "stuck"); r.code != 2 {
		t.Errorf("outbox list --state stuck: %d %s", r.code, r.stderr)
	}

	// Without a Slack token the messages wait: the backlog and its age.
	idle := startServer(t, filepath.Join(t.TempDir(), "idle.db"), "--catalog", exampleCatalog, "--alertmanager-token", amSecret)
	call(t, "POST", idle.url+"/hooks/alertmanager", amSecret, notification("firing", "checkout-api", "CheckoutErrors"), nil)
	metrics = bodyOf(call(t, "GET", idle.url+"/metrics", "", "", nil))
	if !strings.Contains(metrics, `tsuna_outbox_messages{state="pending"} 1`) || strings.Contains(metrics, "tsuna_outbox_oldest_pending_age_seconds 0\n") {
		t.Errorf("/metrics without Slack lacks the backlog:\n%s", grepLines(metrics, "tsuna_outbox"))
	}
	var st struct {
		States        map[string]int
		OldestPending *time.Time
	}
	if r := run(t, cliVars(idle, adminSecret), "outbox", "stats", "--output", "json"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil || st.States["pending"] != 1 || st.OldestPending == nil {
		t.Errorf("outbox stats --output json: %d %s", r.code, r.stdout)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestCLIReferenceIsCurrent guards item 15: docs/cli/ is what
// `tsuna docs docs/cli` writes from the commands themselves.
func TestCLIReferenceIsCurrent(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, nil, "docs", dir); r.code != 0 {
		t.Fatalf("tsuna docs: %d %s", r.code, r.stderr)
	}
	const committed = "../../docs/cli"
	want, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	have, _ := filepath.Glob(filepath.Join(committed, "*.md"))
	if len(want) == 0 {
		t.Fatal("tsuna docs wrote no page")
	}
	stale := 0
	for _, p := range want {
		b, _ := os.ReadFile(p)
		c, err := os.ReadFile(filepath.Join(committed, filepath.Base(p)))
		if err != nil || string(b) != string(c) {
			stale++
			t.Errorf("docs/cli/%s is missing or out of step with the commands", filepath.Base(p))
		}
	}
	if len(have) != len(want) {
		stale++
		t.Errorf("docs/cli has %d pages, the commands make %d", len(have), len(want))
	}
	if stale > 0 {
		t.Log("regenerate it: go run ./cmd/tsuna docs docs/cli")
	}
	// Every command has its page.
	if _, err := os.Stat(filepath.Join(dir, "tsuna_slo_gate.md")); err != nil {
		t.Error("no page for tsuna slo gate")
	}
}

// TestWebhookSecretExplained guards item 7: the 401 names credentials_file,
// which the generated configuration uses, and the help says what the
// secret is and where it goes.
func TestWebhookSecretExplained(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--alertmanager-token", amSecret)
	var p struct{ Detail string }
	if resp := call(t, "POST", srv.url+"/hooks/alertmanager", "wrong", notification("firing", "x", "X"), &p); resp.StatusCode != 401 ||
		!strings.Contains(p.Detail, "credentials_file") || strings.Contains(p.Detail, "authorization.credentials ") {
		t.Errorf("401 hint = %d %q", resp.StatusCode, p.Detail)
	}
	help := run(t, nil, "alertmanager", "config", "--help").stdout
	for _, want := range []string{"any random string you choose", "--credentials-file", "prometheus-alertmanager", "fallback receiver"} {
		if !strings.Contains(help, want) {
			t.Errorf("alertmanager config --help does not say %q", want)
		}
	}
}

// TestStatusExplainsWhenAPageClears guards item 10 where the user meets
// it: under the status table, a firing page says which window pair holds
// it and that it clears with the short window, not the 6h one.
func TestStatusExplainsWhenAPageClears(t *testing.T) {
	// 90% errors in the last minute: a burn rate of 9 on every window,
	// above the page's 6h/30m factor for a 7-day period.
	srv := startWithEvent(t, 10, time.Now().Add(-time.Minute))
	r := run(t, cliVars(srv, adminSecret), "slo", "status")
	for _, want := range []string{"nightly/jobs: page fires while both windows of one of its pairs (1h/5m, 6h/30m)", "within 30m after errors stop", "BURN 6H stays high"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("slo status does not say %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(run(t, nil, "slo", "status", "--help").stdout, "The short window is what ends") {
		t.Error("slo status --help does not explain when an alert clears")
	}
}
