package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/app"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/server"
)

// EnvBootstrapToken names the variable holding the first admin token.
const EnvBootstrapToken = app.EnvBootstrapToken

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
			return serve(cmd.Context(), env, log, app.Config{
				Listen: listen, DB: dbPath, Catalog: catalogDir, MaxBodyBytes: maxBodyMiB << 20,
				PrometheusURL: promURL, Policy: policy,
				AlertmanagerToken: amToken, FallbackChannel: fallback, SlackToken: slackToken, SlackAPIURL: slackAPI,
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

func serve(ctx context.Context, env *Env, log *slog.Logger, cfg app.Config) error {
	cfg.Logger, cfg.Stderr = log, env.Stderr
	cfg.BootstrapToken = env.getenv(EnvBootstrapToken)
	a, err := app.New(ctx, cfg)
	if err != nil {
		if tsuna.ErrorCode(err) == tsuna.EINVALID {
			return usageError{err}
		}
		return err
	}
	defer a.Close()
	return a.Run(ctx)
}
