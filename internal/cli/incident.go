package cli

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/client"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

func newIncident(env *Env) *cobra.Command {
	c := &cobra.Command{
		Use:   "incident",
		Short: "Declare, work and measure incidents",
		Long: `Declare an incident in seconds ("maybe an incident? report it anyway": --triage),
work it (status, severity, lead, roles, timestamps, notes), read its timeline,
and measure TTD/TTA/TTM/TTR as distributions. Anyone with a token may declare
and add notes; other changes need the incident's lead, an editor of the owning
team or an admin.`,
	}
	c.AddCommand(incidentDeclare(env), incidentList(env), incidentShow(env), incidentUpdate(env),
		incidentStatusCmd(env, "resolve", incident.StatusResolved, "Resolve an incident: the impact is over (sets resolved, and mitigated if unset)"),
		incidentStatusCmd(env, "close", incident.StatusClosed, "Close a resolved incident: its follow-up is done"),
		incidentNote(env), incidentTimeline(env), incidentMetrics(env))
	return c
}

// remoteCmd is a remote command's common flags.
type remoteCmd struct {
	rem    remote
	output string
}

func (r *remoteCmd) bind(c *cobra.Command) *cobra.Command {
	r.rem.flags(c)
	addOutputFlag(c, &r.output)
	return c
}

func (r *remoteCmd) client(env *Env) (*client.Client, error) { return r.rem.start(env, r.output) }

// run is the RunE of a remote command: it checks --output, makes the
// client and hands it to fn.
func (r *remoteCmd) run(env *Env, fn func(cmd *cobra.Command, cl *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cl, err := r.client(env)
		if err != nil {
			return err
		}
		return fn(cmd, cl, args)
	}
}

func printIncident(env *Env, output string, inc *incident.Incident, verb string) error {
	if output == "json" {
		return writeJSON(env.Stdout, inc)
	}
	if verb != "" {
		fmt.Fprintf(env.Stdout, "%s %s (%s, %s): %s\n", verb, inc.Ref, inc.Severity, inc.StatusText(), inc.Title)
		return nil
	}
	w := env.Stdout
	fmt.Fprintf(w, "%s: %s\n", inc.Ref, inc.Title)
	fmt.Fprintf(w, "  severity:  %s\n  status:    %s\n  services:  %s\n  team:      %s\n  lead:      %s\n",
		inc.Severity, inc.StatusText(), dash(strings.Join(inc.Services, ", ")), dash(inc.Team), dash(inc.Lead))
	for role, who := range inc.Roles {
		fmt.Fprintf(w, "  %-10s %s\n", role+":", who)
	}
	if inc.Drill {
		fmt.Fprintln(w, "  drill:     yes (kept out of the metrics)")
	}
	if inc.Channel != nil {
		fmt.Fprintf(w, "  channel:   #%s\n", inc.Channel.Name)
	}
	for _, name := range incident.TimestampNames {
		if t := *inc.Timestamps.Field(name); t != nil {
			fmt.Fprintf(w, "  %-14s %s\n", name+":", t.Format(time.RFC3339))
		}
	}
	if len(inc.Alerts) > 0 {
		fmt.Fprintf(w, "  alerts:    %s\n", strings.Join(inc.Alerts, ", "))
	}
	if inc.Summary != "" {
		fmt.Fprintf(w, "\n%s\n", inc.Summary)
	}
	return nil
}

// parseWhen reads RFC 3339 or a duration ago ("15m").
func parseWhen(flag, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	if d, err := slo.ParseDuration(v); err == nil && d > 0 {
		t := time.Now().Add(-d).UTC()
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, usageError{fmt.Errorf("--%s %q: use RFC 3339 (2026-01-02T15:04:05Z) or a duration ago (15m, 2h)", flag, v)}
	}
	return &t, nil
}

