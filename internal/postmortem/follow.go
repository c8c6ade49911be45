package postmortem

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
)

// AddAction adds a follow-up action to a postmortem, as one of its
// editors. Its owner must be a member of a catalog team. With Track and a
// tracker configured, its issue is created.
func (s *Service) AddAction(ctx context.Context, ref string, na NewAction, a Actor) (*Action, error) {
	p, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !CanEdit(p, a) {
		if !CanRead(p, a) {
			return nil, tsuna.Errorf(tsuna.ENOTFOUND, "postmortem %s not found", p.Ref)
		}
		return nil, forbidden(p, "adding actions to")
	}
	if na.Priority == "" {
		na.Priority = defaultPrio
	}
	act := &Action{Postmortem: p.ID, PostmortemRef: p.Ref, Team: p.Team, Title: strings.TrimSpace(na.Title), Type: na.Type,
		Owner: strings.TrimSpace(na.Owner), Due: dueDay(na.Due), Status: ActionOpen, Priority: na.Priority, FromEntry: na.FromEntry}
	if err := act.validate(); err != nil {
		return nil, err
	}
	if err := s.checkOwner(ctx, act.Owner); err != nil {
		return nil, err
	}
	if na.Track && s.opts.Tracker == nil {
		return nil, tsuna.Errorf(tsuna.EINVALID, "track: no tracker is configured; start tsuna serve with --github-repo and --github-token-file")
	}
	existing, err := s.store.Actions(ctx, ActionFilter{Postmortem: p.ID, Limit: MaxActions + 1})
	if err != nil {
		return nil, err
	}
	if len(existing) >= MaxActions {
		return nil, tsuna.Errorf(tsuna.EINVALID, "%s has %d actions; at most %d", p.Ref, len(existing), MaxActions)
	}
	out, err := s.store.CreateAction(ctx, act, a.audit())
	if err != nil {
		return nil, err
	}
	if na.Track {
		return s.TrackAction(ctx, out.ID, a)
	}
	return out, nil
}

// checkOwner checks that owner is a member of a catalog team.
func (s *Service) checkOwner(ctx context.Context, owner string) error {
	if owner == "" {
		return tsuna.Errorf(tsuna.EINVALID, "owner: required; name a catalog member by email")
	}
	teams, err := s.store.Teams(ctx)
	if err != nil {
		return err
	}
	for _, t := range teams {
		for _, m := range t.Members {
			if strings.EqualFold(m.Email, owner) {
				return nil
			}
		}
	}
	return tsuna.Errorf(tsuna.EINVALID, "owner: %q is not a member of any catalog team; name a member by the email the catalog lists", tsuna.Truncate(owner, 80))
}

