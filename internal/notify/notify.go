// Package notify defines a chat message independent of any chat platform,
// and the sender interface that a platform's adapter (notify/slack)
// implements. Domain packages build Messages; the outbox stores them as
// JSON; the delivery loop hands them to a Sender, which renders them.
//
// Text in a Message is plain text as written by people or by alert rules:
// never markup. A sender escapes it for its platform, so text from outside
// can never mention a channel or spoof a link.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Statuses of a message's subject, which a sender shows (an icon, a colour).
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
	StatusInfo     = "info"
)

// Message is one chat message. The zero value of every field is "absent".
type Message struct {
	// Key threads the messages of one subject (an alert group, an
	// incident): the first is posted, later ones update it.
	Key string `json:"key,omitempty"`
	// Title is the headline, such as "FIRING (2): HighErrorRate".
	Title string `json:"title"`
	// Status is StatusFiring, StatusResolved, StatusInfo or "".
	Status string `json:"status,omitempty"`
	// Severity is shown beside the title, such as "page" or "SEV2".
	Severity string `json:"severity,omitempty"`
	// Summary is a short emphasised line; Body is longer text.
	Summary string `json:"summary,omitempty"`
	Body    string `json:"body,omitempty"`
	// Fields are short name/value pairs shown in columns.
	Fields []Field `json:"fields,omitempty"`
	// Links are shown as named links; only http and https URLs are kept.
	Links []Link `json:"links,omitempty"`
	// Mentions are chat user IDs to notify, in the fallback text.
	Mentions []string `json:"mentions,omitempty"`
	// Notes are small print under the message.
	Notes []string `json:"notes,omitempty"`
	// Fallback is the plain-text form for notifications and clients that
	// show no rich layout; empty lets the sender build one.
	Fallback string `json:"text,omitempty"`
	// URL links to the full subject (such as the alert in tsuna), offered
	// when text had to be shortened.
	URL string `json:"url,omitempty"`
	// Actions are buttons under the message, such as "Declare incident":
	// a click reaches the chat app with the action's ID and Value.
	Actions []Action `json:"actions,omitempty"`
}

// Action is a button on a message.
type Action struct {
	// ID names what the button does, such as "incident.declare"; the chat
	// app dispatches on it.
	ID string `json:"id"`
	// Text is the button's label; Value is handed back on a click (such
	// as an alert's fingerprint).
	Text  string `json:"text"`
	Value string `json:"value,omitempty"`
	// Primary shows the button as the message's main action.
	Primary bool `json:"primary,omitempty"`
}

// Field is a name and a value, or a name and chat users to mention.
type Field struct {
	Name  string   `json:"name"`
	Value string   `json:"value,omitempty"`
	Users []string `json:"users,omitempty"` // chat user IDs, mentioned
}

// Link is a named URL.
type Link struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// SafeURL reports whether s is an absolute http or https URL, the only
// links a Message shows.
func SafeURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Ref names a message a sender posted, so later messages with the same
// key update it.
type Ref struct {
	ChannelID string `json:"channelId"`
	MessageID string `json:"messageId"`
}

// IsZero reports whether r names no message.
func (r Ref) IsZero() bool { return r.MessageID == "" }

// Sender posts m to channel, or updates the message ref when ref is set,
// and returns the posted message's reference. Its errors are typed: a
// *RetryAfterError asks to wait, a *PermanentError must not be retried,
// and any other error is transient (retry with backoff).
type Sender interface {
	Send(ctx context.Context, channel string, ref Ref, m Message) (Ref, error)
}

// RetryAfterError says the platform asked to wait before the next call.
type RetryAfterError struct {
	After time.Duration
	Cause string
}

// Error says how long to wait.
func (e *RetryAfterError) Error() string {
	if e.Cause != "" {
		return fmt.Sprintf("%s: retry after %s", e.Cause, e.After)
	}
	return fmt.Sprintf("rate limited: retry after %s", e.After)
}

// PermanentError says the message can never be delivered as it is (an
// unknown channel, content the platform refuses); Reason says why.
type PermanentError struct{ Reason string }

// Error returns the reason.
func (e *PermanentError) Error() string { return e.Reason }

// Permanent returns a *PermanentError with a formatted reason.
func Permanent(format string, args ...any) error {
	return &PermanentError{Reason: fmt.Sprintf(format, args...)}
}

// IsPermanent reports whether err is a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