func incidentDeclare(env *Env) *cobra.Command {
	var (
		r                remoteCmd
		d                incident.Declaration
		impact, detected string
	)
	c := &cobra.Command{
		Use:   "declare [TITLE]",
		Short: "Declare an incident (anyone may; --triage when not sure)",
		Example: `  tsuna incident declare "Checkout errors" --service checkout-api --severity SEV2
  tsuna incident declare --from-alert 3f2a9c1e0b7d4a55
  tsuna incident declare "Maybe slow logins?" --triage`,
		Args: cobra.MaximumNArgs(1),
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			if len(args) == 1 {
				d.Title = args[0]
			}
			if d.Title == "" && d.FromAlert == "" {
				return usageError{fmt.Errorf("give a TITLE, or --from-alert FINGERPRINT")}
			}
			var err error
			if d.ImpactStarted, err = parseWhen("impact-started", impact); err != nil {
				return err
			}
			if d.Detected, err = parseWhen("detected", detected); err != nil {
				return err
			}
			inc, err := cl.DeclareIncident(cmd.Context(), d)
			if err != nil {
				return err
			}
			return printIncident(env, r.output, inc, "declared")
		}),
	}
	f := c.Flags()
	f.StringVar(&d.Severity, "severity", "", "severity level, such as SEV2 (default: the second most severe; when unsure, the higher one)")
	f.StringSliceVar(&d.Services, "service", nil, "affected catalog service (repeat for several); the first one's team owns the incident")
	f.StringVar(&d.Summary, "summary", "", "what is happening, for whoever joins")
	f.BoolVar(&d.Triage, "triage", false, "not sure it is an incident: declare it in triage")
	f.BoolVar(&d.Drill, "drill", false, "an exercise: kept out of the metrics")
	f.StringVar(&d.Lead, "lead", "", "who leads it (member email or Slack user ID); acknowledges it")
	f.StringVar(&d.FromAlert, "from-alert", "", "declare from a stored alert (its fingerprint): service, team and detected time come from it, and it is linked")
	f.StringVar(&impact, "impact-started", "", "when the impact started (RFC 3339 or a duration ago)")
	f.StringVar(&detected, "detected", "", "when it was detected (RFC 3339 or a duration ago)")
	f.StringVar(&d.Key, "idempotency-key", "", "declare once for this key, however often the command is retried")
	return r.bind(c)
}

func incidentList(env *Env) *cobra.Command {
	var (
		r                                             remoteCmd
		status, severity, team, service, since, until string
		limit                                         int
	)
	c := &cobra.Command{
		Use:     "list",
		Short:   "List incidents, newest first",
		Example: "  tsuna incident list --status triage,active\n  tsuna incident list --team payments --since 30d --output json",
		Args:    cobra.NoArgs,
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			q := queryOf(map[string]string{"status": status, "severity": severity, "team": team, "service": service, "since": since, "until": until})
			q.Set("limit", fmt.Sprint(limit))
			list, err := cl.Incidents(cmd.Context(), q)
			if err != nil {
				return err
			}
			rows := make([][]string, len(list))
			for i, inc := range list {
				rows[i] = []string{inc.Ref, inc.Severity, inc.StatusText(), dash(inc.Team), dash(inc.Lead), inc.Timestamps.Reported.Format(time.RFC3339), inc.Title}
			}
			return render(env, r.output, api.IncidentList{Incidents: list}, []string{"REF", "SEVERITY", "STATUS", "TEAM", "LEAD", "REPORTED", "TITLE"}, rows)
		}),
	}
	f := c.Flags()
	f.StringVar(&status, "status", "", "only these statuses, comma-separated (triage, active, resolved, closed, declined, merged)")
	f.StringVar(&severity, "severity", "", "only this severity level")
	f.StringVar(&team, "team", "", "only incidents of this team")
	f.StringVar(&service, "service", "", "only incidents affecting this service")
	f.StringVar(&since, "since", "", "only incidents reported at or after this time (RFC 3339 or a duration ago)")
	f.StringVar(&until, "until", "", "only incidents reported before this time")
	f.IntVar(&limit, "limit", 100, "at most this many (1-1000)")
	return r.bind(c)
}

func incidentShow(env *Env) *cobra.Command {
	var r remoteCmd
	c := &cobra.Command{
		Use:   "show INC-42",
		Short: "Show an incident",
		Args:  cobra.ExactArgs(1),
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			inc, err := cl.Incident(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printIncident(env, r.output, inc, "")
		}),
	}
	return r.bind(c)
}

