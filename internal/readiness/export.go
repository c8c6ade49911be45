package readiness

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// mdEscaper escapes text from outside (comments, names) so GitHub shows
// it as text: no markup, links, HTML or task boxes of its own.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;",
	"#", `\#`, "|", `\|`, "~", `\~`, "!", `\!`, "@", "@\u200b", "\r", " ", "\n", " ",
)

func md(s string) string { return mdEscaper.Replace(s) }

// Export writes review r as the body of a GitHub issue: one task-list
// checkbox per item, ticked when it is done, accepted or not applicable,
// grouped by category, with the evidence of automated items and who
// answered the others. A team keeps working where it already does.
func Export(r *Review, now time.Time) string {
	items, sum := Assess(r, now)
	var b strings.Builder
	cl := r.Checklist
	fmt.Fprintf(&b, "## Production readiness: %s\n\n", md(r.Service))
	fmt.Fprintf(&b, "Checklist **%s** version %d · team %s · tier %d · %s · review #%d opened by %s on %s\n\n",
		md(cl.Name), cl.Version, md(r.Team), r.Tier, md(r.Lifecycle), r.ID, md(r.OpenedBy), r.OpenedAt.Format(time.DateOnly))
	fmt.Fprintf(&b, "**Level: %s**", md(levelName(sum.Level)))
	if sum.Next != "" {
		fmt.Fprintf(&b, " · next: %s, blocked by %s", md(sum.Next), md(strings.Join(sum.Blocking, ", ")))
	}
	b.WriteString("\n")
	if r.Stale != nil {
		fmt.Fprintf(&b, "\n> **Stale** since %s: %s\n", r.Stale.Since.Format(time.DateOnly), md(r.Stale.Reason))
	}
	cat := ""
	for _, it := range items {
		if it.State == Skipped {
			continue
		}
		if it.Category != cat {
			cat = it.Category
			fmt.Fprintf(&b, "\n### %s\n\n", md(cat))
		}
		box := " "
		if counts(it.State) {
			box = "x"
		}
		fmt.Fprintf(&b, "- [%s] **%s** (`%s`, %s) — %s", box, md(it.Item.Question), it.Item.ID, md(it.Item.Level), strings.ReplaceAll(it.State, "_", " "))
		switch {
		case it.Answer != nil && it.State != Expired && it.Answer.Comment != "":
			fmt.Fprintf(&b, ": %s (%s, %s)", md(it.Answer.Comment), md(it.Answer.By), it.Answer.At.Format(time.DateOnly))
		case it.Answer != nil:
			fmt.Fprintf(&b, " (%s, %s)", md(it.Answer.By), it.Answer.At.Format(time.DateOnly))
		}
		if it.Answer != nil && it.Answer.Evidence != "" {
			fmt.Fprintf(&b, " · [evidence](%s)", strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(it.Answer.Evidence))
		}
		if it.Auto != nil && len(it.Auto.Evidence) > 0 {
			b.WriteString("\n  - check `" + strings.ReplaceAll(it.Item.Check, "`", "'") + "`: " + evidenceText(it.Auto.Evidence))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n<sub>Exported by tsuna; answer with `tsuna readiness answer`, the scorecard follows the answers there.</sub>\n")
	return b.String()
}

// evidenceText shows fact values as `name = value`, sorted.
func evidenceText(ev map[string]any) string {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := "unknown"
		if ev[k] != nil {
			v = fmt.Sprintf("%v", ev[k])
			if s, ok := ev[k].(string); ok {
				v = fmt.Sprintf("%q", s)
			}
		}
		parts[i] = md(k) + " = " + md(v)
	}
	return strings.Join(parts, ", ")
}
