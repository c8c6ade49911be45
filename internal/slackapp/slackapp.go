// Package slackapp is tsuna's Slack app: the three endpoints Slack calls
// (the /tsuna slash command, interactivity and the Events API) and the
// background work they start (the incident channel, chat subcommands, pins
// and reactions). It is an adapter: every rule it applies is the incident
// domain's (incident.Service); it only translates Slack's requests into
// those calls and the results into Slack's answers.
//
// Every request is verified before it is parsed: HMAC-SHA256 of
// "v0:timestamp:body" with the signing secret, compared in constant time,
// within 5 minutes of now. Slack wants an answer within 3 seconds, so an
// endpoint does only what must be answered at once (open a modal with its
// trigger_id, validate and declare a submitted incident) and hands the
// rest to the job runner: a job is durable, runs once across replicas and
// restarts, and its key (the trigger_id of a command, the event_id of an
// event) makes Slack's retries do the work once.
package slackapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
)

// Job kinds the app runs besides incident.JobChannel.
const (
	// JobCommand runs a /tsuna incident subcommand; its key is the
	// command's trigger_id.
	JobCommand = "slack.command"
	// JobEvent handles an Events API event (pins, reactions); its key is
	// the event_id.
	JobEvent = "slack.event"
)

// MaxBody bounds what the app reads of a request from Slack; a modal's
// submission, the largest, is far below it.
const MaxBody = 1 << 20

// Store is what the app reads and records besides incidents.
type Store interface {
	Teams(ctx context.Context) ([]*catalog.Team, error)
	Services(ctx context.Context, f catalog.ServiceFilter) ([]*catalog.Service, error)
	Service(ctx context.Context, name string) (*catalog.Service, error)
	// HasChatRequest and MarkChatRequest record steps of chat work done,
	// by key, so a retried job does each once.
	HasChatRequest(ctx context.Context, key string) (bool, error)
	MarkChatRequest(ctx context.Context, key string) error
}

// Postmortems drafts the postmortem of an incident (`/tsuna postmortem`);
// *postmortem.Service implements it.
type Postmortems interface {
	Draft(ctx context.Context, req postmortem.DraftRequest, a postmortem.Actor) (*postmortem.Postmortem, bool, error)
	// URL returns a postmortem's console link, or "".
	URL(p *postmortem.Postmortem) string
}

// Enqueuer adds jobs; *jobs.Runner implements it (and wakes at once).
type Enqueuer interface {
	Enqueue(ctx context.Context, j jobs.Job) (bool, error)
}

// Config configures an App.
type Config struct {
	// SigningSecret verifies Slack's requests (Basic Information in the
	// app's settings). Required.
	SigningSecret string
	// Token is the bot token (xoxb-...); APIURL overrides Slack's Web API
	// address, for tests.
	Token, APIURL string
	Incidents     *incident.Service
	Store         Store
	Jobs          Enqueuer
	// Postmortems, when set, serves `/tsuna postmortem`.
	Postmortems Postmortems
	// ConsoleURL is the console's public address, bookmarked in incident
	// channels; "" bookmarks none.
	ConsoleURL string
	Log        *slog.Logger
}

// App is the Slack app.
type App struct {
	cfg    Config
	log    *slog.Logger
	client *slack.Client
	http   *http.Client

	// Work after an acknowledgement that must use a trigger_id within
	// Slack's 3 seconds (opening a modal) runs in goroutines Close waits for.
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
	// slots bounds that work, so a flood of commands leaves the CPU to
	// the acknowledgements.
	slots chan struct{}

	botMu sync.Mutex
	botID string
}

// New returns the app. It makes no call to Slack.
func New(cfg Config) (*App, error) {
	switch {
	case cfg.SigningSecret == "":
		return nil, tsuna.Errorf(tsuna.EINVALID, "slack: a signing secret is required to verify Slack's requests (--slack-signing-secret-file)")
	case cfg.Token == "":
		return nil, tsuna.Errorf(tsuna.EINVALID, "slack: a bot token is required (--slack-token-file)")
	case cfg.Incidents == nil || cfg.Store == nil || cfg.Jobs == nil:
		return nil, errors.New("slackapp: Incidents, Store and Jobs are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	opts := []slack.Option{slack.OptionHTTPClient(hc)}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(strings.TrimRight(cfg.APIURL, "/")+"/"))
	}
	a := &App{cfg: cfg, log: cfg.Log, client: slack.New(cfg.Token, opts...), http: hc}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.slots = make(chan struct{}, afterAckSlots)
	return a, nil
}

// Register registers the app's job handlers on r: the incident channel
// workflow, chat subcommands and events.
func (a *App) Register(r interface {
	Handle(kind string, fn jobs.Handler)
}) {
	r.Handle(incident.JobChannel, a.channelJob)
	r.Handle(JobCommand, a.commandJob)
	r.Handle(JobEvent, a.eventJob)
}

// Close waits for the work started after acknowledgements (modals being
// opened), cancelling it.
func (a *App) Close() error {
	a.cancel()
	a.wg.Wait()
	return nil
}

// Handler serves Slack's three endpoints.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+api.SlackCommandsPath, a.verified(a.command))
	mux.Handle("POST "+api.SlackInteractionsPath, a.verified(a.interaction))
	mux.Handle("POST "+api.SlackEventsPath, a.verified(a.event))
	return mux
}

