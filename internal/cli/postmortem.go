package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/client"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

func newPostmortem(env *Env) *cobra.Command {
	c := &cobra.Command{
		Use:     "postmortem",
		Aliases: []string{"pm"},
		Short:   "Draft, write, review, publish, export and search postmortems; follow up their actions",
		Long: `Postmortems are drafted in one step from an incident (its timeline, TTD/TTA/TTM/TTR,
the alerts that fired and the error budget each affected SLO spent), from a
versioned template; they go draft → in review → published, and published ones
form a library anyone can search. Follow-up actions have an owner, a due date
and, optionally, a GitHub issue kept in step.`,
	}
	c.AddCommand(pmCreate(env), pmShow(env), pmEdit(env), pmReview(env), pmPublish(env), pmExport(env), pmSearch(env), pmList(env), pmActions(env))
	return c
}

func newOnboarding(env *Env) *cobra.Command {
	c := &cobra.Command{Use: "onboarding", Short: "The welcome tsuna sends to new team members"}
	var r remoteCmd
	var team string
	preview := &cobra.Command{
		Use:   "preview --team TEAM",
		Short: "Show the welcome a new member of a team gets (how to declare, the severities, the reading list)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if team == "" {
				return usageError{fmt.Errorf("--team is required")}
			}
			cl, err := r.client(env)
			if err != nil {
				return err
			}
			p, err := cl.OnboardingPreview(cmd.Context(), team)
			if err != nil {
				return err
			}
			if r.output == "json" {
				return writeJSON(env.Stdout, p)
			}
			m := p.Message
			fmt.Fprintf(env.Stdout, "%s\n%s\n\n%s", m.Title, m.Summary, m.Body)
			for _, l := range m.Links {
				fmt.Fprintf(env.Stdout, "%s: %s\n", l.Title, l.URL)
			}
			return nil
		},
	}
	preview.Flags().StringVar(&team, "team", "", "a catalog team")
	c.AddCommand(r.bind(preview))
	return c
}

func printPostmortem(env *Env, output string, p *postmortem.Postmortem, verb string) error {
	if output == "json" {
		return writeJSON(env.Stdout, p)
	}
	if verb != "" {
		fmt.Fprintf(env.Stdout, "%s %s (%s, %s) of %s: %s\n", verb, p.Ref, p.Severity, p.Status, p.Incident, p.Title)
		return nil
	}
	w := env.Stdout
	fmt.Fprintf(w, "%s: %s\n", p.Ref, p.Title)
	fmt.Fprintf(w, "  incident:  %s (%s)\n  status:    %s\n  team:      %s\n  services:  %s\n  authors:   %s\n  reviewers: %s\n  labels:    %s\n  template:  %s v%d\n  revision:  %d\n",
		p.Incident, p.Severity, p.Status, dash(p.Team), dash(strings.Join(p.Services, ", ")), dash(strings.Join(p.Authors, ", ")),
		dash(strings.Join(p.Reviewers, ", ")), dash(strings.Join(p.Labels, ", ")), p.Template, p.TemplateVersion, p.Revision)
	if p.Due != nil {
		fmt.Fprintf(w, "  due:       %s\n", p.Due.Format("2006-01-02"))
	}
	if p.Issue != nil {
		fmt.Fprintf(w, "  issue:     %s\n", p.Issue.URL)
	}
	for _, iv := range p.Facts.Intervals {
		v := "unknown (a timestamp is missing)"
		if iv.Seconds != nil {
			v = (time.Duration(*iv.Seconds) * time.Second).String()
		}
		fmt.Fprintf(w, "  %s: %s  (%s)\n", strings.ToUpper(iv.Name), v, iv.Origin)
	}
	for _, b := range p.Facts.Budget {
		if b.Spent != nil {
			fmt.Fprintf(w, "  budget %s/%s: %.2f%% of the budget spent (%.2f%% → %.2f%% remaining)\n", b.Service, b.SLO, *b.Spent, *b.RemainingBefore, *b.RemainingAfter)
		} else {
			fmt.Fprintf(w, "  budget %s/%s: unknown (%s)\n", b.Service, b.SLO, b.Reason)
		}
	}
	fmt.Fprintf(w, "\n%s", p.Body)
	return nil
}

