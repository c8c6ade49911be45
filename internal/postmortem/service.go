package postmortem

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/notify"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// Store keeps postmortems and their actions. Every mutation runs in one
// transaction with its audit record (the previous text kept), the
// revision of the text it replaces, the chat messages it queues and the
// jobs it enqueues.
type Store interface {
	// CreatePostmortem stores p, numbering it, unless its incident has one
	// already: that one is returned with created false.
	CreatePostmortem(ctx context.Context, p *Postmortem, actor audit.Actor, m *Mutation) (out *Postmortem, created bool, err error)
	// MutatePostmortem reads postmortem id, calls fn with it (fn changes
	// it in place) and stores the result under the postmortem's lock. A
	// nil Mutation stores nothing.
	MutatePostmortem(ctx context.Context, id int64, actor audit.Actor, fn func(p *Postmortem, now time.Time) (*Mutation, error)) (*Postmortem, error)
	Postmortem(ctx context.Context, id int64) (*Postmortem, error)
	PostmortemByIncident(ctx context.Context, ref string) (*Postmortem, error)
	// Postmortems returns those matching f, newest first.
	Postmortems(ctx context.Context, f Filter) ([]*Postmortem, error)
	// SearchPostmortems searches the published postmortems' title and
	// text for every term of terms, best match first, with excerpts.
	SearchPostmortems(ctx context.Context, terms []string, f Filter) ([]Hit, error)
	// PostmortemRevisions returns the previous texts, newest first.
	PostmortemRevisions(ctx context.Context, id int64) ([]Revision, error)

	CreateAction(ctx context.Context, a *Action, actor audit.Actor) (*Action, error)
	MutateAction(ctx context.Context, id int64, actor audit.Actor, fn func(a *Action, now time.Time) (*Mutation, error)) (*Action, error)
	Action(ctx context.Context, id int64) (*Action, error)
	Actions(ctx context.Context, f ActionFilter) ([]*Action, error)
	ActionByIssue(ctx context.Context, repo string, number int) (*Action, error)
	ActionCounts(ctx context.Context, now time.Time) ([]TeamCounts, error)

	// SendOnce queues msg for channel in the outbox unless key was sent
	// before, and reports whether it queued it: exactly once across
	// replicas and retries.
	SendOnce(ctx context.Context, key, channel string, msg notify.Message) (bool, error)
	// Cursor returns the named position in the audit log, starting at its
	// head the first time it is asked for; SetCursor moves it.
	Cursor(ctx context.Context, name string) (int64, error)
	SetCursor(ctx context.Context, name string, seq int64) error
	// TeamChanges returns the audit records of Team objects after seq,
	// oldest first.
	TeamChanges(ctx context.Context, after int64, limit int) ([]audit.Record, error)

	// PutPostmortemTemplates stores the template versions not stored yet,
	// audited, and returns them (only returns them with dryRun); a
	// version stored with other content is a conflict.
	PutPostmortemTemplates(ctx context.Context, ts []catalog.PostmortemTemplate, actor audit.Actor, dryRun bool) ([]catalog.PostmortemTemplate, error)
	// PostmortemTemplates returns the newest stored version of each
	// template, by name.
	PostmortemTemplates(ctx context.Context) ([]catalog.PostmortemTemplate, error)

	Team(ctx context.Context, name string) (*catalog.Team, error)
	Teams(ctx context.Context) ([]*catalog.Team, error)
	Service(ctx context.Context, name string) (*catalog.Service, error)
	AlertByFingerprint(ctx context.Context, fingerprint string) (*alerting.StoredAlert, error)
}

// Mutation is what a change stores besides the postmortem or action.
type Mutation struct {
	// Action is the audit action; "" writes no audit record.
	Action   string
	Messages []Outgoing
	Jobs     []jobs.Job
}

// Outgoing is a chat message for a channel (a name, an ID or a user ID
// for a direct message).
type Outgoing struct {
	Channel string
	Message notify.Message
}

// Filter selects postmortems; zero fields match everything.
type Filter struct {
	Status   string
	Service  string
	Team     string
	Severity string
	Label    string
	// Since and Until bound the creation time.
	Since, Until time.Time
	// Related keeps those sharing a service or a label with these.
	RelatedServices, RelatedLabels []string
	// Exclude leaves one postmortem out (the one related ones are for).
	Exclude int64
	// Before pages backwards: ids below it.
	Before int64
	Limit  int
}

