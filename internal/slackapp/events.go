package slackapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/jobs"
)

// pinReactions are the reactions that add a message to the timeline, as a
// pin does: 📌 and 📍.
var pinReactions = []string{"pushpin", "round_pushpin"}

// eventEnvelope is the part of an Events API request the app reads.
type eventEnvelope struct {
	Type      string          `json:"type"`
	Challenge string          `json:"challenge"`
	EventID   string          `json:"event_id"`
	Event     json.RawMessage `json:"event"`
}

// innerEvent is the part of a pin or reaction event the app reads.
type innerEvent struct {
	Type      string `json:"type"`
	User      string `json:"user"`
	Reaction  string `json:"reaction"`
	ChannelID string `json:"channel_id"` // pins
	Item      struct {
		Type    string `json:"type"`
		Channel string `json:"channel"`
		TS      string `json:"ts"` // reactions
		Message struct {
			TS string `json:"ts"`
		} `json:"message"` // pins
	} `json:"item"`
}

func (e *innerEvent) channel() string {
	if e.Item.Channel != "" {
		return e.Item.Channel
	}
	return e.ChannelID
}

func (e *innerEvent) ts() string {
	if e.Item.TS != "" {
		return e.Item.TS
	}
	return e.Item.Message.TS
}

// event serves the Events API: the URL check, and pins and reactions
// queued as jobs keyed by event_id, so Slack's retries are handled once.
func (a *App) event(w http.ResponseWriter, r *http.Request, body []byte) {
	var env eventEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		http.Error(w, "the body is not JSON", http.StatusBadRequest)
		return
	}
	switch env.Type {
	case "url_verification":
		writeJSON(w, map[string]string{"challenge": env.Challenge})
		return
	case "event_callback":
	default:
		w.WriteHeader(http.StatusOK)
		return
	}
	var ev innerEvent
	if err := json.Unmarshal(env.Event, &ev); err != nil || env.EventID == "" {
		http.Error(w, "an event_callback needs an event_id and an event", http.StatusBadRequest)
		return
	}
	switch ev.Type {
	case "pin_added", "pin_removed":
	case "reaction_added", "reaction_removed":
		if !slices.Contains(pinReactions, ev.Reaction) {
			w.WriteHeader(http.StatusOK)
			return
		}
	default:
		w.WriteHeader(http.StatusOK)
		return
	}
	if ev.Item.Type != "message" || ev.channel() == "" || ev.ts() == "" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if _, err := a.cfg.Jobs.Enqueue(r.Context(), jobs.Job{Kind: JobEvent, Key: "event/" + tsuna.Truncate(env.EventID, 400), Payload: env.Event, MaxAttempts: 10}); err != nil {
		// Slack retries an event that was not answered with a 2xx.
		a.log.Warn("slack event: queue", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// eventJob adds a pinned (or 📌-marked) message of an incident's channel to
// its timeline, at the time the message was written, once per message;
// an unpin or the reaction removed takes it out again, unless the message
// is still pinned or marked.
func (a *App) eventJob(ctx context.Context, j jobs.Job) error {
	var ev innerEvent
	if err := json.Unmarshal(j.Payload, &ev); err != nil {
		return jobs.Permanent(fmt.Errorf("slack event %q: bad payload", j.Key))
	}
	channel, ts := ev.channel(), ev.ts()
	inc, err := a.cfg.Incidents.Store().IncidentByChannel(ctx, channel)
	if tsuna.ErrorCode(err) == tsuna.ENOTFOUND {
		return nil // not an incident's channel
	} else if err != nil {
		return err
	}
	msg, err := a.message(ctx, channel, ts)
	if err != nil {
		return err
	}
	ppl, err := a.people(ctx)
	if err != nil {
		return err
	}
	actor := ppl.actor(ev.User)
	ext := "slack:msg:" + channel + ":" + ts
	if ev.Type == "pin_removed" || ev.Type == "reaction_removed" {
		if msg != nil && marked(msg) {
			return nil
		}
		_, err = a.cfg.Incidents.Unpin(ctx, inc.Number, ext, actor)
		return err
	}
	if msg == nil {
		return nil // deleted since
	}
	at, err := parseTS(msg.Timestamp)
	if err != nil {
		return jobs.Permanent(err)
	}
	text := msg.Text
	if text == "" {
		text = "(a message with no text)"
	}
	if author := ppl.person(msg.User); author != "" {
		text = author + ": " + text
	}
	_, err = a.cfg.Incidents.Pin(ctx, inc.Number, tsuna.Truncate(text, incident.MaxText), at, ext, actor)
	return err
}

// message fetches one message of a channel by its ts, or nil when it is
// gone.
func (a *App) message(ctx context.Context, channel, ts string) (*slack.Message, error) {
	res, err := a.client.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
		ChannelID: channel, Latest: ts, Oldest: ts, Inclusive: true, Limit: 1})
	if err != nil {
		return nil, jobError("conversations.history", err)
	}
	for i := range res.Messages {
		if res.Messages[i].Timestamp == ts {
			return &res.Messages[i], nil
		}
	}
	return nil, nil
}

// marked reports whether a message is still pinned or marked 📌.
func marked(m *slack.Message) bool {
	if len(m.PinnedTo) > 0 {
		return true
	}
	return slices.ContainsFunc(m.Reactions, func(r slack.ItemReaction) bool { return slices.Contains(pinReactions, r.Name) && r.Count > 0 })
}

// parseTS reads a Slack message timestamp, "1700000000.000100".
func parseTS(ts string) (time.Time, error) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || len(frac) > 6 {
		return time.Time{}, fmt.Errorf("bad message timestamp %q", tsuna.Truncate(ts, 40))
	}
	us := int64(0)
	if frac != "" {
		if us, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64); err != nil {
			return time.Time{}, fmt.Errorf("bad message timestamp %q", tsuna.Truncate(ts, 40))
		}
	}
	return time.Unix(s, us*1000).UTC(), nil
}
