package postmortem

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/notify"
)

// Job kinds. Each runs on one replica at a time (internal/jobs), and each
// chat message it sends is keyed (Store.SendOnce), so a job run twice
// after a crash sends once.
const (
	// JobOverdue reminds a team that a postmortem is past its due day.
	JobOverdue = "postmortem.overdue"
	// JobDigest sends a team's weekly digest of overdue actions; its key
	// is team/ISO week, so one per team and week across replicas.
	JobDigest = "postmortem.digest"
	// JobTrackerSync closes the actions whose tracker issue was closed.
	JobTrackerSync = "postmortem.tracker-sync"
	// JobOnboarding welcomes the members an applied catalog added.
	JobOnboarding = "postmortem.onboarding"
)

// JobKinds lists the kinds Handlers handles.
var JobKinds = []string{JobOverdue, JobDigest, JobTrackerSync, JobOnboarding}

// Handlers returns the job handlers by kind, to register with a
// jobs.Runner.
func (s *Service) Handlers() map[string]jobs.Handler {
	return map[string]jobs.Handler{
		JobOverdue:     s.runOverdue,
		JobDigest:      s.runDigest,
		JobTrackerSync: s.runSync,
		JobOnboarding:  func(ctx context.Context, _ jobs.Job) error { _, err := s.Onboard(ctx); return err },
	}
}

type overduePayload struct {
	Incident string    `json:"incident"`
	Due      time.Time `json:"due"`
	N        int       `json:"n"`
}

// maxReminders bounds the reminders of one overdue postmortem.
const maxReminders = 12

// overdueJob reminds about the postmortem of incident incRef the n-th
// time: at the end of its due day, then every ReminderEvery.
func (s *Service) overdueJob(incRef string, due time.Time, n int) jobs.Job {
	payload, _ := json.Marshal(overduePayload{Incident: incRef, Due: due, N: n})
	return jobs.Job{Kind: JobOverdue, Key: fmt.Sprintf("%s/%s/%d", incRef, due.Format("2006-01-02"), n),
		RunAt: due.AddDate(0, 0, 1).Add(time.Duration(n) * s.opts.ReminderEvery), Payload: payload, MaxAttempts: 20}
}

func (s *Service) runOverdue(ctx context.Context, j jobs.Job) error {
	var pl overduePayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil {
		return jobs.Permanent(fmt.Errorf("payload: %w", err))
	}
	p, err := s.store.PostmortemByIncident(ctx, pl.Incident)
	if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if p.Status == StatusPublished || p.Due == nil || !p.Due.Equal(pl.Due) {
		return nil // published, or its due day moved (another job reminds)
	}
	if ch := s.teamChannel(ctx, p.Team); ch != "" {
		days := int(s.opts.Now().Sub(*p.Due).Hours() / 24)
		msg := notify.Message{Key: "pm-overdue/" + j.Key, Title: "Postmortem overdue: " + p.Title, Status: notify.StatusFiring, Severity: p.Severity,
			Summary: fmt.Sprintf("%s of %s was due %s (%d days ago) and is still %s.", p.Ref, p.Incident, p.Due.Format("2006-01-02"), days, strings.ReplaceAll(p.Status, "_", " ")),
			Fields:  []notify.Field{{Name: "Authors", Value: strings.Join(p.Authors, ", ")}}, Links: s.links(p)}
		if _, err := s.store.SendOnce(ctx, "pm-overdue/"+j.Key, ch, msg); err != nil {
			return err
		}
	}
	if pl.N+1 < maxReminders && s.opts.Jobs != nil {
		if _, err := s.opts.Jobs.Enqueue(ctx, s.overdueJob(pl.Incident, pl.Due, pl.N+1)); err != nil {
			return err
		}
	}
	return nil
}

type digestPayload struct {
	Team string `json:"team"`
	Week string `json:"week"`
}

