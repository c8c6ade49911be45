package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/client"
	"github.com/tsuna-sre/tsuna/internal/readiness"
)

func newReadiness(env *Env) *cobra.Command {
	c := &cobra.Command{
		Use:   "readiness",
		Short: "Production readiness reviews: checklists as code, checks from what tsuna knows",
		Long: `Review a service against a production readiness checklist (a catalog document
of kind Checklist, or the one tsuna ships). Automated items are decided by
facts tsuna knows (catalog, SLOs, alerts, incidents); manual items are answered
by a person, who and when recorded, and expire. A service's level is the highest
whose items are all done, accepted or not applicable. See docs/readiness.md.`,
	}
	c.AddCommand(readinessReview(env), readinessShow(env), readinessAnswer(env), readinessClose(env),
		readinessScorecard(env), readinessExport(env), readinessFeedback(env))
	return c
}

func printReview(env *Env, output string, v *api.ReviewView, verb string) error {
	if output == "json" {
		return writeJSON(env.Stdout, v)
	}
	w := env.Stdout
	r := v.Review
	if verb != "" {
		fmt.Fprintf(w, "%s review #%d of %s against %s v%d\n", verb, r.ID, r.Service, r.Checklist.Name, r.Checklist.Version)
	}
	fmt.Fprintf(w, "%s: level %s", r.Service, dash(v.Summary.Level))
	if v.Summary.Next != "" {
		fmt.Fprintf(w, "; next %s, blocked by %s", v.Summary.Next, dash(strings.Join(v.Summary.Blocking, ", ")))
	}
	fmt.Fprintf(w, "\n  review #%d %s, tier %d %s, team %s\n", r.ID, r.Status, r.Tier, r.Lifecycle, r.Team)
	if r.Stale != nil {
		fmt.Fprintf(w, "  STALE since %s: %s\n", r.Stale.Since.Format(time.DateOnly), r.Stale.Reason)
	}
	cat := ""
	for _, it := range v.Items {
		if it.Category != cat {
			cat = it.Category
			fmt.Fprintf(w, "\n%s\n", cat)
		}
		fmt.Fprintf(w, "  %-15s %-22s %s\n", it.State, it.Item.ID+" ("+it.Item.Level+")", it.Why)
	}
	return nil
}

type reviewFlags struct {
	r         remoteCmd
	checklist string
}

func (f *reviewFlags) bind(c *cobra.Command) *cobra.Command {
	c.Flags().StringVar(&f.checklist, "checklist", "", "checklist name (default "+readiness.DefaultChecklistName+")")
	return f.r.bind(c)
}

func readinessReview(env *Env) *cobra.Command {
	var f reviewFlags
	return f.bind(&cobra.Command{
		Use:     "review SERVICE",
		Short:   "Open a review of a service (or show the open one, its facts evaluated again)",
		Example: "  tsuna readiness review checkout-api",
		Args:    cobra.ExactArgs(1),
		RunE: f.r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			v, err := cl.OpenReview(cmd.Context(), args[0], f.checklist)
			if err != nil {
				return err
			}
			return printReview(env, f.r.output, v, "opened")
		}),
	})
}

func readinessShow(env *Env) *cobra.Command {
	var f reviewFlags
	return f.bind(&cobra.Command{
		Use:   "show SERVICE",
		Short: "Show a service's current review item by item, with the level and what blocks the next",
		Args:  cobra.ExactArgs(1),
		RunE: f.r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			v, err := cl.Review(cmd.Context(), args[0], f.checklist)
			if err != nil {
				return err
			}
			return printReview(env, f.r.output, v, "")
		}),
	})
}

func readinessAnswer(env *Env) *cobra.Command {
	var (
		f   reviewFlags
		req api.AnswerRequest
	)
	return f.bind(func() *cobra.Command {
		c := &cobra.Command{
			Use:   "answer SERVICE ITEM STATE",
			Short: "Answer an item: done, not_done, accepted_risk or not_applicable (the last two need --comment)",
			Example: `  tsuna readiness answer checkout-api rollback done
  tsuna readiness answer checkout-api load-test done --evidence https://wiki/load-test-2026-11
  tsuna readiness answer checkout-api backup-restore not_applicable --comment "stateless"`,
			Args: cobra.ExactArgs(3),
			RunE: f.r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
				req.Checklist, req.Item, req.State = f.checklist, args[1], strings.ReplaceAll(args[2], "-", "_")
				v, err := cl.AnswerReview(cmd.Context(), args[0], req)
				if err != nil {
					return err
				}
				return printReview(env, f.r.output, v, "answered "+req.Item+" in")
			}),
		}
		c.Flags().StringVar(&req.Comment, "comment", "", "why (required for accepted_risk and not_applicable)")
		c.Flags().StringVar(&req.Evidence, "evidence", "", "a link to the evidence, such as a load test report")
		return c
	}())
}

