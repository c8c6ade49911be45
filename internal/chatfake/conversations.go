package chatfake

import (
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Slack's limits on channel names and topics, in characters.
const (
	maxChannelName = 80
	maxTopic       = 250
)

// checkName applies Slack's channel name rules: lowercase letters, digits,
// hyphens and underscores, not only punctuation, at most 80 characters.
func checkName(name string) *apiError {
	if name == "" {
		return errCode("invalid_name_required")
	}
	if utf8.RuneCountInString(name) > maxChannelName {
		return errCode("invalid_name_maxlength")
	}
	punct := true
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			punct = false
		case r == '-' || r == '_':
		default:
			return errCode("invalid_name_specials")
		}
	}
	if punct {
		return errCode("invalid_name_punctuation")
	}
	return nil
}

func (f *Fake) conversationsCreate(q *request) (result, *apiError) {
	name := q.str("name")
	if e := checkName(name); e != nil {
		return nil, e
	}
	if f.byName(name) != nil {
		return nil, errCode("name_taken")
	}
	private := q.bool("is_private")
	prefix := "C"
	if private {
		prefix = "G"
	}
	c := &channel{id: f.nextID(prefix), name: name, private: private, creator: BotUserID, created: f.now()}
	c.join(BotUserID)
	f.channels[c.id] = c
	f.order = append(f.order, c.id)
	return result{"channel": f.channelJSON(c)}, nil
}

func (f *Fake) conversationsSetTopic(q *request) (result, *apiError) {
	c, e := f.resolve(q.str("channel"), false)
	if e != nil {
		return nil, e
	}
	switch {
	case c.im:
		return nil, errCode("method_not_supported_for_channel_type")
	case c.archived:
		return nil, errCode("is_archived")
	}
	if e := requireMember(c); e != nil {
		return nil, e
	}
	topic := q.str("topic")
	if utf8.RuneCountInString(topic) > maxTopic {
		return nil, errCode("too_long")
	}
	c.topic, c.topicBy, c.topicAt = topic, BotUserID, f.now()
	return result{"channel": f.channelJSON(c)}, nil
}

func (f *Fake) conversationsInvite(q *request) (result, *apiError) {
	c, e := f.resolve(q.str("channel"), false)
	if e != nil {
		return nil, e
	}
	switch {
	case c.im:
		return nil, errCode("method_not_supported_for_channel_type")
	case c.archived:
		return nil, errCode("is_archived")
	}
	if e := requireMember(c); e != nil {
		return nil, e
	}
	ids := q.list("users")
	if len(ids) == 0 {
		return nil, errCode("no_user")
	}
	// Slack invites nobody when one of the users cannot be invited.
	for _, id := range ids {
		switch {
		case id == BotUserID:
			return nil, errCode("cant_invite_self")
		case f.users[id] == nil:
			return nil, errCode("user_not_found")
		case c.isMember(id):
			return nil, errCode("already_in_channel")
		}
	}
	for _, id := range ids {
		c.join(id)
	}
	return result{"channel": f.channelJSON(c)}, nil
}

func (f *Fake) conversationsJoin(q *request) (result, *apiError) {
	c, e := f.resolve(q.str("channel"), false)
	if e != nil {
		return nil, e
	}
	switch {
	case c.im || c.private:
		return nil, errCode("method_not_supported_for_channel_type")
	case c.archived:
		return nil, errCode("is_archived")
	}
	res := result{}
	if c.isMember(BotUserID) {
		res["warning"] = "already_in_channel"
		res["response_metadata"] = map[string]any{"warnings": []string{"already_in_channel"}}
	}
	c.join(BotUserID)
	res["channel"] = f.channelJSON(c)
	return res, nil
}

func (f *Fake) conversationsInfo(q *request) (result, *apiError) {
	c, e := f.resolve(q.str("channel"), false)
	if e != nil {
		return nil, e
	}
	return result{"channel": f.channelJSON(c)}, nil
}

