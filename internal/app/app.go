// Package app wires tsuna's server together and owns its lifecycle: it
// opens the store, makes the first admin token, applies a catalog, builds
// the SLO evaluator, the alert receiver, the chat delivery loop, the job
// runner and the HTTP server, starts them, and stops them in order. It is
// the one place that knows every component; each component knows only the
// small interfaces it consumes.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/delivery"
	"github.com/tsuna-sre/tsuna/internal/demo"
	"github.com/tsuna-sre/tsuna/internal/incident"
	"github.com/tsuna-sre/tsuna/internal/jobs"
	"github.com/tsuna-sre/tsuna/internal/notify/slack"
	"github.com/tsuna-sre/tsuna/internal/postmortem"
	"github.com/tsuna-sre/tsuna/internal/readiness"
	"github.com/tsuna-sre/tsuna/internal/server"
	"github.com/tsuna-sre/tsuna/internal/slackapp"
	"github.com/tsuna-sre/tsuna/internal/store"
	"github.com/tsuna-sre/tsuna/internal/web"
)

// Config is what `tsuna serve` is told.
type Config struct {
	Listen  string // address to listen on, such as 127.0.0.1:8080
	DB      string // SQLite path or postgres:// URL
	Catalog string // catalog directory applied at start; "" applies none

	MaxBodyBytes  int64
	PrometheusURL string
	Policy        budget.Policy

	AlertmanagerToken string
	FallbackChannel   string
	SlackToken        string
	SlackAPIURL       string // for tests against a Slack fake
	// SlackSigningSecret verifies the requests of tsuna's Slack app (the
	// /tsuna command, modals, events); with SlackToken it serves /slack/.
	SlackSigningSecret string
	// IncidentChannel is the organisation-wide incidents channel, for
	// severities that notify it; "" posts none there.
	IncidentChannel string
	// PublicURL is the console's address as people reach it, for links
	// in chat; "" links none.
	PublicURL string
	// Postmortems configures GitHub export and the periodic jobs.
	Postmortems PostmortemConfig

	// ReadinessGateLevel, when set, makes the deploy gate deny production
	// tier-1 services below this readiness level.
	ReadinessGateLevel string
	// ReadinessEvery is how often open readiness reviews are evaluated
	// again (default 15 minutes), once across replicas.
	ReadinessEvery time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-Proto the console
	// believes, to mark its cookie Secure behind TLS termination.
	TrustedProxies []netip.Prefix

	// BootstrapToken is the first admin token's secret on an empty
	// database; "" makes one and shows it once: on Stderr when it is a
	// terminal, else in a file readable by the owner only, whose path is
	// logged (so it never lands in log storage).
	BootstrapToken string

	// AuditKeyFile holds the key of the audit chain's MACs; created (0600)
	// when missing. "" uses DefaultAuditKeyFile(DB). Replicas must share it.
	AuditKeyFile string
	// CheckpointEvery is how often the audit head is logged and exported
	// as a checkpoint (default 1h).
	CheckpointEvery time.Duration

	// Demo fills the database (which must hold nothing else) with the
	// demo history of internal/demo and labels every console page.
	Demo bool

	Logger *slog.Logger
	Stderr io.Writer
}

// App is a configured tsuna server.
type App struct {
	cfg      Config
	log      *slog.Logger
	db       *store.DB
	ln       net.Listener
	registry *prometheus.Registry
	receiver *alerting.Receiver
	loop     *delivery.Loop
	srv      *server.Server
	console  *web.Console
	runner   *jobs.Runner
	chat     *slackapp.App

	postmortems *postmortem.Service
	readiness   *readiness.Service

	headSeq, headTime prometheus.Gauge

	// catalogFiles are the files of serve --catalog, read once at start.
	catalogFiles []catalog.File

	stop context.CancelFunc // ends the goroutines Run started
	wg   sync.WaitGroup
}