// Hit is a search result.
type Hit struct {
	Postmortem *Postmortem `json:"postmortem"`
	// Rank is higher for better matches.
	Rank float64 `json:"rank"`
	// Excerpt is plain text around the matches; Marks are the byte ranges
	// of the matched words in it, to highlight.
	Excerpt string   `json:"excerpt"`
	Marks   [][2]int `json:"marks"`
}

// Revision is a previous text of a postmortem.
type Revision struct {
	Revision int       `json:"revision"`
	Title    string    `json:"title"`
	Body     string    `json:"body"`
	Actor    string    `json:"actor"`
	Time     time.Time `json:"time"`
}

// Incidents reads incidents; *incident.Service implements it.
type Incidents interface {
	Get(ctx context.Context, number int64) (*incident.Incident, error)
	Timeline(ctx context.Context, number int64, f incident.TimelineFilter) ([]incident.Entry, error)
}

// Linker links a postmortem to its incident; *incident.Service
// implements it.
type Linker interface {
	Update(ctx context.Context, number int64, c incident.Change, a incident.Actor) (*incident.Incident, error)
}

// Budget reads an SLO's budget history; *budget.Evaluator implements it.
type Budget interface {
	History(ctx context.Context, s *slo.SLO, from, to time.Time, step time.Duration) ([]budget.Point, error)
}

// Tracker is an issue tracker postmortems and actions are exported to;
// internal/github implements it.
type Tracker interface {
	// Repo names where issues go, such as owner/name.
	Repo() string
	// Export creates the issue, or updates ref's when ref is not nil.
	Export(ctx context.Context, ref *IssueRef, is Issue) (*IssueRef, error)
	// Closed reports whether ref's issue is closed.
	Closed(ctx context.Context, ref IssueRef) (bool, error)
}

// Issue is what an exported issue holds.
type Issue struct {
	Title  string
	Body   string
	Labels []string
	// Closed closes the issue (an action done or not to be done).
	Closed bool
}

// Enqueuer enqueues jobs idempotently; *store.DB implements it.
type Enqueuer interface {
	Enqueue(ctx context.Context, j jobs.Job) (bool, error)
}

// Options configure a Service.
type Options struct {
	Incidents Incidents
	// Linker, when set, records the postmortem on its incident.
	Linker Linker
	Budget Budget
	// Tracker, when set, receives exports and action issues.
	Tracker Tracker
	Jobs    Enqueuer
	// Templates, when set, returns the postmortem templates instead of
	// the store (those applied with the catalog); the embedded default is
	// used when none is named "default".
	Templates func() []catalog.PostmortemTemplate
	// Levels returns the severity levels, for the welcome message.
	Levels func() []catalog.SeverityLevel
	// DueDays are the business days to publish in, by severity
	// (DefaultDueDays when nil).
	DueDays map[string]int
	// Phrases are the blaming phrases hinted at (DefaultPhrases plus
	// these).
	Phrases []Phrase
	// ConsoleURL is the console's base URL, for links.
	ConsoleURL string
	// DigestHour is the UTC hour of Monday the weekly digest goes (9).
	DigestHour int
	// ReminderEvery is the time between reminders of an overdue
	// postmortem (7 days).
	ReminderEvery time.Duration
	Now           func() time.Time
	Log           *slog.Logger
}

// Service is the postmortem API every surface calls.
type Service struct {
	store Store
	opts  Options
}

// New returns a Service over store.
func New(store Store, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.DueDays == nil {
		opts.DueDays = DefaultDueDays
	}
	if opts.Levels == nil {
		opts.Levels = catalog.DefaultSeverityLevels
	}
	if opts.DigestHour <= 0 || opts.DigestHour > 23 {
		opts.DigestHour = 9
	}
	if opts.ReminderEvery <= 0 {
		opts.ReminderEvery = 7 * 24 * time.Hour
	}
	opts.Phrases = append(slices.Clone(DefaultPhrases), opts.Phrases...)
	return &Service{store: store, opts: opts}
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.store }

// Phrases returns the blaming phrases in force.
func (s *Service) Phrases() []Phrase { return s.opts.Phrases }

// HasTracker reports whether a tracker is configured.
func (s *Service) HasTracker() bool { return s.opts.Tracker != nil }

