package chatfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Sign computes the headers Slack puts on a request it sends to an app:
// X-Slack-Request-Timestamp (ts in Unix seconds) and X-Slack-Signature,
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)).
func Sign(secret string, ts time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return timestamp, "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// SignRequest sets the X-Slack-Request-Timestamp and X-Slack-Signature
// headers of req for body, as Slack does.
func SignRequest(req *http.Request, secret string, ts time.Time, body []byte) {
	timestamp, signature := Sign(secret, ts, body)
	req.Header.Set("X-Slack-Request-Timestamp", timestamp)
	req.Header.Set("X-Slack-Signature", signature)
}

// SlashCommand is what Slack posts, form-encoded, when a user runs a slash
// command.
type SlashCommand struct {
	Command     string // "/incident"
	Text        string // what follows the command
	UserID      string
	UserName    string
	ChannelID   string
	ChannelName string
	TeamID      string
	TeamDomain  string
	APIAppID    string
	TriggerID   string
	ResponseURL string
	Token       string // the deprecated verification token
}

// Form is the request body; Encode it to post and sign it.
func (s SlashCommand) Form() url.Values {
	return url.Values{
		"token": {s.Token}, "team_id": {s.TeamID}, "team_domain": {s.TeamDomain},
		"channel_id": {s.ChannelID}, "channel_name": {s.ChannelName},
		"user_id": {s.UserID}, "user_name": {s.UserName},
		"command": {s.Command}, "text": {s.Text}, "api_app_id": {s.APIAppID},
		"is_enterprise_install": {"false"}, "response_url": {s.ResponseURL},
		"trigger_id": {s.TriggerID},
	}
}

// NewSlashCommand is the command a seeded user runs in a channel, with a
// fresh trigger_id and a response_url on the fake.
func (f *Fake) NewSlashCommand(command, text, userID, channelID string) SlashCommand {
	f.tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mustUser(userID)
	c := f.mustChannel(channelID)
	name := c.name
	if c.im {
		name = "directmessage"
	}
	return SlashCommand{
		Command: command, Text: text, UserID: userID, UserName: f.users[userID].name,
		ChannelID: c.id, ChannelName: name, TeamID: TeamID, TeamDomain: TeamDomain,
		APIAppID: AppID, TriggerID: f.newTriggerID(), ResponseURL: f.newResponseURL(c.id, userID, ""),
		Token: VerificationToken,
	}
}

// Option is a choice in a select menu, checkboxes or radio buttons.
type Option struct {
	Text  string
	Value string
}

// MarshalJSON writes Slack's option object.
func (o Option) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"text":  map[string]any{"type": "plain_text", "text": o.Text, "emoji": true},
		"value": o.Value,
	})
}

// Input is the value of an interactive element, as Slack reports it in a
// view's state and in block_actions.
type Input struct {
	Type                 string   `json:"type"` // "plain_text_input", "static_select", "button", ...
	Value                string   `json:"value,omitempty"`
	SelectedOption       *Option  `json:"selected_option,omitempty"`
	SelectedOptions      []Option `json:"selected_options,omitempty"`
	SelectedUser         string   `json:"selected_user,omitempty"`
	SelectedUsers        []string `json:"selected_users,omitempty"`
	SelectedChannel      string   `json:"selected_channel,omitempty"`
	SelectedConversation string   `json:"selected_conversation,omitempty"`
	SelectedDate         string   `json:"selected_date,omitempty"`
	SelectedTime         string   `json:"selected_time,omitempty"`
}

// Action is one element a user acted on in a block_actions payload.
type Action struct {
	ActionID string `json:"action_id"`
	BlockID  string `json:"block_id"`
	Input
	ActionTS string `json:"action_ts"`
}