// New opens the store, makes the first admin token, applies the catalog
// and builds every component, listening on cfg.Listen; Run serves. On
// error, everything opened is closed.
func New(ctx context.Context, cfg Config) (a *App, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	a = &App{cfg: cfg, log: cfg.Logger}
	built := a // "return nil, err" sets a to nil before this runs
	defer func() {
		if err != nil {
			built.Close()
			a = nil
		}
	}()
	if a.db, err = store.Open(ctx, cfg.DB, a.log.With("component", "store")); err != nil {
		return nil, err
	}
	a.log.Info("database open", "engine", a.db.Engine())
	keyFile := cfg.AuditKeyFile
	if keyFile == "" {
		keyFile = DefaultAuditKeyFile(cfg.DB)
	}
	key, created, err := audit.LoadOrCreateKey(keyFile)
	if err != nil {
		return nil, err
	}
	if created {
		a.log.Warn("created the audit key; keep a copy outside this host, and give every replica the same file", "path", keyFile)
	}
	a.db.SetAuditKey(key)
	if err := a.bootstrap(ctx); err != nil {
		return nil, err
	}
	if cfg.Catalog != "" {
		if err := a.loadCatalog(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Demo {
		if cfg.Catalog != "" {
			return nil, tsuna.Errorf(tsuna.EINVALID, "--demo and --catalog: the demo brings its own catalog; drop one of them")
		}
		if err := demo.Seed(ctx, a.db, cfg.DB, time.Now()); err != nil {
			return nil, err
		}
		a.log.Info("demo data ready: every page of the console shows made-up data", "db", cfg.DB)
	}
	var prom budget.Querier
	if cfg.PrometheusURL != "" {
		c, err := promapi.NewClient(promapi.Config{Address: cfg.PrometheusURL})
		if err != nil {
			return nil, tsuna.Errorf(tsuna.EINVALID, "--prometheus-url %q: %v", RedactURL(cfg.PrometheusURL), err)
		}
		prom = promv1.NewAPI(c)
		a.log.Info("evaluating SLOs against Prometheus", "url", RedactURL(cfg.PrometheusURL))
	}
	evaluator := budget.New(prom, a.db)

	a.registry = prometheus.NewRegistry()
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tsuna_build_info", Help: "A constant 1, labelled with the build version and the VCS revision it was built from.",
	}, []string{"version", "revision", "goversion"})
	buildInfo.WithLabelValues(tsuna.BuildVersion(), tsuna.BuildRevision(), runtime.Version()).Set(1)
	// The outbox as the database holds it: the same figures on every replica.
	a.registry.MustRegister(delivery.NewCollector(a.db, a.log.With("component", "outbox")))
	a.headSeq = prometheus.NewGauge(prometheus.GaugeOpts{Name: "tsuna_audit_checkpoint_seq", Help: "Sequence of the newest audit record at the last checkpoint logged."})
	a.headTime = prometheus.NewGauge(prometheus.GaugeOpts{Name: "tsuna_audit_checkpoint_timestamp_seconds", Help: "When the last audit checkpoint was logged (Unix time)."})
	a.registry.MustRegister(buildInfo, a.headSeq, a.headTime, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	a.receiver = alerting.NewReceiver(a.db, a.db, cfg.FallbackChannel)
	wake := func() {}
	if cfg.SlackToken != "" {
		a.loop = delivery.New(a.db, slack.NewSender(cfg.SlackToken, cfg.SlackAPIURL), a.log.With("component", "delivery"))
		a.registry.MustRegister(a.loop.Collectors()...)
		wake = a.loop.Wake
	} else {
		a.log.Info("no Slack token: chat messages stay in the outbox (tsuna alerts list shows the alerts)")
	}
	incidents, err := a.buildIncidents(wake)
	if err != nil {
		return nil, err
	}
	postmortems, err := a.buildPostmortems(incidents.Service, evaluator)
	if err != nil {
		return nil, err
	}
	if a.readiness, err = a.buildReadiness(ctx, incidents.Service, evaluator); err != nil {
		return nil, err
	}
	a.console = web.New(web.Config{Store: a.db, Budget: evaluator, Policy: cfg.Policy, Logger: a.log.With("component", "console"), Demo: cfg.Demo,
		TrustedProxies: cfg.TrustedProxies, Incidents: incidents.Service, Readiness: a.readiness, Postmortems: postmortems.Service})
	a.srv = server.New(server.Config{Store: a.db, Logger: a.log.With("component", "http"), MaxBodyBytes: cfg.MaxBodyBytes,
		Budget: evaluator, Policy: cfg.Policy, AlertmanagerToken: cfg.AlertmanagerToken, Alerts: a.receiver,
		OnNotification: wake, Registry: a.registry, Console: a.console, Incidents: incidents,
		Postmortems: postmortems, Readiness: server.ReadinessConfig{Service: a.readiness}})
	if a.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	return a, nil
}

// Addr returns the address the server listens on.
func (a *App) Addr() net.Addr { return a.ln.Addr() }

// Run starts the background workers and serves until ctx is done, then
// shuts the HTTP server down gracefully. Close releases the rest.
func (a *App) Run(ctx context.Context) error {
	if a.loop != nil {
		a.loop.Start(ctx)
	}
	if err := a.runner.Start(ctx); err != nil {
		return err
	}
	var bg context.Context
	bg, a.stop = context.WithCancel(ctx)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.checkpoints(bg)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.postmortemTicks(bg)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.readinessTicks(bg)
	}()
	if a.cfg.Demo {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.demoTraffic(bg)
		}()
	}
	a.log.Info("listening", "addr", a.ln.Addr().String(), "url", "http://"+a.ln.Addr().String())
	return a.srv.Serve(ctx, a.ln)
}

