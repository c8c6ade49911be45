package chatfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// result is the body of a successful answer, without "ok".
type result map[string]any

// apiError is a Slack API error: {"ok":false,"error":code,...}.
type apiError struct {
	code     string
	messages []string       // response_metadata.messages, Slack's detail lines
	extra    map[string]any // more top-level fields, such as needed/provided
}

func errCode(code string) *apiError { return &apiError{code: code} }

type handler func(f *Fake, q *request) (result, *apiError)

type method struct {
	h     handler
	scope string // the bot scope the method needs, "" for none
}

// methods is every Web API method the fake answers; others answer
// unknown_method.
var methods = map[string]method{
	"auth.test":              {(*Fake).authTest, ""},
	"chat.postMessage":       {(*Fake).chatPostMessage, "chat:write"},
	"chat.update":            {(*Fake).chatUpdate, "chat:write"},
	"chat.postEphemeral":     {(*Fake).chatPostEphemeral, "chat:write"},
	"conversations.create":   {(*Fake).conversationsCreate, "channels:manage"},
	"conversations.setTopic": {(*Fake).conversationsSetTopic, "channels:manage"},
	"conversations.invite":   {(*Fake).conversationsInvite, "channels:manage"},
	"conversations.join":     {(*Fake).conversationsJoin, "channels:join"},
	"conversations.info":     {(*Fake).conversationsInfo, "channels:read"},
	"conversations.members":  {(*Fake).conversationsMembers, "channels:read"},
	"conversations.history":  {(*Fake).conversationsHistory, "channels:history"},
	"conversations.open":     {(*Fake).conversationsOpen, "im:write"},
	"bookmarks.add":          {(*Fake).bookmarksAdd, "bookmarks:write"},
	"pins.add":               {(*Fake).pinsAdd, "pins:write"},
	"pins.remove":            {(*Fake).pinsRemove, "pins:write"},
	"reactions.get":          {(*Fake).reactionsGet, "reactions:read"},
	"views.open":             {(*Fake).viewsOpen, ""},
	"views.push":             {(*Fake).viewsPush, ""},
	"views.update":           {(*Fake).viewsUpdate, ""},
	"users.info":             {(*Fake).usersInfo, "users:read"},
	"users.lookupByEmail":    {(*Fake).usersLookupByEmail, "users:read.email"},
}

func (f *Fake) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		f.serveAPI(w, r, strings.TrimPrefix(r.URL.Path, "/api/"))
	case strings.HasPrefix(r.URL.Path, responsePath):
		f.serveResponseURL(w, r, strings.TrimPrefix(r.URL.Path, responsePath))
	default:
		http.NotFound(w, r)
	}
}

func (f *Fake) serveAPI(w http.ResponseWriter, r *http.Request, name string) {
	q, perr := parseRequest(r)

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse(w, name) {
		return
	}
	m, ok := methods[name]
	if !ok {
		writeError(w, errCode("unknown_method"))
		return
	}
	if perr != nil {
		writeError(w, perr)
		return
	}
	switch {
	case q.token == "":
		writeError(w, errCode("not_authed"))
		return
	case q.token != f.token:
		writeError(w, errCode("invalid_auth"))
		return
	case f.revoked:
		writeError(w, errCode("token_revoked"))
		return
	}
	if m.scope != "" && !f.scopes[m.scope] {
		writeError(w, &apiError{code: "missing_scope", extra: map[string]any{"needed": m.scope, "provided": f.scopeList()}})
		return
	}
	res, e := m.h(f, q)
	if e != nil {
		writeError(w, e)
		return
	}
	body := map[string]any{"ok": true}
	for k, v := range res {
		body[k] = v
	}
	writeJSON(w, http.StatusOK, body)
}