// BlockActions is the block_actions interaction payload: a user clicked a
// button or chose an option in a message (ChannelID, MessageTS) or in a
// view (ViewID).
type BlockActions struct {
	UserID      string
	UserName    string
	TeamID      string
	APIAppID    string
	TriggerID   string
	ResponseURL string // for a message
	ChannelID   string
	ChannelName string
	MessageTS   string
	Message     json.RawMessage // the message acted on
	ViewID      string
	View        json.RawMessage // the view acted on
	Actions     []Action
	State       map[string]map[string]Input
}

func userObj(id, name, team string) map[string]any {
	return map[string]any{"id": id, "username": name, "name": name, "team_id": team}
}

// Payload is the JSON Slack sends.
func (b BlockActions) Payload() []byte {
	p := map[string]any{
		"type": "block_actions", "user": userObj(b.UserID, b.UserName, b.TeamID),
		"api_app_id": b.APIAppID, "token": VerificationToken, "trigger_id": b.TriggerID,
		"team": map[string]any{"id": b.TeamID, "domain": TeamDomain}, "enterprise": nil,
		"is_enterprise_install": false, "actions": b.Actions,
		"state": map[string]any{"values": orEmpty(b.State)},
	}
	if p["actions"] == nil {
		p["actions"] = []Action{}
	}
	if b.ViewID != "" {
		p["container"] = map[string]any{"type": "view", "view_id": b.ViewID}
		p["view"] = b.View
	} else {
		p["container"] = map[string]any{"type": "message", "message_ts": b.MessageTS, "channel_id": b.ChannelID, "is_ephemeral": false}
		p["channel"] = map[string]any{"id": b.ChannelID, "name": b.ChannelName}
		p["message"] = b.Message
		p["response_url"] = b.ResponseURL
	}
	out, _ := json.Marshal(p)
	return out
}

// Form is the request body Slack posts: payload=<JSON>.
func (b BlockActions) Form() url.Values { return url.Values{"payload": {string(b.Payload())}} }

func orEmpty(m map[string]map[string]Input) map[string]map[string]Input {
	if m == nil {
		return map[string]map[string]Input{}
	}
	return m
}

// NewMessageAction is a seeded user acting on elements of a message in the
// fake, with a fresh trigger_id and a response_url bound to the message
// (replace_original and delete_original change it). An action without
// ActionTS or Type gets the current time and "button".
func (f *Fake) NewMessageAction(channelID, ts, userID string, actions ...Action) BlockActions {
	f.tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mustUser(userID)
	c := f.mustChannel(channelID)
	m := f.mustMessage(c, ts)
	msg, _ := json.Marshal(f.messageJSON(m))
	return BlockActions{
		UserID: userID, UserName: f.users[userID].name, TeamID: TeamID, APIAppID: AppID,
		TriggerID: f.newTriggerID(), ResponseURL: f.newResponseURL(c.id, userID, ts),
		ChannelID: c.id, ChannelName: c.name, MessageTS: ts, Message: msg,
		Actions: f.fillActions(actions),
	}
}

// NewViewAction is a seeded user acting on elements of a view the app
// opened, with a fresh trigger_id (for views.push).
func (f *Fake) NewViewAction(viewID, userID string, actions ...Action) BlockActions {
	f.tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mustUser(userID)
	v := f.mustView(viewID)
	obj, _ := json.Marshal(f.viewJSON(v))
	return BlockActions{
		UserID: userID, UserName: f.users[userID].name, TeamID: TeamID, APIAppID: AppID,
		TriggerID: f.newTriggerID(), ViewID: v.ID, View: obj, Actions: f.fillActions(actions),
	}
}

func (f *Fake) fillActions(actions []Action) []Action {
	out := make([]Action, len(actions))
	for i, a := range actions {
		if a.ActionTS == "" {
			a.ActionTS = formatTS(f.now().UnixMicro())
		}
		if a.Type == "" {
			a.Type = "button"
		}
		out[i] = a
	}
	return out
}

func (f *Fake) mustView(id string) *view {
	f.tb.Helper()
	v := f.viewBy(id, "")
	if v == nil {
		f.tb.Fatalf("chatfake: no view %s", id)
	}
	return v
}

