// Package chatfake is a fake of the Slack Web API for tests: an HTTP server
// on 127.0.0.1 that answers the methods tsuna calls with Slack's JSON shapes
// and makes the checks Slack makes (token, channel membership, block and text
// limits, channel names, trigger expiry, ...), so that a test fails where
// Slack would refuse the call.
//
// Point slack-go at it with
//
//	api := slack.New(fake.Token(), slack.OptionAPIURL(fake.URL()+"/api/"))
//
// Tests seed users and channels (AddUser, AddChannel, Join, Post), read what
// the app did (Messages, Channel, Views, Responses, Calls), inject rate
// limits and server errors (RateLimit, Fail), and build the signed requests
// Slack sends to the app (Sign, NewSlashCommand, NewViewSubmission,
// NewMessageAction, UserPins, ...).
package chatfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Identifiers of the fake workspace and of the app's bot user.
const (
	// TeamID is the workspace's ID.
	TeamID = "T0FAKE0001"
	// TeamDomain is the workspace's domain, tsuna-fake.slack.com.
	TeamDomain = "tsuna-fake"
	// AppID is the app's ID in payloads Slack sends.
	AppID = "A0FAKE0001"
	// BotUserID is the bot user the token belongs to; it authors the
	// app's messages and joins the channels the app creates.
	BotUserID = "U0FAKEBOT1"
	// BotID is the bot's ID (bot_id) on the app's messages.
	BotID = "B0FAKEBOT1"
	// BotName is the bot user's name.
	BotName = "tsuna"
	// VerificationToken is the deprecated verification token that Slack
	// still puts in the payloads it sends; the fake's builders use it.
	VerificationToken = "fake-verification-token"
)

// Scopes the bot token has unless RevokeScopes removes them. The fake does
// not grant chat:write.public: posting to a public channel needs the bot to
// be a member until GrantScopes("chat:write.public").
var defaultScopes = []string{
	"bookmarks:write", "channels:history", "channels:join", "channels:manage",
	"channels:read", "chat:write", "groups:history", "groups:read", "groups:write",
	"im:history", "im:write", "pins:read", "pins:write", "reactions:read",
	"reactions:write", "users:read", "users:read.email",
}

// Fake is a Slack Web API server. Its methods are safe for concurrent use.
type Fake struct {
	// Now is the fake's clock: message timestamps, trigger expiry and
	// response_url expiry read it. It defaults to time.Now; set it before
	// the first call, or make it safe for concurrent use.
	Now func() time.Time

	srv *httptest.Server
	tb  testing.TB

	mu        sync.Mutex
	token     string
	revoked   bool
	scopes    map[string]bool
	users     map[string]*user
	channels  map[string]*channel // by ID
	order     []string            // channel IDs in creation order
	lastTS    int64               // microseconds of the last ts issued
	seq       int
	triggers  map[string]*trigger
	views     []*view
	calls     map[string]int
	faults    map[string][]*fault
	responses []Response
	respURLs  map[string]*responseURL
}

type user struct {
	id, name, email string
	bot             bool
}

type channel struct {
	id, name    string
	private, im bool
	archived    bool
	imUser      string
	creator     string
	created     time.Time
	topic       string
	topicBy     string
	topicAt     time.Time
	members     []string
	bookmarks   []Bookmark
	msgs        []*Message
	ephemeral   []Message
}

type trigger struct {
	issued time.Time
	used   bool
}

type fault struct {
	n          int
	status     int
	retryAfter time.Duration
}

// New starts a fake on 127.0.0.1 and closes it when the test ends.
func New(tb testing.TB) *Fake {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("chatfake: listen: %v", err)
	}
	f := &Fake{
		Now:      time.Now,
		tb:       tb,
		token:    "xoxb-" + randHex(12) + "-" + randHex(12),
		scopes:   map[string]bool{},
		users:    map[string]*user{},
		channels: map[string]*channel{},
		triggers: map[string]*trigger{},
		calls:    map[string]int{},
		faults:   map[string][]*fault{},
		respURLs: map[string]*responseURL{},
	}
	for _, s := range defaultScopes {
		f.scopes[s] = true
	}
	f.users[BotUserID] = &user{id: BotUserID, name: BotName, bot: true}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serveHTTP))
	f.srv.Listener.Close()
	f.srv.Listener = l
	f.srv.Start()
	tb.Cleanup(f.srv.Close)
	return f
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// URL is the fake's base address, http://127.0.0.1:port; the Web API is
// under URL()+"/api/".
func (f *Fake) URL() string { return f.srv.URL }

// Token is the bot token the fake accepts.
func (f *Fake) Token() string { return f.token }

// RevokeToken makes every later call with the bot token fail with
// token_revoked.
func (f *Fake) RevokeToken() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = true
}