// Close stops what New and Run started, in order: the listener, the
// delivery loop, the alert receiver, then the database. It waits for each
// goroutine they started, so none is left running.
func (a *App) Close() error {
	if a.ln != nil {
		a.ln.Close() // already closed after Serve returns; closing again is harmless
	}
	if a.stop != nil {
		a.stop()
	}
	a.wg.Wait()
	if a.console != nil {
		a.console.Close()
	}
	if a.chat != nil {
		a.chat.Close()
	}
	if a.runner != nil {
		a.runner.Close()
	}
	if a.loop != nil {
		a.loop.Close()
	}
	if a.receiver != nil {
		a.receiver.Close()
	}
	var err error
	if a.db != nil {
		err = a.db.Close()
	}
	return err
}

// buildIncidents builds the job runner (reminders, and the chat app's
// work), the incident service and, when Slack is configured with a token
// and a signing secret, the Slack app.
func (a *App) buildIncidents(wake func()) (server.IncidentsConfig, error) {
	cfg := a.cfg
	a.runner = jobs.New(a.db, a.log.With("component", "jobs"), jobs.Options{Registerer: a.registry})
	chat := cfg.SlackToken != "" && cfg.SlackSigningSecret != ""
	svc := incident.New(a.db, incident.Options{OrgChannel: cfg.IncidentChannel, ConsoleURL: cfg.PublicURL, ChatWorkflow: chat,
		Log: a.log.With("component", "incidents"), OnChange: func() { wake(); a.runner.Wake() }})
	a.runner.Handle(incident.JobRemind, svc.RemindHandler())
	out := server.IncidentsConfig{Service: svc}
	if !chat {
		if cfg.SlackToken != "" {
			a.log.Info("no Slack signing secret: the /tsuna command and incident channels are off (--slack-signing-secret-file)")
		}
		return out, nil
	}
	var err error
	a.chat, err = slackapp.New(slackapp.Config{SigningSecret: cfg.SlackSigningSecret, Token: cfg.SlackToken, APIURL: cfg.SlackAPIURL,
		Incidents: svc, Store: a.db, Jobs: a.runner, Postmortems: chatPostmortems{a}, ConsoleURL: cfg.PublicURL, Log: a.log.With("component", "slack")})
	if err != nil {
		return out, err
	}
	a.chat.Register(a.runner)
	out.Chat = a.chat.Handler()
	return out, nil
}