// page cuts a list at an opaque cursor, as Slack's cursor pagination does.
// limit is clamped to [1, maxLimit], 0 meaning def.
func page[T any](all []T, cursor string, limit, def, maxLimit int) ([]T, string, *apiError) {
	start := 0
	if cursor != "" {
		b, err := base64.StdEncoding.DecodeString(cursor)
		n, found := strings.CutPrefix(string(b), "offset:")
		if err != nil || !found {
			return nil, "", errCode("invalid_cursor")
		}
		if start, err = strconv.Atoi(n); err != nil || start < 0 || start > len(all) {
			return nil, "", errCode("invalid_cursor")
		}
	}
	if limit <= 0 {
		limit = def
	}
	limit = min(limit, maxLimit)
	end := min(start+limit, len(all))
	next := ""
	if end < len(all) {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return all[start:end], next, nil
}

func (f *Fake) conversationsMembers(q *request) (result, *apiError) {
	c, e := f.resolve(q.str("channel"), false)
	if e != nil {
		return nil, e
	}
	limit, _ := strconv.Atoi(q.str("limit"))
	members, next, e := page(c.members, q.str("cursor"), limit, 100, 1000)
	if e != nil {
		return nil, e
	}
	return result{"members": members, "response_metadata": map[string]any{"next_cursor": next}}, nil
}

// conversationsHistory answers top-level messages (and thread broadcasts),
// newest first, between oldest and latest; with latest=ts, inclusive=true
// and limit=1 it fetches one message.
func (f *Fake) conversationsHistory(q *request) (result, *apiError) {
	c, e := f.resolve(q.str("channel"), false)
	if e != nil {
		return nil, e
	}
	if e := requireMember(c); e != nil {
		return nil, e
	}
	latest, oldest := int64(math.MaxInt64), int64(0)
	if s := q.str("latest"); s != "" {
		v, err := parseTS(s)
		if err != nil {
			return nil, errCode("invalid_ts_latest")
		}
		latest = v
	}
	if s := q.str("oldest"); s != "" {
		v, err := parseTS(s)
		if err != nil {
			return nil, errCode("invalid_ts_oldest")
		}
		oldest = v
	}
	inclusive := q.bool("inclusive")
	var match []map[string]any
	pins := 0
	for _, m := range slices.Backward(c.msgs) {
		if m.Pinned {
			pins++
		}
		if m.ThreadTS != "" && m.ThreadTS != m.TS && !m.ReplyBroadcast {
			continue
		}
		ts, _ := parseTS(m.TS)
		if ts > latest || ts < oldest || (!inclusive && (ts == latest || ts == oldest)) {
			continue
		}
		match = append(match, f.messageJSON(m))
	}
	limit, _ := strconv.Atoi(q.str("limit"))
	msgs, next, e := page(match, q.str("cursor"), limit, 100, 999)
	if e != nil {
		return nil, e
	}
	if msgs == nil {
		msgs = []map[string]any{}
	}
	return result{
		"messages": msgs, "has_more": next != "", "pin_count": pins,
		"response_metadata": map[string]any{"next_cursor": next},
	}, nil
}

// openIM finds or makes the bot's DM with a user; f.mu is held.
func (f *Fake) openIM(userID string) *channel {
	for _, id := range f.order {
		if c := f.channels[id]; c.im && c.imUser == userID {
			return c
		}
	}
	c := &channel{id: f.nextID("D"), im: true, imUser: userID, created: f.now(), members: []string{BotUserID, userID}}
	f.channels[c.id] = c
	f.order = append(f.order, c.id)
	return c
}

// conversationsOpen opens a DM with one user (the fake has no group DMs).
func (f *Fake) conversationsOpen(q *request) (result, *apiError) {
	if ch := q.str("channel"); ch != "" {
		c, e := f.resolve(ch, false)
		if e != nil {
			return nil, e
		}
		return result{"channel": f.channelJSON(c), "no_op": true, "already_open": true}, nil
	}
	ids := q.list("users")
	switch {
	case len(ids) == 0:
		return nil, errCode("users_list_not_supplied")
	case len(ids) > 1:
		return nil, errCode("invalid_user_combination")
	case f.users[ids[0]] == nil || ids[0] == BotUserID:
		return nil, errCode("user_not_found")
	}
	open := false
	for _, c := range f.channels {
		if c.im && c.imUser == ids[0] {
			open = true
		}
	}
	c := f.openIM(ids[0])
	ch := map[string]any{"id": c.id}
	if q.bool("return_im") {
		ch = f.channelJSON(c)
	}
	res := result{"channel": ch}
	if open {
		res["no_op"], res["already_open"] = true, true
	}
	return res, nil
}

func (f *Fake) bookmarksAdd(q *request) (result, *apiError) {
	c, e := f.resolve(q.str("channel_id"), false)
	if e != nil {
		return nil, e
	}
	b := Bookmark{Title: q.str("title"), Type: q.str("type"), Link: q.str("link"), Emoji: q.str("emoji")}
	switch {
	case b.Title == "":
		return nil, errCode("invalid_arguments")
	case b.Type != "link":
		return nil, errCode("invalid_bookmark_type")
	case !strings.HasPrefix(b.Link, "http://") && !strings.HasPrefix(b.Link, "https://"):
		return nil, errCode("invalid_link")
	}
	b.ID = f.nextID("Bk")
	c.bookmarks = append(c.bookmarks, b)
	now := f.now().Unix()
	return result{"bookmark": map[string]any{
		"id": b.ID, "channel_id": c.id, "title": b.Title, "link": b.Link, "emoji": b.Emoji,
		"icon_url": "", "type": b.Type, "entity_id": "", "date_created": now, "date_updated": now,
		"rank": "U", "last_updated_by_user_id": BotUserID, "last_updated_by_team_id": TeamID,
		"shortcut_id": "", "app_id": AppID,
	}}, nil
}

// pinTarget finds the message pins.* and reactions.get name.
func (f *Fake) pinTarget(q *request, member bool) (*channel, *Message, *apiError) {
	c, e := f.resolve(q.str("channel"), false)
	if e != nil {
		return nil, nil, e
	}
	if member {
		if e := requireMember(c); e != nil {
			return nil, nil, e
		}
	}
	ts := q.str("timestamp")
	if ts == "" {
		return nil, nil, errCode("no_item_specified")
	}
	if _, err := parseTS(ts); err != nil {
		return nil, nil, errCode("bad_timestamp")
	}
	m := c.find(ts)
	if m == nil {
		return nil, nil, errCode("message_not_found")
	}
	return c, m, nil
}

func (f *Fake) pinsAdd(q *request) (result, *apiError) {
	_, m, e := f.pinTarget(q, true)
	if e != nil {
		return nil, e
	}
	if m.Pinned {
		return nil, errCode("already_pinned")
	}
	m.Pinned = true
	return result{}, nil
}

func (f *Fake) pinsRemove(q *request) (result, *apiError) {
	_, m, e := f.pinTarget(q, true)
	if e != nil {
		return nil, e
	}
	if !m.Pinned {
		return nil, errCode("no_pin")
	}
	m.Pinned = false
	return result{}, nil
}

func (f *Fake) reactionsGet(q *request) (result, *apiError) {
	c, m, e := f.pinTarget(q, false)
	if e != nil {
		return nil, e
	}
	return result{"type": "message", "channel": c.id, "message": f.messageJSON(m)}, nil
}