func incidentUpdate(env *Env) *cobra.Command {
	var (
		r                                                                 remoteCmd
		title, summary, severity, status, stage, lead, postmortem, merged string
		roles, stamps, services, alerts                                   []string
		drill                                                             bool
	)
	c := &cobra.Command{
		Use:   "update INC-42",
		Short: "Change an incident (its lead, an editor of its team or an admin)",
		Example: `  tsuna incident update INC-42 --status active --stage identified
  tsuna incident update INC-42 --severity SEV1 --lead ana@example.com --role comms=bo@example.com
  tsuna incident update INC-42 --timestamp impactStarted=2026-03-01T09:40:00Z --timestamp detected=none`,
		Args: cobra.ExactArgs(1),
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			var ch incident.Change
			fl := cmd.Flags()
			for name, dst := range map[string]**string{"title": &ch.Title, "summary": &ch.Summary, "severity": &ch.Severity, "status": &ch.Status,
				"stage": &ch.Stage, "lead": &ch.Lead, "postmortem": &ch.Postmortem, "merged-into": &ch.MergedInto} {
				if fl.Changed(name) {
					v, _ := fl.GetString(name)
					*dst = &v
				}
			}
			if fl.Changed("drill") {
				ch.Drill = &drill
			}
			if fl.Changed("service") {
				ch.Services = &services
			}
			ch.LinkAlerts = alerts
			for _, kv := range roles {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return usageError{fmt.Errorf("--role %q: write ROLE=PERSON (PERSON empty removes it)", kv)}
				}
				if ch.Roles == nil {
					ch.Roles = map[string]string{}
				}
				ch.Roles[k] = v
			}
			for _, kv := range stamps {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return usageError{fmt.Errorf("--timestamp %q: write NAME=TIME (RFC 3339) or NAME=none; names: %s", kv, strings.Join(incident.TimestampNames, ", "))}
				}
				if ch.Timestamps == nil {
					ch.Timestamps = map[string]*time.Time{}
				}
				if v == "none" {
					ch.Timestamps[k] = nil
					continue
				}
				t, err := parseWhen("timestamp "+k, v)
				if err != nil {
					return err
				}
				ch.Timestamps[k] = t
			}
			inc, err := cl.UpdateIncident(cmd.Context(), args[0], ch)
			if err != nil {
				return err
			}
			return printIncident(env, r.output, inc, "updated")
		}),
	}
	f := c.Flags()
	f.StringVar(&title, "title", "", "new title")
	f.StringVar(&summary, "summary", "", "new summary")
	f.StringVar(&severity, "severity", "", "new severity level")
	f.StringVar(&status, "status", "", "new status: active, resolved, closed, declined, merged (from triage)")
	f.StringVar(&stage, "stage", "", "stage of an active incident: investigating, identified, monitoring (sets mitigated)")
	f.StringVar(&lead, "lead", "", "the lead (member email or Slack user ID); empty removes")
	f.StringArrayVar(&roles, "role", nil, "ROLE=PERSON, such as comms=ana@example.com (repeatable)")
	f.StringArrayVar(&stamps, "timestamp", nil, "NAME=TIME or NAME=none: impactStarted, detected, reported, acknowledged, mitigated, resolved, closed (repeatable)")
	f.StringSliceVar(&services, "service", nil, "the affected services (replaces the list)")
	f.BoolVar(&drill, "drill", false, "mark as a drill (kept out of the metrics)")
	f.StringVar(&postmortem, "postmortem", "", "link the postmortem")
	f.StringVar(&merged, "merged-into", "", "with --status merged: the incident this one duplicates")
	f.StringSliceVar(&alerts, "link-alert", nil, "link an alert by fingerprint (repeatable)")
	return r.bind(c)
}

func incidentStatusCmd(env *Env, name, status, short string) *cobra.Command {
	var r remoteCmd
	var at string
	c := &cobra.Command{
		Use:   name + " INC-42",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			ch := incident.Change{Status: &status}
			if at != "" {
				t, err := parseWhen("at", at)
				if err != nil {
					return err
				}
				ch.Timestamps = map[string]*time.Time{status: t}
			}
			inc, err := cl.UpdateIncident(cmd.Context(), args[0], ch)
			if err != nil {
				return err
			}
			return printIncident(env, r.output, inc, strings.TrimSuffix(name, "e")+"ed")
		}),
	}
	c.Flags().StringVar(&at, "at", "", "when it happened, if not now (RFC 3339 or a duration ago)")
	return r.bind(c)
}

