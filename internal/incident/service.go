package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/notify"
)

// Store keeps incidents. Every mutation runs in one transaction: the
// incident, its new timeline entries, its audit record, the chat messages
// it queues in the outbox and the jobs it enqueues or cancels.
type Store interface {
	// CreateIncident assigns the next number and stores what build
	// returns. When key is not empty and an incident was declared with it,
	// that incident is returned with created false and build is not called.
	CreateIncident(ctx context.Context, key string, actor audit.Actor, build func(number int64, now time.Time) (*Incident, *Mutation, error)) (inc *Incident, created bool, err error)
	// MutateIncident reads incident number, calls fn with it (fn changes
	// it in place) and stores the result, all under the incident's lock.
	// A nil Mutation stores nothing.
	MutateIncident(ctx context.Context, number int64, actor audit.Actor, fn func(i *Incident, now time.Time) (*Mutation, error)) (*Incident, error)
	// Incident returns incident number.
	Incident(ctx context.Context, number int64) (*Incident, error)
	// Incidents returns the incidents that match f, highest number first.
	Incidents(ctx context.Context, f Filter) ([]*Incident, error)
	// Timeline returns incident number's entries, oldest first.
	Timeline(ctx context.Context, number int64, f TimelineFilter) ([]Entry, error)
	// AlertByFingerprint returns the latest stored alert of fingerprint.
	AlertByFingerprint(ctx context.Context, fingerprint string) (*alerting.StoredAlert, error)
	// Service and Team read the stored catalog.
	Service(ctx context.Context, name string) (*catalog.Service, error)
	Team(ctx context.Context, name string) (*catalog.Team, error)
	Teams(ctx context.Context) ([]*catalog.Team, error)
	// SeverityLevels returns the levels the applied catalog declares;
	// none when it declares none.
	SeverityLevels(ctx context.Context) ([]catalog.SeverityLevel, error)
	// IncidentByChannel returns the incident whose own chat channel is
	// channelID.
	IncidentByChannel(ctx context.Context, channelID string) (*Incident, error)
}

// Mutation is what a change stores besides the incident itself.
type Mutation struct {
	// Action is the audit action, such as "declare" or "update"; "" writes
	// no audit record and leaves the incident unchanged.
	Action string
	// Entries are added to the timeline; one whose ExternalID exists is
	// skipped.
	Entries []Entry
	// Once stores nothing when the first entry's ExternalID exists: the
	// mutation was done before (a reminder sent, a message pinned).
	Once bool
	// RemoveExternal removes the entries of these external IDs.
	RemoveExternal []string
	// Messages are queued in the outbox.
	Messages []Outgoing
	// Jobs are enqueued (idempotently by kind and key); Cancel cancels
	// the pending ones of these kinds and keys.
	Jobs   []jobs.Job
	Cancel []JobRef
}

// Outgoing is a chat message for a channel (a name or an ID).
type Outgoing struct {
	Channel string
	Message notify.Message
}

// JobRef names a job.
type JobRef struct{ Kind, Key string }

// Filter selects incidents; zero fields match everything.
type Filter struct {
	Status   []string
	Severity string
	Team     string
	Service  string
	// Since and Until bound the reported time.
	Since, Until time.Time
	// Before pages backwards: numbers below it.
	Before int64
	// Limit is at most MaxList; 0 means 100.
	Limit int
	// MetricsOnly asks only for what metrics read: status, severity,
	// services, team, drill and timestamps (the rest may be left empty).
	MetricsOnly bool
}

// TimelineFilter selects timeline entries.
type TimelineFilter struct {
	// Since leaves out the entries before it.
	Since time.Time
	// Limit is at most MaxTimeline; 0 means MaxTimeline.
	Limit int
}

// Page sizes.
const (
	MaxList     = 1000
	MaxTimeline = 5000
	// MaxMetricsIncidents bounds the incidents a metrics query reads.
	MaxMetricsIncidents = 100000
)

// Actor is who acts on an incident, and what they may change.
type Actor struct {
	// Name is the audit actor: a token's name, or the catalog member (or
	// Slack user) behind a chat user.
	Name      string
	Source    string
	RequestID string
	// Admin may change every incident; Teams lists the teams whose
	// incidents it may change (an editor's team, a member's teams).
	Admin bool
	Teams []string
	// Slack is the chat user's ID, when acting from chat.
	Slack string
}

