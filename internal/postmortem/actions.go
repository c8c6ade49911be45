package postmortem

import (
	"slices"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
)

// Types of follow-up actions.
const (
	TypeDetect   = "detect"
	TypePrevent  = "prevent"
	TypeMitigate = "mitigate"
	TypeProcess  = "process"
)

// ActionTypes lists the types of follow-up actions.
var ActionTypes = []string{TypeDetect, TypePrevent, TypeMitigate, TypeProcess}

// Statuses of a follow-up action.
const (
	ActionOpen    = "open"
	ActionDone    = "done"
	ActionWontDo  = "wont_do"
	PriorityHigh  = "high"
	PriorityMid   = "medium"
	PriorityLow   = "low"
	defaultPrio   = PriorityMid
	maxActionText = 500
)

// ActionStatuses lists the statuses of an action.
var ActionStatuses = []string{ActionOpen, ActionDone, ActionWontDo}

// Priorities lists the priorities of an action, highest first.
var Priorities = []string{PriorityHigh, PriorityMid, PriorityLow}

// Action is a follow-up action of a postmortem.
type Action struct {
	ID            int64  `json:"id"`
	Postmortem    int64  `json:"postmortem"`
	PostmortemRef string `json:"postmortemRef"`
	// Team is the postmortem's team: where its digest goes.
	Team  string `json:"team"`
	Title string `json:"title"`
	Type  string `json:"type"`
	// Owner is a catalog member's email.
	Owner    string     `json:"owner"`
	Due      *time.Time `json:"due,omitempty"`
	Status   string     `json:"status"`
	Reason   string     `json:"reason,omitempty"` // why it won't be done
	Priority string     `json:"priority"`
	// FromEntry is the incident timeline entry it was created from, if any.
	FromEntry int64 `json:"fromEntry,omitempty"`
	// Issue is its tracker issue, kept in step: closing the issue closes
	// the action.
	Issue     *IssueRef  `json:"issue,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	ClosedAt  *time.Time `json:"closedAt,omitempty"`
}

// Overdue reports whether a is open and its due day has passed at now.
func (a *Action) Overdue(now time.Time) bool {
	return a.Status == ActionOpen && a.Due != nil && now.UTC().After(a.Due.AddDate(0, 0, 1))
}

// NewAction is what creating an action takes.
type NewAction struct {
	Title    string     `json:"title"`
	Type     string     `json:"type"`
	Owner    string     `json:"owner"`
	Due      *time.Time `json:"due,omitempty"`
	Priority string     `json:"priority,omitempty"`
	// FromEntry is an incident timeline entry's ID.
	FromEntry int64 `json:"fromEntry,omitempty"`
	// Track creates its issue in the configured tracker.
	Track bool `json:"track,omitempty"`
}

// ActionChange changes an action; nil fields are unchanged.
type ActionChange struct {
	Title    *string    `json:"title,omitempty"`
	Type     *string    `json:"type,omitempty"`
	Owner    *string    `json:"owner,omitempty"`
	Due      *time.Time `json:"due,omitempty"`
	Priority *string    `json:"priority,omitempty"`
	Status   *string    `json:"status,omitempty"`
	Reason   *string    `json:"reason,omitempty"`
}

func (a *Action) validate() error {
	if err := checkText("title", a.Title, maxActionText, true); err != nil {
		return err
	}
	if !slices.Contains(ActionTypes, a.Type) {
		return tsuna.Errorf(tsuna.EINVALID, "type: %q; use one of %s", tsuna.Truncate(a.Type, 40), strings.Join(ActionTypes, ", "))
	}
	if !slices.Contains(Priorities, a.Priority) {
		return tsuna.Errorf(tsuna.EINVALID, "priority: %q; use one of %s", tsuna.Truncate(a.Priority, 40), strings.Join(Priorities, ", "))
	}
	if !slices.Contains(ActionStatuses, a.Status) {
		return tsuna.Errorf(tsuna.EINVALID, "status: %q; use one of %s", tsuna.Truncate(a.Status, 40), strings.Join(ActionStatuses, ", "))
	}
	if a.Status == ActionWontDo && strings.TrimSpace(a.Reason) == "" {
		return tsuna.Errorf(tsuna.EINVALID, "reason: required when the status is %s; say why it will not be done", ActionWontDo)
	}
	return checkText("reason", a.Reason, MaxReason, false)
}

// ActionFilter selects actions; zero fields match everything.
type ActionFilter struct {
	Postmortem int64
	Team       string
	Owner      string
	Status     string
	// OverdueAt keeps the open actions whose due day passed at that time.
	OverdueAt time.Time
	// Tracked keeps the actions with a tracker issue.
	Tracked bool
	Limit   int
}

// TeamCounts are the open and overdue actions of a team.
type TeamCounts struct {
	Team    string `json:"team"`
	Open    int    `json:"open"`
	Overdue int    `json:"overdue"`
}

func dueDay(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	d := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	return &d
}
