// Package incident is tsuna's incident model: an incident's reference,
// status machine (triage → active (investigating, identified, monitoring)
// → resolved → closed; or declined / merged from triage), its timestamps
// and their order, roles, timeline, who may change what, the metrics
// (TTD, TTA, TTM, TTR as distributions), the reminders and the chat
// messages it sends. It declares the storage it needs (Store); the store
// package implements it. The API, the CLI, the console and chat all call
// Service.
package incident

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tsuna-sre/tsuna"
)

// Statuses.
const (
	StatusTriage   = "triage"   // reported, not yet confirmed
	StatusActive   = "active"   // confirmed, being worked (with a Stage)
	StatusResolved = "resolved" // the impact is over
	StatusClosed   = "closed"   // follow-up done
	StatusDeclined = "declined" // not an incident after all (from triage)
	StatusMerged   = "merged"   // a duplicate of MergedInto (from triage)
)

// Statuses lists every status in the order of the machine.
var Statuses = []string{StatusTriage, StatusActive, StatusResolved, StatusClosed, StatusDeclined, StatusMerged}

// Stages of an active incident.
const (
	StageInvestigating = "investigating"
	StageIdentified    = "identified"
	StageMonitoring    = "monitoring"
)

// Stages lists the stages of an active incident, in order.
var Stages = []string{StageInvestigating, StageIdentified, StageMonitoring}

// transitions lists the statuses each status may go to.
var transitions = map[string][]string{
	StatusTriage:   {StatusActive, StatusDeclined, StatusMerged},
	StatusActive:   {StatusResolved},
	StatusResolved: {StatusActive, StatusClosed},
	StatusClosed:   {StatusActive},
}

// CanMove reports whether an incident may go from status from to to.
func CanMove(from, to string) bool { return slices.Contains(transitions[from], to) }

// Limits on what an incident holds, checked before anything is stored.
const (
	MaxTitle    = 200
	MaxSummary  = 4000
	MaxText     = 4000 // a note or a status update
	MaxServices = 20
	MaxAlerts   = 100
	MaxPerson   = 200
	MaxKey      = 200
)

// Timestamps are the moments of an incident. Each is optional; those that
// are set are ordered: impact started ≤ detected ≤ acknowledged ≤
// mitigated ≤ resolved ≤ closed, and reported ≥ detected.
type Timestamps struct {
	ImpactStarted *time.Time `json:"impactStarted,omitempty"`
	Detected      *time.Time `json:"detected,omitempty"`
	Reported      *time.Time `json:"reported,omitempty"`
	Acknowledged  *time.Time `json:"acknowledged,omitempty"`
	Mitigated     *time.Time `json:"mitigated,omitempty"`
	Resolved      *time.Time `json:"resolved,omitempty"`
	Closed        *time.Time `json:"closed,omitempty"`
}

// TimestampNames are the JSON names of the timestamps, in order.
var TimestampNames = []string{"impactStarted", "detected", "reported", "acknowledged", "mitigated", "resolved", "closed"}

// Field returns a pointer to the timestamp of the JSON name, or nil.
func (t *Timestamps) Field(name string) **time.Time {
	switch name {
	case "impactStarted":
		return &t.ImpactStarted
	case "detected":
		return &t.Detected
	case "reported":
		return &t.Reported
	case "acknowledged":
		return &t.Acknowledged
	case "mitigated":
		return &t.Mitigated
	case "resolved":
		return &t.Resolved
	case "closed":
		return &t.Closed
	}
	return nil
}