func (a Actor) audit() audit.Actor {
	return audit.Actor{Name: a.Name, Source: a.Source, RequestID: a.RequestID}
}

// is reports whether person names a.
func (a Actor) is(person string) bool {
	return person != "" && (person == a.Name || a.Slack != "" && person == a.Slack)
}

// CanChange reports whether a may change i's severity, status, roles,
// timestamps and fields: its lead, an editor of its team, or an admin.
func CanChange(i *Incident, a Actor) bool {
	return a.Admin || i.Team != "" && slices.Contains(a.Teams, i.Team) || a.is(i.Lead)
}

func forbidden(i *Incident, what string) error {
	team := "its team"
	if i.Team != "" {
		team = "team " + i.Team
	}
	return tsuna.Errorf(tsuna.EFORBIDDEN, "changing %s of %s needs its lead, an editor of %s or an admin; anyone may add notes", what, i.Ref, team)
}

// Options configure a Service.
type Options struct {
	// Levels, when set, returns the severity levels; when nil they are
	// the applied catalog's (Store.SeverityLevels), or
	// catalog.DefaultSeverityLevels when it declares none.
	Levels func() []catalog.SeverityLevel
	// OrgChannel receives incidents of levels with NotifyOrganization.
	OrgChannel string
	// ConsoleURL is the console's base URL, for links to incidents.
	ConsoleURL string
	// ChatWorkflow enqueues the chat channel workflow (JobChannel) at
	// declaration: set when a chat app is configured.
	ChatWorkflow bool
	// Now is the clock of reminders' due times; the store's for the rest.
	Now func() time.Time
	// OnChange is called after a change that queued chat messages or
	// jobs is stored, such as to wake the delivery loop and the job
	// runner.
	OnChange func()
	Log      *slog.Logger
}

// Service is the incident API every surface calls.
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
	return &Service{store: store, opts: opts}
}

// Levels returns the severity levels in force (the defaults when the
// store does not answer within 5 seconds); LevelsContext says why not.
func (s *Service) Levels() []catalog.SeverityLevel {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lv, err := s.LevelsContext(ctx)
	if err != nil {
		s.opts.Log.Warn("read severity levels", "err", err)
		return catalog.DefaultSeverityLevels()
	}
	return lv
}

// LevelsContext returns the severity levels in force: Options.Levels, else
// the applied catalog's, else catalog.DefaultSeverityLevels.
func (s *Service) LevelsContext(ctx context.Context) ([]catalog.SeverityLevel, error) {
	lv, err := s.levels(ctx)
	return []catalog.SeverityLevel(lv), err
}

// levelSet is the severity levels of one operation, read once.
type levelSet []catalog.SeverityLevel

func (s *Service) levels(ctx context.Context) (levelSet, error) {
	if s.opts.Levels != nil {
		return s.opts.Levels(), nil
	}
	lv, err := s.store.SeverityLevels(ctx)
	if err != nil {
		return nil, err
	}
	if len(lv) == 0 {
		return catalog.DefaultSeverityLevels(), nil
	}
	return lv, nil
}

func (ls levelSet) level(name string) (catalog.SeverityLevel, bool) {
	for _, l := range ls {
		if l.Name == name {
			return l, true
		}
	}
	return catalog.SeverityLevel{}, false
}

func (ls levelSet) names() []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

// mutate is Store.MutateIncident, calling OnChange when the stored
// mutation queued messages or jobs.
func (s *Service) mutate(ctx context.Context, number int64, actor audit.Actor, fn func(i *Incident, now time.Time) (*Mutation, error)) (*Incident, error) {
	queued := false
	inc, err := s.store.MutateIncident(ctx, number, actor, func(i *Incident, now time.Time) (*Mutation, error) {
		m, err := fn(i, now)
		queued = m != nil && (len(m.Messages) > 0 || len(m.Jobs) > 0)
		return m, err
	})
	if err == nil && queued && s.opts.OnChange != nil {
		s.opts.OnChange()
	}
	return inc, err
}

// create is Store.CreateIncident, calling OnChange when it declared.
func (s *Service) create(ctx context.Context, key string, actor audit.Actor, build func(number int64, now time.Time) (*Incident, *Mutation, error)) (*Incident, bool, error) {
	inc, created, err := s.store.CreateIncident(ctx, key, actor, build)
	if err == nil && created && s.opts.OnChange != nil {
		s.opts.OnChange()
	}
	return inc, created, err
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.store }