// refuse counts a call and answers it with an injected 429 or HTTP error,
// if one is pending; f.mu is held.
func (f *Fake) refuse(w http.ResponseWriter, name string) bool {
	f.calls[name]++
	ft := f.takeFault(name)
	switch {
	case ft == nil:
		return false
	case ft.status == http.StatusTooManyRequests:
		secs := int(math.Ceil(ft.retryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(ft.status)
		_, _ = io.WriteString(w, "<html><body>"+http.StatusText(ft.status)+"</body></html>\n")
	}
	return true
}

// takeFault consumes one injected answer for method, if any; f.mu is held.
func (f *Fake) takeFault(name string) *fault {
	q := f.faults[name]
	for len(q) > 0 && q[0].n <= 0 {
		q = q[1:]
	}
	f.faults[name] = q
	if len(q) == 0 {
		return nil
	}
	q[0].n--
	return q[0]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"ok": false, "error": e.code}
	for k, v := range e.extra {
		body[k] = v
	}
	if len(e.messages) > 0 {
		body["response_metadata"] = map[string]any{"messages": e.messages}
	}
	writeJSON(w, http.StatusOK, body)
}

// request holds a call's arguments: form fields and query parameters, or
// the members of a JSON body.
type request struct {
	form  url.Values
	body  map[string]json.RawMessage // nil unless a JSON post
	token string
}

// maxBody bounds what the fake reads of a request.
const maxBody = 4 << 20

func parseRequest(r *http.Request) (*request, *apiError) {
	q := &request{form: r.URL.Query()}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		q.token = strings.TrimSpace(v)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case r.Method == http.MethodPost && ct == "application/json":
		// Slack takes the token of a JSON post from the Authorization header
		// only.
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			return q, errCode("invalid_form_data")
		}
		q.body = map[string]json.RawMessage{}
		if len(bytes.TrimSpace(b)) > 0 {
			if err := json.Unmarshal(b, &q.body); err != nil {
				return q, errCode("invalid_json")
			}
		}
	case r.Method == http.MethodPost && ct == "multipart/form-data":
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return q, errCode("invalid_form_data")
		}
		q.form = r.Form
	default:
		r.Body = http.MaxBytesReader(nil, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			return q, errCode("invalid_form_data")
		}
		q.form = r.Form
	}
	if q.token == "" && q.body == nil {
		q.token = q.form.Get("token")
	}
	return q, nil
}

// str is an argument as a string: a JSON string's value, other JSON values
// as their text.
func (q *request) str(name string) string {
	if raw, ok := q.body[name]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		if string(raw) == "null" {
			return ""
		}
		return string(raw)
	}
	return q.form.Get(name)
}

// has reports whether the argument was sent.
func (q *request) has(name string) bool {
	if _, ok := q.body[name]; ok {
		return true
	}
	_, ok := q.form[name]
	return ok
}

// raw is a JSON argument (blocks, view, attachments): a form field holds
// its JSON text, a JSON body the value itself or a string of JSON. It is nil
// when absent or empty.
func (q *request) raw(name string) json.RawMessage {
	if raw, ok := q.body[name]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = json.RawMessage(s)
		}
		if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
			return nil
		}
		return raw
	}
	s := strings.TrimSpace(q.form.Get(name))
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func (q *request) bool(name string) bool {
	v, _ := strconv.ParseBool(q.str(name))
	return v
}

