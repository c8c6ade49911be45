package slackapp

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/slack-go/slack"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/notify"
	slackrender "github.com/tsuna-sre/tsuna/internal/notify/slack"
)

// maxNameAttempts bounds the suffixes tried when a channel name is taken.
const maxNameAttempts = 20

// channelJob runs the incident's channel workflow once it is declared:
// create its channel (a suffix when the name is taken), record it, set its
// topic, bookmark the console page and the service's runbook and
// dashboard, post its summary, and invite the reporter, the lead and the
// owning team's first on-call. Each step is done once however often the
// job runs: the channel is recorded on the incident, and the steps that
// Slack would repeat (a bookmark, a message) are marked done in the store
// after they succeed.
func (a *App) channelJob(ctx context.Context, j jobs.Job) error {
	var p incident.ChannelJob
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Number == 0 {
		return jobs.Permanent(fmt.Errorf("incident channel %q: bad payload", j.Key))
	}
	svc := a.cfg.Incidents
	inc, err := svc.Get(ctx, p.Number)
	if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
		return jobs.Permanent(err)
	} else if err != nil {
		return err
	}
	if inc.Channel == nil {
		ch, err := a.createChannel(ctx, inc)
		if err != nil {
			return err
		}
		if inc, err = svc.SetChannel(ctx, inc.Number, *ch); err != nil {
			return err
		}
	}
	ppl, err := a.people(ctx)
	if err != nil {
		return err
	}
	chID := inc.Channel.ID
	if err := a.once(ctx, "topic/"+inc.Ref, func() error {
		_, err := a.client.SetTopicOfConversationContext(ctx, chID, cut(escape(topic(inc)), 250))
		return jobError("conversations.setTopic", err)
	}); err != nil {
		return err
	}
	for _, b := range a.bookmarks(ctx, inc) {
		if err := a.once(ctx, "bookmark/"+inc.Ref+"/"+b.Title, func() error {
			_, err := a.client.AddBookmarkContext(ctx, chID, slack.AddBookmarkParameters{Title: b.Title, Type: "link", Link: b.URL})
			return jobError("bookmarks.add", err)
		}); err != nil {
			return err
		}
	}
	if err := a.once(ctx, "intro/"+inc.Ref, func() error {
		text, blocks := slackrender.Render(incident.SummaryMessage(inc, "", a.cfg.ConsoleURL))
		_, _, err := a.client.PostMessageContext(ctx, chID, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		return jobError("chat.postMessage", err)
	}); err != nil {
		return err
	}
	var invite []string
	oncall := ""
	if inc.Team != "" {
		oncall = incident.FirstOncall(ppl.teamOf(inc.Team))
	}
	bot, err := a.botUserID(ctx)
	if err != nil {
		return err
	}
	for _, person := range []string{ppl.slackID(inc.ReportedBy), ppl.slackID(inc.Lead), oncall} {
		if person != "" && person != bot && !slices.Contains(invite, person) {
			invite = append(invite, person)
		}
	}
	// One call per person: Slack invites nobody when one of a list cannot
	// be invited.
	for _, u := range invite {
		_, err := a.client.InviteUsersToConversationContext(ctx, chID, u)
		switch slackErr(err) {
		case "", "already_in_channel", "cant_invite_self":
		case "user_not_found", "user_is_restricted", "user_disabled", "cant_invite":
			a.log.Warn("incident channel: cannot invite", "incident", inc.Ref, "user", u, "err", slackErr(err))
		default:
			return jobError("conversations.invite", err)
		}
	}
	return nil
}

// once runs step unless the store says it was done, and records it done
// when it succeeds.
func (a *App) once(ctx context.Context, key string, step func() error) error {
	done, err := a.cfg.Store.HasChatRequest(ctx, "chan/"+key)
	if err != nil || done {
		return err
	}
	if err := step(); err != nil {
		return err
	}
	return a.cfg.Store.MarkChatRequest(ctx, "chan/"+key)
}

