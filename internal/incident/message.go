package incident

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/notify"
)

// slackUserRE matches a Slack user ID, which a person field may hold.
var slackUserRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// IsSlackUser reports whether person is a Slack user ID.
func IsSlackUser(person string) bool { return slackUserRE.MatchString(person) }

// MessageKey is the key of an incident's summary message: one per
// incident and channel, updated as the incident changes.
func MessageKey(inc *Incident) string { return "incident/" + inc.Ref }

func personField(name, person string) notify.Field {
	if IsSlackUser(person) {
		return notify.Field{Name: name, Users: []string{person}}
	}
	return notify.Field{Name: name, Value: dash(person)}
}

// URL returns the incident's console page under base, or "".
func URL(base string, inc *Incident) string {
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/incidents/" + inc.Ref
}

// SummaryMessage is the incident's message in its team's channel (with
// the on-call mentioned while it is worked) and the organisation's: title,
// severity, status, lead, services, channel.
func SummaryMessage(inc *Incident, oncall, consoleURL string) notify.Message {
	status := notify.StatusInfo
	switch inc.Status {
	case StatusActive, StatusTriage:
		status = notify.StatusFiring
	case StatusResolved, StatusClosed:
		status = notify.StatusResolved
	}
	title := fmt.Sprintf("%s %s: %s", inc.Ref, inc.Severity, inc.Title)
	if inc.Drill {
		title += " (drill)"
	}
	m := notify.Message{
		Key: MessageKey(inc), Title: title, Status: status, Severity: inc.Severity, Summary: inc.Summary,
		Fields: []notify.Field{
			{Name: "Status", Value: inc.StatusText()},
			{Name: "Severity", Value: inc.Severity},
			personField("Lead", inc.Lead),
			{Name: "Services", Value: dash(strings.Join(inc.Services, ", "))},
			{Name: "Team", Value: dash(inc.Team)},
		},
		Fallback: fmt.Sprintf("%s %s %s: %s", inc.Ref, inc.Severity, inc.StatusText(), inc.Title),
		URL:      URL(consoleURL, inc),
	}
	if inc.Channel != nil {
		m.Fields = append(m.Fields, notify.Field{Name: "Channel", Value: "#" + inc.Channel.Name})
	}
	if oncall != "" && inc.Active() {
		m.Mentions = []string{oncall}
		m.Fields = append(m.Fields, notify.Field{Name: "On call", Users: m.Mentions})
	}
	if u := URL(consoleURL, inc); notify.SafeURL(u) {
		m.Links = append(m.Links, notify.Link{Title: "Incident " + inc.Ref, URL: u})
	}
	if inc.MergedInto != "" {
		m.Notes = append(m.Notes, "Merged into "+inc.MergedInto)
	}
	return m
}

// UpdateMessage is a status update, posted once in each channel.
func UpdateMessage(inc *Incident, text, author string, at time.Time) notify.Message {
	return notify.Message{
		Key:      fmt.Sprintf("incident/%s/update/%d", inc.Ref, at.UnixMicro()),
		Title:    fmt.Sprintf("Status update: %s %s", inc.Ref, inc.Title),
		Status:   notify.StatusInfo,
		Severity: inc.Severity,
		Body:     text,
		Fields:   []notify.Field{{Name: "Status", Value: inc.StatusText()}, {Name: "By", Value: dash(author)}},
		Fallback: fmt.Sprintf("%s status update: %s", inc.Ref, tsuna.Truncate(text, 200)),
	}
}

// ReminderMessage reminds an incident's channel of rule.
func ReminderMessage(inc *Incident, rule string, base, now time.Time) notify.Message {
	since := now.Sub(base).Round(time.Minute)
	var summary string
	switch rule {
	case RuleNoLead:
		summary = fmt.Sprintf("%s has had no lead for %s. Take it with /tsuna incident lead @you.", inc.Ref, since)
	case RuleNoUpdate:
		summary = fmt.Sprintf("No status update on %s for %s. Post one with /tsuna incident update <text>.", inc.Ref, since)
	case RuleUnclosed:
		summary = fmt.Sprintf("%s was resolved %s ago and is not closed. Close it when the follow-up is done.", inc.Ref, since)
	}
	return notify.Message{
		Key:      fmt.Sprintf("incident/%s/reminder/%s/%d", inc.Ref, rule, base.UnixMicro()),
		Title:    "Reminder: " + inc.Ref + " " + inc.Title,
		Status:   notify.StatusInfo,
		Summary:  summary,
		Fallback: summary,
	}
}

// Markdown renders an incident and its timeline as Markdown, escaping the
// text people wrote.
func Markdown(inc *Incident, entries []Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s\n\n", inc.Ref, mdEscape(inc.Title))
	fmt.Fprintf(&b, "- Severity: %s\n- Status: %s\n- Services: %s\n- Team: %s\n- Lead: %s\n", inc.Severity, inc.StatusText(),
		mdEscape(dash(strings.Join(inc.Services, ", "))), mdEscape(dash(inc.Team)), mdEscape(dash(inc.Lead)))
	for _, name := range TimestampNames {
		if t := *inc.Timestamps.Field(name); t != nil {
			fmt.Fprintf(&b, "- %s: %s\n", name, t.UTC().Format(time.RFC3339))
		}
	}
	if inc.Summary != "" {
		fmt.Fprintf(&b, "\n%s\n", mdEscape(inc.Summary))
	}
	b.WriteString("\n## Timeline\n\n| time (UTC) | kind | by | what |\n|---|---|---|---|\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", e.Time.UTC().Format("2006-01-02 15:04:05"), e.Kind, mdCell(e.Actor+" ("+e.Source+")"), mdCell(e.Text))
	}
	return b.String()
}

var mdSpecial = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;", "#", `\#`, "|", `\|`)

func mdEscape(s string) string { return mdSpecial.Replace(s) }

func mdCell(s string) string {
	return strings.ReplaceAll(mdEscape(s), "\n", "<br>")
}