// Actor is who acts on a postmortem, and what they may change.
type Actor struct {
	Name      string
	Source    string
	RequestID string
	// Admin may change every postmortem; Teams lists the teams whose
	// postmortems it may change (an editor's team, a member's teams).
	Admin bool
	Teams []string
	// Slack is the chat user's ID, when acting from chat.
	Slack string
	// ReadOnly is a viewer: it reads, whatever lists name it.
	ReadOnly bool
}

func (a Actor) audit() audit.Actor {
	return audit.Actor{Name: a.Name, Source: a.Source, RequestID: a.RequestID}
}

func (a Actor) is(person string) bool {
	return !a.ReadOnly && person != "" && (person == a.Name || a.Slack != "" && person == a.Slack)
}

func (a Actor) isAny(people []string) bool { return slices.ContainsFunc(people, a.is) }

// CanEdit reports whether a may change p: an admin, an editor of its team
// or one of its authors.
func CanEdit(p *Postmortem, a Actor) bool {
	return !a.ReadOnly && (a.Admin || p.Team != "" && slices.Contains(a.Teams, p.Team) || a.isAny(p.Authors))
}

// CanRead reports whether a may read p: anyone once published; its
// editors and reviewers before.
func CanRead(p *Postmortem, a Actor) bool {
	return p.Status == StatusPublished || CanEdit(p, a) || a.isAny(p.Reviewers)
}

func forbidden(p *Postmortem, what string) error {
	team := "its team"
	if p.Team != "" {
		team = "team " + p.Team
	}
	return tsuna.Errorf(tsuna.EFORBIDDEN, "%s %s needs one of its authors, an editor of %s or an admin", what, p.Ref, team)
}

// Template returns the template named name ("" for the default): the
// newest version applied with the catalog, else the embedded default.
func (s *Service) Template(ctx context.Context, name string) (catalog.PostmortemTemplate, error) {
	if name == "" {
		name = DefaultTemplateName
	}
	ts, err := s.templates(ctx)
	if err != nil {
		return catalog.PostmortemTemplate{}, err
	}
	var names []string
	for _, t := range ts {
		if t.Name == name {
			return t, nil
		}
		names = append(names, t.Name)
	}
	if name == DefaultTemplateName {
		return DefaultTemplate(), nil
	}
	if !slices.Contains(names, DefaultTemplateName) {
		names = append(names, DefaultTemplateName)
	}
	return catalog.PostmortemTemplate{}, tsuna.Errorf(tsuna.EINVALID, "template: %q is not a postmortem template; use one of %s", tsuna.Truncate(name, 60), strings.Join(names, ", "))
}