func readinessClose(env *Env) *cobra.Command {
	var (
		f        reviewFlags
		feedback string
	)
	c := f.bind(&cobra.Command{
		Use:   "close SERVICE --feedback TEXT",
		Short: "Close the open review with feedback on the checklist (the retrospective)",
		Args:  cobra.ExactArgs(1),
		RunE: f.r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			v, err := cl.CloseReview(cmd.Context(), args[0], api.CloseRequest{Checklist: f.checklist, Feedback: feedback})
			if err != nil {
				return err
			}
			return printReview(env, f.r.output, v, "closed")
		}),
	})
	c.Flags().StringVar(&feedback, "feedback", "", "what to improve in the checklist: a missing question, one that did not apply (required)")
	return c
}

func readinessScorecard(env *Env) *cobra.Command {
	var (
		f               reviewFlags
		team, lifecycle string
		tier            int
	)
	c := f.bind(&cobra.Command{
		Use:   "scorecard",
		Short: "Every service's readiness level and the items that block the next level",
		Args:  cobra.NoArgs,
		RunE: f.r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			q := queryOf(map[string]string{"team": team, "lifecycle": lifecycle, "checklist": f.checklist})
			if tier != 0 {
				q.Set("tier", strconv.Itoa(tier))
			}
			card, err := cl.Scorecard(cmd.Context(), q)
			if err != nil {
				return err
			}
			rows := make([][]string, len(card.Services))
			for i, s := range card.Services {
				status := s.Status
				if s.Stale != nil && s.Stale.Since.IsZero() {
					status += " (stale)"
				} else if s.Stale != nil {
					status += " (stale since " + s.Stale.Since.Format(time.DateOnly) + ")"
				}
				blocking := strings.Join(s.Summary.Blocking, ", ")
				if s.ReviewID == 0 {
					blocking = "not reviewed: tsuna readiness review " + s.Service
				}
				rows[i] = []string{s.Service, s.Team, strconv.Itoa(s.Tier), s.Lifecycle, dash(s.Summary.Level), dash(s.Summary.Next), status, dash(blocking)}
			}
			return render(env, f.r.output, card, []string{"SERVICE", "TEAM", "TIER", "LIFECYCLE", "LEVEL", "NEXT", "REVIEW", "BLOCKING"}, rows)
		}),
	})
	c.Flags().StringVar(&team, "team", "", "only this team's services")
	c.Flags().IntVar(&tier, "tier", 0, "only services of this tier (1-3)")
	c.Flags().StringVar(&lifecycle, "lifecycle", "", "only services of this lifecycle")
	return c
}

func readinessExport(env *Env) *cobra.Command {
	var f reviewFlags
	return f.bind(&cobra.Command{
		Use:     "export SERVICE",
		Short:   "Print the current review as a GitHub issue body with task-list checkboxes",
		Example: "  tsuna readiness export checkout-api | gh issue create --title 'Readiness: checkout-api' --body-file -",
		Args:    cobra.ExactArgs(1),
		RunE: f.r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			body, err := cl.ExportReview(cmd.Context(), args[0], f.checklist)
			if err != nil {
				return err
			}
			if f.r.output == "json" {
				return writeJSON(env.Stdout, api.ReviewExport{Body: body})
			}
			_, err = fmt.Fprint(env.Stdout, body)
			return err
		}),
	})
}

func readinessFeedback(env *Env) *cobra.Command {
	var f reviewFlags
	return f.bind(&cobra.Command{
		Use:   "feedback [CHECKLIST]",
		Short: "The retrospectives' feedback on a checklist, with the version each was about",
		Args:  cobra.MaximumNArgs(1),
		RunE: f.r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			name := readiness.DefaultChecklistName
			if len(args) == 1 {
				name = args[0]
			}
			list, err := cl.ChecklistFeedback(cmd.Context(), name)
			if err != nil {
				return err
			}
			rows := make([][]string, len(list.Feedback))
			for i, fb := range list.Feedback {
				rows[i] = []string{"v" + strconv.Itoa(fb.Version), fb.Service, fb.By, fb.At.Format(time.DateOnly), fb.Text}
			}
			return render(env, f.r.output, list, []string{"VERSION", "SERVICE", "BY", "AT", "FEEDBACK"}, rows)
		}),
	})
}
