package postmortem_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

func teamsYAML(members ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: tsuna/v1\nkind: Team\nname: payments\nchat: {channel: \"#payments\"}\nmembers:\n")
	for _, m := range members {
		b.WriteString(m + "\n")
	}
	b.WriteString("---\napiVersion: tsuna/v1\nkind: Service\nname: checkout-api\nteam: payments\n")
	return b.String()
}

func apply(t *testing.T, db *store.DB, yaml string) {
	t.Helper()
	c, diags := catalog.Parse([]catalog.File{{Path: "c.yaml", Data: []byte(yaml)}})
	if c == nil {
		var b strings.Builder
		diags.WriteText(&b)
		t.Fatal(b.String())
	}
	if _, err := db.ApplyCatalog(context.Background(), c.Objects(), catalog.ApplyOptions{Prune: true, Actor: audit.Actor{Name: "ci", Source: audit.SourceCLI}}); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, db *store.DB, prefix string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM outbox WHERE group_key LIKE $1`, prefix+"%").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within a minute", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDigestOncePerWeekAcrossReplicas runs two replicas (two job runners
// and services over one database) ticking at once: an overdue action
// gives one digest message for the team and week, and ticking again in
// the same week gives none more. On both engines.
func TestDigestOncePerWeekAcrossReplicas(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, err := store.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		apply(t, db, teamsYAML("  - {email: ana@example.com}"))
		inc := incident.New(db, incident.Options{})
		admin := incident.Actor{Name: "admin", Source: audit.SourceCLI, Admin: true}
		i, _, err := inc.Declare(ctx, incident.Declaration{Title: "Checkout errors", Services: []string{"checkout-api"}}, admin)
		if err != nil {
			t.Fatal(err)
		}
		var replicas []*postmortem.Service
		for n := range 2 {
			r := jobs.New(db, nil, jobs.Options{ID: "replica-" + string(rune('a'+n)), PollInterval: 20 * time.Millisecond})
			svc := postmortem.New(db, postmortem.Options{Incidents: inc, Jobs: r})
			for kind, h := range svc.Handlers() {
				r.Handle(kind, h)
			}
			if err := r.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			replicas = append(replicas, svc)
		}
		pmAdmin := postmortem.Actor{Name: "admin", Source: audit.SourceCLI, Admin: true}
		p, _, err := replicas[0].Draft(ctx, postmortem.DraftRequest{Incident: i.Ref}, pmAdmin)
		if err != nil {
			t.Fatal(err)
		}
		due := time.Now().AddDate(0, 0, -9)
		if _, err := replicas[1].AddAction(ctx, p.Ref, postmortem.NewAction{Title: "Alert on saturation", Type: "detect", Owner: "ana@example.com", Due: &due}, pmAdmin); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		week := postmortem.ISOWeek(now)
		var wg sync.WaitGroup
		for _, svc := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					if err := svc.Tick(ctx, now); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		waitFor(t, "the digest job", func() bool {
			j, err := db.Job(ctx, postmortem.JobDigest, "payments/"+week)
			return err == nil && j.State == jobs.Done
		})
		if n := count(t, db, "digest/payments/"+week); n != 1 {
			t.Fatalf("%d digest messages for %s, want 1", n, week)
		}
		for _, svc := range replicas {
			svc.Tick(ctx, now.Add(time.Hour))
		}
		time.Sleep(300 * time.Millisecond) // a few polls of both runners
		if n := count(t, db, "digest/"); n != 1 {
			t.Errorf("%d digest messages after ticking again in the same week, want 1", n)
		}
	})
}

// TestOnboardingOnce: a member added by an applied catalog is welcomed
// once (by DM when they have a Slack ID, else in the team's channel); a
// re-apply, a removed member and a member added, removed and added again
// send nothing more; members present before onboarding started are not
// welcomed. On both engines.
func TestOnboardingOnce(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, err := store.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		svc := postmortem.New(db, postmortem.Options{})
		ana, bo, cy := "  - {name: Ana, email: ana@example.com}", "  - {name: Bo, email: bo@example.com, slack: U0BO000001}", "  - {email: cy@example.com}"
		apply(t, db, teamsYAML(ana))
		if n, err := svc.Onboard(ctx); err != nil || n != 0 {
			t.Fatalf("first sweep: %d %v; members present before onboarding are not welcomed", n, err)
		}
		apply(t, db, teamsYAML(ana, bo))
		if n, err := svc.Onboard(ctx); err != nil || n != 1 {
			t.Fatalf("after adding Bo: %d %v", n, err)
		}
		var channel, body string
		if err := db.SQL().QueryRow(`SELECT channel, message FROM outbox WHERE group_key = $1`, "onboarding/payments/bo@example.com").Scan(&channel, &body); err != nil {
			t.Fatal(err)
		}
		if channel != "U0BO000001" || !strings.Contains(body, "Welcome to payments, Bo!") || !strings.Contains(body, "/tsuna incident") || !strings.Contains(body, "SEV1") {
			t.Errorf("welcome to %s: %s", channel, body)
		}
		apply(t, db, teamsYAML(ana, bo)) // re-apply: nothing changes
		apply(t, db, teamsYAML(bo))      // Ana removed
		apply(t, db, teamsYAML(ana, bo)) // Ana added back: never welcomed, so welcomed now
		apply(t, db, teamsYAML(ana))     // Bo removed
		apply(t, db, teamsYAML(ana, bo)) // Bo added again
		if n, err := svc.Onboard(ctx); err != nil || n != 1 {
			t.Fatalf("after re-applies and removals: %d welcomes %v; want Ana's only (added back after onboarding started)", n, err)
		}
		apply(t, db, teamsYAML(ana, bo, cy))
		apply(t, db, teamsYAML(ana, bo)) // Cy removed before the sweep
		if n, err := svc.Onboard(ctx); err != nil || n != 0 {
			t.Errorf("a member removed before the sweep: %d %v", n, err)
		}
		if n := count(t, db, "onboarding/"); n != 2 {
			t.Errorf("%d welcomes queued in all, want 2 (Bo, Ana)", n)
		}
		var ch string
		db.SQL().QueryRow(`SELECT channel FROM outbox WHERE group_key = $1`, "onboarding/payments/ana@example.com").Scan(&ch)
		if ch != "#payments" {
			t.Errorf("Ana has no Slack ID: welcome to %q, want the team channel", ch)
		}
	})
}

func TestHints(t *testing.T) {
	text := "The deploy failed.\nIt was Human Error: Bo forgot to check, and should've known.\nNot a human errors list."
	hs := postmortem.Hints(text, append(postmortem.DefaultPhrases, postmortem.Phrase{Phrase: "deploy failed", Suggestion: "x"}))
	var got []string
	for _, h := range hs {
		got = append(got, h.Phrase)
		if text[h.Offset:h.Offset+h.Length] != h.Phrase {
			t.Errorf("offset of %q is wrong", h.Phrase)
		}
	}
	want := []string{"deploy failed", "Human Error", "forgot to", "should've"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("hints = %q, want %q", got, want)
	}
	if hs[1].Line != 2 || hs[1].Column != 8 {
		t.Errorf("Human Error at %d:%d, want 2:8", hs[1].Line, hs[1].Column)
	}
}

func TestDefaultTemplateAndHTML(t *testing.T) {
	tm := postmortem.DefaultTemplate()
	if tm.Name != "default" || tm.Version != 1 || len(tm.Sections) < 10 {
		t.Fatalf("default template: %+v", tm)
	}
	for _, s := range tm.Sections {
		for _, blame := range postmortem.Hints(s.Help, nil) {
			t.Errorf("the default template's help of %q blames: %q", s.Title, blame.Phrase)
		}
	}
	html := string(postmortem.HTML("# T\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) **b**"))
	if strings.Contains(html, "<script>") || strings.Contains(html, "javascript:") || !strings.Contains(html, "<strong>b</strong>") {
		t.Errorf("unsafe HTML: %s", html)
	}
	if d := postmortem.AddBusinessDays(time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC), 5); !d.Equal(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("5 business days after Friday 27 Nov: %s", d)
	}
}