// Templates returns the templates in force, the default included.
func (s *Service) Templates(ctx context.Context) ([]catalog.PostmortemTemplate, error) {
	out, err := s.templates(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(out, func(t catalog.PostmortemTemplate) bool { return t.Name == DefaultTemplateName }) {
		out = append([]catalog.PostmortemTemplate{DefaultTemplate()}, out...)
	}
	return out, nil
}

func (s *Service) templates(ctx context.Context) ([]catalog.PostmortemTemplate, error) {
	if s.opts.Templates != nil {
		return s.opts.Templates(), nil
	}
	return s.store.PostmortemTemplates(ctx)
}

// ApplyTemplates stores the postmortem templates declared in files
// (checked by catalog.Parse) that are not stored yet, and returns them;
// with dryRun it only checks that they can be (a changed version is
// refused) and returns them. A draft takes the newest version of its
// template, on every replica, from the next draft on.
func (s *Service) ApplyTemplates(ctx context.Context, files []catalog.File, actor audit.Actor, dryRun bool) ([]catalog.PostmortemTemplate, error) {
	ts, err := catalog.PostmortemTemplatesOf(files)
	if err != nil {
		return nil, tsuna.Errorf(tsuna.EINVALID, "%v", err)
	}
	if len(ts) == 0 {
		return nil, nil
	}
	return s.store.PutPostmortemTemplates(ctx, ts, actor, dryRun)
}

// DueDate returns the day a postmortem of severity drafted at t is due.
func (s *Service) DueDate(severity string, t time.Time) time.Time {
	days, ok := s.opts.DueDays[severity]
	if !ok {
		days = DefaultDue
	}
	return AddBusinessDays(t, days)
}

// DraftRequest is what drafting a postmortem takes.
type DraftRequest struct {
	// Incident is the incident's reference, such as INC-42.
	Incident string `json:"incident"`
	// Template names the template ("" for the default).
	Template string `json:"template,omitempty"`
	// Timeline is "all" (the default) or "key": pinned messages, status
	// updates and the changes of status, severity and timestamps.
	Timeline string `json:"timeline,omitempty"`
}

// Timeline selections.
const (
	TimelineAll = "all"
	TimelineKey = "key"
)

// keyKinds are the timeline entries of a "key" timeline.
var keyKinds = []string{incident.EntryDeclared, incident.EntryStatus, incident.EntrySeverity, incident.EntryTimestamp,
	incident.EntryUpdate, incident.EntryPin, incident.EntryAlert}

// Draft drafts the postmortem of an incident, or returns the one it has
// (created false). The incident's lead, an editor of its team or an admin
// may draft.
func (s *Service) Draft(ctx context.Context, req DraftRequest, a Actor) (*Postmortem, bool, error) {
	if s.opts.Incidents == nil {
		return nil, false, tsuna.Errorf(tsuna.EUNAVAILABLE, "incidents are not served here: a postmortem is drafted from an incident")
	}
	n, err := incident.ParseRef(req.Incident)
	if err != nil {
		return nil, false, tsuna.Errorf(tsuna.EINVALID, "incident: %s", tsuna.ErrorMessage(err))
	}
	if req.Timeline == "" {
		req.Timeline = TimelineAll
	}
	if req.Timeline != TimelineAll && req.Timeline != TimelineKey {
		return nil, false, tsuna.Errorf(tsuna.EINVALID, "timeline: %q; use all or key", tsuna.Truncate(req.Timeline, 20))
	}
	tmpl, err := s.Template(ctx, req.Template)
	if err != nil {
		return nil, false, err
	}
	inc, err := s.opts.Incidents.Get(ctx, n)
	if err != nil {
		return nil, false, err
	}
	if existing, err := s.store.PostmortemByIncident(ctx, inc.Ref); err == nil {
		return existing, false, nil
	} else if tsuna.ErrorCode(err) != tsuna.ENOTFOUND {
		return nil, false, err
	}
	if !incident.CanChange(inc, incident.Actor{Name: a.Name, Admin: a.Admin, Teams: a.Teams, Slack: a.Slack}) {
		team := "its team"
		if inc.Team != "" {
			team = "team " + inc.Team
		}
		return nil, false, tsuna.Errorf(tsuna.EFORBIDDEN, "drafting the postmortem of %s needs its lead, an editor of %s or an admin", inc.Ref, team)
	}
	entries, err := s.opts.Incidents.Timeline(ctx, n, incident.TimelineFilter{})
	if err != nil {
		return nil, false, err
	}
	if req.Timeline == TimelineKey {
		entries = slices.DeleteFunc(entries, func(e incident.Entry) bool { return !slices.Contains(keyKinds, e.Kind) })
	}
	now := s.opts.Now().UTC()
	facts := s.facts(ctx, inc, now)
	facts.TimelineEntries = min(len(entries), MaxTimelineLines)
	authors := []string{a.Name}
	if inc.Lead != "" && inc.Lead != a.Name {
		authors = append(authors, inc.Lead)
	}
	due := s.DueDate(inc.Severity, now)
	p := &Postmortem{Incident: inc.Ref, Title: tsuna.Truncate(inc.Title, MaxTitle), Severity: inc.Severity, Services: slices.Clone(inc.Services),
		Team: inc.Team, Status: StatusDraft, Authors: authors, Reviewers: []string{}, Labels: []string{},
		Template: tmpl.Name, TemplateVersion: tmpl.Version, Facts: facts, Due: &due, Revision: 1, CreatedAt: now}
	if p.Services == nil {
		p.Services = []string{}
	}
	p.Body = render(draftInput{inc: inc, entries: entries, facts: facts, authors: authors, due: &due, template: tmpl})
	if len(p.Body) > MaxBody {
		p.Body = tsuna.Truncate(p.Body, MaxBody-100) + "\n\n_(cut: the draft was longer than the limit)_\n"
	}
	if err := p.Validate(); err != nil {
		return nil, false, err
	}
	m := &Mutation{Action: "draft"}
	m.Jobs = append(m.Jobs, s.overdueJob(inc.Ref, due, 0))
	out, created, err := s.store.CreatePostmortem(ctx, p, a.audit(), m)
	if err != nil {
		return nil, false, err
	}
	if created && s.opts.Linker != nil {
		ref := out.Ref
		if _, err := s.opts.Linker.Update(ctx, n, incident.Change{Postmortem: &ref}, incident.Actor{Name: a.Name, Source: a.Source, RequestID: a.RequestID, Admin: true}); err != nil {
			s.opts.Log.Warn("link the postmortem to its incident", "incident", inc.Ref, "postmortem", out.Ref, "err", err)
		}
	}
	return out, created, nil
}

// facts reads what a draft states about the incident.
func (s *Service) facts(ctx context.Context, inc *incident.Incident, now time.Time) Facts {
	f := Facts{Timestamps: inc.Timestamps, Intervals: Intervals(inc.Timestamps), Budget: []BudgetSpent{}, Alerts: []Alert{}, Participants: []Participant{}}
	if inc.Lead != "" {
		f.Participants = append(f.Participants, Participant{Role: "lead", Person: inc.Lead})
	}
	for _, role := range sortedKeys(inc.Roles) {
		f.Participants = append(f.Participants, Participant{Role: role, Person: inc.Roles[role]})
	}
	if inc.ReportedBy != "" {
		f.Participants = append(f.Participants, Participant{Role: "reporter", Person: inc.ReportedBy})
	}
	for _, fp := range inc.Alerts {
		al, err := s.store.AlertByFingerprint(ctx, fp)
		if err != nil {
			f.Alerts = append(f.Alerts, Alert{Fingerprint: fp, Name: fp})
			continue
		}
		a := Alert{Fingerprint: fp, Name: al.Labels["alertname"], Summary: al.Annotations["summary"], StartsAt: al.StartsAt.UTC(), EndsAt: al.EndsAt}
		if a.Name == "" {
			a.Name = fp
		}
		f.Alerts = append(f.Alerts, a)
	}
	from := firstTime(inc.Timestamps.ImpactStarted, inc.Timestamps.Detected, inc.Timestamps.Reported)
	to := firstTime(inc.Timestamps.Resolved, inc.Timestamps.Mitigated)
	end := now
	if to != nil {
		end = *to
	}
	for _, name := range inc.Services {
		svc, err := s.store.Service(ctx, name)
		if err != nil {
			continue
		}
		for _, o := range svc.SLOs {
			f.Budget = append(f.Budget, s.budgetSpent(ctx, svc.Name, o, from, end))
		}
	}
	return f
}

// budgetPoints is how many steps a budget chart has.
const budgetPoints = 60

// budgetSpent reads the SLO's remaining budget over [from, to] and
// returns what it lost: remaining at from minus remaining at to.
func (s *Service) budgetSpent(ctx context.Context, service string, o *slo.SLO, from *time.Time, to time.Time) BudgetSpent {
	out := BudgetSpent{Service: service, SLO: o.Name, Objective: o.Objective, To: to.UTC()}
	switch {
	case from == nil:
		out.Reason = "the incident has no start time"
		return out
	case !to.After(*from):
		out.From, out.Reason = from.UTC(), "the incident ended when it started"
		return out
	case s.opts.Budget == nil:
		out.From, out.Reason = from.UTC(), "no budget history is configured"
		return out
	}
	out.From = from.UTC()
	step := to.Sub(*from) / budgetPoints
	if step < time.Second {
		step = time.Second
	}
	// One more step before and after, so the edges have a point even
	// when the series is scraped at an offset.
	pts, err := s.opts.Budget.History(ctx, o, from.Add(-step), to.Add(step), step)
	if err != nil {
		out.Reason = tsuna.Truncate(err.Error(), 300)
		return out
	}
	before, after := pointAt(pts, *from), pointAt(pts, to)
	if before == nil || after == nil {
		out.Reason = "no data in the budget history around the incident"
		return out
	}
	b, a := before.BudgetRemaining, after.BudgetRemaining
	spent := slo.Round(b-a, 6)
	out.RemainingBefore, out.RemainingAfter, out.Spent = &b, &a, &spent
	for _, p := range pts {
		out.Points = append(out.Points, BudgetPoint{Time: p.Time.UTC(), Remaining: p.BudgetRemaining})
	}
	return out
}

// pointAt returns the last point at or before t, else the first after it
// within the history.
func pointAt(pts []budget.Point, t time.Time) *budget.Point {
	var best *budget.Point
	for i := range pts {
		if !pts[i].Time.After(t) {
			best = &pts[i]
		}
	}
	if best == nil && len(pts) > 0 {
		best = &pts[0]
	}
	return best
}

// Intervals returns TTD, TTA, TTM and TTR of the timestamps, with their
// origins; one whose timestamps are missing has no figure.
func Intervals(t incident.Timestamps) []Interval {
	iv := func(name string, a, b *time.Time) Interval {
		out := Interval{Name: name, Origin: incident.Origins[name]}
		if a != nil && b != nil {
			v := b.Sub(*a).Seconds()
			out.Seconds = &v
		}
		return out
	}
	return []Interval{
		iv("ttd", t.ImpactStarted, t.Detected),
		iv("tta", t.Detected, t.Acknowledged),
		iv("ttm", t.ImpactStarted, t.Mitigated),
		iv("ttr", t.ImpactStarted, t.Resolved),
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Get returns postmortem ref (PM-7, or its incident's INC-42) if a may
// read it.
func (s *Service) Get(ctx context.Context, ref string, a Actor) (*Postmortem, error) {
	p, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !CanRead(p, a) {
		// Drafts are not shown to whom may not read them, nor said to exist.
		return nil, tsuna.Errorf(tsuna.ENOTFOUND, "postmortem %s not found (drafts are shown to their authors, reviewers and team only)", p.Ref)
	}
	return p, nil
}

func (s *Service) lookup(ctx context.Context, ref string) (*Postmortem, error) {
	if v := strings.TrimSpace(ref); len(v) > 4 && strings.EqualFold(v[:4], "INC-") {
		n, err := incident.ParseRef(v)
		if err != nil {
			return nil, err
		}
		return s.store.PostmortemByIncident(ctx, incident.RefOf(n))
	}
	id, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	return s.store.Postmortem(ctx, id)
}

// List returns the postmortems matching f that a may read: the library
// (published ones) unless f asks for another status.
func (s *Service) List(ctx context.Context, f Filter, a Actor) ([]*Postmortem, error) {
	if err := checkFilter(&f); err != nil {
		return nil, err
	}
	list, err := s.store.Postmortems(ctx, f)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list, func(p *Postmortem) bool { return !CanRead(p, a) }), nil
}

func checkFilter(f *Filter) error {
	if f.Limit < 0 || f.Limit > MaxList {
		return tsuna.Errorf(tsuna.EINVALID, "limit: %d; use 1 to %d", f.Limit, MaxList)
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Status != "" && !slices.Contains(Statuses, f.Status) {
		return tsuna.Errorf(tsuna.EINVALID, "status: %q; use one of %s", tsuna.Truncate(f.Status, 40), strings.Join(Statuses, ", "))
	}
	if f.Label != "" {
		if err := checkLabels("label", []string{f.Label}); err != nil {
			return err
		}
	}
	return nil
}

// Library returns the published postmortems matching f, those labelled
// recommended first (the reading list), then newest first.
func (s *Service) Library(ctx context.Context, f Filter) ([]*Postmortem, error) {
	f.Status = StatusPublished
	if err := checkFilter(&f); err != nil {
		return nil, err
	}
	list, err := s.store.Postmortems(ctx, f)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(list, func(a, b *Postmortem) int {
		ra, rb := slices.Contains(a.Labels, LabelRecommended), slices.Contains(b.Labels, LabelRecommended)
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		}
		return 0
	})
	return list, nil
}

// ReadingList returns the published postmortems labelled recommended.
func (s *Service) ReadingList(ctx context.Context, limit int) ([]*Postmortem, error) {
	return s.store.Postmortems(ctx, Filter{Status: StatusPublished, Label: LabelRecommended, Limit: max(1, min(limit, MaxList))})
}

// Related returns published postmortems that share a service or a label
// with the given ones (a service page, an incident, a postmortem).
func (s *Service) Related(ctx context.Context, services, labels []string, exclude int64, limit int) ([]*Postmortem, error) {
	if len(services) == 0 && len(labels) == 0 {
		return []*Postmortem{}, nil
	}
	return s.store.Postmortems(ctx, Filter{Status: StatusPublished, RelatedServices: services, RelatedLabels: labels, Exclude: exclude, Limit: max(1, min(limit, MaxList))})
}

// Search searches the library (published postmortems only) for the
// words of query, best match first.
func (s *Service) Search(ctx context.Context, query string, f Filter) ([]Hit, error) {
	terms, err := Terms(query)
	if err != nil {
		return nil, err
	}
	f.Status = StatusPublished
	if err := checkFilter(&f); err != nil {
		return nil, err
	}
	return s.store.SearchPostmortems(ctx, terms, f)
}

// Terms splits a search query into its words: letters and digits, at
// most MaxQueryTerm of them; operators of the engines have no effect.
func Terms(query string) ([]string, error) {
	if len(query) > MaxQuery {
		return nil, tsuna.Errorf(tsuna.EINVALID, "q: %d bytes; at most %d", len(query), MaxQuery)
	}
	if err := checkText("q", query, MaxQuery, true); err != nil {
		return nil, err
	}
	words := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool { return !isWord(r) || r == '_' })
	var out []string
	for _, w := range words {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return nil, tsuna.Errorf(tsuna.EINVALID, "q: no word to search for; use letters or digits")
	}
	if len(out) > MaxQueryTerm {
		return nil, tsuna.Errorf(tsuna.EINVALID, "q: %d words; at most %d", len(out), MaxQueryTerm)
	}
	return out, nil
}

// Revisions returns the previous texts of a postmortem a may read.
func (s *Service) Revisions(ctx context.Context, ref string, a Actor) ([]Revision, error) {
	p, err := s.Get(ctx, ref, a)
	if err != nil {
		return nil, err
	}
	return s.store.PostmortemRevisions(ctx, p.ID)
}

// Change edits a postmortem; nil fields are unchanged.
type Change struct {
	Title     *string    `json:"title,omitempty"`
	Body      *string    `json:"body,omitempty"`
	Authors   *[]string  `json:"authors,omitempty"`
	Reviewers *[]string  `json:"reviewers,omitempty"`
	Labels    *[]string  `json:"labels,omitempty"`
	Due       *time.Time `json:"due,omitempty"`
	// Revision, when set, is the revision the edit was based on: the edit
	// is refused (409) when the text changed since.
	Revision int `json:"revision,omitempty"`
}

// Edit changes a postmortem as a: its authors, an editor of its team or
// an admin; its reviewers may change the labels. Every change is audited
// and a changed text keeps the previous one as a revision.
func (s *Service) Edit(ctx context.Context, ref string, c Change, a Actor) (*Postmortem, error) {
	p, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.store.MutatePostmortem(ctx, p.ID, a.audit(), func(p *Postmortem, now time.Time) (*Mutation, error) {
		labelsOnly := c.Title == nil && c.Body == nil && c.Authors == nil && c.Reviewers == nil && c.Due == nil
		if !CanEdit(p, a) && !(labelsOnly && a.isAny(p.Reviewers)) {
			if !CanRead(p, a) {
				return nil, tsuna.Errorf(tsuna.ENOTFOUND, "postmortem %s not found", p.Ref)
			}
			return nil, forbidden(p, "editing")
		}
		if c.Revision != 0 && c.Revision != p.Revision && (c.Body != nil || c.Title != nil) {
			return nil, tsuna.Errorf(tsuna.ECONFLICT, "revision: %s is at revision %d, the edit was based on %d; someone changed it meanwhile: read it again and reapply the edit", p.Ref, p.Revision, c.Revision)
		}
		changed := false
		if c.Title != nil && *c.Title != p.Title {
			p.Title, changed = strings.TrimSpace(*c.Title), true
		}
		if c.Body != nil && *c.Body != p.Body {
			p.Body, changed = *c.Body, true
		}
		if changed {
			p.Revision++
		}
		for _, l := range []struct {
			in  *[]string
			out *[]string
		}{{c.Authors, &p.Authors}, {c.Reviewers, &p.Reviewers}, {c.Labels, &p.Labels}} {
			if l.in != nil {
				v := uniq(*l.in)
				if !slices.Equal(v, *l.out) {
					*l.out, changed = v, true
				}
			}
		}
		if c.Due != nil {
			d := dueDay(c.Due)
			if p.Due == nil || !d.Equal(*p.Due) {
				p.Due, changed = d, true
			}
		}
		if !changed {
			return nil, nil
		}
		if err := p.Validate(); err != nil {
			return nil, err
		}
		p.UpdatedAt = now
		m := &Mutation{Action: "edit"}
		if c.Due != nil && p.Status != StatusPublished {
			m.Jobs = append(m.Jobs, s.overdueJob(p.Incident, *p.Due, 0))
		}
		return m, nil
	})
}

func uniq(in []string) []string {
	out := []string{}
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Review sends a postmortem for review by reviewers (added to its
// reviewers); it needs at least one reviewer. Authors, team editors and
// admins may.
func (s *Service) Review(ctx context.Context, ref string, reviewers []string, a Actor) (*Postmortem, error) {
	return s.move(ctx, ref, StatusInReview, a, func(p *Postmortem) (*Mutation, error) {
		p.Reviewers = uniq(append(slices.Clone(p.Reviewers), reviewers...))
		if len(p.Reviewers) == 0 {
			return nil, tsuna.Errorf(tsuna.EINVALID, "reviewers: name at least one reviewer (a catalog member's email or a token name)")
		}
		m := &Mutation{Action: "review"}
		if ch := s.teamChannel(ctx, p.Team); ch != "" {
			m.Messages = append(m.Messages, Outgoing{Channel: ch, Message: notify.Message{
				Key: "postmortem/" + p.Ref + "/review", Title: "Postmortem ready for review: " + p.Title, Status: notify.StatusInfo, Severity: p.Severity,
				Summary: fmt.Sprintf("%s of %s, by %s", p.Ref, p.Incident, strings.Join(p.Authors, ", ")),
				Fields:  []notify.Field{{Name: "Reviewers", Value: strings.Join(p.Reviewers, ", ")}},
				Links:   s.links(p)}})
		}
		return m, nil
	})
}

// Publish publishes a postmortem in review: it enters the library. Its
// reviewers, team editors and admins may.
func (s *Service) Publish(ctx context.Context, ref string, a Actor) (*Postmortem, error) {
	return s.move(ctx, ref, StatusPublished, a, func(p *Postmortem) (*Mutation, error) {
		return &Mutation{Action: "publish"}, nil
	})
}

// Reopen returns a postmortem to draft (changes requested in review).
func (s *Service) Reopen(ctx context.Context, ref string, a Actor) (*Postmortem, error) {
	return s.move(ctx, ref, StatusDraft, a, func(p *Postmortem) (*Mutation, error) {
		return &Mutation{Action: "reopen"}, nil
	})
}

func (s *Service) move(ctx context.Context, ref, to string, a Actor, fn func(*Postmortem) (*Mutation, error)) (*Postmortem, error) {
	p, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.store.MutatePostmortem(ctx, p.ID, a.audit(), func(p *Postmortem, now time.Time) (*Mutation, error) {
		reviewer := a.isAny(p.Reviewers)
		if !CanEdit(p, a) && !(reviewer && to != StatusInReview) {
			if !CanRead(p, a) {
				return nil, tsuna.Errorf(tsuna.ENOTFOUND, "postmortem %s not found", p.Ref)
			}
			return nil, forbidden(p, "changing the status of")
		}
		if p.Status == to {
			return nil, nil
		}
		if !CanMove(p.Status, to) {
			return nil, tsuna.Errorf(tsuna.ECONFLICT, "status: %s is %s and cannot go to %s; allowed: %s", p.Ref, p.Status, to, strings.Join(transitions[p.Status], ", "))
		}
		m, err := fn(p)
		if err != nil {
			return nil, err
		}
		p.Status, p.UpdatedAt = to, now
		if to == StatusPublished {
			p.PublishedAt = &now
		}
		return m, p.Validate()
	})
}

func (s *Service) teamChannel(ctx context.Context, team string) string {
	if team == "" {
		return ""
	}
	t, err := s.store.Team(ctx, team)
	if err != nil {
		return ""
	}
	return t.Chat.Channel
}

// URL returns the console link of a postmortem, or "".
func (s *Service) URL(p *Postmortem) string {
	if s.opts.ConsoleURL == "" {
		return ""
	}
	return strings.TrimRight(s.opts.ConsoleURL, "/") + "/postmortems/" + p.Ref
}

func (s *Service) links(p *Postmortem) []notify.Link {
	if u := s.URL(p); u != "" {
		return []notify.Link{{Title: "Open " + p.Ref, URL: u}}
	}
	return nil
}
