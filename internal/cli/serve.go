package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/delivery"
	"github.com/tsuna-sre/tsuna/internal/notify/slack"
	"github.com/tsuna-sre/tsuna/internal/server"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// EnvBootstrapToken names the variable holding the first admin token.
const EnvBootstrapToken = "TSUNA_BOOTSTRAP_TOKEN"

func newServe(env *Env) *cobra.Command {
	var (
		listen, dbPath, catalogDir, logFormat, logLevel string
		promURL, freezeBelow                            string
		amToken, fallback, slackToken, slackAPI         string
		denyUnknown                                     bool
		maxBodyMiB                                      int64
	)
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the tsuna server",
		Long: `Run the tsuna server: the HTTP API, on SQLite by default or PostgreSQL.

On an empty database the first admin token is taken from ` + EnvBootstrapToken + `,
or created and printed once on stderr.`,
		Example: `  tsuna serve --catalog examples/catalog
  tsuna serve --db postgres://tsuna@db.internal/tsuna --listen :8080 --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := newLogger(env, logFormat, logLevel)
			if err != nil {
				return err
			}
			if v := env.getenv("TSUNA_DB"); v != "" && !cmd.Flags().Changed("db") {
				dbPath = v
			}
			policy := budget.DefaultPolicy()
			policy.DenyUnknown = denyUnknown
			if err := policy.ParseFreezeBelow(freezeBelow); err != nil {
				return usageError{fmt.Errorf("--freeze-below %w", err)}
			}
			if v := env.getenv("TSUNA_PROMETHEUS_URL"); v != "" && !cmd.Flags().Changed("prometheus-url") {
				promURL = v
			}
			for flag, v := range map[string]*string{"alertmanager-token": &amToken, "slack-token": &slackToken} {
				if !cmd.Flags().Changed(flag) {
					*v = env.getenv("TSUNA_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_")))
				}
			}
			return serve(cmd.Context(), env, log, serveConfig{
				listen: listen, db: dbPath, catalog: catalogDir, maxBody: maxBodyMiB << 20,
				prometheus: promURL, policy: policy,
				amToken: amToken, fallback: fallback, slackToken: slackToken, slackAPI: slackAPI,
			})
		},
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&dbPath, "db", "./tsuna.db", "SQLite file, or postgres:// URL (env TSUNA_DB)")
	f.StringVar(&catalogDir, "catalog", "", "catalog directory to lint and apply at start")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.Int64Var(&maxBodyMiB, "max-body", server.DefaultMaxBodyBytes>>20, "largest request body accepted, in MiB")
	f.StringVar(&promURL, "prometheus-url", "", "Prometheus-compatible query API that SLOs are evaluated against (env TSUNA_PROMETHEUS_URL)")
	f.StringVar(&freezeBelow, "freeze-below", "1=0,2=0,3=0", "error budget policy: per tier, the percent of budget left at or below which deploys are denied")
	f.BoolVar(&denyUnknown, "deny-unknown", false, "deny deploys when a budget cannot be evaluated (default: allow)")
	f.StringVar(&amToken, "alertmanager-token", "", "bearer secret Alertmanager sends to /hooks/alertmanager (env TSUNA_ALERTMANAGER_TOKEN); unset refuses every webhook")
	f.StringVar(&fallback, "fallback-channel", "#alerts-unrouted", "chat channel for alerts that no catalog service or team claims")
	f.StringVar(&slackToken, "slack-token", "", "Slack bot token (env TSUNA_SLACK_TOKEN); unset keeps messages in the outbox, readable with tsuna alerts list")
	f.StringVar(&slackAPI, "slack-api-url", "", "Slack Web API address, for tests against a Slack fake")
	f.MarkHidden("slack-api-url")
	return c
}

func newLogger(env *Env, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level %q: use debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(env.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(env.Stderr, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format %q: use text or json", format)}
}

type serveConfig struct {
	listen, db, catalog, prometheus string
	amToken, fallback               string
	slackToken, slackAPI            string
	maxBody                         int64
	policy                          budget.Policy
}

func serve(ctx context.Context, env *Env, log *slog.Logger, cfg serveConfig) error {
	db, err := store.Open(ctx, cfg.db, log.With("component", "store"))
	if err != nil {
		return err
	}
	defer db.Close()
	log.Info("database open", "engine", db.Engine())
	if err := bootstrap(ctx, env, log, db); err != nil {
		return err
	}
	if cfg.catalog != "" {
		if err := loadCatalog(ctx, env, log, db, cfg.catalog); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	var prom budget.Querier
	if cfg.prometheus != "" {
		c, err := promapi.NewClient(promapi.Config{Address: cfg.prometheus})
		if err != nil {
			return usageError{fmt.Errorf("--prometheus-url %q: %w", cfg.prometheus, err)}
		}
		prom = promv1.NewAPI(c)
		log.Info("evaluating SLOs against Prometheus", "url", redactURL(cfg.prometheus))
	}
	evaluator := budget.New(prom)
	evaluator.Events = db
	var loop *delivery.Loop
	wake := func() {}
	if cfg.slackToken != "" {
		loop = delivery.New(db, slack.NewSender(cfg.slackToken, cfg.slackAPI), log.With("component", "delivery"), nil)
		wake = loop.Wake
	} else {
		log.Info("no Slack token: chat messages stay in the outbox (tsuna alerts list shows the alerts)")
	}
	srv := server.New(server.Config{Store: db, Logger: log.With("component", "http"), MaxBodyBytes: cfg.maxBody,
		Budget: evaluator, Policy: cfg.policy, AlertmanagerToken: cfg.amToken, FallbackChannel: cfg.fallback, OnNotification: wake})
	if loop != nil {
		srv.Registry().MustRegister(loop.Collectors()...)
		go loop.Run(ctx)
	}
	log.Info("listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String())
	return srv.Serve(ctx, ln)
}

// bootstrap makes the first admin token on an empty database.
func bootstrap(ctx context.Context, env *Env, log *slog.Logger, db *store.DB) error {
	has, err := db.HasTokens(ctx)
	if err != nil {
		return err
	}
	given := strings.TrimSpace(env.getenv(EnvBootstrapToken))
	if has {
		if given != "" {
			log.Warn(EnvBootstrapToken + " is ignored: the database already has tokens")
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
	if err := db.CreateToken(ctx, tok, auth.HashSecret(secret), actor); err != nil {
		if tsuna.ErrorCode(err) == tsuna.ECONFLICT {
			return nil // another replica made it first
		}
		return err
	}
	if given != "" {
		log.Info("created admin token \"bootstrap\" from " + EnvBootstrapToken)
		return nil
	}
	// Printed once, outside the log, so it never lands in log storage.
	fmt.Fprintf(env.Stderr, "\ntsuna: created the first admin token %q. It is shown this once:\n\n    export TSUNA_TOKEN=%s\n\n", tok.Name, secret)
	return nil
}

func loadCatalog(ctx context.Context, env *Env, log *slog.Logger, db *store.DB, dir string) error {
	files, err := catalog.ReadFiles([]string{dir})
	if err != nil {
		return err
	}
	c, diags := catalog.Parse(files)
	if c == nil {
		diags.WriteText(env.Stderr)
		return fmt.Errorf("catalog %s has %d error(s); fix them (tsuna lint %s) and start again", dir, diags.Errors(), dir)
	}
	changes, err := db.ApplyCatalog(ctx, c.Objects(), store.ApplyOptions{
		Prune: true, Actor: audit.Actor{Name: "tsuna serve --catalog", Source: audit.SourceCLI},
	})
	if err != nil {
		return fmt.Errorf("apply catalog %s: %w", dir, err)
	}
	log.Info("catalog applied", "dir", dir, "teams", len(c.Teams), "services", len(c.Services), "changes", len(changes), "warnings", len(diags))
	return nil
}

// redactURL hides a password in a URL, for logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