// Declaration is what declaring an incident takes. Only the title is
// required (the severity defaults to the most severe level but one).
type Declaration struct {
	Title    string   `json:"title"`
	Summary  string   `json:"summary,omitempty"`
	Severity string   `json:"severity,omitempty"`
	Services []string `json:"services,omitempty"`
	// Triage declares it "not sure yet".
	Triage bool   `json:"triage,omitempty"`
	Drill  bool   `json:"drill,omitempty"`
	Lead   string `json:"lead,omitempty"`
	// ImpactStarted and Detected, when known.
	ImpactStarted *time.Time `json:"impactStarted,omitempty"`
	Detected      *time.Time `json:"detected,omitempty"`
	// FromAlert is an alert's fingerprint: service, team and detected
	// time come from it, and it is linked.
	FromAlert string `json:"fromAlert,omitempty"`
	// Key makes a retried declaration declare once.
	Key string `json:"idempotencyKey,omitempty"`
}

// Declare declares an incident, or returns the one declared before with
// the same key (created false). Anyone may declare.
func (s *Service) Declare(ctx context.Context, d Declaration, a Actor) (*Incident, bool, error) {
	if err := checkText("idempotencyKey", d.Key, MaxKey, false); err != nil {
		return nil, false, err
	}
	if err := checkText("title", d.Title, MaxTitle, d.FromAlert == ""); err != nil {
		return nil, false, err
	}
	if len(d.Services) > MaxServices {
		return nil, false, tsuna.Errorf(tsuna.EINVALID, "services: %d listed; at most %d", len(d.Services), MaxServices)
	}
	ls, err := s.levels(ctx)
	if err != nil {
		return nil, false, err
	}
	levels := ls.names()
	if d.Severity == "" {
		d.Severity = levels[min(1, len(levels)-1)]
	}
	inc := &Incident{Title: strings.TrimSpace(d.Title), Summary: d.Summary, Severity: d.Severity, Drill: d.Drill,
		Lead: d.Lead, Status: StatusActive, Stage: StageInvestigating, ReportedBy: a.Name, Source: a.Source, Key: d.Key}
	if d.Triage {
		inc.Status, inc.Stage = StatusTriage, ""
	}
	inc.Timestamps.ImpactStarted, inc.Timestamps.Detected = utc(d.ImpactStarted), utc(d.Detected)
	var alert *alerting.StoredAlert
	if d.FromAlert != "" {
		var err error
		if alert, err = s.store.AlertByFingerprint(ctx, d.FromAlert); err != nil {
			return nil, false, err
		}
		if alert.Service != "" && !slices.Contains(d.Services, alert.Service) {
			if _, err := s.store.Service(ctx, alert.Service); err == nil {
				d.Services = append([]string{alert.Service}, d.Services...)
			}
		}
		inc.Team = alert.Team
		inc.Alerts = []string{alert.Fingerprint}
		if inc.Timestamps.Detected == nil {
			inc.Timestamps.Detected = utc(&alert.StartsAt)
		}
		if inc.Title == "" {
			inc.Title = tsuna.Truncate(alertTitle(alert), MaxTitle)
		}
	}
	for i, name := range d.Services {
		svc, err := s.store.Service(ctx, name)
		if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
			return nil, false, tsuna.Errorf(tsuna.EINVALID, "services[%d]: %q is not a service of the catalog", i, tsuna.Truncate(name, 80))
		} else if err != nil {
			return nil, false, err
		}
		if !slices.Contains(inc.Services, svc.Name) {
			inc.Services = append(inc.Services, svc.Name)
		}
		if i == 0 || inc.Team == "" {
			inc.Team = svc.Team
		}
	}
	if inc.Services == nil {
		inc.Services = []string{}
	}
	if err := inc.Validate(levels); err != nil {
		return nil, false, err
	}
	return s.create(ctx, d.Key, a.audit(), func(number int64, now time.Time) (*Incident, *Mutation, error) {
		inc.Number, inc.Ref = number, RefOf(number)
		inc.Timestamps.Reported = &now
		if inc.Lead != "" {
			inc.Timestamps.Acknowledged = &now
		}
		inc.UpdatedAt = now
		if err := inc.Timestamps.Check(); err != nil {
			return nil, nil, err
		}
		m := &Mutation{Action: "declare"}
		text := fmt.Sprintf("Declared %s %s: %s", inc.Severity, inc.StatusText(), inc.Title)
		if inc.Drill {
			text += " (drill)"
		}
		m.Entries = append(m.Entries, Entry{Time: now, Kind: EntryDeclared, Actor: a.Name, Source: a.Source, Text: text})
		if alert != nil {
			m.Entries = append(m.Entries, Entry{Time: now, Kind: EntryAlert, Actor: a.Name, Source: a.Source,
				Text: fmt.Sprintf("Linked alert %s (%s), firing since %s", alertTitle(alert), alert.Fingerprint, alert.StartsAt.UTC().Format(time.RFC3339))})
		}
		if inc.Lead != "" {
			m.Entries = append(m.Entries, Entry{Time: now, Kind: EntryRole, Actor: a.Name, Source: a.Source, Text: "Lead: " + inc.Lead})
		}
		if err := s.announce(ctx, ls, inc, m); err != nil {
			return nil, nil, err
		}
		s.schedule(ls, nil, inc, m, now)
		if s.opts.ChatWorkflow {
			payload, _ := json.Marshal(ChannelJob{Number: number})
			m.Jobs = append(m.Jobs, jobs.Job{Kind: JobChannel, Key: inc.Ref, Payload: payload, MaxAttempts: 20})
		}
		return inc, m, nil
	})
}