// UpdateAction changes an action as one of its postmortem's editors or
// its owner. Closing it (done, or won't do with a reason) closes its
// tracker issue.
func (s *Service) UpdateAction(ctx context.Context, id int64, c ActionChange, a Actor) (*Action, error) {
	cur, err := s.store.Action(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := s.store.Postmortem(ctx, cur.Postmortem)
	if err != nil {
		return nil, err
	}
	if !CanEdit(p, a) && !a.is(cur.Owner) {
		return nil, forbidden(p, "changing the actions of")
	}
	if c.Owner != nil && *c.Owner != cur.Owner {
		if err := s.checkOwner(ctx, strings.TrimSpace(*c.Owner)); err != nil {
			return nil, err
		}
	}
	var closed bool
	out, err := s.store.MutateAction(ctx, id, a.audit(), func(act *Action, now time.Time) (*Mutation, error) {
		before := *act
		if c.Title != nil {
			act.Title = strings.TrimSpace(*c.Title)
		}
		if c.Type != nil {
			act.Type = *c.Type
		}
		if c.Owner != nil {
			act.Owner = strings.TrimSpace(*c.Owner)
		}
		if c.Due != nil {
			act.Due = dueDay(c.Due)
		}
		if c.Priority != nil {
			act.Priority = *c.Priority
		}
		if c.Reason != nil {
			act.Reason = *c.Reason
		}
		if c.Status != nil && *c.Status != act.Status {
			if !slices.Contains(ActionStatuses, *c.Status) {
				return nil, tsuna.Errorf(tsuna.EINVALID, "status: %q; use one of %s", tsuna.Truncate(*c.Status, 40), strings.Join(ActionStatuses, ", "))
			}
			act.Status = *c.Status
			if act.Status == ActionOpen {
				act.ClosedAt, act.Reason = nil, ""
			} else {
				act.ClosedAt = &now
				closed = true
			}
		}
		if err := act.validate(); err != nil {
			return nil, err
		}
		if sameAction(&before, act) {
			return nil, nil
		}
		act.UpdatedAt = now
		return &Mutation{Action: "update-action"}, nil
	})
	if err != nil {
		return nil, err
	}
	if out.Issue != nil && s.opts.Tracker != nil && (closed || c.Title != nil) {
		if _, err := s.opts.Tracker.Export(ctx, out.Issue, s.actionIssue(out)); err != nil {
			s.opts.Log.Warn("update the action's issue", "action", out.ID, "err", err)
		}
	}
	return out, nil
}

func sameAction(a, b *Action) bool {
	eqDay := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.Title == b.Title && a.Type == b.Type && a.Owner == b.Owner && eqDay(a.Due, b.Due) && a.Priority == b.Priority &&
		a.Status == b.Status && a.Reason == b.Reason
}

// TrackAction creates (or updates) the action's issue in the tracker.
func (s *Service) TrackAction(ctx context.Context, id int64, a Actor) (*Action, error) {
	if s.opts.Tracker == nil {
		return nil, tsuna.Errorf(tsuna.EUNAVAILABLE, "no tracker is configured; start tsuna serve with --github-repo and --github-token-file")
	}
	act, err := s.store.Action(ctx, id)
	if err != nil {
		return nil, err
	}
	ref, err := s.opts.Tracker.Export(ctx, act.Issue, s.actionIssue(act))
	if err != nil {
		return nil, err
	}
	return s.store.MutateAction(ctx, id, a.audit(), func(act *Action, now time.Time) (*Mutation, error) {
		if act.Issue != nil && *act.Issue == *ref {
			return nil, nil
		}
		act.Issue, act.UpdatedAt = ref, now
		return &Mutation{Action: "track-action"}, nil
	})
}

func (s *Service) actionIssue(act *Action) Issue {
	var b strings.Builder
	fmt.Fprintf(&b, "Follow-up action of postmortem %s (%s).\n\n", act.PostmortemRef, act.Type)
	fmt.Fprintf(&b, "- **Owner:** %s\n- **Priority:** %s\n", mdLine(act.Owner), act.Priority)
	if act.Due != nil {
		fmt.Fprintf(&b, "- **Due:** %s\n", act.Due.Format("2006-01-02"))
	}
	if s.opts.ConsoleURL != "" {
		fmt.Fprintf(&b, "\n[Open in tsuna](%s/postmortems/%s)\n", strings.TrimRight(s.opts.ConsoleURL, "/"), act.PostmortemRef)
	}
	b.WriteString("\nClosing this issue closes the action in tsuna.\n")
	return Issue{Title: tsuna.Truncate(act.Title, 250), Body: b.String(), Labels: []string{"postmortem-action", "action-" + act.Type, "priority-" + act.Priority},
		Closed: act.Status != ActionOpen}
}

// Actions lists actions matching f.
func (s *Service) Actions(ctx context.Context, f ActionFilter) ([]*Action, error) {
	if f.Limit < 0 || f.Limit > MaxList*10 {
		return nil, tsuna.Errorf(tsuna.EINVALID, "limit: %d; use 1 to %d", f.Limit, MaxList*10)
	}
	if f.Limit == 0 {
		f.Limit = 200
	}
	if f.Status != "" && !slices.Contains(ActionStatuses, f.Status) {
		return nil, tsuna.Errorf(tsuna.EINVALID, "status: %q; use one of %s", tsuna.Truncate(f.Status, 40), strings.Join(ActionStatuses, ", "))
	}
	return s.store.Actions(ctx, f)
}

// PostmortemActions lists the actions of a postmortem a may read.
func (s *Service) PostmortemActions(ctx context.Context, ref string, a Actor) ([]*Action, error) {
	p, err := s.Get(ctx, ref, a)
	if err != nil {
		return nil, err
	}
	return s.store.Actions(ctx, ActionFilter{Postmortem: p.ID, Limit: MaxActions})
}

// Overdue lists the overdue actions, of one team or all.
func (s *Service) Overdue(ctx context.Context, team string) ([]*Action, error) {
	return s.store.Actions(ctx, ActionFilter{Team: team, OverdueAt: s.opts.Now(), Limit: MaxList * 10})
}

// IssueClosed closes the action tracked by repo's issue number, as the
// tracker (a webhook or the periodic sync). It reports whether an action
// was closed; an unknown issue is not an error.
func (s *Service) IssueClosed(ctx context.Context, repo string, number int, source string) (bool, error) {
	act, err := s.store.ActionByIssue(ctx, repo, number)
	if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	closed := false
	_, err = s.store.MutateAction(ctx, act.ID, audit.Actor{Name: "github", Source: source}, func(a *Action, now time.Time) (*Mutation, error) {
		if a.Status != ActionOpen {
			return nil, nil
		}
		a.Status, a.ClosedAt, a.UpdatedAt = ActionDone, &now, now
		closed = true
		return &Mutation{Action: "issue-closed"}, nil
	})
	return closed, err
}

// Export exports a postmortem to the tracker, creating its issue the
// first time and updating the same issue afterwards.
func (s *Service) Export(ctx context.Context, ref string, a Actor) (*Postmortem, error) {
	if s.opts.Tracker == nil {
		return nil, tsuna.Errorf(tsuna.EUNAVAILABLE, "no tracker is configured; start tsuna serve with --github-repo and --github-token-file (tsuna postmortem export --format markdown needs none)")
	}
	p, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !CanEdit(p, a) && !a.isAny(p.Reviewers) {
		if !CanRead(p, a) {
			return nil, tsuna.Errorf(tsuna.ENOTFOUND, "postmortem %s not found", p.Ref)
		}
		return nil, forbidden(p, "exporting")
	}
	acts, err := s.store.Actions(ctx, ActionFilter{Postmortem: p.ID, Limit: MaxActions})
	if err != nil {
		return nil, err
	}
	body := Markdown(p, acts, s.URL(p))
	const maxIssueBody = 65536 // GitHub's limit, in characters
	if len([]rune(body)) > maxIssueBody {
		body = string([]rune(body)[:maxIssueBody-200]) + "\n\n_(cut to GitHub's limit; read the whole postmortem in tsuna)_\n"
	}
	labels := append([]string{"postmortem", strings.ToLower(p.Severity)}, p.Labels...)
	is := Issue{Title: tsuna.Truncate(p.Ref+": "+p.Title, 250), Body: body, Labels: uniq(labels)}
	issue, err := s.opts.Tracker.Export(ctx, p.Issue, is)
	if err != nil {
		return nil, err
	}
	return s.store.MutatePostmortem(ctx, p.ID, a.audit(), func(p *Postmortem, now time.Time) (*Mutation, error) {
		if p.Issue != nil && *p.Issue == *issue {
			return &Mutation{Action: "export"}, nil // re-exported: audited, unchanged
		}
		p.Issue = issue
		return &Mutation{Action: "export"}, nil
	})
}

// ErrNoTracker is returned by SyncTracker without a tracker.
var ErrNoTracker = errors.New("no tracker configured")

// SyncTracker closes the open actions whose issue was closed: the
// periodic sync, for trackers whose webhook is not configured or missed a
// delivery. It returns how many actions it closed.
func (s *Service) SyncTracker(ctx context.Context) (int, error) {
	if s.opts.Tracker == nil {
		return 0, ErrNoTracker
	}
	acts, err := s.store.Actions(ctx, ActionFilter{Status: ActionOpen, Tracked: true, Limit: MaxList * 10})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, act := range acts {
		closed, err := s.opts.Tracker.Closed(ctx, *act.Issue)
		if err != nil {
			return n, err
		}
		if closed {
			if ok, err := s.IssueClosed(ctx, act.Issue.Repo, act.Issue.Number, audit.SourceAPI); err != nil {
				return n, err
			} else if ok {
				n++
			}
		}
	}
	return n, nil
}