// verified reads the raw body, bounded, checks Slack's signature over it
// and hands it on. A request that fails answers 401 and changes nothing;
// the secret and the signatures are never logged.
func (a *App) verified(next func(w http.ResponseWriter, r *http.Request, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read the request body", http.StatusBadRequest)
			return
		}
		if err := a.verify(r.Header, body); err != nil {
			a.log.Warn("slack request refused", "path", r.URL.Path, "reason", err.Error())
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, "invalid or expired Slack signature: check the signing secret tsuna serve was given\n")
			return
		}
		next(w, r, body)
	})
}

// verify checks X-Slack-Signature over body, and that
// X-Slack-Request-Timestamp is within 5 minutes of now. Its errors name
// the check that failed, never a secret.
func (a *App) verify(h http.Header, body []byte) error {
	sv, err := slack.NewSecretsVerifier(h, a.cfg.SigningSecret)
	switch {
	case errors.Is(err, slack.ErrExpiredTimestamp):
		return errors.New("timestamp more than 5 minutes from now")
	case errors.Is(err, slack.ErrMissingHeaders):
		return errors.New("no X-Slack-Signature or X-Slack-Request-Timestamp")
	case err != nil:
		return errors.New("malformed signature or timestamp")
	}
	sv.Write(body)
	if sv.Ensure() != nil {
		return errors.New("signature does not match")
	}
	return nil
}

// afterAckSlots bounds the work after acknowledgements running at once;
// triggerTTL is how long a trigger_id opens a modal: work still waiting
// for a slot after it is dropped.
const (
	afterAckSlots = 4
	triggerTTL    = 3 * time.Second
)

// goAfterAck runs fn after the answer, on the app's context, tracked so
// Close waits for it, at most afterAckSlots at once; it is dropped when it
// waited longer than a trigger_id lives.
func (a *App) goAfterAck(fn func(ctx context.Context)) {
	acked := time.Now()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		select {
		case a.slots <- struct{}{}:
			defer func() { <-a.slots }()
		case <-a.ctx.Done():
			return
		}
		if time.Since(acked) > triggerTTL {
			a.log.Warn("slack: too busy to open a modal in time; the user runs the command again")
			return
		}
		ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
		defer cancel()
		fn(ctx)
	}()
}

// ephemeral answers a slash command with text only its user sees.
func ephemeral(w http.ResponseWriter, text string) {
	writeJSON(w, map[string]any{"response_type": "ephemeral", "text": text})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	var b bytes.Buffer
	if err := jsonEncode(&b, v); err != nil {
		http.Error(w, "encode", http.StatusInternalServerError)
		return
	}
	w.Write(b.Bytes())
}

// respond posts text to a response_url, ephemeral to the user who acted.
func (a *App) respond(ctx context.Context, url, text string) {
	if url == "" {
		return
	}
	err := slack.PostWebhookCustomHTTPContext(ctx, url, a.http, &slack.WebhookMessage{ResponseType: "ephemeral", Text: text})
	if err != nil {
		a.log.Warn("answer on response_url", "err", err)
	}
}

// jobError turns a Slack Web API error into the job runner's outcomes: a
// rate limit waits for Retry-After, an error no retry mends is permanent,
// and the rest retries with backoff.
func jobError(what string, err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return fmt.Errorf("%s: rate limited by Slack: %w", what, jobs.RetryAfter(rl.RetryAfter))
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanentSlack[se.Err] {
		return jobs.Permanent(fmt.Errorf("%s: slack refused: %s", what, se.Err))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// permanentSlack lists Slack errors that no retry mends.
var permanentSlack = map[string]bool{
	"invalid_auth": true, "not_authed": true, "token_revoked": true, "account_inactive": true,
	"missing_scope": true, "restricted_action": true, "channel_not_found": true, "is_archived": true,
	"invalid_name_specials": true, "invalid_name_maxlength": true, "invalid_name_punctuation": true, "invalid_name_required": true,
}

// slackErr returns the Slack error code of err, or "".
func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// botUserID is the app's bot user, from auth.test (kept once known).
func (a *App) botUserID(ctx context.Context) (string, error) {
	a.botMu.Lock()
	defer a.botMu.Unlock()
	if a.botID == "" {
		res, err := a.client.AuthTestContext(ctx)
		if err != nil {
			return "", jobError("auth.test", err)
		}
		a.botID = res.UserID
	}
	return a.botID, nil
}