func alertTitle(a *alerting.StoredAlert) string {
	name := a.Labels["alertname"]
	if s := a.Annotations["summary"]; s != "" {
		return name + ": " + s
	}
	return name
}

func utc(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}

// Change is an update of an incident; nil fields are unchanged.
type Change struct {
	Title    *string `json:"title,omitempty"`
	Summary  *string `json:"summary,omitempty"`
	Severity *string `json:"severity,omitempty"`
	Status   *string `json:"status,omitempty"`
	Stage    *string `json:"stage,omitempty"`
	Lead     *string `json:"lead,omitempty"`
	// Roles sets each role to a person; "" removes it.
	Roles map[string]string `json:"roles,omitempty"`
	// Timestamps sets each named timestamp; null clears it.
	Timestamps map[string]*time.Time `json:"timestamps,omitempty"`
	Services   *[]string             `json:"services,omitempty"`
	Drill      *bool                 `json:"drill,omitempty"`
	Postmortem *string               `json:"postmortem,omitempty"`
	MergedInto *string               `json:"mergedInto,omitempty"`
	// LinkAlerts links alerts by fingerprint.
	LinkAlerts []string `json:"linkAlerts,omitempty"`
}

// Update applies c to incident number as a.
func (s *Service) Update(ctx context.Context, number int64, c Change, a Actor) (*Incident, error) {
	// Check what needs the store outside the incident's lock.
	var services []*catalog.Service
	if c.Services != nil {
		if len(*c.Services) > MaxServices {
			return nil, tsuna.Errorf(tsuna.EINVALID, "services: %d listed; at most %d", len(*c.Services), MaxServices)
		}
		for i, name := range *c.Services {
			svc, err := s.store.Service(ctx, name)
			if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
				return nil, tsuna.Errorf(tsuna.EINVALID, "services[%d]: %q is not a service of the catalog", i, tsuna.Truncate(name, 80))
			} else if err != nil {
				return nil, err
			}
			services = append(services, svc)
		}
	}
	var merged int64
	if c.MergedInto != nil && *c.MergedInto != "" {
		n, err := ParseRef(*c.MergedInto)
		if err != nil {
			return nil, tsuna.Errorf(tsuna.EINVALID, "mergedInto: %s", tsuna.ErrorMessage(err))
		}
		if n == number {
			return nil, tsuna.Errorf(tsuna.EINVALID, "mergedInto: an incident cannot be merged into itself")
		}
		if _, err := s.store.Incident(ctx, n); err != nil {
			return nil, tsuna.Errorf(tsuna.EINVALID, "mergedInto: %s", tsuna.ErrorMessage(err))
		}
		merged = n
	}
	if len(c.LinkAlerts) > MaxAlerts {
		return nil, tsuna.Errorf(tsuna.EINVALID, "linkAlerts: at most %d", MaxAlerts)
	}
	for i, fp := range c.LinkAlerts {
		if _, err := s.store.AlertByFingerprint(ctx, fp); err != nil {
			return nil, tsuna.Errorf(tsuna.EINVALID, "linkAlerts[%d]: %s", i, tsuna.ErrorMessage(err))
		}
	}
	ls, err := s.levels(ctx)
	if err != nil {
		return nil, err
	}
	return s.mutate(ctx, number, a.audit(), func(inc *Incident, now time.Time) (*Mutation, error) {
		return s.apply(ctx, ls, inc, c, services, merged, a, now)
	})
}