// ViewSubmission is the view_submission interaction payload: a user
// submitted a modal.
type ViewSubmission struct {
	UserID    string
	UserName  string
	TeamID    string
	APIAppID  string
	TriggerID string
	View      json.RawMessage // the view object; Payload sets its state
	Values    map[string]map[string]Input
}

// Payload is the JSON Slack sends.
func (s ViewSubmission) Payload() []byte {
	v := map[string]any{}
	_ = json.Unmarshal(s.View, &v)
	v["state"] = map[string]any{"values": orEmpty(s.Values)}
	out, _ := json.Marshal(map[string]any{
		"type": "view_submission", "team": map[string]any{"id": s.TeamID, "domain": TeamDomain},
		"user": userObj(s.UserID, s.UserName, s.TeamID), "api_app_id": s.APIAppID,
		"token": VerificationToken, "trigger_id": s.TriggerID, "view": v,
		"response_urls": []any{}, "is_enterprise_install": false, "enterprise": nil,
	})
	return out
}

// Form is the request body Slack posts: payload=<JSON>.
func (s ViewSubmission) Form() url.Values { return url.Values{"payload": {string(s.Payload())}} }

// NewViewSubmission is a seeded user submitting a view the app opened with
// values keyed by block_id and action_id; the payload carries the view's
// callback_id, private_metadata, hash and blocks as the app last sent them.
func (f *Fake) NewViewSubmission(viewID, userID string, values map[string]map[string]Input) ViewSubmission {
	f.tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mustUser(userID)
	v := f.mustView(viewID)
	obj, _ := json.Marshal(f.viewJSON(v))
	return ViewSubmission{
		UserID: userID, UserName: f.users[userID].name, TeamID: TeamID, APIAppID: AppID,
		TriggerID: f.newTriggerID(), View: obj, Values: values,
	}
}

// Events API.

// URLVerification is the url_verification request Slack sends when the
// Events API request URL is set; the app must answer the challenge.
func URLVerification(challenge string) []byte {
	out, _ := json.Marshal(map[string]any{"token": VerificationToken, "challenge": challenge, "type": "url_verification"})
	return out
}

// Envelope is an event_callback request of the Events API.
type Envelope struct {
	TeamID    string
	APIAppID  string
	EventID   string // unique per event; Slack resends the same ID on retries
	EventTime time.Time
	Event     json.RawMessage // the inner event
}