// GrantScopes adds OAuth scopes to the bot token, for example
// "chat:write.public".
func (f *Fake) GrantScopes(scopes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range scopes {
		f.scopes[s] = true
	}
}

// RevokeScopes removes OAuth scopes from the bot token; methods that need
// them then fail with missing_scope. Each method needs one scope, the
// channels:* one for any kind of conversation: chat:write (chat.*),
// channels:manage (conversations.create, setTopic, invite), channels:join,
// channels:read (conversations.info, members), channels:history,
// im:write (conversations.open), bookmarks:write, pins:write,
// reactions:read, users:read and users:read.email (users.lookupByEmail).
func (f *Fake) RevokeScopes(scopes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range scopes {
		delete(f.scopes, s)
	}
}

// RateLimit makes the next n calls of method (such as "chat.postMessage",
// or "response_url" for posts to response_urls) answer HTTP 429 with a
// Retry-After header of retryAfter rounded up to whole seconds (at least 1),
// as Slack does; slack-go reports it as *slack.RateLimitedError.
func (f *Fake) RateLimit(method string, n int, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[method] = append(f.faults[method], &fault{n: n, status: http.StatusTooManyRequests, retryAfter: retryAfter})
}

// Fail makes the next n calls of method (or "response_url") answer the HTTP
// status (such as 500 or 503) with an HTML body, as Slack's front end does.
func (f *Fake) Fail(method string, n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[method] = append(f.faults[method], &fault{n: n, status: status})
}

// Calls is how many requests reached method (or "response_url"),
// including refused ones.
func (f *Fake) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// now reads the clock; f.mu is held.
func (f *Fake) now() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now()
}

// nextTS issues a message timestamp, "1700000000.000100"-style, later than
// every one issued before; f.mu is held.
func (f *Fake) nextTS() string {
	us := f.now().UnixMicro()
	if us <= f.lastTS {
		us = f.lastTS + 1
	}
	f.lastTS = us
	return formatTS(us)
}

func formatTS(us int64) string {
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

// nextID issues an ID with a prefix such as "C" or "V"; f.mu is held.
func (f *Fake) nextID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s%08X", prefix, f.seq)
}

// User seeding and reading.

// AddUser adds a workspace member.
func (f *Fake) AddUser(id, name, email string) {
	f.tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[id]; ok {
		f.tb.Fatalf("chatfake: AddUser: user %s exists", id)
	}
	f.users[id] = &user{id: id, name: name, email: email}
}

// AddChannel adds a public channel that the bot is not a member of and
// returns its ID.
func (f *Fake) AddChannel(name string) string {
	f.tb.Helper()
	return f.addChannel(name, false)
}

// AddPrivateChannel adds a private channel that the bot is not a member of
// and returns its ID. Until the bot joins it, the fake answers
// channel_not_found for it, as Slack does.
func (f *Fake) AddPrivateChannel(name string) string {
	f.tb.Helper()
	return f.addChannel(name, true)
}

func (f *Fake) addChannel(name string, private bool) string {
	f.tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	name = strings.TrimPrefix(name, "#")
	if f.byName(name) != nil {
		f.tb.Fatalf("chatfake: channel #%s exists", name)
	}
	prefix := "C"
	if private {
		prefix = "G"
	}
	c := &channel{id: f.nextID(prefix), name: name, private: private, created: f.now()}
	f.channels[c.id] = c
	f.order = append(f.order, c.id)
	return c.id
}

// Join makes userID (a seeded user or BotUserID) a member of a channel,
// silently; UserJoins also returns the member_joined_channel event.
func (f *Fake) Join(channelID, userID string) {
	f.tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.mustChannel(channelID)
	f.mustUser(userID)
	c.join(userID)
}

// Archive archives a channel; posting to it then fails with is_archived.
func (f *Fake) Archive(channelID string) {
	f.tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mustChannel(channelID).archived = true
}

// Post adds a message by userID to a channel, as if the user wrote it in
// Slack, and returns its ts.
func (f *Fake) Post(channelID, userID, text string) string {
	f.tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.mustChannel(channelID)
	f.mustUser(userID)
	m := &Message{Channel: c.id, TS: f.nextTS(), User: userID, Text: text}
	c.msgs = append(c.msgs, m)
	return m.TS
}

func (f *Fake) mustChannel(ref string) *channel {
	f.tb.Helper()
	c := f.channels[ref]
	if c == nil {
		c = f.byName(strings.TrimPrefix(ref, "#"))
	}
	if c == nil {
		f.tb.Fatalf("chatfake: no channel %s", ref)
	}
	return c
}

func (f *Fake) mustUser(id string) {
	f.tb.Helper()
	if f.users[id] == nil {
		f.tb.Fatalf("chatfake: no user %s", id)
	}
}

