package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/alerting/alertingtest"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
)

// TestIncidentCLI works an incident from the command line on both
// engines: declared from a stored alert (detected = its startsAt), changed
// by an editor of its team but not by another team, resolved, closed, its
// timeline read and exported, and measured.
func TestIncidentCLI(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := startServer(t, dsn, "--catalog", exampleCatalog, "--alertmanager-token", amSecret)
		token := func(name, role, team string) map[string]string {
			return cliVars(srv, newToken(t, srv, name, role, team))
		}
		viewer, payments, storefront := token("oncall-bot", "viewer", ""), token("payments-ci", "editor", "payments"), token("storefront-ci", "editor", "storefront")

		starts := time.Now().Add(-7 * time.Minute).UTC().Truncate(time.Second)
		if resp := call(t, "POST", srv.url+"/hooks/alertmanager", amSecret, alertingtest.WebhookAt("firing", "checkout-api", "CheckoutErrors", starts), nil); resp.StatusCode != 200 {
			t.Fatalf("webhook: %d %s", resp.StatusCode, bodyOf(resp))
		}
		r := run(t, viewer, "incident", "declare", "--from-alert", "fp-checkout-api-CheckoutErrors", "--impact-started", starts.Add(-3*time.Minute).Format(time.RFC3339), "-o", "json")
		var inc incident.Incident
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &inc) != nil {
			t.Fatalf("declare: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if inc.Ref != "INC-1" || !inc.Timestamps.Detected.Equal(starts) || inc.Team != "payments" || inc.Services[0] != "checkout-api" {
			t.Fatalf("declared from alert: %+v", inc)
		}
		if r := run(t, viewer, "incident", "declare"); r.code != 2 {
			t.Fatalf("declare without title: %d", r.code)
		}
		if r := run(t, storefront, "incident", "update", "INC-1", "--severity", "SEV1"); r.code != 1 || !strings.Contains(r.stderr, "needs its lead, an editor of team payments or an admin") {
			t.Fatalf("other team: %d %s", r.code, r.stderr)
		}
		if r := run(t, payments, "incident", "update", "INC-1", "--severity", "SEV1", "--lead", "ana@example.com", "--stage", "identified", "--role", "comms=bo@example.com"); r.code != 0 || !strings.Contains(r.stdout, "updated INC-1 (SEV1, active (identified))") {
			t.Fatalf("update: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, viewer, "incident", "note", "INC-1", "rollback started at 10:02"); r.code != 0 {
			t.Fatalf("note: %s", r.stderr)
		}
		if r := run(t, payments, "incident", "resolve", "INC-1"); r.code != 0 || !strings.Contains(r.stdout, "resolved INC-1") {
			t.Fatalf("resolve: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, payments, "incident", "close", "INC-1"); r.code != 0 || !strings.Contains(r.stdout, "closed INC-1") {
			t.Fatalf("close: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, viewer, "incident", "show", "INC-1"); r.code != 0 || !strings.Contains(r.stdout, "status:    closed") || !strings.Contains(r.stdout, "comms:") {
			t.Fatalf("show: %s %s", r.stdout, r.stderr)
		}
		r = run(t, viewer, "incident", "timeline", "INC-1")
		for _, want := range []string{"declared", "Linked alert", "Severity SEV2 → SEV1", "Lead: ana@example.com", "rollback started", "Status active → resolved", "Status resolved → closed"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("timeline lacks %q:\n%s", want, r.stdout)
			}
		}
		if r := run(t, viewer, "incident", "timeline", "INC-1", "-o", "markdown"); !strings.HasPrefix(r.stdout, "# INC-1: CheckoutErrors") {
			t.Errorf("markdown: %s", r.stdout)
		}
		run(t, viewer, "incident", "declare", "An exercise", "--drill", "--service", "checkout-api")
		if r := run(t, viewer, "incident", "list", "--status", "closed"); !strings.Contains(r.stdout, "INC-1") || strings.Contains(r.stdout, "INC-2") {
			t.Errorf("list: %s", r.stdout)
		}
		r = run(t, viewer, "incident", "metrics", "--since", "1h", "--by", "severity", "-o", "json")
		var rep incident.Report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("metrics: %v %s %s", err, r.stdout, r.stderr)
		}
		if len(rep.Groups) != 1 || rep.Groups[0].Key != "SEV1" || rep.Excluded.Drills != 1 || rep.All.TTD.Count != 1 || *rep.All.TTD.Median != 180 {
			t.Fatalf("metrics: %+v", rep)
		}
		if r := run(t, viewer, "incident", "metrics", "--since", "90d"); r.code != 0 || !strings.Contains(r.stdout, "TTD: time to detect: impact started → detected") {
			t.Fatalf("metrics text: %s %s", r.stdout, r.stderr)
		}
	})
}