func incidentNote(env *Env) *cobra.Command {
	var r remoteCmd
	var update bool
	c := &cobra.Command{
		Use:   "note INC-42 TEXT",
		Short: "Add a note to an incident's timeline (anyone), or a status update (--update)",
		Args:  cobra.ExactArgs(2),
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			req := api.TimelineRequest{Kind: api.EntryNote, Text: args[1]}
			if update {
				req.Kind = api.EntryUpdate
			}
			inc, err := cl.AddTimelineEntry(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			return printIncident(env, r.output, inc, "noted on")
		}),
	}
	c.Flags().BoolVar(&update, "update", false, "a status update: kept and posted to the incident's channels")
	return r.bind(c)
}

func incidentTimeline(env *Env) *cobra.Command {
	var r remoteCmd
	c := &cobra.Command{
		Use:   "timeline INC-42",
		Short: "Show an incident's timeline (--output markdown to export it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(r.output, "text", "json", "markdown"); err != nil {
				return err
			}
			cl, err := r.rem.client(env)
			if err != nil {
				return err
			}
			tl, err := cl.IncidentTimeline(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			switch r.output {
			case "json":
				return writeJSON(env.Stdout, tl)
			case "markdown":
				inc, err := cl.Incident(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(env.Stdout, incident.Markdown(inc, tl.Entries))
				return err
			}
			rows := make([][]string, len(tl.Entries))
			for i, e := range tl.Entries {
				rows[i] = []string{e.Time.Format(time.RFC3339), e.Kind, e.Actor + " (" + e.Source + ")", strings.ReplaceAll(e.Text, "\n", " ")}
			}
			return render(env, "text", nil, []string{"TIME", "KIND", "BY", "WHAT"}, rows)
		},
	}
	r.rem.flags(c)
	c.Flags().StringVarP(&r.output, "output", "o", "text", "output format: text, json or markdown")
	return c
}

func incidentMetrics(env *Env) *cobra.Command {
	var r remoteCmd
	var since, until, by string
	c := &cobra.Command{
		Use:   "metrics",
		Short: "TTD, TTA, TTM and TTR as distributions (count, median, p90, max)",
		Long: `Time to detect (impact started → detected), acknowledge (detected →
acknowledged), mitigate (impact started → mitigated) and resolve (impact
started → resolved) of the incidents reported in the period, per severity,
service or team. Drills, declined and merged incidents are left out; an
incident missing a timestamp is counted as missing, never as zero.`,
		Example: "  tsuna incident metrics --since 90d --by severity",
		Args:    cobra.NoArgs,
		RunE: r.run(env, func(cmd *cobra.Command, cl *client.Client, args []string) error {
			q := url.Values{"since": {since}, "by": {by}}
			if until != "" {
				q.Set("until", until)
			}
			rep, err := cl.IncidentMetrics(cmd.Context(), q)
			if err != nil {
				return err
			}
			if r.output == "json" {
				return writeJSON(env.Stdout, rep)
			}
			fmt.Fprintf(env.Stdout, "incidents reported %s to %s, by %s (excluded: %d drills, %d declined, %d merged)\n",
				rep.Since.Format(time.RFC3339), rep.Until.Format(time.RFC3339), rep.By, rep.Excluded.Drills, rep.Excluded.Declined, rep.Excluded.Merged)
			var rows [][]string
			for _, g := range append(rep.Groups, rep.All) {
				for _, m := range []struct {
					name string
					d    incident.Distribution
				}{{"TTD", g.TTD}, {"TTA", g.TTA}, {"TTM", g.TTM}, {"TTR", g.TTR}} {
					rows = append(rows, []string{g.Key, m.name, fmt.Sprint(m.d.Count), fmt.Sprint(m.d.Missing), secs(m.d.Median), secs(m.d.P90), secs(m.d.Max)})
				}
			}
			if err := render(env, "text", nil, []string{strings.ToUpper(rep.By), "METRIC", "COUNT", "MISSING", "MEDIAN", "P90", "MAX"}, rows); err != nil {
				return err
			}
			for _, k := range []string{"ttd", "tta", "ttm", "ttr"} {
				fmt.Fprintf(env.Stdout, "%s: %s\n", strings.ToUpper(k), rep.Origins[k])
			}
			return nil
		}),
	}
	c.Flags().StringVar(&since, "since", "90d", "start of the period (RFC 3339 or a duration ago)")
	c.Flags().StringVar(&until, "until", "", "end of the period (default now)")
	c.Flags().StringVar(&by, "by", "severity", "group by severity, service or team")
	return r.bind(c)
}

func secs(v *float64) string {
	if v == nil {
		return "-"
	}
	return (time.Duration(*v * float64(time.Second))).Round(time.Second).String()
}