func (f *Fake) mustMessage(c *channel, ts string) *Message {
	f.tb.Helper()
	m := c.find(ts)
	if m == nil {
		f.tb.Fatalf("chatfake: no message %s in %s", ts, c.id)
	}
	return m
}

func (f *Fake) byName(name string) *channel {
	for _, id := range f.order {
		if c := f.channels[id]; c.name == name && !c.im {
			return c
		}
	}
	return nil
}

func (c *channel) isMember(id string) bool { return slices.Contains(c.members, id) }

func (c *channel) join(id string) {
	if !c.isMember(id) {
		c.members = append(c.members, id)
	}
}

func (c *channel) find(ts string) *Message {
	for _, m := range c.msgs {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// Inspection.

// Message is a message in a channel as the fake holds it.
type Message struct {
	Channel     string          // channel ID
	TS          string          // "1700000000.000100"
	ThreadTS    string          // parent's ts for a reply, else ""
	User        string          // author; BotUserID for the app's messages
	Text        string          // current text
	Blocks      json.RawMessage // current blocks, nil if none
	Attachments json.RawMessage // current attachments, nil if none
	// Edits holds the earlier versions, oldest first; len(Edits) is how
	// many times chat.update (or a response_url replace) changed it.
	Edits          []Edit
	ReplyBroadcast bool
	Pinned         bool
	Reactions      []Reaction
	Replies        int // number of replies in its thread
}

// Edit is an earlier version of a message.
type Edit struct {
	Text   string
	Blocks json.RawMessage
	At     time.Time // when it was replaced
}

// Reaction is an emoji reaction on a message and who added it.
type Reaction struct {
	Name  string
	Users []string
}

// Channel is a conversation as the fake holds it.
type Channel struct {
	ID        string
	Name      string // "" for a DM
	Private   bool
	IM        bool   // a direct message with IMUser
	IMUser    string // the user of a DM
	Archived  bool
	Creator   string
	Topic     string
	Members   []string
	Bookmarks []Bookmark
}

// Bookmark is a link bookmarked in a channel.
type Bookmark struct {
	ID    string
	Title string
	Type  string
	Link  string
	Emoji string
}

func (m *Message) clone() Message {
	c := *m
	c.Blocks = slices.Clone(m.Blocks)
	c.Attachments = slices.Clone(m.Attachments)
	c.Edits = slices.Clone(m.Edits)
	c.Reactions = nil
	for _, r := range m.Reactions {
		c.Reactions = append(c.Reactions, Reaction{Name: r.Name, Users: slices.Clone(r.Users)})
	}
	return c
}

func (c *channel) public() Channel {
	return Channel{
		ID: c.id, Name: c.name, Private: c.private, IM: c.im, IMUser: c.imUser,
		Archived: c.archived, Creator: c.creator, Topic: c.topic,
		Members: slices.Clone(c.members), Bookmarks: slices.Clone(c.bookmarks),
	}
}

// Channel finds a channel by name ("incidents" or "#incidents") or ID.
func (f *Fake) Channel(ref string) (Channel, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.ref(ref)
	if c == nil {
		return Channel{}, false
	}
	return c.public(), true
}

// Channels lists every channel, DMs included, in creation order.
func (f *Fake) Channels() []Channel {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Channel, 0, len(f.order))
	for _, id := range f.order {
		out = append(out, f.channels[id].public())
	}
	return out
}

func (f *Fake) ref(ref string) *channel {
	if c := f.channels[ref]; c != nil {
		return c
	}
	return f.byName(strings.TrimPrefix(ref, "#"))
}

// Messages lists a channel's messages (by name or ID), thread replies
// included, oldest first; nil for an unknown channel.
func (f *Fake) Messages(ref string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.ref(ref)
	if c == nil {
		return nil
	}
	out := make([]Message, 0, len(c.msgs))
	for _, m := range c.msgs {
		out = append(out, m.clone())
	}
	return out
}

// Ephemeral lists the ephemeral messages sent in a channel (by name or ID),
// oldest first; User is the user who saw each.
func (f *Fake) Ephemeral(ref string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.ref(ref)
	if c == nil {
		return nil
	}
	return slices.Clone(c.ephemeral)
}

// Topic is a channel's topic (by name or ID).
func (f *Fake) Topic(ref string) string {
	c, _ := f.Channel(ref)
	return c.Topic
}

// Bookmarks lists a channel's bookmarks (by name or ID).
func (f *Fake) Bookmarks(ref string) []Bookmark {
	c, _ := f.Channel(ref)
	return c.Bookmarks
}

// Members lists a channel's members (by name or ID) in joining order.
func (f *Fake) Members(ref string) []string {
	c, _ := f.Channel(ref)
	return c.Members
}

// scopeList is the granted scopes, sorted and comma-separated; f.mu is held.
func (f *Fake) scopeList() string {
	s := make([]string, 0, len(f.scopes))
	for k := range f.scopes {
		s = append(s, k)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}
