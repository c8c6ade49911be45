package readiness

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/notify"
)

// Store keeps checklists, reviews, answers and feedback. Each mutation
// runs in one transaction with its audit record and the chat messages it
// queues in the outbox.
type Store interface {
	// PutChecklists stores the checklist versions that are new and returns
	// them. A version stored before with other content is an ECONFLICT
	// error, and nothing is stored. dryRun stores nothing.
	PutChecklists(ctx context.Context, cls []*catalog.Checklist, actor audit.Actor, dryRun bool) ([]*catalog.Checklist, error)
	// Checklist returns the highest stored version of the checklist name.
	Checklist(ctx context.Context, name string) (*catalog.Checklist, error)
	// Checklists returns every stored version, by name then version.
	Checklists(ctx context.Context) ([]ChecklistInfo, error)
	// CreateReview stores r as the current review of its service and
	// checklist, superseding the one before, and sets r.ID.
	CreateReview(ctx context.Context, r *Review, actor audit.Actor) error
	// CurrentReview returns the current review of service against the
	// checklist name, ENOTFOUND when there is none.
	CurrentReview(ctx context.Context, service, checklist string) (*Review, error)
	// ReviewByID returns review id.
	ReviewByID(ctx context.Context, id int64) (*Review, error)
	// MutateReview reads review id, calls fn (which changes it in place)
	// and stores it with what the mutation adds, under a lock.
	MutateReview(ctx context.Context, id int64, actor audit.Actor, fn func(r *Review, now time.Time) (*Mutation, error)) (*Review, error)
	// OpenReviews returns the IDs of every open review.
	OpenReviews(ctx context.Context) ([]int64, error)
	// Scorecard returns every catalog service that matches f with its
	// current review against f.Checklist (ReviewID 0 when none), by
	// service.
	Scorecard(ctx context.Context, f Filter) ([]Row, error)
	// ReviewsToScore returns the reviews of ids, with checklists and
	// answers, as far as Summarize reads them.
	ReviewsToScore(ctx context.Context, ids []int64) ([]*Review, error)
	// Feedback returns the feedback given on checklist name, newest first.
	Feedback(ctx context.Context, checklist string) ([]Feedback, error)

	Service(ctx context.Context, name string) (*catalog.Service, error)
	Team(ctx context.Context, name string) (*catalog.Team, error)
}

// Mutation is what a change of a review stores besides the review.
type Mutation struct {
	// Action is the audit action; "" writes no audit record.
	Action string
	// Answer is stored (replacing the item's answer), when not nil.
	Answer *Answer
	// Feedback is added, when not nil.
	Feedback *Feedback
	// Messages are queued in the outbox.
	Messages []Outgoing
}

// Outgoing is a chat message for a channel.
type Outgoing struct {
	Channel string
	Message notify.Message
}

// ChecklistInfo describes a stored checklist version.
type ChecklistInfo struct {
	Name      string    `json:"name"`
	Version   int       `json:"version"`
	Items     int       `json:"items"`
	Digest    string    `json:"digest"`
	AppliedBy string    `json:"appliedBy"`
	AppliedAt time.Time `json:"appliedAt"`
}