// Check enforces the order of the timestamps set. Its error names the two
// that disagree.
func (t *Timestamps) Check() error {
	chain := []string{"impactStarted", "detected", "acknowledged", "mitigated", "resolved", "closed"}
	var prevName string
	var prev *time.Time
	for _, name := range chain {
		v := *t.Field(name)
		if v == nil {
			continue
		}
		if prev != nil && v.Before(*prev) {
			return tsuna.Errorf(tsuna.EINVALID, "timestamps.%s (%s) is before timestamps.%s (%s); the order is impact started ≤ detected ≤ acknowledged ≤ mitigated ≤ resolved ≤ closed",
				name, v.Format(time.RFC3339), prevName, prev.Format(time.RFC3339))
		}
		prevName, prev = name, v
	}
	if t.ImpactStarted != nil && t.Reported != nil && t.Reported.Before(*t.ImpactStarted) {
		return tsuna.Errorf(tsuna.EINVALID, "timestamps.reported (%s) is before timestamps.impactStarted (%s); an incident is reported after its impact started",
			t.Reported.Format(time.RFC3339), t.ImpactStarted.Format(time.RFC3339))
	}
	if t.Detected != nil && t.Reported != nil && t.Reported.Before(*t.Detected) {
		return tsuna.Errorf(tsuna.EINVALID, "timestamps.reported (%s) is before timestamps.detected (%s); an incident is reported at or after it is detected",
			t.Reported.Format(time.RFC3339), t.Detected.Format(time.RFC3339))
	}
	return nil
}

// Incident is one incident.
type Incident struct {
	// Number is sequential per installation; Ref is "INC-<number>".
	Number   int64  `json:"number"`
	Ref      string `json:"ref"`
	Title    string `json:"title"`
	Summary  string `json:"summary,omitempty"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	// Stage is set while Status is active.
	Stage string `json:"stage,omitempty"`
	// Services are the affected catalog services; Team owns the first.
	Services []string `json:"services"`
	Team     string   `json:"team,omitempty"`
	// Lead and Roles name people: a catalog member's email, a Slack user
	// ID or a token name.
	Lead       string            `json:"lead,omitempty"`
	Roles      map[string]string `json:"roles,omitempty"`
	Timestamps Timestamps        `json:"timestamps"`
	// Drill marks an exercise, kept out of the metrics.
	Drill bool `json:"drill,omitempty"`
	// Alerts are the fingerprints of linked alerts.
	Alerts     []string `json:"alerts,omitempty"`
	Postmortem string   `json:"postmortem,omitempty"`
	MergedInto string   `json:"mergedInto,omitempty"`
	// Channel is the incident's own chat channel, once created.
	Channel *Channel `json:"channel,omitempty"`
	// ReportedBy is who declared it, and Source through which surface.
	ReportedBy string    `json:"reportedBy"`
	Source     string    `json:"source"`
	UpdatedAt  time.Time `json:"updatedAt"`
	// LastUpdateAt is the time of the last status update posted.
	LastUpdateAt *time.Time `json:"lastUpdateAt,omitempty"`
	// Key is the idempotency key it was declared with, if any.
	Key string `json:"-"`
}

// Channel is a chat channel.
type Channel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// RefOf returns the reference of incident number n.
func RefOf(n int64) string { return "INC-" + strconv.FormatInt(n, 10) }

// ParseRef reads "INC-42", "inc-42" or "42".
func ParseRef(s string) (int64, error) {
	n, ok := tsuna.RefNumber(s, "INC-")
	if !ok {
		return 0, tsuna.Errorf(tsuna.EINVALID, "%q is not an incident reference; write it as INC-42 or 42", tsuna.Truncate(s, 40))
	}
	return n, nil
}

// Active reports whether the incident is still being worked: triage or
// active.
func (i *Incident) Active() bool { return i.Status == StatusTriage || i.Status == StatusActive }

// CountsInMetrics reports whether the incident counts in the metrics:
// not a drill, not declined, not merged.
func (i *Incident) CountsInMetrics() bool {
	return !i.Drill && i.Status != StatusDeclined && i.Status != StatusMerged
}

// StatusText is the status with its stage, such as "active (identified)".
func (i *Incident) StatusText() string {
	if i.Status == StatusActive && i.Stage != "" {
		return i.Status + " (" + i.Stage + ")"
	}
	return i.Status
}

// Clone returns a deep copy of i.
func (i *Incident) Clone() *Incident {
	b, _ := json.Marshal(i)
	var c Incident
	json.Unmarshal(b, &c)
	c.Key = i.Key
	return &c
}

// Entry kinds of the timeline.
const (
	EntryDeclared  = "declared"
	EntryStatus    = "status"
	EntrySeverity  = "severity"
	EntryRole      = "role"
	EntryTimestamp = "timestamp"
	EntryUpdate    = "update" // a status update, posted to the channels
	EntryNote      = "note"
	EntryPin       = "pin" // a chat message pinned or marked 📌
	EntryAlert     = "alert"
	EntryLink      = "link"
	EntryChange    = "change" // title, summary, services, drill
	EntryReminder  = "reminder"
	EntryChannel   = "channel"
)

// Entry is one line of an incident's timeline.
type Entry struct {
	ID       int64     `json:"id"`
	Incident int64     `json:"incident"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Actor    string    `json:"actor"`
	Source   string    `json:"source"`
	Text     string    `json:"text"`
	// ExternalID identifies an entry from outside (a pinned chat message,
	// a reminder), so adding it twice adds it once, and removing it finds it.
	ExternalID string `json:"externalId,omitempty"`
}