// bootstrap makes the first admin token on an empty database.
func (a *App) bootstrap(ctx context.Context) error {
	has, err := a.db.HasTokens(ctx)
	if err != nil {
		return err
	}
	given := strings.TrimSpace(a.cfg.BootstrapToken)
	if has {
		if given != "" {
			a.log.Warn(EnvBootstrapToken + " is ignored: the database already has tokens")
		}
		return nil
	}
	secret := given
	if secret == "" {
		secret = auth.NewSecret()
	} else if len(secret) < 32 {
		return fmt.Errorf("%s is too short: use at least 32 random characters (or unset it and tsuna makes one)", EnvBootstrapToken)
	}
	tok := &auth.Token{Name: "bootstrap", Role: auth.RoleAdmin}
	actor := audit.Actor{Name: "tsuna serve", Source: audit.SourceCLI}
	if err := a.db.CreateToken(ctx, tok, auth.HashSecret(secret), actor); err != nil {
		if tsuna.ErrorCode(err) == tsuna.ECONFLICT {
			return nil // another replica made it first
		}
		return err
	}
	if given != "" {
		a.log.Info("created admin token \"bootstrap\" from " + EnvBootstrapToken)
		return nil
	}
	// Shown once, outside the log, so it never lands in log storage: on a
	// terminal, or in a file only its owner reads.
	if isTerminal(a.cfg.Stderr) {
		fmt.Fprintf(a.cfg.Stderr, "\ntsuna: created the first admin token %q. It is shown this once:\n\n    export TSUNA_TOKEN=%s\n\n", tok.Name, secret)
		return nil
	}
	path := filepath.Join(stateDir(a.cfg.DB), "tsuna-bootstrap-token")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the first admin token: %w", err)
	}
	a.log.Warn("created the first admin token \"bootstrap\"; its secret is in a file readable by its owner only: read it, then delete the file", "path", path)
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// stateDir is where tsuna keeps files beside its database: the SQLite
// file's folder, or the user's configuration folder for PostgreSQL.
func stateDir(db string) string {
	if !store.IsPostgresDSN(db) {
		return filepath.Dir(strings.TrimPrefix(db, "sqlite://"))
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "tsuna")
	}
	return "."
}

// DefaultAuditKeyFile is where the audit key lives when no file is named:
// beside a SQLite database, or in the user's configuration folder for
// PostgreSQL (give replicas one shared file instead).
func DefaultAuditKeyFile(db string) string {
	return filepath.Join(stateDir(db), "tsuna-audit.key")
}

// checkpoints logs the audit head as a checkpoint at start and then
// periodically, and exports its sequence and time, so a copy of it exists
// outside the database (in log storage) and its age can be alerted on.
func (a *App) checkpoints(ctx context.Context) {
	every := a.cfg.CheckpointEvery
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if head, err := a.db.AuditHead(ctx); err != nil {
			if ctx.Err() == nil {
				a.log.Warn("audit checkpoint", "err", err)
			}
		} else if head != nil {
			a.log.Info("audit checkpoint", "checkpoint", head.String())
			a.headSeq.Set(float64(head.Seq))
			a.headTime.SetToCurrentTime()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// EnvBootstrapToken names the variable holding the first admin token.
const EnvBootstrapToken = "TSUNA_BOOTSTRAP_TOKEN"

// ErrCatalog says the catalog given at start has errors, already written
// to Stderr.
var ErrCatalog = errors.New("catalog has errors")

func (a *App) loadCatalog(ctx context.Context) error {
	dir := a.cfg.Catalog
	files, err := catalog.ReadFiles([]string{dir})
	if err != nil {
		return err
	}
	c, diags := catalog.ParseContext(ctx, files)
	a.catalogFiles = files // checklists and postmortem templates are applied from them too
	if c == nil {
		diags.WriteText(a.cfg.Stderr)
		return fmt.Errorf("catalog %s has %d error(s); fix them (tsuna lint %s) and start again: %w", dir, diags.Errors(), dir, ErrCatalog)
	}
	changes, err := a.db.ApplyCatalog(ctx, c.Objects(), catalog.ApplyOptions{
		Prune: true, Actor: audit.Actor{Name: "tsuna serve --catalog", Source: audit.SourceCLI},
	})
	if err != nil {
		return fmt.Errorf("apply catalog %s: %w", dir, err)
	}
	a.log.Info("catalog applied", "dir", dir, "teams", len(c.Teams), "services", len(c.Services), "changes", len(changes), "warnings", len(diags))
	return nil
}

// RedactURL hides a password in a URL, for logs and errors.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// demoTraffic adds the demo's traffic every minute, so its charts move.
func (a *App) demoTraffic(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := demo.TopUp(ctx, a.db, now); err != nil && ctx.Err() == nil {
				a.log.Warn("demo traffic", "err", err)
			}
		}
	}
}
