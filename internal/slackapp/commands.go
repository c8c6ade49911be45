package slackapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

// Help is the answer to /tsuna help.
const Help = "*/tsuna incident [title]* declares an incident: a form asks for the title, severity, service and summary.\n" +
	"In an incident's channel (or with its reference first, such as `/tsuna incident INC-42 note …`):\n" +
	"• `status investigating|identified|monitoring|resolved|closed|declined`\n" +
	"• `severity SEV2` · `lead @person` (or `lead me`) · `role comms @person`\n" +
	"• `update <text>`: a status update, posted to the incident's channels and kept\n" +
	"• `mitigated` · `resolved` · `note <text>`\n" +
	"*/tsuna postmortem* (or `pm`) in the incident's channel drafts its postmortem (`/tsuna postmortem INC-42` elsewhere; `key` keeps only the key timeline entries).\n" +
	"Pin a message, or mark it with :pushpin:, to add it to the timeline."

// subcommands are the verbs /tsuna incident runs on an incident.
var subcommands = []string{"status", "severity", "lead", "role", "update", "mitigated", "resolved", "note"}

var refRE = regexp.MustCompile(`(?i)^inc-[0-9]{1,18}$`)

// commandPayload is a JobCommand's payload: a subcommand as received.
type commandPayload struct {
	Number      int64     `json:"number"`
	Verb        string    `json:"verb"`
	Args        string    `json:"args"`
	User        string    `json:"user"`
	Channel     string    `json:"channel"`
	ResponseURL string    `json:"responseUrl"`
	TriggerID   string    `json:"triggerId"`
	At          time.Time `json:"at"`
}

