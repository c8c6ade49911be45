package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/jobs"
)

// Job kinds of incidents.
const (
	// JobRemind reminds an incident's channel: no lead, no status update,
	// resolved but not closed. Run by Service.RemindHandler.
	JobRemind = "incident.remind"
	// JobChannel creates the incident's chat channel and invites its
	// people; run by the chat adapter.
	JobChannel = "incident.channel"
)

// Reminder rules.
const (
	RuleNoLead   = "no-lead"
	RuleNoUpdate = "no-update"
	RuleUnclosed = "unclosed"
)

// ChannelJob is the payload of a JobChannel job.
type ChannelJob struct {
	Number int64 `json:"number"`
}

// remindJob is the payload of a JobRemind job: the rule, and the moment
// from which it counts (the reminder holds when nothing answered it since).
type remindJob struct {
	Number int64     `json:"number"`
	Rule   string    `json:"rule"`
	Base   time.Time `json:"base"`
}

func remindKey(ref, rule string, base time.Time) string {
	if rule == RuleNoLead {
		return ref + "/" + rule
	}
	return fmt.Sprintf("%s/%s/%d", ref, rule, base.UnixMicro())
}

func (m *Mutation) remind(ref string, number int64, rule string, base time.Time, after time.Duration) {
	payload, _ := json.Marshal(remindJob{Number: number, Rule: rule, Base: base})
	m.Jobs = append(m.Jobs, jobs.Job{Kind: JobRemind, Key: remindKey(ref, rule, base), RunAt: base.Add(after), Payload: payload})
}

func (m *Mutation) cancelRemind(ref, rule string, base time.Time) {
	m.Cancel = append(m.Cancel, JobRef{Kind: JobRemind, Key: remindKey(ref, rule, base)})
}

// noUpdateBase is when the "no status update" clock of inc started: its
// last status update, else its report.
func noUpdateBase(inc *Incident) time.Time {
	if inc.LastUpdateAt != nil {
		return *inc.LastUpdateAt
	}
	if inc.Timestamps.Reported != nil {
		return *inc.Timestamps.Reported
	}
	return time.Time{}
}

// schedule adds to m the reminders that the change from before (nil at
// declaration) to inc starts or answers. Each reminder is a job with its
// own key, so it is sent once; answering it cancels it.
func (s *Service) schedule(ls levelSet, before, inc *Incident, m *Mutation, now time.Time) {
	level, _ := ls.level(inc.Severity)
	r := level.Reminders
	wasActive := before != nil && before.Active()
	// No lead.
	switch {
	case before == nil && inc.Lead == "" && r.NoLead > 0:
		m.remind(inc.Ref, inc.Number, RuleNoLead, *inc.Timestamps.Reported, r.NoLead)
	case before != nil && before.Lead == "" && (inc.Lead != "" || !inc.Active()):
		m.cancelRemind(inc.Ref, RuleNoLead, time.Time{})
	}
	// No status update.
	switch {
	case before == nil && r.NoUpdate > 0:
		m.remind(inc.Ref, inc.Number, RuleNoUpdate, noUpdateBase(inc), r.NoUpdate)
	case wasActive && !inc.Active():
		m.cancelRemind(inc.Ref, RuleNoUpdate, noUpdateBase(before))
	case wasActive && !noUpdateBase(before).Equal(noUpdateBase(inc)):
		m.cancelRemind(inc.Ref, RuleNoUpdate, noUpdateBase(before))
		if r.NoUpdate > 0 {
			m.remind(inc.Ref, inc.Number, RuleNoUpdate, noUpdateBase(inc), r.NoUpdate)
		}
	case before != nil && !wasActive && inc.Active() && r.NoUpdate > 0: // reopened
		m.remind(inc.Ref, inc.Number, RuleNoUpdate, now, r.NoUpdate)
	}
	// Resolved but not closed.
	if before != nil && before.Status == StatusResolved && inc.Status != StatusResolved && before.Timestamps.Resolved != nil {
		m.cancelRemind(inc.Ref, RuleUnclosed, *before.Timestamps.Resolved)
	}
	if inc.Status == StatusResolved && (before == nil || before.Status != StatusResolved) && r.Unclosed > 0 {
		m.remind(inc.Ref, inc.Number, RuleUnclosed, *inc.Timestamps.Resolved, r.Unclosed)
	}
}

// holds reports whether the reminder p is still unanswered for inc.
func (p remindJob) holds(inc *Incident) bool {
	switch p.Rule {
	case RuleNoLead:
		return inc.Active() && inc.Lead == ""
	case RuleNoUpdate:
		return inc.Active() && (inc.LastUpdateAt == nil || !inc.LastUpdateAt.After(p.Base))
	case RuleUnclosed:
		return inc.Status == StatusResolved && inc.Timestamps.Resolved != nil && inc.Timestamps.Resolved.Equal(p.Base)
	}
	return false
}

// RemindHandler returns the JobRemind handler: it sends the reminder to
// the incident's channel when still unanswered, once (the timeline keeps a
// reminder entry keyed by the job, in the transaction that queues it).
func (s *Service) RemindHandler() jobs.Handler {
	a := Actor{Name: "tsuna reminders", Source: audit.SourceChat}
	return func(ctx context.Context, j jobs.Job) error {
		var p remindJob
		if err := json.Unmarshal(j.Payload, &p); err != nil || p.Number == 0 {
			return jobs.Permanent(fmt.Errorf("reminder %q: bad payload", j.Key))
		}
		_, err := s.mutate(ctx, p.Number, a.audit(), func(inc *Incident, now time.Time) (*Mutation, error) {
			if !p.holds(inc) {
				return nil, nil
			}
			msg := ReminderMessage(inc, p.Rule, p.Base, now)
			m := &Mutation{Action: "remind", Once: true, Entries: []Entry{{Time: now, Kind: EntryReminder, Actor: a.Name, Source: a.Source,
				Text: msg.Summary, ExternalID: "reminder:" + j.Key}}}
			for _, ch := range s.channels(ctx, inc, false) {
				m.Messages = append(m.Messages, Outgoing{Channel: ch, Message: msg})
			}
			return m, nil
		})
		if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
			return jobs.Permanent(err)
		}
		return err
	}
}