func pmCreate(env *Env) *cobra.Command {
	var r remoteCmd
	var req postmortem.DraftRequest
	c := &cobra.Command{
		Use:     "create INC-42",
		Short:   "Draft the postmortem of an incident (or show the one it has)",
		Example: "  tsuna postmortem create INC-42\n  tsuna postmortem create INC-42 --timeline key --template blameless-short",
		Args:    cobra.ExactArgs(1),
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			req.Incident = args[0]
			p, err := cl.DraftPostmortem(cmd.Context(), req)
			if err != nil {
				return err
			}
			return printPostmortem(env, r.output, p, "drafted")
		}),
	}
	c.Flags().StringVar(&req.Template, "template", "", "a PostmortemTemplate of the catalog (default: default)")
	c.Flags().StringVar(&req.Timeline, "timeline", "", "all (default) or key: pinned messages, status updates and changes")
	return r.bind(c)
}

func pmShow(env *Env) *cobra.Command {
	var r remoteCmd
	var revisions bool
	c := &cobra.Command{
		Use:   "show PM-7|INC-42",
		Short: "Show a postmortem (--revisions: its previous texts)",
		Args:  cobra.ExactArgs(1),
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			if revisions {
				revs, err := cl.PostmortemRevisions(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if r.output == "json" {
					return writeJSON(env.Stdout, revs)
				}
				for _, rv := range revs {
					fmt.Fprintf(env.Stdout, "revision %d, replaced by %s at %s (%d bytes)\n", rv.Revision, rv.Actor, rv.Time.Format(time.RFC3339), len(rv.Body))
				}
				return nil
			}
			p, err := cl.Postmortem(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printPostmortem(env, r.output, p, "")
		}),
	}
	c.Flags().BoolVar(&revisions, "revisions", false, "list the previous texts")
	return r.bind(c)
}

func pmEdit(env *Env) *cobra.Command {
	var r remoteCmd
	var file, title, due string
	var labels, authors, reviewers []string
	c := &cobra.Command{
		Use:   "edit PM-7|INC-42",
		Short: "Edit a postmortem's text in $EDITOR (or from --file), or its title, labels, authors, reviewers, due date",
		Long: `Edit opens the postmortem's Markdown in $EDITOR (vi if unset) and saves it when the
editor exits, unless the text is unchanged. The edit is refused if someone saved
another revision meanwhile. Phrases that blame people are pointed out with a
suggested rewrite: hints, never blocks.`,
		Args: cobra.ExactArgs(1),
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			p, err := cl.Postmortem(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ch := postmortem.Change{Revision: p.Revision}
			f := cmd.Flags()
			if f.Changed("title") {
				ch.Title = &title
			}
			if f.Changed("label") {
				ch.Labels = &labels
			}
			if f.Changed("author") {
				ch.Authors = &authors
			}
			if f.Changed("reviewer") {
				ch.Reviewers = &reviewers
			}
			if ch.Due, err = parseDue(due); err != nil {
				return err
			}
			fieldsOnly := ch.Title != nil || ch.Labels != nil || ch.Authors != nil || ch.Reviewers != nil || ch.Due != nil
			if file != "" || !fieldsOnly {
				body, err := editBody(env, p, file)
				if err != nil {
					return err
				}
				if body != p.Body {
					ch.Body = &body
				}
			}
			if ch.Body == nil && !fieldsOnly {
				fmt.Fprintln(env.Stderr, "unchanged: nothing saved")
				return nil
			}
			out, err := cl.EditPostmortem(cmd.Context(), p.Ref, ch)
			if err != nil {
				return err
			}
			if ch.Body != nil {
				if h, err := cl.PostmortemHints(cmd.Context(), *ch.Body); err == nil {
					printHints(env.Stderr, h.Hints)
				}
			}
			return printPostmortem(env, r.output, out, "saved")
		}),
	}
	fl := c.Flags()
	fl.StringVar(&file, "file", "", "read the new text from this file (- for standard input) instead of opening $EDITOR")
	fl.StringVar(&title, "title", "", "a new title")
	fl.StringSliceVar(&labels, "label", nil, "the labels (replaces them; such as recommended)")
	fl.StringSliceVar(&authors, "author", nil, "the authors (replaces them)")
	fl.StringSliceVar(&reviewers, "reviewer", nil, "the reviewers (replaces them)")
	fl.StringVar(&due, "due", "", "the due date, 2026-12-01")
	return r.bind(c)
}