// createChannel creates the incident's channel, named from the template
// with a suffix when the name is taken. Before each attempt it records the
// name tried, so that after a crash between Slack creating the channel and
// tsuna recording it, the retry recognises the channel as its own (created
// by the bot under that name) instead of making another.
func (a *App) createChannel(ctx context.Context, inc *incident.Incident) (*incident.Channel, error) {
	base := incident.ChannelName(inc.Number, inc.Title)
	for n := 1; n <= maxNameAttempts; n++ {
		name := incident.SuffixedName(base, n)
		key := "chan/name/" + inc.Ref + "/" + name
		taken, err := a.cfg.Store.HasChatRequest(ctx, key+"/taken")
		if err != nil {
			return nil, err
		}
		if taken {
			continue
		}
		tried, err := a.cfg.Store.HasChatRequest(ctx, key)
		if err != nil {
			return nil, err
		}
		if !tried {
			if err := a.cfg.Store.MarkChatRequest(ctx, key); err != nil {
				return nil, err
			}
		}
		ch, err := a.client.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name})
		if err == nil {
			return &incident.Channel{ID: ch.ID, Name: ch.Name}, nil
		}
		if slackErr(err) != "name_taken" {
			return nil, jobError("conversations.create", err)
		}
		if tried {
			if ch, err := a.adopt(ctx, inc, name); err != nil || ch != nil {
				return ch, err
			}
		}
		if err := a.cfg.Store.MarkChatRequest(ctx, key+"/taken"); err != nil {
			return nil, err
		}
	}
	return nil, jobs.Permanent(fmt.Errorf("incident channel: %s and %d suffixes are taken; create the channel by hand", base, maxNameAttempts-1))
}

// adopt finds the channel named name that an earlier attempt of this job
// created before it could record it: it posts the incident's first
// message there by name (the only Web API call that takes a channel name,
// and it answers the channel's ID), and keeps the channel if the bot
// created it.
func (a *App) adopt(ctx context.Context, inc *incident.Incident, name string) (*incident.Channel, error) {
	text, blocks := slackrender.Render(notify.Message{Title: inc.Ref + ": " + inc.Title, Status: notify.StatusInfo,
		Summary: "This channel is where " + inc.Ref + " is worked.", Fallback: inc.Ref + ": " + inc.Title})
	id, _, err := a.client.PostMessageContext(ctx, "#"+name, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	switch slackErr(err) {
	case "":
	case "channel_not_found", "not_in_channel":
		return nil, nil // not ours
	default:
		return nil, jobError("chat.postMessage", err)
	}
	info, err := a.client.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
	if err != nil {
		return nil, jobError("conversations.info", err)
	}
	bot, err := a.botUserID(ctx)
	if err != nil {
		return nil, err
	}
	if info.Creator != bot {
		return nil, nil
	}
	a.log.Info("incident channel: found the channel an interrupted attempt created", "incident", inc.Ref, "channel", name)
	return &incident.Channel{ID: id, Name: name}, nil
}

// topic is the channel's topic: reference, severity, status, lead.
func topic(inc *incident.Incident) string {
	t := fmt.Sprintf("%s %s · %s · %s", inc.Ref, inc.Severity, inc.StatusText(), inc.Title)
	if inc.Lead != "" {
		t += " · lead " + inc.Lead
	}
	return t
}

type bookmark struct{ Title, URL string }

// bookmarks are the incident's console page and its first service's
// runbook and dashboard, those that are http(s) links.
func (a *App) bookmarks(ctx context.Context, inc *incident.Incident) []bookmark {
	var out []bookmark
	if u := incident.URL(a.cfg.ConsoleURL, inc); notify.SafeURL(u) {
		out = append(out, bookmark{inc.Ref + " in tsuna", u})
	}
	if len(inc.Services) > 0 {
		if s, err := a.cfg.Store.Service(ctx, inc.Services[0]); err == nil {
			if notify.SafeURL(s.Links.Runbook) {
				out = append(out, bookmark{"Runbook: " + s.Name, s.Links.Runbook})
			}
			if notify.SafeURL(s.Links.Dashboard) {
				out = append(out, bookmark{"Dashboard: " + s.Name, s.Links.Dashboard})
			}
		}
	}
	return out
}