// JSON is the request body Slack posts.
func (e Envelope) JSON() []byte {
	out, _ := json.Marshal(map[string]any{
		"token": VerificationToken, "team_id": e.TeamID, "api_app_id": e.APIAppID,
		"event": e.Event, "type": "event_callback", "event_id": e.EventID,
		"event_time": e.EventTime.Unix(), "is_ext_shared_channel": false,
		"event_context": "4-" + e.EventID,
		"authorizations": []map[string]any{{
			"enterprise_id": nil, "team_id": e.TeamID, "user_id": BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
	})
	return out
}

// NewEnvelope wraps an inner event (any JSON object with a "type") in an
// event_callback with a fresh event_id and the fake's time.
func (f *Fake) NewEnvelope(event any) Envelope {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.envelope(event)
}

func (f *Fake) envelope(event any) Envelope {
	raw, _ := json.Marshal(event)
	return Envelope{TeamID: TeamID, APIAppID: AppID, EventID: f.nextID("Ev"), EventTime: f.now(), Event: raw}
}

// eventChannel finds a channel for a user's action that Slack reports to the
// app: Slack sends these events only for channels the bot is in.
func (f *Fake) eventChannel(userID, channelID string) *channel {
	f.tb.Helper()
	f.mustUser(userID)
	c := f.mustChannel(channelID)
	if !c.isMember(BotUserID) {
		f.tb.Fatalf("chatfake: Slack sends no events from %s: the bot is not a member", c.id)
	}
	return c
}

// UserPins pins a message as userID would in Slack and returns the
// pin_added event Slack sends.
func (f *Fake) UserPins(userID, channelID, ts string) Envelope {
	f.tb.Helper()
	return f.pinEvent(userID, channelID, ts, true)
}

// UserUnpins unpins a message as userID would in Slack and returns the
// pin_removed event Slack sends.
func (f *Fake) UserUnpins(userID, channelID, ts string) Envelope {
	f.tb.Helper()
	return f.pinEvent(userID, channelID, ts, false)
}

func (f *Fake) pinEvent(userID, channelID, ts string, pin bool) Envelope {
	f.tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.eventChannel(userID, channelID)
	m := f.mustMessage(c, ts)
	m.Pinned = pin
	ev := map[string]any{
		"type": "pin_added", "user": userID, "channel_id": c.id, "event_ts": f.nextTS(),
		"item": map[string]any{
			"type": "message", "channel": c.id, "message": f.messageJSON(m),
			"created": f.now().Unix(), "created_by": userID,
		},
	}
	if !pin {
		ev["type"] = "pin_removed"
		ev["has_pins"] = c.pins() > 0
	}
	return f.envelope(ev)
}

func (c *channel) pins() int {
	n := 0
	for _, m := range c.msgs {
		if m.Pinned {
			n++
		}
	}
	return n
}

// UserReacts adds a reaction (an emoji name such as "eyes") to a message as
// userID would in Slack and returns the reaction_added event Slack sends.
func (f *Fake) UserReacts(userID, channelID, ts, name string) Envelope {
	f.tb.Helper()
	return f.reactionEvent(userID, channelID, ts, name, true)
}

// UserUnreacts removes userID's reaction from a message and returns the
// reaction_removed event Slack sends.
func (f *Fake) UserUnreacts(userID, channelID, ts, name string) Envelope {
	f.tb.Helper()
	return f.reactionEvent(userID, channelID, ts, name, false)
}

func (f *Fake) reactionEvent(userID, channelID, ts, name string, add bool) Envelope {
	f.tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.eventChannel(userID, channelID)
	m := f.mustMessage(c, ts)
	typ := "reaction_added"
	if add {
		m.react(name, userID)
	} else {
		typ = "reaction_removed"
		m.unreact(name, userID)
	}
	return f.envelope(map[string]any{
		"type": typ, "user": userID, "reaction": name, "item_user": m.User,
		"item":     map[string]any{"type": "message", "channel": c.id, "ts": m.TS},
		"event_ts": f.nextTS(),
	})
}

func (m *Message) react(name, userID string) {
	for i := range m.Reactions {
		if r := &m.Reactions[i]; r.Name == name {
			if !slices.Contains(r.Users, userID) {
				r.Users = append(r.Users, userID)
			}
			return
		}
	}
	m.Reactions = append(m.Reactions, Reaction{Name: name, Users: []string{userID}})
}

func (m *Message) unreact(name, userID string) {
	for i := range m.Reactions {
		if r := &m.Reactions[i]; r.Name == name {
			r.Users = slices.DeleteFunc(r.Users, func(u string) bool { return u == userID })
			if len(r.Users) == 0 {
				m.Reactions = slices.Delete(m.Reactions, i, i+1)
			}
			return
		}
	}
}

// UserJoins makes userID a member of a channel, invited by inviterID ("" if
// the user joined alone), and returns the member_joined_channel event Slack
// sends.
func (f *Fake) UserJoins(userID, channelID, inviterID string) Envelope {
	f.tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mustUser(userID)
	c := f.mustChannel(channelID)
	c.join(userID)
	f.eventChannel(userID, channelID)
	typ := "C"
	if c.private {
		typ = "G"
	}
	ev := map[string]any{
		"type": "member_joined_channel", "user": userID, "channel": c.id,
		"channel_type": typ, "team": TeamID, "event_ts": f.nextTS(),
	}
	if inviterID != "" {
		ev["inviter"] = inviterID
	}
	return f.envelope(ev)
}