// editBody returns the new text: from file, or from $EDITOR on a
// temporary copy.
func editBody(env *Env, p *postmortem.Postmortem, file string) (string, error) {
	var b []byte
	var err error
	switch file {
	case "":
		dir, err := os.MkdirTemp("", "tsuna-edit-")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, p.Ref+".md")
		if err := os.WriteFile(path, []byte(p.Body), 0o600); err != nil {
			return "", err
		}
		editor := env.getenv("VISUAL")
		if editor == "" {
			editor = env.getenv("EDITOR")
		}
		if editor == "" {
			editor = "vi"
		}
		fields := strings.Fields(editor)
		cmd := exec.Command(fields[0], append(fields[1:], path)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = env.Stdin, env.Stdout, env.Stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("the editor %q failed: %w; nothing saved", editor, err)
		}
		b, err = os.ReadFile(path)
		if err != nil {
			return "", err
		}
	case "-":
		b, err = io.ReadAll(io.LimitReader(env.Stdin, postmortem.MaxBody+1))
	default:
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return "", fmt.Errorf("read the new text: %w", err)
	}
	if len(b) > postmortem.MaxBody {
		return "", fmt.Errorf("the text is over %d KiB; shorten it", postmortem.MaxBody>>10)
	}
	return string(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))), nil
}

// parseDue reads --due, a date such as 2026-12-01; nil when it is empty.
func parseDue(due string) (*time.Time, error) {
	if due == "" {
		return nil, nil
	}
	t, err := time.Parse("2006-01-02", due)
	if err != nil {
		return nil, usageError{fmt.Errorf("--due %q: write it as 2026-12-01", due)}
	}
	return &t, nil
}

func printHints(w io.Writer, hints []postmortem.Hint) {
	if len(hints) == 0 {
		return
	}
	fmt.Fprintf(w, "blameless hints (%d; suggestions, nothing was refused):\n", len(hints))
	for _, h := range hints {
		fmt.Fprintf(w, "  %d:%d: %q: %s\n", h.Line, h.Column, h.Phrase, h.Suggestion)
	}
}

func pmReview(env *Env) *cobra.Command {
	var r remoteCmd
	var reviewers []string
	c := &cobra.Command{
		Use:   "review PM-7|INC-42 --reviewer EMAIL",
		Short: "Send a postmortem for review (posted in the team's channel)",
		Args:  cobra.ExactArgs(1),
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			p, err := cl.SetPostmortemStatus(cmd.Context(), args[0], api.StatusRequest{Status: postmortem.StatusInReview, Reviewers: reviewers})
			if err != nil {
				return err
			}
			return printPostmortem(env, r.output, p, "in review:")
		}),
	}
	c.Flags().StringSliceVar(&reviewers, "reviewer", nil, "a reviewer (repeat for several)")
	return r.bind(c)
}

func pmPublish(env *Env) *cobra.Command {
	var r remoteCmd
	var reopen bool
	c := &cobra.Command{
		Use:   "publish PM-7|INC-42",
		Short: "Publish a reviewed postmortem into the library (--reopen: back to draft)",
		Args:  cobra.ExactArgs(1),
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			st, verb := postmortem.StatusPublished, "published"
			if reopen {
				st, verb = postmortem.StatusDraft, "reopened"
			}
			p, err := cl.SetPostmortemStatus(cmd.Context(), args[0], api.StatusRequest{Status: st})
			if err != nil {
				return err
			}
			return printPostmortem(env, r.output, p, verb)
		}),
	}
	c.Flags().BoolVar(&reopen, "reopen", false, "changes were requested: back to draft")
	return r.bind(c)
}

