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
	"net/url"
	"runtime"
	"strings"

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
	"github.com/tsuna-sre/tsuna/internal/notify/slack"
	"github.com/tsuna-sre/tsuna/internal/server"
	"github.com/tsuna-sre/tsuna/internal/store"
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

	// BootstrapToken is the first admin token's secret on an empty
	// database; "" makes one and prints it once to Stderr.
	BootstrapToken string

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
	defer func() {
		if err != nil {
			a.Close()
			a = nil
		}
	}()
	if a.db, err = store.Open(ctx, cfg.DB, a.log.With("component", "store")); err != nil {
		return nil, err
	}
	a.log.Info("database open", "engine", a.db.Engine())
	if err := a.bootstrap(ctx); err != nil {
		return nil, err
	}
	if cfg.Catalog != "" {
		if err := a.loadCatalog(ctx); err != nil {
			return nil, err
		}
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
		Name: "tsuna_build_info", Help: "A constant 1, labelled with the build version.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(tsuna.BuildVersion(), runtime.Version()).Set(1)
	a.registry.MustRegister(buildInfo, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	a.receiver = alerting.NewReceiver(a.db, a.db, cfg.FallbackChannel)
	wake := func() {}
	if cfg.SlackToken != "" {
		a.loop = delivery.New(a.db, slack.NewSender(cfg.SlackToken, cfg.SlackAPIURL), a.log.With("component", "delivery"))
		a.registry.MustRegister(a.loop.Collectors()...)
		wake = a.loop.Wake
	} else {
		a.log.Info("no Slack token: chat messages stay in the outbox (tsuna alerts list shows the alerts)")
	}
	a.srv = server.New(server.Config{Store: a.db, Logger: a.log.With("component", "http"), MaxBodyBytes: cfg.MaxBodyBytes,
		Budget: evaluator, Policy: cfg.Policy, AlertmanagerToken: cfg.AlertmanagerToken, Alerts: a.receiver,
		OnNotification: wake, Registry: a.registry})
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
	// Printed once, outside the log, so it never lands in log storage.
	fmt.Fprintf(a.cfg.Stderr, "\ntsuna: created the first admin token %q. It is shown this once:\n\n    export TSUNA_TOKEN=%s\n\n", tok.Name, secret)
	return nil
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
	c, diags := catalog.Parse(files)
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
