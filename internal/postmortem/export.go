package postmortem

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// Markdown returns a postmortem as one Markdown document: its metadata,
// its text, and its follow-up actions as tsuna tracks them.
func Markdown(p *Postmortem, actions []*Action, url string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- %s, exported by tsuna -->\n\n", p.Ref)
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Postmortem | %s |\n| Incident | %s |\n| Severity | %s |\n| Status | %s |\n", p.Ref, p.Incident, mdCell(p.Severity), p.Status)
	fmt.Fprintf(&b, "| Authors | %s |\n", mdCell(strings.Join(p.Authors, ", ")))
	if len(p.Reviewers) > 0 {
		fmt.Fprintf(&b, "| Reviewers | %s |\n", mdCell(strings.Join(p.Reviewers, ", ")))
	}
	if len(p.Labels) > 0 {
		fmt.Fprintf(&b, "| Labels | %s |\n", mdCell(strings.Join(p.Labels, ", ")))
	}
	fmt.Fprintf(&b, "| Template | %s v%d |\n", mdCell(p.Template), p.TemplateVersion)
	if url != "" {
		fmt.Fprintf(&b, "| Link | %s |\n", url)
	}
	b.WriteString("\n")
	b.WriteString(strings.TrimRight(p.Body, "\n"))
	b.WriteString("\n")
	if len(actions) > 0 {
		b.WriteString("\n## Follow-up actions (tracked in tsuna)\n\n| # | type | action | owner | due | priority | status | tracker |\n|---|---|---|---|---|---|---|---|\n")
		for _, a := range actions {
			due, issue, status := "-", "-", a.Status
			if a.Due != nil {
				due = a.Due.Format("2006-01-02")
			}
			if a.Issue != nil {
				issue = fmt.Sprintf("%s#%d", a.Issue.Repo, a.Issue.Number)
			}
			if a.Status == ActionWontDo {
				status += ": " + a.Reason
			}
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", a.ID, a.Type, mdCell(a.Title), mdCell(a.Owner), due, a.Priority, mdCell(status), issue)
		}
	}
	return b.String()
}

var md = goldmark.New(goldmark.WithExtensions(extension.GFM))

// HTML renders Markdown safely for the console: raw HTML in the text is
// not passed through and dangerous link schemes (javascript:, data:) are
// dropped, so a postmortem cannot inject markup into the page.
func HTML(markdown string) template.HTML {
	var buf bytes.Buffer
	if err := md.Convert([]byte(markdown), &buf); err != nil {
		return template.HTML("<pre>" + template.HTMLEscapeString(markdown) + "</pre>")
	}
	return template.HTML(buf.String()) // goldmark escapes text and omits raw HTML without WithUnsafe
}