// command serves /tsuna: help, the declaration modal, or a subcommand
// queued as a job keyed by the command's trigger_id (a retried command
// runs once).
func (a *App) command(w http.ResponseWriter, r *http.Request, body []byte) {
	at := time.Now().UTC()
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "the body is not a form", http.StatusBadRequest)
		return
	}
	user, channel, trigger := form.Get("user_id"), form.Get("channel_id"), form.Get("trigger_id")
	if user == "" || trigger == "" {
		http.Error(w, "user_id and trigger_id are required", http.StatusBadRequest)
		return
	}
	text := strings.TrimSpace(form.Get("text"))
	word, rest := cutWord(text)
	switch strings.ToLower(word) {
	case "", "help":
		ephemeral(w, Help)
		return
	case "incident", "inc":
	case "postmortem", "pm":
		a.postmortemCommand(w, r, form, rest)
		return
	default:
		ephemeral(w, fmt.Sprintf("tsuna does not know %q.\n%s", tsuna.Truncate(word, 40), Help))
		return
	}
	var number int64
	if first, after := cutWord(rest); refRE.MatchString(first) {
		number, _ = incident.ParseRef(first)
		rest = after
	}
	verb, args := cutWord(rest)
	verb = strings.ToLower(verb)
	isSub := slices.Contains(subcommands, verb)
	if isSub && number == 0 && channel != "" {
		inc, err := a.cfg.Incidents.Store().IncidentByChannel(r.Context(), channel)
		switch {
		case err == nil:
			number = inc.Number
		case tsuna.ErrorCode(err) != tsuna.ENOTFOUND:
			a.log.Warn("slash command: find the channel's incident", "err", err)
			ephemeral(w, "tsuna cannot read its incidents right now; try again in a moment.")
			return
		}
	}
	switch {
	case isSub && number == 0:
		ephemeral(w, fmt.Sprintf("`%s` works on an incident: run it in the incident's channel, or name the incident first, such as `/tsuna incident INC-42 %s`.", verb, verb))
		return
	case !isSub && number != 0:
		ephemeral(w, fmt.Sprintf("What should tsuna do with %s? %s", incident.RefOf(number), Help))
		return
	case !isSub:
		// A declaration: the modal must open within Slack's 3 seconds of
		// the trigger, after the acknowledgement.
		title := tsuna.Truncate(rest, incident.MaxTitle)
		a.goAfterAck(func(ctx context.Context) {
			a.openDeclare(ctx, trigger, declareMeta{Channel: channel}, title)
		})
		w.WriteHeader(http.StatusOK)
		return
	}
	payload, _ := json.Marshal(commandPayload{Number: number, Verb: verb, Args: args, User: user, Channel: channel,
		ResponseURL: form.Get("response_url"), TriggerID: trigger, At: at})
	if _, err := a.cfg.Jobs.Enqueue(r.Context(), jobs.Job{Kind: JobCommand, Key: "cmd/" + tsuna.Truncate(trigger, 400), Payload: payload, MaxAttempts: 5}); err != nil {
		a.log.Warn("slash command: queue", "err", err)
		ephemeral(w, "tsuna could not record the command; try again in a moment.")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// postmortemCommand queues the draft of the postmortem of the incident
// named first in rest, else of the channel's incident, as a JobCommand
// keyed by the trigger_id: drafting reads the budget history, longer than
// Slack's 3 seconds.
func (a *App) postmortemCommand(w http.ResponseWriter, r *http.Request, form url.Values, rest string) {
	if a.cfg.Postmortems == nil {
		ephemeral(w, "Postmortems are not served by this tsuna.")
		return
	}
	user, channel, trigger := form.Get("user_id"), form.Get("channel_id"), form.Get("trigger_id")
	var number int64
	if first, after := cutWord(rest); refRE.MatchString(first) {
		number, _ = incident.ParseRef(first)
		rest = after
	}
	if number == 0 && channel != "" {
		inc, err := a.cfg.Incidents.Store().IncidentByChannel(r.Context(), channel)
		switch {
		case err == nil:
			number = inc.Number
		case tsuna.ErrorCode(err) != tsuna.ENOTFOUND:
			a.log.Warn("slash command: find the channel's incident", "err", err)
			ephemeral(w, "tsuna cannot read its incidents right now; try again in a moment.")
			return
		}
	}
	if number == 0 {
		ephemeral(w, "`/tsuna postmortem` drafts the postmortem of an incident: run it in the incident's channel, or name the incident, such as `/tsuna postmortem INC-42`.")
		return
	}
	timeline := strings.ToLower(strings.TrimSpace(rest))
	if timeline != "" && timeline != postmortem.TimelineKey && timeline != postmortem.TimelineAll {
		ephemeral(w, fmt.Sprintf("`/tsuna postmortem` takes `key` (only the key timeline entries) or nothing, not %q.", tsuna.Truncate(rest, 40)))
		return
	}
	payload, _ := json.Marshal(commandPayload{Number: number, Verb: verbPostmortem, Args: timeline, User: user, Channel: channel,
		ResponseURL: form.Get("response_url"), TriggerID: trigger, At: time.Now().UTC()})
	if _, err := a.cfg.Jobs.Enqueue(r.Context(), jobs.Job{Kind: JobCommand, Key: "cmd/" + tsuna.Truncate(trigger, 400), Payload: payload, MaxAttempts: 5}); err != nil {
		a.log.Warn("slash command: queue", "err", err)
		ephemeral(w, "tsuna could not record the command; try again in a moment.")
		return
	}
	ephemeral(w, fmt.Sprintf("Drafting the postmortem of %s…", incident.RefOf(number)))
}

// verbPostmortem is the JobCommand verb of /tsuna postmortem.
const verbPostmortem = "postmortem"

// draftPostmortem drafts (or finds) the postmortem of inc through the
// postmortem service, with the rights of the catalog member behind the
// Slack user, and says its reference and console link.
func (a *App) draftPostmortem(ctx context.Context, inc *incident.Incident, actor incident.Actor, timeline string) (string, error) {
	if a.cfg.Postmortems == nil {
		return "", tsuna.Errorf(tsuna.EUNAVAILABLE, "postmortems are not served by this tsuna")
	}
	pa := postmortem.Actor{Name: actor.Name, Source: actor.Source, RequestID: actor.RequestID, Admin: actor.Admin, Teams: actor.Teams, Slack: actor.Slack}
	pm, created, err := a.cfg.Postmortems.Draft(ctx, postmortem.DraftRequest{Incident: inc.Ref, Timeline: timeline}, pa)
	if err != nil {
		return "", err
	}
	text := fmt.Sprintf("Drafted %s, the postmortem of %s: its timeline, TTD/TTA/TTM/TTR and the error budget each affected SLO spent are filled in.", pm.Ref, inc.Ref)
	if !created {
		text = fmt.Sprintf("%s has its postmortem already: %s (%s).", inc.Ref, pm.Ref, strings.ReplaceAll(pm.Status, "_", " "))
	}
	if u := a.cfg.Postmortems.URL(pm); u != "" {
		text += fmt.Sprintf(" <%s|Open %s in the console>", escape(u), pm.Ref)
	} else {
		text += fmt.Sprintf(" `tsuna postmortem edit %s` opens it in $EDITOR.", pm.Ref)
	}
	return text, nil
}

// cutWord splits s at its first run of spaces.
func cutWord(s string) (word, rest string) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t\n")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// commandJob runs a queued subcommand and answers its user on the
// command's response_url. A refusal (bad input, no right, a conflict) is
// answered and done; other errors retry.
func (a *App) commandJob(ctx context.Context, j jobs.Job) error {
	var p commandPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Number == 0 {
		return jobs.Permanent(fmt.Errorf("slack command %q: bad payload", j.Key))
	}
	ppl, err := a.people(ctx)
	if err != nil {
		return err
	}
	text, err := a.subcommand(ctx, ppl, p)
	switch tsuna.ErrorCode(err) {
	case "":
		a.respond(ctx, p.ResponseURL, text)
		return nil
	case tsuna.EINVALID, tsuna.EFORBIDDEN, tsuna.ECONFLICT, tsuna.ENOTFOUND:
		a.respond(ctx, p.ResponseURL, "Not done: "+tsuna.ErrorMessage(err))
		return nil
	}
	return err
}

// subcommand applies p to its incident through the incident service and
// says what changed.
func (a *App) subcommand(ctx context.Context, ppl *people, p commandPayload) (string, error) {
	svc := a.cfg.Incidents
	actor := ppl.actor(p.User)
	// The command's ID makes a note or an update once, however often the
	// job runs; the other subcommands set a value, done once by nature.
	ext := "slack:cmd:" + tsuna.Truncate(p.TriggerID, 150)
	inc, err := svc.Get(ctx, p.Number)
	if err != nil {
		return "", err
	}
	args := strings.Fields(p.Args)
	var c incident.Change
	switch p.Verb {
	case verbPostmortem:
		return a.draftPostmortem(ctx, inc, actor, p.Args)
	case "note", "update":
		if strings.TrimSpace(p.Args) == "" {
			return "", tsuna.Errorf(tsuna.EINVALID, "%s: write its text after it, such as `/tsuna incident %s rolled back to v41`", p.Verb, p.Verb)
		}
		if p.Verb == "note" {
			_, err = svc.Note(ctx, p.Number, p.Args, p.At, ext, actor)
			return fmt.Sprintf("Noted in the timeline of %s.", inc.Ref), err
		}
		_, err = svc.PostUpdateOnce(ctx, p.Number, p.Args, p.At, ext, actor)
		return fmt.Sprintf("Status update of %s posted and kept in its timeline.", inc.Ref), err
	case "status":
		if len(args) != 1 {
			return "", tsuna.Errorf(tsuna.EINVALID, "status: say one of investigating, identified, monitoring, resolved, closed, declined")
		}
		v := strings.ToLower(args[0])
		switch {
		case slices.Contains(incident.Stages, v):
			if inc.Status != incident.StatusActive {
				active := incident.StatusActive
				c.Status = &active
			}
			c.Stage = &v
		case v == incident.StatusActive || v == incident.StatusResolved || v == incident.StatusClosed || v == incident.StatusDeclined:
			c.Status = &v
		default:
			return "", tsuna.Errorf(tsuna.EINVALID, "status %q: say one of investigating, identified, monitoring, resolved, closed, declined", tsuna.Truncate(v, 40))
		}
	case "mitigated":
		switch {
		case inc.Status == incident.StatusActive:
			monitoring := incident.StageMonitoring
			c.Stage = &monitoring
			if inc.Stage == incident.StageMonitoring && inc.Timestamps.Mitigated == nil {
				c.Timestamps = map[string]*time.Time{"mitigated": &p.At}
			}
		default:
			return "", tsuna.Errorf(tsuna.ECONFLICT, "%s is %s; only an active incident is mitigated", inc.Ref, inc.Status)
		}
	case "resolved":
		resolved := incident.StatusResolved
		c.Status = &resolved
	case "severity":
		if len(args) != 1 {
			return "", tsuna.Errorf(tsuna.EINVALID, "severity: name a level, such as `severity SEV2`")
		}
		name := args[0]
		if lv, err := svc.LevelsContext(ctx); err == nil {
			for _, l := range lv {
				if strings.EqualFold(l.Name, name) {
					name = l.Name
				}
			}
		}
		c.Severity = &name
	case "lead":
		id := ""
		if len(args) == 1 {
			id = userArg(args[0], p.User)
		}
		if id == "" {
			return "", tsuna.Errorf(tsuna.EINVALID, "lead: mention the person, such as `lead @ana`, or say `lead me`")
		}
		person := ppl.person(id)
		c.Lead = &person
	case "role":
		if len(args) != 2 {
			return "", tsuna.Errorf(tsuna.EINVALID, "role: name the role and mention the person, such as `role comms @ana` (or `role comms none`)")
		}
		who := ""
		if strings.ToLower(args[1]) != "none" {
			id := userArg(args[1], p.User)
			if id == "" {
				return "", tsuna.Errorf(tsuna.EINVALID, "role: mention the person, such as `role comms @ana`")
			}
			who = ppl.person(id)
		}
		c.Roles = map[string]string{strings.ToLower(args[0]): who}
	default:
		return "", tsuna.Errorf(tsuna.EINVALID, "unknown subcommand %q", p.Verb)
	}
	out, err := svc.Update(ctx, p.Number, c, actor)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: %s, %s, lead %s.", out.Ref, out.StatusText(), out.Severity, dash(out.Lead)), nil
}

func dash(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