// Validate checks an incident's fields against the limits and the known
// severities.
func (i *Incident) Validate(levels []string) error {
	if err := checkText("title", i.Title, MaxTitle, true); err != nil {
		return err
	}
	if err := checkText("summary", i.Summary, MaxSummary, false); err != nil {
		return err
	}
	if !slices.Contains(levels, i.Severity) {
		return tsuna.Errorf(tsuna.EINVALID, "severity: %q is not a severity level; use one of %s", tsuna.Truncate(i.Severity, 40), strings.Join(levels, ", "))
	}
	if !slices.Contains(Statuses, i.Status) {
		return tsuna.Errorf(tsuna.EINVALID, "status: %q; use one of %s", tsuna.Truncate(i.Status, 40), strings.Join(Statuses, ", "))
	}
	if i.Status == StatusActive && !slices.Contains(Stages, i.Stage) {
		return tsuna.Errorf(tsuna.EINVALID, "stage: %q; an active incident is %s", tsuna.Truncate(i.Stage, 40), strings.Join(Stages, ", "))
	}
	if len(i.Services) > MaxServices {
		return tsuna.Errorf(tsuna.EINVALID, "services: %d listed; at most %d", len(i.Services), MaxServices)
	}
	if len(i.Alerts) > MaxAlerts {
		return tsuna.Errorf(tsuna.EINVALID, "alerts: %d linked; at most %d", len(i.Alerts), MaxAlerts)
	}
	for _, p := range []struct{ field, v string }{{"lead", i.Lead}, {"postmortem", i.Postmortem}} {
		if err := checkText(p.field, p.v, MaxPerson, false); err != nil {
			return err
		}
	}
	for role, who := range i.Roles {
		if !roleRE.MatchString(role) {
			return tsuna.Errorf(tsuna.EINVALID, "roles: %q is not a role name; use lowercase letters, digits and '-'", tsuna.Truncate(role, 40))
		}
		if err := checkText("roles."+role, who, MaxPerson, false); err != nil {
			return err
		}
	}
	return i.Timestamps.Check()
}

var roleRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

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
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }):
		return tsuna.Errorf(tsuna.EINVALID, "%s: contains control characters", field)
	}
	return nil
}

// ChannelName returns the incident channel's name from the default
// template: "inc-42-short-title", lowercase, only letters, digits and
// '-', at most 80 characters (Slack's rules).
func ChannelName(number int64, title string) string {
	prefix := fmt.Sprintf("inc-%d", number)
	var b strings.Builder
	dash := true
	for _, r := range strings.ToLower(title) {
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.Trim(b.String(), "-")
	const maxLen = 80 - 4 // room for a "-2" suffix when the name is taken
	if slug == "" {
		return prefix
	}
	name := prefix + "-" + slug
	if len(name) > maxLen {
		name = strings.TrimRight(name[:maxLen], "-")
	}
	return name
}

// SuffixedName returns name with "-n" for its n-th attempt, within 80
// characters.
func SuffixedName(name string, n int) string {
	if n <= 1 {
		return name
	}
	s := "-" + strconv.Itoa(n)
	if len(name)+len(s) > 80 {
		name = strings.TrimRight(name[:80-len(s)], "-")
	}
	return name + s
}
