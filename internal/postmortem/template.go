package postmortem

import (
	_ "embed"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
)

//go:embed default_template.yaml
var defaultTemplateYAML []byte

// DefaultTemplateName names the template a draft uses unless told.
const DefaultTemplateName = "default"

// DefaultTemplate returns the embedded blameless template.
func DefaultTemplate() catalog.PostmortemTemplate {
	ts, err := catalog.PostmortemTemplatesOf([]catalog.File{{Path: "default_template.yaml", Data: defaultTemplateYAML}})
	if err != nil || len(ts) != 1 {
		panic(fmt.Sprintf("postmortem: the embedded template does not read: %v", err)) // a test reads it
	}
	return ts[0]
}

// DefaultTemplateYAML returns the embedded template's YAML, a starting
// point for a catalog's own.
func DefaultTemplateYAML() []byte { return defaultTemplateYAML }

// draftInput is what a draft's text is written from.
type draftInput struct {
	inc      *incident.Incident
	entries  []incident.Entry
	facts    Facts
	authors  []string
	due      *time.Time
	template catalog.PostmortemTemplate
}

// render writes the draft's Markdown from the template: each section's
// title, its help as an HTML comment (never shown once published), and
// its pre-filled text.
func render(in draftInput) string {
	var b strings.Builder
	inc := in.inc
	fmt.Fprintf(&b, "# %s\n\n", mdLine(inc.Title))
	fmt.Fprintf(&b, "- **Incident:** %s (%s)\n", inc.Ref, inc.Severity)
	if d := firstTime(inc.Timestamps.ImpactStarted, inc.Timestamps.Detected, inc.Timestamps.Reported); d != nil {
		fmt.Fprintf(&b, "- **Date:** %s\n", d.UTC().Format("2006-01-02"))
	}
	if len(inc.Services) > 0 {
		fmt.Fprintf(&b, "- **Services:** %s\n", mdLine(strings.Join(inc.Services, ", ")))
	}
	if inc.Team != "" {
		fmt.Fprintf(&b, "- **Team:** %s\n", mdLine(inc.Team))
	}
	fmt.Fprintf(&b, "- **Authors:** %s\n", mdLine(strings.Join(in.authors, ", ")))
	if in.due != nil {
		fmt.Fprintf(&b, "- **Due:** %s\n", in.due.Format("2006-01-02"))
	}
	fmt.Fprintf(&b, "- **Template:** %s v%d\n", in.template.Name, in.template.Version)
	for _, s := range in.template.Sections {
		fmt.Fprintf(&b, "\n## %s\n\n", s.Title)
		if h := strings.TrimSpace(s.Help); h != "" {
			fmt.Fprintf(&b, "<!-- %s -->\n\n", strings.ReplaceAll(h, "--", "- -"))
		}
		if fill := prefill(s.Prefill, in); fill != "" {
			b.WriteString(fill)
			b.WriteString("\n")
		}
		if t := strings.TrimSpace(s.Text); t != "" {
			b.WriteString(t)
			b.WriteString("\n")
		}
	}
	return b.String()
}

func prefill(kind string, in draftInput) string {
	var b strings.Builder
	inc := in.inc
	switch kind {
	case "summary":
		if s := strings.TrimSpace(inc.Summary); s != "" {
			b.WriteString(mdText(s) + "\n")
		}
	case "impact":
		if len(inc.Services) > 0 {
			fmt.Fprintf(&b, "Affected services: %s.\n\n", mdLine(strings.Join(inc.Services, ", ")))
		}
		if len(in.facts.Budget) > 0 {
			b.WriteString("Error budget spent during the incident (percentage points of each SLO's budget for its period, from the budget history):\n\n")
			b.WriteString("| service | SLO | objective | remaining before | remaining after | spent |\n|---|---|---|---|---|---|\n")
			for _, s := range in.facts.Budget {
				if s.Spent == nil {
					fmt.Fprintf(&b, "| %s | %s | %s%% | - | - | unknown: %s |\n", mdCell(s.Service), mdCell(s.SLO), fmtFloat(s.Objective), mdCell(s.Reason))
					continue
				}
				fmt.Fprintf(&b, "| %s | %s | %s%% | %s%% | %s%% | **%s%%** |\n", mdCell(s.Service), mdCell(s.SLO), fmtFloat(s.Objective),
					fmtPct(*s.RemainingBefore), fmtPct(*s.RemainingAfter), fmtPct(*s.Spent))
			}
		}
	case "metrics", "timeline":
		if kind == "timeline" {
			b.WriteString(metricsTable(in.facts))
			b.WriteString("\n")
		}
		if kind == "metrics" {
			b.WriteString(metricsTable(in.facts))
			break
		}
		if len(in.entries) == 0 {
			b.WriteString("_No timeline entries._\n")
			break
		}
		b.WriteString("| time (UTC) | what | who |\n|---|---|---|\n")
		for i, e := range in.entries {
			if i == MaxTimelineLines {
				fmt.Fprintf(&b, "| | … %d more entries in %s's timeline | |\n", len(in.entries)-i, inc.Ref)
				break
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", e.Time.UTC().Format("2006-01-02 15:04:05"), mdCell(e.Text), mdCell(e.Actor))
		}
	case "alerts":
		if len(in.facts.Alerts) == 0 {
			break
		}
		b.WriteString("Alerts that fired:\n\n")
		for _, a := range in.facts.Alerts {
			line := fmt.Sprintf("- %s, firing from %s", mdLine(a.Name), a.StartsAt.UTC().Format(time.RFC3339))
			if a.EndsAt != nil {
				line += " to " + a.EndsAt.UTC().Format(time.RFC3339)
			}
			if a.Summary != "" {
				line += ": " + mdLine(a.Summary)
			}
			b.WriteString(line + "\n")
		}
	case "participants":
		for _, p := range in.facts.Participants {
			fmt.Fprintf(&b, "- %s: %s\n", mdLine(p.Role), mdLine(p.Person))
		}
	case "actions":
		b.WriteString("| type | action | owner | due | status | tracker |\n|---|---|---|---|---|---|\n")
	}
	return b.String()
}

func metricsTable(f Facts) string {
	var b strings.Builder
	b.WriteString("| metric | from → to | duration |\n|---|---|---|\n")
	for _, iv := range f.Intervals {
		d := "unknown (a timestamp is missing)"
		if iv.Seconds != nil {
			d = formatSeconds(*iv.Seconds)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", strings.ToUpper(iv.Name), iv.Origin, d)
	}
	return b.String()
}

// formatSeconds prints a duration as "1h 02m 03s".
func formatSeconds(s float64) string {
	d := time.Duration(math.Round(s)) * time.Second
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %02dm %02ds", h, m, sec)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, sec)
	}
	return fmt.Sprintf("%ds", sec)
}

func fmtFloat(f float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", f), "0"), ".")
}
func fmtPct(f float64) string { return fmt.Sprintf("%.2f", f) }

var mdSpecial = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "#", `\#`, "|", `\|`)

// mdLine escapes text from outside for one line of Markdown.
func mdLine(s string) string {
	return mdSpecial.Replace(strings.Join(strings.Fields(s), " "))
}

// mdText escapes text from outside for a Markdown paragraph.
func mdText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = mdSpecial.Replace(l)
	}
	return strings.Join(lines, "\n")
}

func mdCell(s string) string { return mdLine(s) }

func firstTime(ts ...*time.Time) *time.Time {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}