// Feedback is the retrospective of a review: what to improve in the
// checklist, kept with its version.
type Feedback struct {
	Checklist string    `json:"checklist"`
	Version   int       `json:"version"`
	ReviewID  int64     `json:"reviewId"`
	Service   string    `json:"service"`
	Text      string    `json:"text"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
}

// Filter selects scorecard rows; zero fields match all.
type Filter struct {
	Team      string
	Tier      int
	Lifecycle string
	Checklist string
}

// Row is one service on the scorecard.
type Row struct {
	Service   string `json:"service"`
	Team      string `json:"team"`
	Tier      int    `json:"tier"`
	Lifecycle string `json:"lifecycle"`
	Checklist string `json:"checklist"`
	Version   int    `json:"version"`
	// ReviewID is 0 for a service never reviewed.
	ReviewID int64      `json:"reviewId"`
	Status   string     `json:"status"`
	Stale    *Staleness `json:"stale,omitempty"`
	Summary  Summary    `json:"summary"`
}

// StatusNone is the status of a scorecard row of a service never reviewed.
const StatusNone = "none"

// Options configure a Service.
type Options struct {
	SLO         SLOEvaluator
	Alerts      AlertReader
	Incidents   IncidentSource
	Postmortems PostmortemSource
	// MajorSeverities make a review stale when an incident of theirs hits
	// the service (default SEV1 and SEV2).
	MajorSeverities []string
	// GateLevel, when set, denies deploys of production tier-1 services
	// below it (see Gate).
	GateLevel string
	// ConsoleURL links messages to the console.
	ConsoleURL string
	Now        func() time.Time
	Log        *slog.Logger
}

// Service is the readiness API every surface calls.
type Service struct {
	store Store
	opts  Options
}

// New returns a Service over store.
func New(store Store, opts Options) *Service {
	if opts.MajorSeverities == nil {
		opts.MajorSeverities = []string{"SEV1", "SEV2"}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, opts: opts}
}

//go:embed default-checklist.yaml
var defaultChecklistYAML []byte

// DefaultChecklistName names the checklist tsuna ships.
const DefaultChecklistName = "production-readiness"

var defaultChecklist = sync.OnceValue(func() *catalog.Checklist {
	cls, err := catalog.ChecklistsOf([]catalog.File{{Path: "default-checklist.yaml", Data: defaultChecklistYAML}})
	if err != nil || len(cls) != 1 {
		panic(fmt.Sprintf("readiness: the shipped checklist does not parse: %v", err))
	}
	return cls[0]
})

// DefaultChecklist returns the checklist tsuna ships, built from the
// reference's categories: stakeholders, architecture, resources and load,
// monitoring and logging, incident and failure.
func DefaultChecklist() *catalog.Checklist { return defaultChecklist() }

// Checklist returns the checklist in force named name ("" for the
// default): the highest stored version, else the shipped one.
func (s *Service) Checklist(ctx context.Context, name string) (*catalog.Checklist, error) {
	if name == "" {
		name = DefaultChecklistName
	}
	c, err := s.store.Checklist(ctx, name)
	if tsuna.ErrorCode(err) == tsuna.ENOTFOUND && name == DefaultChecklistName {
		return DefaultChecklist(), nil
	}
	return c, err
}

// Checklists lists the stored checklist versions and feedback counts.
func (s *Service) Checklists(ctx context.Context) ([]ChecklistInfo, error) {
	return s.store.Checklists(ctx)
}

// ApplyChecklists stores the checklists declared in files (already parsed
// by catalog.Parse) and marks the open reviews of older versions stale.
// It returns the versions added.
func (s *Service) ApplyChecklists(ctx context.Context, files []catalog.File, actor audit.Actor, dryRun bool) ([]*catalog.Checklist, error) {
	cls, err := catalog.ChecklistsOf(files)
	if err != nil {
		return nil, tsuna.Errorf(tsuna.EINVALID, "%v", err)
	}
	if len(cls) == 0 {
		return nil, nil
	}
	added, err := s.store.PutChecklists(ctx, cls, actor, dryRun)
	if err != nil || dryRun || len(added) == 0 {
		return added, err
	}
	ids, err := s.store.OpenReviews(ctx)
	if err != nil {
		return added, err
	}
	for _, id := range ids {
		if _, err := s.refresh(ctx, id, audit.Actor{Name: actor.Name, Source: actor.Source, RequestID: actor.RequestID}); err != nil {
			s.opts.Log.Warn("readiness: refresh after checklist change", "review", id, "err", err)
		}
	}
	return added, nil
}

// Open opens a review of service against checklist ("" for the default):
// the current review when it is open, of the version in force and not
// stale (refreshed), else a new one that carries over the manual answers
// that have not expired.
func (s *Service) Open(ctx context.Context, service, checklist string, actor audit.Actor) (*Review, bool, error) {
	svc, err := s.store.Service(ctx, service)
	if err != nil {
		return nil, false, err
	}
	cl, err := s.Checklist(ctx, checklist)
	if err != nil {
		return nil, false, err
	}
	now := s.opts.Now().UTC()
	cur, err := s.store.CurrentReview(ctx, svc.Name, cl.Name)
	if err != nil && tsuna.ErrorCode(err) != tsuna.ENOTFOUND {
		return nil, false, err
	}
	if cur != nil && cur.Status == StatusOpen && cur.Stale == nil && cur.Checklist.Version == cl.Version {
		r, err := s.refresh(ctx, cur.ID, actor)
		return r, false, err
	}
	team, _ := s.store.Team(ctx, svc.Team)
	r := &Review{Service: svc.Name, Team: svc.Team, Tier: svc.Tier, Lifecycle: svc.Lifecycle, Checklist: cl,
		Status: StatusOpen, OpenedBy: actor.Name, OpenedAt: now, EvaluatedAt: now, Answers: map[string]Answer{}}
	if cur != nil {
		for id, a := range cur.Answers {
			if it := findItem(cl, id); it != nil && now.Before(a.ExpiresAt) && (it.Manual || a.State == AcceptedRisk || a.State == NotApplicable) {
				r.Answers[id] = a
			}
		}
	}
	if r.Auto, err = Evaluate(cl, s.Facts(ctx, svc, team, r.Answers, now)); err != nil {
		return nil, false, err
	}
	_, r.Summary = Assess(r, now)
	if err := s.store.CreateReview(ctx, r, actor); err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// Current returns the current review of service against checklist, its
// facts refreshed.
func (s *Service) Current(ctx context.Context, service, checklist string, actor audit.Actor) (*Review, error) {
	if checklist == "" {
		checklist = DefaultChecklistName
	}
	svc, err := s.store.Service(ctx, service)
	if err != nil {
		return nil, err
	}
	cur, err := s.store.CurrentReview(ctx, svc.Name, checklist)
	if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "service %s has no review against %s; open one with tsuna readiness review %s", svc.Name, checklist, svc.Name)
	}
	if err != nil {
		return nil, err
	}
	if cur.Status != StatusOpen {
		return cur, nil
	}
	return s.refresh(ctx, cur.ID, actor)
}

// Answer records a person's answer to an item of the current open review
// of service: who and when, expiring after the item's period.
func (s *Service) Answer(ctx context.Context, service, checklist string, a Answer, actor audit.Actor) (*Review, error) {
	cur, err := s.Current(ctx, service, checklist, actor)
	if err != nil {
		return nil, err
	}
	if cur.Status != StatusOpen {
		return nil, tsuna.Errorf(tsuna.ECONFLICT, "the review of %s is %s; open a new one with tsuna readiness review %s", cur.Service, cur.Status, cur.Service)
	}
	a.Comment = strings.TrimSpace(a.Comment)
	if err := ValidateAnswer(cur, a); err != nil {
		return nil, err
	}
	return s.store.MutateReview(ctx, cur.ID, actor, func(r *Review, now time.Time) (*Mutation, error) {
		if r.Status != StatusOpen {
			return nil, tsuna.Errorf(tsuna.ECONFLICT, "the review of %s was %s meanwhile", r.Service, r.Status)
		}
		it := findItem(r.Checklist, a.Item)
		a.By, a.At, a.ExpiresAt = actor.Name, now, now.Add(it.Expires)
		if r.Answers == nil {
			r.Answers = map[string]Answer{}
		}
		r.Answers[a.Item] = a
		_, r.Summary = Assess(r, now)
		return &Mutation{Action: "answer", Answer: &a}, nil
	})
}

// Close closes the current review of service with the retrospective's
// feedback on the checklist, kept with its version.
func (s *Service) Close(ctx context.Context, service, checklist, feedback string, actor audit.Actor) (*Review, error) {
	feedback = strings.TrimSpace(feedback)
	switch {
	case feedback == "":
		return nil, tsuna.Errorf(tsuna.EINVALID, "feedback: required; say what to improve in the checklist (a missing question, one that did not apply), or \"nothing\"")
	case len(feedback) > MaxFeedback || !utf8.ValidString(feedback):
		return nil, tsuna.Errorf(tsuna.EINVALID, "feedback: %d bytes; keep it under %d bytes of UTF-8", len(feedback), MaxFeedback)
	}
	cur, err := s.Current(ctx, service, checklist, actor)
	if err != nil {
		return nil, err
	}
	if cur.Status != StatusOpen {
		return nil, tsuna.Errorf(tsuna.ECONFLICT, "the review of %s is already %s", cur.Service, cur.Status)
	}
	return s.store.MutateReview(ctx, cur.ID, actor, func(r *Review, now time.Time) (*Mutation, error) {
		if r.Status != StatusOpen {
			return nil, tsuna.Errorf(tsuna.ECONFLICT, "the review of %s was %s meanwhile", r.Service, r.Status)
		}
		r.Status, r.ClosedBy, r.ClosedAt = StatusClosed, actor.Name, &now
		_, r.Summary = Assess(r, now)
		return &Mutation{Action: "close", Feedback: &Feedback{Checklist: r.Checklist.Name, Version: r.Checklist.Version,
			ReviewID: r.ID, Service: r.Service, Text: feedback, By: actor.Name, At: now}}, nil
	})
}

// Feedback returns the retrospectives given on a checklist.
func (s *Service) Feedback(ctx context.Context, checklist string) ([]Feedback, error) {
	if checklist == "" {
		checklist = DefaultChecklistName
	}
	return s.store.Feedback(ctx, checklist)
}

// Refresh evaluates every open review's facts again (the periodic job):
// flipped facts, major incidents and new checklist versions make reviews
// stale, and the team is told once.
func (s *Service) Refresh(ctx context.Context) (int, error) {
	ids, err := s.store.OpenReviews(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if _, err := s.refresh(ctx, id, audit.Actor{Name: "tsuna", Source: audit.SourceCLI}); err != nil {
			s.opts.Log.Warn("readiness: refresh", "review", id, "err", err)
			continue
		}
		n++
	}
	return n, nil
}

// refresh evaluates review id's facts again and marks it stale when it
// no longer describes the service.
func (s *Service) refresh(ctx context.Context, id int64, actor audit.Actor) (*Review, error) {
	r, err := s.store.ReviewByID(ctx, id)
	if err != nil {
		return nil, err
	}
	svc, err := s.store.Service(ctx, r.Service)
	if err != nil {
		return nil, err
	}
	team, _ := s.store.Team(ctx, svc.Team)
	now := s.opts.Now().UTC()
	auto, err := Evaluate(r.Checklist, s.Facts(ctx, svc, team, r.Answers, now))
	if err != nil {
		return nil, err
	}
	var reasons []string
	if cl, err := s.Checklist(ctx, r.Checklist.Name); err == nil && cl.Version != r.Checklist.Version {
		reasons = append(reasons, fmt.Sprintf("checklist %s changed from version %d to %d", cl.Name, r.Checklist.Version, cl.Version))
	}
	if s.opts.Incidents != nil {
		if incs, err := s.opts.Incidents.ServiceIncidents(ctx, svc.Name, r.OpenedAt); err == nil {
			for _, i := range incs {
				if s.major(i.Severity) {
					reasons = append(reasons, fmt.Sprintf("%s incident %s hit the service on %s", i.Severity, i.Ref, i.ReportedAt.UTC().Format("2006-01-02 15:04 MST")))
					break
				}
			}
		}
	}
	if flipped := Flipped(r.Auto, auto); len(flipped) > 0 {
		reasons = append(reasons, "checks changed: "+flipDescription(r.Auto, auto, flipped))
	}
	return s.store.MutateReview(ctx, id, actor, func(r *Review, now time.Time) (*Mutation, error) {
		m := &Mutation{}
		if r.Status != StatusOpen {
			return nil, nil
		}
		r.Auto, r.EvaluatedAt = auto, now
		r.Team, r.Tier, r.Lifecycle = svc.Team, svc.Tier, svc.Lifecycle
		_, r.Summary = Assess(r, now)
		if r.Stale == nil && len(reasons) > 0 {
			r.Stale = &Staleness{Reason: strings.Join(reasons, "; "), Since: now}
			m.Action = "stale"
			if ch := svc.Channel(team); ch != "" {
				m.Messages = append(m.Messages, Outgoing{Channel: ch, Message: s.staleMessage(r)})
			}
		}
		return m, nil
	})
}

func flipDescription(before, after map[string]Auto, ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%s %s → %s", id, before[id].Result, after[id].Result)
	}
	return strings.Join(parts, ", ")
}

func (s *Service) staleMessage(r *Review) notify.Message {
	m := notify.Message{
		Key:     fmt.Sprintf("readiness/%d/stale", r.ID),
		Title:   fmt.Sprintf("Readiness review of %s is stale", r.Service),
		Status:  notify.StatusInfo,
		Summary: r.Stale.Reason,
		Body:    fmt.Sprintf("Look at it again: tsuna readiness review %s", r.Service),
		Fields: []notify.Field{{Name: "Service", Value: r.Service}, {Name: "Checklist", Value: fmt.Sprintf("%s v%d", r.Checklist.Name, r.Checklist.Version)},
			{Name: "Level", Value: levelName(r.Summary.Level)}},
	}
	if s.opts.ConsoleURL != "" {
		m.URL = strings.TrimRight(s.opts.ConsoleURL, "/") + "/readiness/" + r.Service
		m.Links = []notify.Link{{Title: "Review", URL: m.URL}}
	}
	return m
}

func levelName(l string) string {
	if l == "" {
		return "none"
	}
	return l
}

// Items returns review r item by item, as it stands now.
func (s *Service) Items(r *Review) ([]ItemResult, Summary) { return Assess(r, s.opts.Now().UTC()) }

// Scorecard returns every service matching f with its level and what
// blocks the next one, reviewed or not; summaries past their validity
// (an answer expired since) are computed again.
func (s *Service) Scorecard(ctx context.Context, f Filter) ([]Row, error) {
	if f.Checklist == "" {
		f.Checklist = DefaultChecklistName
	}
	rows, err := s.store.Scorecard(ctx, f)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now().UTC()
	var again []int64
	at := map[int64]int{}
	for i := range rows {
		if vu := rows[i].Summary.ValidUntil; rows[i].ReviewID != 0 && vu != nil && !now.Before(*vu) {
			again = append(again, rows[i].ReviewID)
			at[rows[i].ReviewID] = i
		}
		if rows[i].ReviewID == 0 {
			rows[i].Summary = Summary{Blocking: []string{}, Counts: map[string]int{}}
		}
	}
	if len(again) > 0 {
		reviews, err := s.store.ReviewsToScore(ctx, again)
		if err != nil {
			return nil, err
		}
		for _, r := range reviews {
			// The catalog's tier and lifecycle, as the row shows them.
			i := at[r.ID]
			r.Tier, r.Lifecycle = rows[i].Tier, rows[i].Lifecycle
			rows[i].Summary = Summarize(r, now)
		}
	}
	slices.SortFunc(rows, func(a, b Row) int { return strings.Compare(a.Service, b.Service) })
	return rows, nil
}

// GateDecision is the readiness part of a deploy gate.
type GateDecision struct {
	Allow  bool
	Reason string
}

// Gate applies the deploy-gate rule: a production tier-1 service whose
// level is below GateLevel may not deploy. Other services, and every
// service when GateLevel is unset, are allowed.
func (s *Service) Gate(ctx context.Context, svc *catalog.Service) (GateDecision, error) {
	if s.opts.GateLevel == "" || svc.Tier != 1 || svc.Lifecycle != catalog.LifecycleProduction {
		return GateDecision{Allow: true}, nil
	}
	cl, err := s.Checklist(ctx, "")
	if err != nil {
		return GateDecision{}, err
	}
	want := cl.LevelIndex(s.opts.GateLevel)
	if want < 0 {
		return GateDecision{}, tsuna.Errorf(tsuna.EINVALID, "the readiness gate level %q is not a level of checklist %s (%s)", s.opts.GateLevel, cl.Name, strings.Join(cl.Levels, ", "))
	}
	cur, err := s.store.CurrentReview(ctx, svc.Name, cl.Name)
	if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
		return GateDecision{Reason: fmt.Sprintf("readiness: tier-1 production services need level %s to deploy and %s was never reviewed; run tsuna readiness review %s", s.opts.GateLevel, svc.Name, svc.Name)}, nil
	}
	if err != nil {
		return GateDecision{}, err
	}
	_, sum := Assess(cur, s.opts.Now().UTC())
	if cl.LevelIndex(sum.Level) >= want {
		return GateDecision{Allow: true, Reason: fmt.Sprintf("readiness level %s", sum.Level)}, nil
	}
	return GateDecision{Reason: fmt.Sprintf("readiness: tier-1 production services need level %s to deploy; %s is at %s, blocked by %s",
		s.opts.GateLevel, svc.Name, levelName(sum.Level), strings.Join(sum.Blocking, ", "))}, nil
}
