package chatfake

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// maxTextLen is the longest message text Slack takes, in characters.
const maxTextLen = 40000

// content is a message's text, blocks and attachments as a call sent them.
type content struct {
	text        string
	blocks      json.RawMessage // nil if not sent; "[]" if sent empty
	attachments json.RawMessage
}

// checkContent makes Slack's checks of a message body: blocks that are JSON
// and valid Block Kit, some text, blocks or attachments, and text within
// 40,000 characters.
func checkContent(q *request) (content, *apiError) {
	m := content{text: q.str("text"), blocks: q.raw("blocks"), attachments: q.raw("attachments")}
	if m.blocks != nil {
		var v any
		if err := json.Unmarshal(m.blocks, &v); err != nil {
			return m, errCode("invalid_blocks_format")
		}
		if msgs := validateBlocks(v, "/blocks", maxMessageBlocks); len(msgs) > 0 {
			return m, &apiError{code: "invalid_blocks", messages: msgs}
		}
	}
	if m.attachments != nil {
		var v []any
		if err := json.Unmarshal(m.attachments, &v); err != nil {
			return m, errCode("invalid_attachments")
		}
	}
	if m.text == "" && isEmpty(m.blocks) && isEmpty(m.attachments) {
		return m, errCode("no_text")
	}
	if utf8.RuneCountInString(m.text) > maxTextLen {
		return m, errCode("msg_too_long")
	}
	return m, nil
}

// isEmpty reports whether a JSON array argument is absent or [].
func isEmpty(raw json.RawMessage) bool {
	var v []json.RawMessage
	return raw == nil || (json.Unmarshal(raw, &v) == nil && len(v) == 0)
}

// orNil drops an empty array.
func orNil(raw json.RawMessage) json.RawMessage {
	if isEmpty(raw) {
		return nil
	}
	return bytes.Clone(raw)
}

// canPost is Slack's check that the bot may write to a channel: a member,
// or any public channel with the chat:write.public scope.
func (f *Fake) canPost(c *channel) *apiError {
	switch {
	case c.archived:
		return errCode("is_archived")
	case c.isMember(BotUserID):
		return nil
	case !c.private && !c.im && f.scopes["chat:write.public"]:
		return nil
	}
	return errCode("not_in_channel")
}

func (f *Fake) chatPostMessage(q *request) (result, *apiError) {
	arg := q.str("channel")
	var c *channel
	if u := f.users[arg]; u != nil && !u.bot {
		// A user ID posts to the app's DM with the user.
		c = f.openIM(u.id)
	} else {
		var e *apiError
		if c, e = f.resolve(arg, true); e != nil {
			return nil, e
		}
	}
	if e := f.canPost(c); e != nil {
		return nil, e
	}
	body, e := checkContent(q)
	if e != nil {
		return nil, e
	}
	m := &Message{
		Channel: c.id, TS: f.nextTS(), User: BotUserID, Text: body.text,
		Blocks: orNil(body.blocks), Attachments: orNil(body.attachments),
		ThreadTS: q.str("thread_ts"),
	}
	if m.ThreadTS != "" {
		m.ReplyBroadcast = q.bool("reply_broadcast")
		if p := c.find(m.ThreadTS); p != nil {
			p.Replies++
		}
	}
	c.msgs = append(c.msgs, m)
	return result{"channel": c.id, "ts": m.TS, "message": f.messageJSON(m)}, nil
}

func (f *Fake) chatUpdate(q *request) (result, *apiError) {
	c, e := f.resolve(q.str("channel"), false)
	if e != nil {
		return nil, e
	}
	m := c.find(q.str("ts"))
	if m == nil {
		return nil, errCode("message_not_found")
	}
	if m.User != BotUserID {
		return nil, errCode("cant_update_message")
	}
	body, e := checkContent(q)
	if e != nil {
		return nil, e
	}
	f.edit(m, body, q.has("text"))
	return result{"channel": c.id, "ts": m.TS, "text": m.Text, "message": f.messageJSON(m)}, nil
}

// edit replaces a message's content, keeping the old version. As in Slack,
// text, blocks or attachments not sent stay as they were; [] removes them.
func (f *Fake) edit(m *Message, body content, textSent bool) {
	m.Edits = append(m.Edits, Edit{Text: m.Text, Blocks: m.Blocks, At: f.now()})
	if textSent {
		m.Text = body.text
	}
	if body.blocks != nil {
		m.Blocks = orNil(body.blocks)
	}
	if body.attachments != nil {
		m.Attachments = orNil(body.attachments)
	}
}

func (f *Fake) chatPostEphemeral(q *request) (result, *apiError) {
	c, e := f.resolve(q.str("channel"), true)
	if e != nil {
		return nil, e
	}
	if e := f.canPost(c); e != nil {
		return nil, e
	}
	uid := q.str("user")
	if f.users[uid] == nil {
		return nil, errCode("user_not_found")
	}
	if !c.isMember(uid) {
		return nil, errCode("user_not_in_channel")
	}
	body, e := checkContent(q)
	if e != nil {
		return nil, e
	}
	ts := f.nextTS()
	c.ephemeral = append(c.ephemeral, Message{
		Channel: c.id, TS: ts, User: uid, Text: body.text, ThreadTS: q.str("thread_ts"),
		Blocks: orNil(body.blocks), Attachments: orNil(body.attachments),
	})
	return result{"message_ts": ts}, nil
}
