package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
)

// TestReadinessCLI reviews a service from the command line on both
// engines: opened by its team's editor, an accepted risk refused without
// a comment, answers, the scorecard with level and blocking items (table
// and JSON), the GitHub export, a SEV2 incident making the review stale,
// closing with feedback.
func TestReadinessCLI(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		srv := startServer(t, dsn, "--catalog", exampleCatalog)
		payments := cliVars(srv, newToken(t, srv, "payments-ci", "editor", "payments"))

		if r := run(t, payments, "readiness", "review", "checkout-api"); r.code != 0 || !strings.Contains(r.stdout, "opened review #1 of checkout-api against production-readiness v1") ||
			!strings.Contains(r.stdout, "done            runbook (bronze)") {
			t.Fatalf("review: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, payments, "readiness", "answer", "checkout-api", "product-owner", "accepted_risk"); r.code != 1 || !strings.Contains(r.stderr, "comment: required for accepted_risk") {
			t.Fatalf("accepted risk without comment: %d %s", r.code, r.stderr)
		}
		if r := run(t, payments, "readiness", "answer", "checkout-api", "backup-restore", "not-applicable", "--comment", "stateless"); r.code != 0 || !strings.Contains(r.stdout, "not applicable, says payments-ci: stateless") {
			t.Fatalf("answer: %d %s %s", r.code, r.stdout, r.stderr)
		}
		r := run(t, payments, "readiness", "scorecard", "--team", "payments")
		if r.code != 0 || !strings.Contains(r.stdout, "SERVICE") || !strings.Contains(r.stdout, "checkout-api") || !strings.Contains(r.stdout, "not reviewed: tsuna readiness review") {
			t.Fatalf("scorecard: %d %s %s", r.code, r.stdout, r.stderr)
		}
		r = run(t, payments, "readiness", "scorecard", "-o", "json")
		var card api.Scorecard
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &card) != nil {
			t.Fatalf("scorecard json: %d %s", r.code, r.stderr)
		}
		found := false
		for _, s := range card.Services {
			if s.Service == "checkout-api" {
				found = s.ReviewID == 1 && s.Summary.Next != "" && len(s.Summary.Blocking) > 0
			}
		}
		if !found {
			t.Fatalf("scorecard json lacks checkout-api's level and blockers: %s", r.stdout)
		}
		if r := run(t, payments, "readiness", "export", "checkout-api"); r.code != 0 || !strings.Contains(r.stdout, "- [x] **Was restoring from backup tested?**") || !strings.Contains(r.stdout, "- [ ] ") {
			t.Fatalf("export: %d %s", r.code, r.stdout)
		}
		if r := run(t, payments, "incident", "declare", "Checkout down", "--service", "checkout-api", "--severity", "SEV2"); r.code != 0 {
			t.Fatalf("declare: %s", r.stderr)
		}
		if r := run(t, payments, "readiness", "show", "checkout-api"); r.code != 0 || !strings.Contains(r.stdout, "STALE since") || !strings.Contains(r.stdout, "SEV2 incident INC-1 hit the service") {
			t.Fatalf("show after SEV2: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if r := run(t, payments, "readiness", "close", "checkout-api"); r.code != 1 || !strings.Contains(r.stderr, "feedback: required") {
			t.Fatalf("close without feedback: %d %s", r.code, r.stderr)
		}
		if r := run(t, payments, "readiness", "close", "checkout-api", "--feedback", "ask about feature flags"); r.code != 0 {
			t.Fatalf("close: %s", r.stderr)
		}
		if r := run(t, payments, "readiness", "feedback"); r.code != 0 || !strings.Contains(r.stdout, "ask about feature flags") {
			t.Fatalf("feedback: %d %s", r.code, r.stdout)
		}
	})
}
