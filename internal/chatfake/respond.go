package chatfake

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"
)

// responsePath is where the fake's response_urls live.
const responsePath = "/response/"

// Slack lets an app use a response_url 5 times within 30 minutes.
const (
	responseURLUses = 5
	responseURLTTL  = 30 * time.Minute
)

type responseURL struct {
	issued             time.Time
	uses               int
	channel, user, msg string // where the command or action happened
}

// Response is what the app posted to a response_url.
type Response struct {
	URL             string
	Body            json.RawMessage // the JSON as posted
	Text            string
	Blocks          json.RawMessage
	ResponseType    string // "in_channel", or "ephemeral" (Slack's default when absent)
	ReplaceOriginal bool
	DeleteOriginal  bool
	ThreadTS        string
}

// NewResponseURL issues a response_url for a command or action by userID
// in a channel; messageTS is the message acted on, "" for a slash command.
// What the app posts there shows in the channel as Slack would show it:
// ephemeral to the user, in_channel as a message, or replacing or deleting
// the message acted on.
func (f *Fake) NewResponseURL(channelID, userID, messageTS string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newResponseURL(channelID, userID, messageTS)
}

func (f *Fake) newResponseURL(channelID, userID, messageTS string) string {
	id := randHex(16)
	f.respURLs[id] = &responseURL{issued: f.now(), channel: channelID, user: userID, msg: messageTS}
	return f.srv.URL + responsePath + id
}

// Responses lists what the app posted to response_urls, in order.
func (f *Fake) Responses() []Response {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.responses)
}

func (f *Fake) serveResponseURL(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse(w, "response_url") {
		return
	}
	ru := f.respURLs[id]
	switch {
	case ru == nil || f.now().Sub(ru.issued) > responseURLTTL:
		writeJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "expired_url"})
		return
	case ru.uses >= responseURLUses:
		writeJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "used_url"})
		return
	}
	var msg struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
		ThreadTS        string          `json:"thread_ts"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": "invalid_payload"})
		return
	}
	if string(msg.Blocks) == "null" {
		msg.Blocks = nil
	}
	if msg.Blocks != nil {
		var v any
		_ = json.Unmarshal(msg.Blocks, &v)
		if msgs := validateBlocks(v, "/blocks", maxMessageBlocks); len(msgs) > 0 {
			writeError(w, &apiError{code: "invalid_blocks", messages: msgs})
			return
		}
	}
	if !msg.DeleteOriginal && msg.Text == "" && isEmpty(msg.Blocks) {
		writeError(w, errCode("no_text"))
		return
	}
	ru.uses++
	f.responses = append(f.responses, Response{
		URL: f.srv.URL + responsePath + id, Body: body, Text: msg.Text, Blocks: orNil(msg.Blocks),
		ResponseType: msg.ResponseType, ReplaceOriginal: msg.ReplaceOriginal,
		DeleteOriginal: msg.DeleteOriginal, ThreadTS: msg.ThreadTS,
	})
	f.showResponse(ru, msg.Text, msg.Blocks, msg.ResponseType, msg.ThreadTS, msg.ReplaceOriginal, msg.DeleteOriginal)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// showResponse applies a response to the channel it came from; f.mu is
// held.
func (f *Fake) showResponse(ru *responseURL, text string, blocks json.RawMessage, typ, threadTS string, replace, del bool) {
	c := f.channels[ru.channel]
	if c == nil {
		return
	}
	if ru.msg != "" && (replace || del) {
		i := slices.IndexFunc(c.msgs, func(m *Message) bool { return m.TS == ru.msg })
		if i < 0 {
			return
		}
		if del {
			c.msgs = slices.Delete(c.msgs, i, i+1)
			return
		}
		// A replacement is a whole message: blocks not sent are gone.
		if blocks == nil {
			blocks = json.RawMessage("[]")
		}
		f.edit(c.msgs[i], content{text: text, blocks: blocks}, true)
		return
	}
	m := Message{Channel: c.id, TS: f.nextTS(), Text: text, Blocks: orNil(blocks), ThreadTS: threadTS}
	if typ == "in_channel" {
		m.User = BotUserID
		c.msgs = append(c.msgs, &m)
		return
	}
	m.User = ru.user
	c.ephemeral = append(c.ephemeral, m)
}