func pmExport(env *Env) *cobra.Command {
	var r remoteCmd
	var format, out string
	c := &cobra.Command{
		Use:   "export PM-7|INC-42",
		Short: "Export a postmortem: a Markdown file, or a GitHub issue (created once, then updated)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "markdown" && format != "github" {
				return usageError{fmt.Errorf("--format %q: use markdown or github", format)}
			}
			cl, err := r.client(env)
			if err != nil {
				return err
			}
			if format == "github" {
				p, err := cl.ExportPostmortem(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if r.output == "json" {
					return writeJSON(env.Stdout, p)
				}
				fmt.Fprintf(env.Stdout, "exported %s to %s\n", p.Ref, p.Issue.URL)
				return nil
			}
			p, err := cl.Postmortem(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			acts, err := cl.PostmortemActions(cmd.Context(), p.Ref)
			if err != nil {
				return err
			}
			md := postmortem.Markdown(p, acts, "")
			if out == "" || out == "-" {
				_, err = io.WriteString(env.Stdout, md)
				return err
			}
			if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(env.Stderr, "wrote %s\n", out)
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "markdown", "markdown or github")
	c.Flags().StringVarP(&out, "file", "f", "", "write the Markdown to this file (default: standard output)")
	return r.bind(c)
}

func pmFilterFlags(c *cobra.Command, vals map[string]*string) {
	for _, name := range []string{"service", "team", "severity", "label", "since"} {
		v := new(string)
		vals[name] = v
		c.Flags().StringVar(v, name, "", "only postmortems with this "+name)
	}
}

func pmQuery(vals map[string]*string) url.Values {
	set := make(map[string]string, len(vals))
	for k, v := range vals {
		set[k] = *v
	}
	return queryOf(set)
}

func pmSearch(env *Env) *cobra.Command {
	var r remoteCmd
	vals := map[string]*string{}
	c := &cobra.Command{
		Use:   "search WORDS...",
		Short: "Search the published postmortems, best match first",
		Args:  cobra.MinimumNArgs(1),
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			q := pmQuery(vals)
			q.Set("q", strings.Join(args, " "))
			res, err := cl.SearchPostmortems(cmd.Context(), q)
			if err != nil {
				return err
			}
			if r.output == "json" {
				return writeJSON(env.Stdout, res)
			}
			if len(res.Hits) == 0 {
				fmt.Fprintln(env.Stdout, "no published postmortem matches")
			}
			for _, h := range res.Hits {
				fmt.Fprintf(env.Stdout, "%s  %s  (%s, %s)\n    %s\n", h.Postmortem.Ref, h.Postmortem.Title, h.Postmortem.Incident, h.Postmortem.Severity, highlight(h.Excerpt, h.Marks))
			}
			return nil
		}),
	}
	pmFilterFlags(c, vals)
	return r.bind(c)
}

// highlight wraps the marked ranges of an excerpt in [brackets].
func highlight(s string, marks [][2]int) string {
	var b strings.Builder
	last := 0
	for _, m := range marks {
		if m[0] < last || m[1] > len(s) || m[0] > m[1] {
			continue
		}
		b.WriteString(s[last:m[0]] + "[" + s[m[0]:m[1]] + "]")
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func pmList(env *Env) *cobra.Command {
	var r remoteCmd
	var status string
	vals := map[string]*string{}
	c := &cobra.Command{
		Use:   "list",
		Short: "List the library: published postmortems, recommended first (--status draft|in_review for those you may read)",
		Args:  cobra.NoArgs,
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			q := pmQuery(vals)
			if status != "" {
				q.Set("status", status)
			}
			list, err := cl.Postmortems(cmd.Context(), q)
			if err != nil {
				return err
			}
			if r.output == "json" {
				return writeJSON(env.Stdout, list)
			}
			for _, p := range list {
				fmt.Fprintf(env.Stdout, "%-7s %-9s %-10s %-12s %s  [%s]\n", p.Ref, p.Incident, p.Severity, p.Status, p.Title, strings.Join(p.Labels, ", "))
			}
			return nil
		}),
	}
	c.Flags().StringVar(&status, "status", "", "draft, in_review or published (default)")
	pmFilterFlags(c, vals)
	return r.bind(c)
}