// Tick enqueues the periodic work due at now: this week's digest of
// every team, a tracker sync and an onboarding sweep. Every replica may
// call it as often as it likes: jobs are keyed, so each runs once.
func (s *Service) Tick(ctx context.Context, now time.Time) error {
	if s.opts.Jobs == nil {
		return fmt.Errorf("no job store")
	}
	teams, err := s.store.Teams(ctx)
	if err != nil {
		return err
	}
	week := ISOWeek(now)
	at := weekStart(now).Add(time.Duration(s.opts.DigestHour) * time.Hour)
	if at.Before(now) {
		at = now
	}
	for _, t := range teams {
		payload, _ := json.Marshal(digestPayload{Team: t.Name, Week: week})
		if _, err := s.opts.Jobs.Enqueue(ctx, jobs.Job{Kind: JobDigest, Key: t.Name + "/" + week, RunAt: at, Payload: payload, MaxAttempts: 20}); err != nil {
			return err
		}
	}
	bucket := now.UTC().Truncate(5 * time.Minute).Format(time.RFC3339)
	if s.opts.Tracker != nil {
		if _, err := s.opts.Jobs.Enqueue(ctx, jobs.Job{Kind: JobTrackerSync, Key: bucket, RunAt: now, MaxAttempts: 3}); err != nil {
			return err
		}
	}
	_, err = s.opts.Jobs.Enqueue(ctx, jobs.Job{Kind: JobOnboarding, Key: now.UTC().Truncate(time.Minute).Format(time.RFC3339), RunAt: now, MaxAttempts: 5})
	return err
}

func (s *Service) runDigest(ctx context.Context, j jobs.Job) error {
	var pl digestPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil {
		return jobs.Permanent(fmt.Errorf("payload: %w", err))
	}
	_, err := s.SendDigest(ctx, pl.Team, pl.Week)
	return err
}

// SendDigest queues the digest of team's overdue actions for week (an
// ISO week such as 2026-W48) in the team's channel, once per team and
// week; it reports whether it queued one (not when nothing is overdue).
func (s *Service) SendDigest(ctx context.Context, team, week string) (bool, error) {
	acts, err := s.Overdue(ctx, team)
	if err != nil || len(acts) == 0 {
		return false, err
	}
	ch := s.teamChannel(ctx, team)
	if ch == "" {
		s.opts.Log.Info("no channel for the digest of overdue actions", "team", team, "overdue", len(acts))
		return false, nil
	}
	return s.store.SendOnce(ctx, "digest/"+team+"/"+week, ch, DigestMessage(team, week, acts, s.opts.Now()))
}

// DigestMessage is a team's weekly digest of overdue follow-up actions.
func DigestMessage(team, week string, acts []*Action, now time.Time) notify.Message {
	var b strings.Builder
	for i, a := range acts {
		if i == 30 {
			fmt.Fprintf(&b, "… and %d more (tsuna postmortem actions --overdue --team %s)\n", len(acts)-i, team)
			break
		}
		days := int(now.Sub(a.Due.AddDate(0, 0, 1)).Hours()/24) + 1
		fmt.Fprintf(&b, "• %s [%s, %s] %s — %s, due %s (%d days late)\n", a.PostmortemRef, a.Type, a.Priority, a.Title, a.Owner, a.Due.Format("2006-01-02"), days)
	}
	return notify.Message{Key: "digest/" + team + "/" + week, Title: fmt.Sprintf("Overdue follow-up actions of %s: %d", team, len(acts)),
		Status: notify.StatusInfo, Summary: "Weekly digest, " + week + ": postmortem actions past their due date.", Body: b.String()}
}

func (s *Service) runSync(ctx context.Context, _ jobs.Job) error {
	n, err := s.SyncTracker(ctx)
	if err == ErrNoTracker {
		return nil
	}
	if n > 0 {
		s.opts.Log.Info("closed actions whose issue was closed", "actions", n)
	}
	return err
}

// onboardingCursor names the audit position the onboarding sweep reached.
const onboardingCursor = "onboarding"

