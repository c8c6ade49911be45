// Package postmortem is tsuna's postmortem practice: a postmortem drafted
// in one step from an incident (its timeline, TTD/TTA/TTM/TTR, the alerts
// that fired and the error budget each affected SLO spent) from a
// versioned template, its lifecycle (draft → in review → published) with
// authors, reviewers and a due date by severity, blameless hints, the
// library of published postmortems (labels, "recommended" first, full-text
// search), follow-up actions kept in step with a tracker, the weekly
// digest of overdue actions, and the welcome sent to new team members.
//
// It declares the storage it needs (Store) and the other domains it reads
// (Incidents, Budget, Tracker); the store, server, web, cli and github
// packages implement or call it.
package postmortem

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/incident"
)

// Statuses of a postmortem.
const (
	StatusDraft     = "draft"
	StatusInReview  = "in_review"
	StatusPublished = "published"
)

// Statuses lists the statuses in order.
var Statuses = []string{StatusDraft, StatusInReview, StatusPublished}

var transitions = map[string][]string{
	StatusDraft:     {StatusInReview},
	StatusInReview:  {StatusDraft, StatusPublished},
	StatusPublished: {StatusInReview},
}

// CanMove reports whether a postmortem may go from status from to to.
func CanMove(from, to string) bool { return slices.Contains(transitions[from], to) }

// LabelRecommended marks the postmortems newcomers read first.
const LabelRecommended = "recommended"

// Limits, checked before anything is stored.
const (
	MaxTitle     = 200
	MaxBody      = 256 << 10 // bytes of Markdown
	MaxPeople    = 20
	MaxPerson    = 200
	MaxLabels    = 20
	MaxLabel     = 50 // GitHub's limit on a label's name
	MaxQuery     = 200
	MaxQueryTerm = 16
	MaxList      = 500
	MaxActions   = 200 // per postmortem
	MaxReason    = 1000
	// MaxTimelineLines bounds the timeline written into a draft.
	MaxTimelineLines = 500
)