func pmActions(env *Env) *cobra.Command {
	var r remoteCmd
	var team, owner, status string
	var overdue bool
	c := &cobra.Command{
		Use:   "actions [PM-7|INC-42]",
		Short: "List follow-up actions: of a postmortem, or across them (--team, --owner, --overdue)",
		Args:  cobra.MaximumNArgs(1),
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			var acts []*postmortem.Action
			var err error
			if len(args) == 1 {
				acts, err = cl.PostmortemActions(cmd.Context(), args[0])
			} else {
				q := queryOf(map[string]string{"team": team, "owner": owner, "status": status})
				if overdue {
					q.Set("overdue", "true")
				}
				acts, err = cl.Actions(cmd.Context(), q)
			}
			if err != nil {
				return err
			}
			return printActions(env, r.output, acts)
		}),
	}
	f := c.Flags()
	f.StringVar(&team, "team", "", "a team's actions")
	f.StringVar(&owner, "owner", "", "an owner's actions (email)")
	f.StringVar(&status, "status", "", "open, done or wont_do")
	f.BoolVar(&overdue, "overdue", false, "open actions past their due date")
	c.AddCommand(pmActionAdd(env), pmActionSet(env, "done", postmortem.ActionDone), pmActionSet(env, "wontdo", postmortem.ActionWontDo), pmActionSet(env, "reopen", postmortem.ActionOpen))
	return r.bind(c)
}

func printActions(env *Env, output string, acts []*postmortem.Action) error {
	if output == "json" {
		return writeJSON(env.Stdout, acts)
	}
	now := time.Now()
	for _, a := range acts {
		due := "-"
		if a.Due != nil {
			due = a.Due.Format("2006-01-02")
			if a.Overdue(now) {
				due += " (overdue)"
			}
		}
		issue := ""
		if a.Issue != nil {
			issue = "  " + a.Issue.URL
		}
		fmt.Fprintf(env.Stdout, "#%-4d %-6s %-9s %-7s %-8s %s — %s, due %s%s\n", a.ID, a.PostmortemRef, a.Type, a.Priority, a.Status, a.Title, a.Owner, due, issue)
	}
	return nil
}

func pmActionAdd(env *Env) *cobra.Command {
	var r remoteCmd
	var na postmortem.NewAction
	var due string
	c := &cobra.Command{
		Use:     "add PM-7|INC-42 --title T --type detect|prevent|mitigate|process --owner EMAIL",
		Short:   "Add a follow-up action (--track creates its GitHub issue)",
		Example: `  tsuna postmortem actions add PM-7 --title "Alert on pool saturation" --type detect --owner ana@example.com --due 2026-12-15 --track`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if na.Due, err = parseDue(due); err != nil {
				return err
			}
			cl, err := r.client(env)
			if err != nil {
				return err
			}
			a, err := cl.AddAction(cmd.Context(), args[0], na)
			if err != nil {
				return err
			}
			return printActions(env, r.output, []*postmortem.Action{a})
		},
	}
	f := c.Flags()
	f.StringVar(&na.Title, "title", "", "what to do")
	f.StringVar(&na.Type, "type", "", "detect, prevent, mitigate or process")
	f.StringVar(&na.Owner, "owner", "", "a catalog member's email")
	f.StringVar(&due, "due", "", "the due date, 2026-12-01")
	f.StringVar(&na.Priority, "priority", "", "high, medium (default) or low")
	f.Int64Var(&na.FromEntry, "from-entry", 0, "the incident timeline entry it comes from")
	f.BoolVar(&na.Track, "track", false, "create its issue in the configured GitHub repository")
	return r.bind(c)
}

func pmActionSet(env *Env, verb, status string) *cobra.Command {
	var r remoteCmd
	var reason string
	c := &cobra.Command{
		Use:   verb + " ID",
		Short: "Mark a follow-up action " + strings.ReplaceAll(status, "_", " "),
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64)
			if err != nil {
				return usageError{fmt.Errorf("%q is not an action number", args[0])}
			}
			cl, err := r.client(env)
			if err != nil {
				return err
			}
			ch := postmortem.ActionChange{Status: &status}
			if reason != "" {
				ch.Reason = &reason
			}
			a, err := cl.UpdateAction(cmd.Context(), id, ch)
			if err != nil {
				return err
			}
			return printActions(env, r.output, []*postmortem.Action{a})
		},
	}
	if status == postmortem.ActionWontDo {
		c.Flags().StringVar(&reason, "reason", "", "why it will not be done (required)")
	}
	return r.bind(c)
}