// Onboard welcomes the members that applied catalogs added to teams since
// the last sweep, reading the audit records of Team changes: once per
// member and team (a member added, removed and added again is not
// welcomed twice), not on a re-apply (no change), not for removed members
// nor for members removed again before the sweep. Members present when
// onboarding first ran are not welcomed. It returns how many welcomes it
// queued.
func (s *Service) Onboard(ctx context.Context) (int, error) {
	cur, err := s.store.Cursor(ctx, onboardingCursor)
	if err != nil {
		return 0, err
	}
	sent := 0
	for {
		recs, err := s.store.TeamChanges(ctx, cur, 200)
		if err != nil || len(recs) == 0 {
			return sent, err
		}
		for _, rec := range recs {
			var before, after catalog.Team
			json.Unmarshal(rec.Before, &before)
			json.Unmarshal(rec.After, &after)
			for _, m := range after.Members {
				if m.Email == "" || isMember(&before, m.Email) {
					continue
				}
				ok, err := s.welcome(ctx, rec.Name, m.Email)
				if err != nil {
					return sent, err
				}
				if ok {
					sent++
				}
			}
			cur = rec.Seq
		}
		if err := s.store.SetCursor(ctx, onboardingCursor, cur); err != nil {
			return sent, err
		}
	}
}

func isMember(t *catalog.Team, email string) bool {
	for _, m := range t.Members {
		if strings.EqualFold(m.Email, email) {
			return true
		}
	}
	return false
}

// welcome sends the welcome to the member of team as the stored catalog
// has them now: by direct message when they have a Slack ID, else in the
// team's channel.
func (s *Service) welcome(ctx context.Context, team, email string) (bool, error) {
	t, err := s.store.Team(ctx, team)
	if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
		return false, nil // the team is gone
	} else if err != nil {
		return false, err
	}
	var member *catalog.Member
	for i := range t.Members {
		if strings.EqualFold(t.Members[i].Email, email) {
			member = &t.Members[i]
		}
	}
	if member == nil {
		return false, nil // removed again since
	}
	msg, err := s.WelcomeMessage(ctx, t, member)
	if err != nil {
		return false, err
	}
	msg.Key = "onboarding/" + team + "/" + strings.ToLower(email)
	ch := member.Slack
	if ch == "" {
		ch = t.Chat.Channel
	}
	if ch == "" {
		s.opts.Log.Info("no way to welcome a new member: no Slack ID and no team channel", "team", team)
		return false, nil
	}
	return s.store.SendOnce(ctx, "onboarding/"+team+"/"+strings.ToLower(email), ch, msg)
}

// WelcomeMessage is the welcome a new member of team t gets: how to
// declare an incident, the severities and the recommended reading list.
// A nil member previews it.
func (s *Service) WelcomeMessage(ctx context.Context, t *catalog.Team, m *catalog.Member) (notify.Message, error) {
	name := "there"
	var mention []string
	if m != nil {
		if m.Name != "" {
			name = m.Name
		}
		if m.Slack != "" {
			mention = []string{m.Slack}
		}
	}
	var b strings.Builder
	b.WriteString("How to declare an incident: when in doubt, declare it (a triage state exists for \"maybe an incident\").\n")
	b.WriteString("• In Slack: /tsuna incident <title>\n• From a terminal: tsuna incident declare \"<title>\" --service <service>\n")
	if s.opts.ConsoleURL != "" {
		b.WriteString("• In the console: " + strings.TrimRight(s.opts.ConsoleURL, "/") + "/incidents\n")
	}
	b.WriteString("\nSeverities (when unsure, take the higher one; lowering later is cheap):\n")
	for _, l := range s.opts.Levels() {
		fmt.Fprintf(&b, "• %s: %s\n", l.Name, l.Description)
	}
	reading, err := s.ReadingList(ctx, 10)
	if err != nil {
		return notify.Message{}, err
	}
	var links []notify.Link
	if len(reading) > 0 {
		b.WriteString("\nRecommended reading: the postmortems we learnt most from.\n")
		for _, p := range reading {
			fmt.Fprintf(&b, "• %s: %s\n", p.Ref, p.Title)
			if u := s.URL(p); u != "" && len(links) < 5 {
				links = append(links, notify.Link{Title: p.Ref, URL: u})
			}
		}
	}
	return notify.Message{Key: "onboarding/" + t.Name, Title: fmt.Sprintf("Welcome to %s, %s!", t.Name, name), Status: notify.StatusInfo,
		Summary: "tsuna is how we handle incidents here. Three things to know.", Body: b.String(), Links: links, Mentions: mention}, nil
}