// Postmortem is one postmortem.
type Postmortem struct {
	ID  int64  `json:"id"`
	Ref string `json:"ref"` // "PM-<id>"
	// Incident is the reference of the incident it is about (INC-42): one
	// postmortem per incident.
	Incident string   `json:"incident"`
	Title    string   `json:"title"`
	Severity string   `json:"severity"`
	Services []string `json:"services"`
	Team     string   `json:"team"`
	Status   string   `json:"status"`
	// Authors write it; Reviewers review it; both name people (catalog
	// emails, Slack IDs or token names).
	Authors   []string `json:"authors"`
	Reviewers []string `json:"reviewers"`
	Labels    []string `json:"labels"`
	// Template and TemplateVersion are what it was drafted from.
	Template        string `json:"template"`
	TemplateVersion int    `json:"templateVersion"`
	// Body is the postmortem, in Markdown.
	Body string `json:"body"`
	// Facts are what tsuna read from the incident when drafting.
	Facts Facts `json:"facts"`
	// Due is the day it should be published by (UTC midnight).
	Due *time.Time `json:"due,omitempty"`
	// Revision counts the changes of its text; an edit may name the
	// revision it was based on and is refused when another came first.
	Revision    int        `json:"revision"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	PublishedAt *time.Time `json:"publishedAt,omitempty"`
	// Issue is the tracker issue it was exported to.
	Issue *IssueRef `json:"issue,omitempty"`
}

// Facts are what a draft was built from: kept beside the text so the
// console can chart them whatever the authors write.
type Facts struct {
	Timestamps   incident.Timestamps `json:"timestamps"`
	Intervals    []Interval          `json:"intervals"`
	Budget       []BudgetSpent       `json:"budget"`
	Alerts       []Alert             `json:"alerts"`
	Participants []Participant       `json:"participants"`
	// TimelineEntries counts the timeline entries written into the draft.
	TimelineEntries int `json:"timelineEntries"`
}

// Interval is one of TTD, TTA, TTM, TTR for the incident, with its origin.
type Interval struct {
	Name   string `json:"name"` // ttd, tta, ttm, ttr
	Origin string `json:"origin"`
	// Seconds is absent when one of its timestamps is.
	Seconds *float64 `json:"seconds,omitempty"`
}

// BudgetSpent is the error budget an SLO spent during the incident: its
// remaining budget (percent of the period's budget) when the impact
// started minus when it ended, from the SLO's budget history.
type BudgetSpent struct {
	Service   string  `json:"service"`
	SLO       string  `json:"slo"`
	Objective float64 `json:"objective"`
	// From and To bound the incident: impact started (else detected, else
	// reported) to resolved (else mitigated, else the draft's time).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// RemainingBefore and RemainingAfter are in percent of the budget;
	// Spent is their difference, in percentage points of the budget.
	RemainingBefore *float64 `json:"remainingBefore,omitempty"`
	RemainingAfter  *float64 `json:"remainingAfter,omitempty"`
	Spent           *float64 `json:"spent,omitempty"`
	// Points are the remaining budget over the incident, for a chart.
	Points []BudgetPoint `json:"points,omitempty"`
	// Reason says why there are no figures.
	Reason string `json:"reason,omitempty"`
}

// BudgetPoint is the remaining budget at a time.
type BudgetPoint struct {
	Time      time.Time `json:"time"`
	Remaining float64   `json:"remaining"`
}

// Alert is an alert linked to the incident.
type Alert struct {
	Fingerprint string     `json:"fingerprint"`
	Name        string     `json:"name"`
	Summary     string     `json:"summary,omitempty"`
	StartsAt    time.Time  `json:"startsAt"`
	EndsAt      *time.Time `json:"endsAt,omitempty"`
}

// Participant is a person and their role in the incident.
type Participant struct {
	Role   string `json:"role"`
	Person string `json:"person"`
}

// IssueRef names an issue in a tracker.
type IssueRef struct {
	Repo   string `json:"repo"` // owner/name
	Number int    `json:"number"`
	URL    string `json:"url"`
}

// RefOf returns the reference of postmortem id.
func RefOf(id int64) string { return "PM-" + strconv.FormatInt(id, 10) }

// ParseRef reads "PM-7", "pm-7" or "7".
func ParseRef(s string) (int64, error) {
	n, ok := tsuna.RefNumber(s, "PM-")
	if !ok {
		return 0, tsuna.Errorf(tsuna.EINVALID, "%q is not a postmortem reference; write it as PM-7, or name its incident as INC-42", tsuna.Truncate(s, 40))
	}
	return n, nil
}

// Validate checks p's fields against the limits.
func (p *Postmortem) Validate() error {
	if err := checkText("title", p.Title, MaxTitle, true); err != nil {
		return err
	}
	if err := checkText("body", p.Body, MaxBody, false); err != nil {
		return err
	}
	if !slices.Contains(Statuses, p.Status) {
		return tsuna.Errorf(tsuna.EINVALID, "status: %q; use one of %s", tsuna.Truncate(p.Status, 40), strings.Join(Statuses, ", "))
	}
	for _, l := range []struct {
		field string
		v     []string
	}{{"authors", p.Authors}, {"reviewers", p.Reviewers}} {
		if len(l.v) > MaxPeople {
			return tsuna.Errorf(tsuna.EINVALID, "%s: %d listed; at most %d", l.field, len(l.v), MaxPeople)
		}
		for i, who := range l.v {
			if err := checkText(fmt.Sprintf("%s[%d]", l.field, i), who, MaxPerson, true); err != nil {
				return err
			}
		}
	}
	return checkLabels("labels", p.Labels)
}

var labelRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func checkLabels(field string, labels []string) error {
	if len(labels) > MaxLabels {
		return tsuna.Errorf(tsuna.EINVALID, "%s: %d listed; at most %d", field, len(labels), MaxLabels)
	}
	for i, l := range labels {
		if len(l) > MaxLabel || !labelRE.MatchString(l) {
			return tsuna.Errorf(tsuna.EINVALID, "%s[%d]: %q is not a label; use lowercase letters, digits, '.', '_' and '-', at most %d characters, such as %s",
				field, i, tsuna.Truncate(l, 60), MaxLabel, LabelRecommended)
		}
	}
	return nil
}

// checkText checks a text field: valid UTF-8, at most max bytes, no
// control characters but newlines and tabs, present when required.
func checkText(field, v string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return tsuna.Errorf(tsuna.EINVALID, "%s: required", field)
	case !utf8.ValidString(v):
		return tsuna.Errorf(tsuna.EINVALID, "%s: not valid UTF-8", field)
	case len(v) > max:
		return tsuna.Errorf(tsuna.EINVALID, "%s: %d bytes, over the limit of %d; shorten it", field, len(v), max)
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' && r != '\r' }):
		return tsuna.Errorf(tsuna.EINVALID, "%s: contains control characters", field)
	}
	return nil
}

// AddBusinessDays returns the day n business days (Monday to Friday)
// after t's day, at UTC midnight.
func AddBusinessDays(t time.Time, n int) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return d
}

// DefaultDueDays are the business days to publish a postmortem in, by
// severity; a severity not listed takes DefaultDue.
var DefaultDueDays = map[string]int{"SEV1": 5, "SEV2": 5, "SEV3": 10, "SEV4": 15}

// DefaultDue is the business days of a severity DueDays does not list.
const DefaultDue = 10

// ISOWeek names the ISO week of t, such as "2026-W48".
func ISOWeek(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// weekStart returns the Monday 00:00 UTC of t's ISO week.
func weekStart(t time.Time) time.Time {
	t = t.UTC()
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	off := (int(d.Weekday()) + 6) % 7 // days since Monday
	return d.AddDate(0, 0, -off)
}