// list is a comma-separated argument, such as users.
func (q *request) list(name string) []string {
	var out []string
	for _, s := range strings.Split(q.str(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Channel arguments.

// visible reports whether the bot can see a channel: public ones always,
// private ones and DMs only as a member.
func visible(c *channel) bool {
	return (!c.private && !c.im) || c.isMember(BotUserID)
}

// resolve finds the channel a call names. Only chat.postMessage and
// chat.postEphemeral take names ("#x" or "x"); other methods need an ID, and
// Slack answers channel_not_found for a name there. f.mu is held.
func (f *Fake) resolve(arg string, byName bool) (*channel, *apiError) {
	c := f.channels[arg]
	if c == nil && byName && arg != "" {
		c = f.byName(strings.TrimPrefix(arg, "#"))
	}
	if c == nil || !visible(c) {
		return nil, errCode("channel_not_found")
	}
	return c, nil
}

// requireMember is Slack's not_in_channel check for writes.
func requireMember(c *channel) *apiError {
	if !c.isMember(BotUserID) {
		return errCode("not_in_channel")
	}
	return nil
}

// parseTS reads a "1700000000.000100" timestamp as microseconds.
func parseTS(s string) (int64, error) {
	sec, frac, _ := strings.Cut(s, ".")
	if sec == "" || len(frac) > 6 {
		return 0, errors.New("bad timestamp")
	}
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("bad timestamp")
	}
	us := int64(0)
	if frac != "" {
		frac += strings.Repeat("0", 6-len(frac))
		if us, err = strconv.ParseInt(frac, 10, 64); err != nil || us < 0 {
			return 0, errors.New("bad timestamp")
		}
	}
	return n*1e6 + us, nil
}

// JSON shapes of Slack objects.

func (f *Fake) channelJSON(c *channel) map[string]any {
	created := c.created.Unix()
	if c.im {
		return map[string]any{
			"id": c.id, "created": created, "is_im": true, "is_org_shared": false,
			"user": c.imUser, "is_user_deleted": false, "priority": 0,
		}
	}
	topicAt := int64(0)
	if !c.topicAt.IsZero() {
		topicAt = c.topicAt.Unix()
	}
	return map[string]any{
		"id": c.id, "name": c.name, "name_normalized": c.name,
		"is_channel": !c.private, "is_group": c.private, "is_im": false, "is_mpim": false,
		"is_private": c.private, "is_archived": c.archived, "is_general": false,
		"is_shared": false, "is_ext_shared": false, "is_org_shared": false,
		"is_member": c.isMember(BotUserID), "created": created, "creator": c.creator,
		"context_team_id": TeamID, "num_members": len(c.members),
		"topic":   map[string]any{"value": c.topic, "creator": c.topicBy, "last_set": topicAt},
		"purpose": map[string]any{"value": "", "creator": "", "last_set": 0},
	}
}

func (f *Fake) messageJSON(m *Message) map[string]any {
	j := map[string]any{"type": "message", "text": m.Text, "ts": m.TS, "team": TeamID}
	j["user"] = m.User
	if m.User == BotUserID {
		j["bot_id"] = BotID
		j["app_id"] = AppID
		j["bot_profile"] = map[string]any{"id": BotID, "app_id": AppID, "name": BotName, "team_id": TeamID, "deleted": false}
	}
	if m.Blocks != nil {
		j["blocks"] = m.Blocks
	}
	if m.Attachments != nil {
		j["attachments"] = m.Attachments
	}
	if m.ThreadTS != "" {
		j["thread_ts"] = m.ThreadTS
		if m.ReplyBroadcast {
			j["subtype"] = "thread_broadcast"
		}
	}
	if m.Replies > 0 {
		j["thread_ts"] = m.TS
		j["reply_count"] = m.Replies
	}
	if n := len(m.Edits); n > 0 {
		j["edited"] = map[string]any{"user": m.User, "ts": formatTS(m.Edits[n-1].At.UnixMicro())}
	}
	if m.Pinned {
		j["pinned_to"] = []string{m.Channel}
	}
	if len(m.Reactions) > 0 {
		rs := make([]map[string]any, 0, len(m.Reactions))
		for _, r := range m.Reactions {
			rs = append(rs, map[string]any{"name": r.Name, "users": r.Users, "count": len(r.Users)})
		}
		j["reactions"] = rs
	}
	return j
}

func userJSON(u *user) map[string]any {
	return map[string]any{
		"id": u.id, "team_id": TeamID, "name": u.name, "real_name": u.name,
		"deleted": false, "is_bot": u.bot, "is_admin": false, "tz": "UTC",
		"tz_label": "Coordinated Universal Time", "tz_offset": 0,
		"profile": map[string]any{
			"real_name": u.name, "real_name_normalized": u.name, "display_name": u.name,
			"display_name_normalized": u.name, "email": u.email, "team": TeamID,
		},
	}
}

// Users and auth.

func (f *Fake) authTest(*request) (result, *apiError) {
	return result{
		"url": "https://" + TeamDomain + ".slack.com/", "team": TeamDomain, "user": BotName,
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID, "is_enterprise_install": false,
	}, nil
}

func (f *Fake) usersInfo(q *request) (result, *apiError) {
	u := f.users[q.str("user")]
	if u == nil {
		return nil, errCode("user_not_found")
	}
	return result{"user": userJSON(u)}, nil
}

func (f *Fake) usersLookupByEmail(q *request) (result, *apiError) {
	email := strings.ToLower(strings.TrimSpace(q.str("email")))
	for _, u := range f.users {
		if email != "" && strings.ToLower(u.email) == email {
			return result{"user": userJSON(u)}, nil
		}
	}
	return nil, errCode("users_not_found")
}
