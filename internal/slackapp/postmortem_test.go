package slackapp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// TestPostmortemFromTheChannel: /tsuna postmortem in a resolved
// incident's channel drafts its postmortem once, through the postmortem
// service with the rights of the catalog member behind the Slack user,
// and answers with its reference and console link; Slack's retry and a
// second command draft nothing more; someone outside the team is refused;
// outside an incident channel the command says how to name one.
func TestPostmortemFromTheChannel(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		r := newRig(t, dsn)
		ctx := context.Background()
		r.declare(bruno, "Checkout fails", "SEV2", "checkout-api")
		r.wait("the incident channel", func() bool {
			inc := r.incident(1)
			return inc.Channel != nil && contains(r.fake.Members(inc.Channel.ID), ada)
		})
		chID := r.incident(1).Channel.ID
		r.command(ada, chID, "incident resolved")
		r.wait("resolved", func() bool { return r.incident(1).Status == "resolved" })

		// Outside an incident channel, without a reference: how to use it.
		code, body := r.form(api.SlackCommandsPath, r.fake.NewSlashCommand("/tsuna", "postmortem", ada, "general").Form())
		if code != 200 || !strings.Contains(body, "/tsuna postmortem INC-42") {
			t.Errorf("/tsuna postmortem in #general: %d %s", code, body)
		}

		// Someone outside the team may not draft it.
		r.fake.Join(chID, eve)
		before := len(r.fake.Responses())
		r.command(eve, chID, "pm")
		r.wait("the refusal", func() bool { return len(r.fake.Responses()) > before })
		if resp := r.fake.Responses()[before]; !strings.Contains(resp.Text, "Not done") || !strings.Contains(resp.Text, "needs its lead, an editor of team payments") {
			t.Errorf("an outsider's /tsuna pm: %q", resp.Text)
		}

		// A member of the team drafts it; Slack's retry counts once.
		before = len(r.fake.Responses())
		cmd := r.command(ada, chID, "postmortem")
		r.form(api.SlackCommandsPath, cmd)
		r.wait("the answer", func() bool { return len(r.fake.Responses()) > before })
		answer := r.fake.Responses()[before].Text
		if !strings.Contains(answer, "Drafted PM-1, the postmortem of INC-1") || !strings.Contains(answer, "<"+publicURL+"/postmortems/PM-1|Open PM-1 in the console>") {
			t.Errorf("answer %q, want the reference and the console link", answer)
		}
		pm, err := r.db.PostmortemByIncident(ctx, "INC-1")
		if err != nil {
			t.Fatal(err)
		}
		if pm.Status != postmortem.StatusDraft || !strings.Contains(pm.Body, "Checkout fails") || len(pm.Facts.Intervals) != 4 || !contains(pm.Authors, "ada@example.com") {
			t.Errorf("draft %+v", pm)
		}
		recs, err := r.db.AuditRecords(ctx, audit.Filter{Kind: store.KindPostmortem})
		if err != nil || len(recs) != 1 || recs[0].Actor != "ada@example.com" || recs[0].Source != audit.SourceChat || recs[0].Action != "draft" {
			t.Errorf("audit of the draft: %+v %v, want one draft by ada@example.com from chat", recs, err)
		}

		// Again, with the reference: the same postmortem.
		before = len(r.fake.Responses())
		r.command(bruno, "general", "postmortem INC-1")
		r.wait("the second answer", func() bool { return len(r.fake.Responses()) > before })
		if answer := r.fake.Responses()[before].Text; !strings.Contains(answer, "INC-1 has its postmortem already: PM-1") {
			t.Errorf("second /tsuna postmortem: %q", answer)
		}
		if list, _ := r.db.Postmortems(ctx, postmortem.Filter{}); len(list) != 1 {
			t.Errorf("%d postmortems after three commands and a retry, want 1", len(list))
		}
	})
}