// apply changes inc by c in place and returns what to store with it.
func (s *Service) apply(ctx context.Context, ls levelSet, inc *Incident, c Change, services []*catalog.Service, merged int64, a Actor, now time.Time) (*Mutation, error) {
	before := inc.Clone()
	m := &Mutation{Action: "update"}
	entry := func(kind, format string, args ...any) {
		m.Entries = append(m.Entries, Entry{Time: now, Kind: kind, Actor: a.Name, Source: a.Source, Text: fmt.Sprintf(format, args...)})
	}
	// Taking the lead of an incident that has none needs no other right:
	// someone must be able to start.
	selfLead := c.Lead != nil && before.Lead == "" && a.is(*c.Lead) && c.Title == nil && c.Summary == nil && c.Severity == nil &&
		c.Status == nil && c.Stage == nil && c.Roles == nil && c.Timestamps == nil && c.Services == nil && c.Drill == nil &&
		c.Postmortem == nil && c.MergedInto == nil && c.LinkAlerts == nil
	if !selfLead && !CanChange(before, a) {
		return nil, forbidden(before, "the status, severity, roles or timestamps")
	}
	if c.Title != nil && *c.Title != inc.Title {
		if err := checkText("title", *c.Title, MaxTitle, true); err != nil {
			return nil, err
		}
		inc.Title = strings.TrimSpace(*c.Title)
		entry(EntryChange, "Title: %s", inc.Title)
	}
	if c.Summary != nil && *c.Summary != inc.Summary {
		inc.Summary = *c.Summary
		entry(EntryChange, "Summary changed")
	}
	if c.Severity != nil && *c.Severity != inc.Severity {
		if _, ok := ls.level(*c.Severity); !ok {
			return nil, tsuna.Errorf(tsuna.EINVALID, "severity: %q is not a severity level; use one of %s", tsuna.Truncate(*c.Severity, 40), strings.Join(ls.names(), ", "))
		}
		entry(EntrySeverity, "Severity %s → %s", inc.Severity, *c.Severity)
		inc.Severity = *c.Severity
	}
	if c.Status != nil && *c.Status != inc.Status {
		to := *c.Status
		if !slices.Contains(Statuses, to) {
			return nil, tsuna.Errorf(tsuna.EINVALID, "status: %q; use one of %s", tsuna.Truncate(to, 40), strings.Join(Statuses, ", "))
		}
		if !CanMove(inc.Status, to) {
			return nil, tsuna.Errorf(tsuna.ECONFLICT, "status: %s cannot go from %s to %s; allowed: %s", inc.Ref, inc.Status, to, strings.Join(transitions[inc.Status], ", "))
		}
		from := inc.Status
		inc.Status = to
		switch to {
		case StatusActive:
			if from == StatusResolved || from == StatusClosed {
				inc.Timestamps.Resolved, inc.Timestamps.Closed = nil, nil
				inc.Stage = StageInvestigating
			} else if inc.Stage == "" {
				inc.Stage = StageInvestigating
			}
		case StatusResolved:
			inc.Stage = ""
			if inc.Timestamps.Mitigated == nil {
				inc.Timestamps.Mitigated = &now
			}
			if inc.Timestamps.Resolved == nil {
				inc.Timestamps.Resolved = &now
			}
		case StatusClosed:
			if inc.Timestamps.Closed == nil {
				inc.Timestamps.Closed = &now
			}
		case StatusMerged:
			if merged == 0 {
				return nil, tsuna.Errorf(tsuna.EINVALID, "mergedInto: required to merge; name the incident it duplicates, such as INC-41")
			}
		}
		entry(EntryStatus, "Status %s → %s", from, to)
	}
	if merged != 0 {
		if inc.Status != StatusMerged {
			return nil, tsuna.Errorf(tsuna.EINVALID, "mergedInto: set status merged with it (from triage)")
		}
		inc.MergedInto = RefOf(merged)
		entry(EntryLink, "Merged into %s", inc.MergedInto)
	}
	if c.Stage != nil && *c.Stage != inc.Stage {
		if inc.Status != StatusActive {
			return nil, tsuna.Errorf(tsuna.ECONFLICT, "stage: %s is %s; only an active incident has a stage", inc.Ref, inc.Status)
		}
		if !slices.Contains(Stages, *c.Stage) {
			return nil, tsuna.Errorf(tsuna.EINVALID, "stage: %q; use one of %s", tsuna.Truncate(*c.Stage, 40), strings.Join(Stages, ", "))
		}
		entry(EntryStatus, "Stage %s → %s", dash(inc.Stage), *c.Stage)
		inc.Stage = *c.Stage
		if inc.Stage == StageMonitoring && inc.Timestamps.Mitigated == nil {
			inc.Timestamps.Mitigated = &now
		}
	}
	if c.Lead != nil && *c.Lead != inc.Lead {
		if err := checkText("lead", *c.Lead, MaxPerson, false); err != nil {
			return nil, err
		}
		inc.Lead = *c.Lead
		entry(EntryRole, "Lead: %s", dash(inc.Lead))
		if inc.Lead != "" && inc.Timestamps.Acknowledged == nil {
			inc.Timestamps.Acknowledged = &now
		}
	}
	if len(c.Roles) > 0 {
		level, _ := ls.level(inc.Severity)
		for _, role := range slices.Sorted(maps.Keys(c.Roles)) {
			who := c.Roles[role]
			if role == "lead" {
				return nil, tsuna.Errorf(tsuna.EINVALID, "roles.lead: set the lead with the lead field")
			}
			if !slices.Contains(level.Roles, role) && inc.Roles[role] == "" {
				return nil, tsuna.Errorf(tsuna.EINVALID, "roles: %q is not a role of %s incidents; use one of %s", tsuna.Truncate(role, 40), inc.Severity, strings.Join(level.Roles, ", "))
			}
			if inc.Roles[role] == who {
				continue
			}
			if inc.Roles == nil {
				inc.Roles = map[string]string{}
			}
			if who == "" {
				delete(inc.Roles, role)
			} else {
				inc.Roles[role] = who
			}
			entry(EntryRole, "%s: %s", strings.ToUpper(role[:1])+role[1:], dash(who))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Timestamps)) {
		f := inc.Timestamps.Field(name)
		if f == nil {
			return nil, tsuna.Errorf(tsuna.EINVALID, "timestamps.%s: not a timestamp; use %s", tsuna.Truncate(name, 40), strings.Join(TimestampNames, ", "))
		}
		v := utc(c.Timestamps[name])
		if (v == nil) == (*f == nil) && (v == nil || v.Equal(**f)) {
			continue
		}
		*f = v
		if v == nil {
			entry(EntryTimestamp, "%s cleared", name)
		} else {
			entry(EntryTimestamp, "%s set to %s", name, v.Format(time.RFC3339))
		}
	}
	if c.Services != nil {
		names := []string{}
		team := ""
		for i, svc := range services {
			if !slices.Contains(names, svc.Name) {
				names = append(names, svc.Name)
			}
			if i == 0 {
				team = svc.Team
			}
		}
		if !slices.Equal(names, inc.Services) {
			inc.Services = names
			if team != "" {
				inc.Team = team
			}
			entry(EntryChange, "Services: %s", dash(strings.Join(names, ", ")))
		}
	}
	if c.Drill != nil && *c.Drill != inc.Drill {
		inc.Drill = *c.Drill
		entry(EntryChange, "Drill: %t", inc.Drill)
	}
	if c.Postmortem != nil && *c.Postmortem != inc.Postmortem {
		if err := checkText("postmortem", *c.Postmortem, MaxPerson, false); err != nil {
			return nil, err
		}
		inc.Postmortem = *c.Postmortem
		entry(EntryLink, "Postmortem: %s", dash(inc.Postmortem))
	}
	for _, fp := range c.LinkAlerts {
		if !slices.Contains(inc.Alerts, fp) {
			inc.Alerts = append(inc.Alerts, fp)
			entry(EntryLink, "Linked alert %s", fp)
		}
	}
	if err := inc.Validate(ls.names()); err != nil {
		return nil, err
	}
	if len(m.Entries) == 0 {
		return nil, nil // nothing changed: nothing stored, nothing audited
	}
	inc.UpdatedAt = now
	if err := s.announce(ctx, ls, inc, m); err != nil {
		return nil, err
	}
	s.schedule(ls, before, inc, m, now)
	return m, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Note adds a note to the timeline; anyone may. at is when it was
// written (zero: now); externalID, when set, adds it once.
func (s *Service) Note(ctx context.Context, number int64, text string, at time.Time, externalID string, a Actor) (*Incident, error) {
	return s.addEntry(ctx, number, EntryNote, text, at, externalID, a)
}

// Pin adds a pinned chat message to the timeline at the time it was
// written, once per message; anyone may.
func (s *Service) Pin(ctx context.Context, number int64, text string, at time.Time, externalID string, a Actor) (*Incident, error) {
	return s.addEntry(ctx, number, EntryPin, text, at, externalID, a)
}

// Unpin removes the timeline entry of a pinned message.
func (s *Service) Unpin(ctx context.Context, number int64, externalID string, a Actor) (*Incident, error) {
	return s.mutate(ctx, number, a.audit(), func(inc *Incident, now time.Time) (*Mutation, error) {
		return &Mutation{Action: "unpin", RemoveExternal: []string{externalID}}, nil
	})
}

func (s *Service) addEntry(ctx context.Context, number int64, kind, text string, at time.Time, externalID string, a Actor) (*Incident, error) {
	if err := checkText("text", text, MaxText, true); err != nil {
		return nil, err
	}
	if err := checkText("externalId", externalID, MaxKey, false); err != nil {
		return nil, err
	}
	return s.mutate(ctx, number, a.audit(), func(inc *Incident, now time.Time) (*Mutation, error) {
		t := now
		if !at.IsZero() {
			t = at.UTC().Truncate(time.Microsecond)
		}
		m := &Mutation{Action: kind, Once: externalID != "",
			Entries: []Entry{{Time: t, Kind: kind, Actor: a.Name, Source: a.Source, Text: text, ExternalID: externalID}}}
		return m, nil
	})
}

// PostUpdate posts a status update: kept in the timeline and posted to the
// incident's channels. It needs the right to change the incident.
func (s *Service) PostUpdate(ctx context.Context, number int64, text string, at time.Time, a Actor) (*Incident, error) {
	return s.PostUpdateOnce(ctx, number, text, at, "", a)
}

// PostUpdateOnce is PostUpdate with an external ID (such as a chat
// command's), which posts the update once however often it is retried.
func (s *Service) PostUpdateOnce(ctx context.Context, number int64, text string, at time.Time, externalID string, a Actor) (*Incident, error) {
	if err := checkText("text", text, MaxText, true); err != nil {
		return nil, err
	}
	if err := checkText("externalId", externalID, MaxKey, false); err != nil {
		return nil, err
	}
	ls, err := s.levels(ctx)
	if err != nil {
		return nil, err
	}
	return s.mutate(ctx, number, a.audit(), func(inc *Incident, now time.Time) (*Mutation, error) {
		if !CanChange(inc, a) {
			return nil, forbidden(inc, "the status (a status update)")
		}
		before := inc.Clone()
		t := now
		if !at.IsZero() {
			t = at.UTC().Truncate(time.Microsecond)
		}
		inc.LastUpdateAt = &t
		inc.UpdatedAt = now
		m := &Mutation{Action: "status-update", Once: externalID != "",
			Entries: []Entry{{Time: t, Kind: EntryUpdate, Actor: a.Name, Source: a.Source, Text: text, ExternalID: externalID}}}
		if err := s.announce(ctx, ls, inc, m); err != nil {
			return nil, err
		}
		msg := UpdateMessage(inc, text, a.Name, t)
		for _, ch := range s.channels(ctx, inc, true) {
			m.Messages = append(m.Messages, Outgoing{Channel: ch, Message: msg})
		}
		s.schedule(ls, before, inc, m, now)
		return m, nil
	})
}

// Get returns incident number.
func (s *Service) Get(ctx context.Context, number int64) (*Incident, error) {
	return s.store.Incident(ctx, number)
}

// List returns the incidents matching f.
func (s *Service) List(ctx context.Context, f Filter) ([]*Incident, error) {
	if f.Limit < 0 || f.Limit > MaxList {
		return nil, tsuna.Errorf(tsuna.EINVALID, "limit: %d; use 1 to %d", f.Limit, MaxList)
	}
	for _, st := range f.Status {
		if !slices.Contains(Statuses, st) {
			return nil, tsuna.Errorf(tsuna.EINVALID, "status: %q; use %s", tsuna.Truncate(st, 40), strings.Join(Statuses, ", "))
		}
	}
	return s.store.Incidents(ctx, f)
}

// Timeline returns incident number's timeline, oldest first.
func (s *Service) Timeline(ctx context.Context, number int64, f TimelineFilter) ([]Entry, error) {
	if f.Limit < 0 || f.Limit > MaxTimeline {
		return nil, tsuna.Errorf(tsuna.EINVALID, "limit: %d; use 1 to %d", f.Limit, MaxTimeline)
	}
	if _, err := s.store.Incident(ctx, number); err != nil {
		return nil, err
	}
	return s.store.Timeline(ctx, number, f)
}

// SetChannel records the incident's own chat channel, once created by
// the chat workflow, and refreshes its messages.
func (s *Service) SetChannel(ctx context.Context, number int64, ch Channel) (*Incident, error) {
	a := Actor{Name: "tsuna", Source: audit.SourceChat}
	ls, err := s.levels(ctx)
	if err != nil {
		return nil, err
	}
	return s.mutate(ctx, number, a.audit(), func(inc *Incident, now time.Time) (*Mutation, error) {
		if inc.Channel != nil && inc.Channel.ID == ch.ID {
			return nil, nil
		}
		inc.Channel = &ch
		m := &Mutation{Action: "channel", Entries: []Entry{{Time: now, Kind: EntryChannel, Actor: a.Name, Source: a.Source, Text: "Channel #" + ch.Name + " created"}}}
		return m, s.announce(ctx, ls, inc, m)
	})
}

// announce queues the incident's summary message, one per incident and
// channel (later ones update it): in the owning team's channel, with the
// on-call mentioned, and in the organisation-wide channel for levels that
// notify it.
func (s *Service) announce(ctx context.Context, ls levelSet, inc *Incident, m *Mutation) error {
	var oncall string
	var channel string
	if len(inc.Services) > 0 {
		if svc, err := s.store.Service(ctx, inc.Services[0]); err == nil {
			if team, err := s.store.Team(ctx, svc.Team); err == nil {
				channel = svc.Channel(team)
				oncall = FirstOncall(team)
			} else {
				channel = svc.Channel(nil)
			}
		}
	} else if inc.Team != "" {
		if team, err := s.store.Team(ctx, inc.Team); err == nil {
			channel, oncall = team.Chat.Channel, FirstOncall(team)
		}
	}
	msg := SummaryMessage(inc, oncall, s.opts.ConsoleURL)
	if channel != "" {
		m.Messages = append(m.Messages, Outgoing{Channel: channel, Message: msg})
	}
	if level, ok := ls.level(inc.Severity); ok && level.NotifyOrganization && s.opts.OrgChannel != "" && s.opts.OrgChannel != channel {
		org := msg
		org.Mentions = nil
		m.Messages = append(m.Messages, Outgoing{Channel: s.opts.OrgChannel, Message: org})
	}
	return nil
}

// channels returns where the incident is worked: its own channel, else
// the team's; with all, the team's and the organisation's too.
func (s *Service) channels(ctx context.Context, inc *Incident, all bool) []string {
	var out []string
	if inc.Channel != nil {
		out = append(out, inc.Channel.ID)
	}
	if len(out) > 0 && !all {
		return out
	}
	if len(inc.Services) > 0 {
		if svc, err := s.store.Service(ctx, inc.Services[0]); err == nil {
			team, _ := s.store.Team(ctx, svc.Team)
			if ch := svc.Channel(team); ch != "" {
				out = append(out, ch)
			}
		}
	} else if inc.Team != "" {
		if team, err := s.store.Team(ctx, inc.Team); err == nil && team.Chat.Channel != "" {
			out = append(out, team.Chat.Channel)
		}
	}
	return out
}

// FirstOncall returns the Slack user ID of the team's first on-call, or "".
func FirstOncall(t *catalog.Team) string {
	if t == nil || len(t.Oncall) == 0 {
		return ""
	}
	for _, m := range t.Members {
		if m.Email == t.Oncall[0] {
			return m.Slack
		}
	}
	return ""
}
