package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/app"
	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/demo"
	"github.com/tsuna-sre/tsuna/internal/server"
)

// EnvBootstrapToken names the variable holding the first admin token.
const EnvBootstrapToken = app.EnvBootstrapToken

func newServe(env *Env) *cobra.Command {
	var (
		listen, dbPath, catalogDir, logFormat, logLevel string
		promURL, freezeBelow                            string
		amToken, fallback, slackToken, slackAPI         string
		amTokenFile, slackTokenFile, auditKeyFile       string
		slackSecret, slackSecretFile                    string
		incidentChannel, publicURL                      string
		gateLevel                                       string
		trustedProxies                                  []string
		denyUnknown, demoData                           bool
		maxBodyMiB                                      int64
		minObserved, minEvents                          float64
		pmCfg                                           app.PostmortemConfig
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
			if demoData && !cmd.Flags().Changed("db") {
				dbPath = demo.DefaultDB // never the real database of TSUNA_DB
			}
			policy := budget.DefaultPolicy()
			policy.DenyUnknown = denyUnknown
			if err := policy.ParseFreezeBelow(freezeBelow); err != nil {
				return usageError{fmt.Errorf("--freeze-below %w", err)}
			}
			if !(minObserved >= 0 && minObserved <= 100) {
				return usageError{fmt.Errorf("--freeze-min-observed %v: give a percent of the SLO's period from 0 to 100, such as 5", minObserved)}
			}
			if !(minEvents >= 0 && minEvents <= 1e15) {
				return usageError{fmt.Errorf("--freeze-min-events %v: give a number of events from 0, such as 100", minEvents)}
			}
			policy.MinObserved, policy.MinEvents = minObserved/100, minEvents
			if v := env.getenv("TSUNA_PROMETHEUS_URL"); v != "" && !cmd.Flags().Changed("prometheus-url") {
				promURL = v
			}
			for flag, v := range map[string]*string{"alertmanager-token": &amToken, "slack-token": &slackToken, "slack-signing-secret": &slackSecret} {
				file := map[string]string{"alertmanager-token": amTokenFile, "slack-token": slackTokenFile, "slack-signing-secret": slackSecretFile}[flag]
				if err := readSecret(cmd, env, flag, v, file); err != nil {
					return err
				}
			}
			if v := env.getenv("TSUNA_AUDIT_KEY_FILE"); v != "" && !cmd.Flags().Changed("audit-key-file") {
				auditKeyFile = v
			}
			if v := env.getenv("TSUNA_PUBLIC_URL"); v != "" && !cmd.Flags().Changed("public-url") {
				publicURL = v
			}
			if publicURL != "" {
				if u, err := url.Parse(publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return usageError{fmt.Errorf("--public-url %q: give the console's address as people reach it, such as https://tsuna.example.com", publicURL)}
				}
			}
			proxies, err := parseProxies(trustedProxies)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), env, log, app.Config{
				Listen: listen, DB: dbPath, Catalog: catalogDir, MaxBodyBytes: maxBodyMiB << 20,
				PrometheusURL: promURL, Policy: policy,
				AlertmanagerToken: amToken, FallbackChannel: fallback, SlackToken: slackToken, SlackAPIURL: slackAPI,
				AuditKeyFile: auditKeyFile, Demo: demoData,
				SlackSigningSecret: slackSecret, IncidentChannel: incidentChannel, PublicURL: publicURL,
				Postmortems: pmCfg, ReadinessGateLevel: gateLevel, TrustedProxies: proxies,
			})
		},
	}
	f := c.Flags()
	f.StringVar(&pmCfg.GitHubRepo, "github-repo", "", "GitHub repository (owner/name) that postmortems and tracked actions are exported to")
	f.StringVar(&pmCfg.GitHubTokenFile, "github-token-file", "", "file holding a GitHub token with Issues: write on --github-repo")
	f.StringVar(&pmCfg.GitHubAPIURL, "github-api-url", "", "GitHub Enterprise's API address (default: api.github.com)")
	f.StringVar(&pmCfg.GitHubWebhookSecretFile, "github-webhook-secret-file", "", "file holding the secret of the GitHub issues webhook (/hooks/github)")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&dbPath, "db", "./tsuna.db", "SQLite file, or postgres:// URL (env TSUNA_DB)")
	f.StringVar(&catalogDir, "catalog", "", "catalog directory to lint and apply at start")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.Int64Var(&maxBodyMiB, "max-body", server.DefaultMaxBodyBytes>>20, "largest request body accepted, in MiB")
	f.StringVar(&promURL, "prometheus-url", "", "Prometheus-compatible query API that SLOs are evaluated against (env TSUNA_PROMETHEUS_URL)")
	f.StringVar(&freezeBelow, "freeze-below", "1=0,2=0,3=0", "error budget policy: per tier, the percent of budget left at or below which deploys are denied")
	f.Float64Var(&minObserved, "freeze-min-observed", 100*budget.DefaultMinObserved, "error budget policy: the least data, in percent of an SLO's period, on which its budget may freeze deploys (0: no minimum)")
	f.Float64Var(&minEvents, "freeze-min-events", budget.DefaultMinEvents, "error budget policy: the least events in an SLO's period on which its budget may freeze deploys (0: no minimum)")
	f.BoolVar(&denyUnknown, "deny-unknown", false, "deny deploys when a budget cannot be evaluated (default: allow)")
	f.BoolVar(&demoData, "demo", false, "fill a separate database (default "+demo.DefaultDB+") with a labelled demo history and serve it: the console shows every page with data, no Prometheus needed")
	f.StringVar(&amToken, "alertmanager-token", "", "bearer secret Alertmanager sends to /hooks/alertmanager (env TSUNA_ALERTMANAGER_TOKEN); unset refuses every webhook")
	f.StringVar(&fallback, "fallback-channel", "#alerts-unrouted", "chat channel for alerts that no catalog service or team claims")
	f.StringVar(&slackToken, "slack-token", "", "Slack bot token (env TSUNA_SLACK_TOKEN); unset keeps messages in the outbox, readable with tsuna alerts list")
	f.StringVar(&amTokenFile, "alertmanager-token-file", "", "file holding the Alertmanager webhook secret (env TSUNA_ALERTMANAGER_TOKEN_FILE); preferred to --alertmanager-token, which ps shows")
	f.StringVar(&slackTokenFile, "slack-token-file", "", "file holding the Slack bot token (env TSUNA_SLACK_TOKEN_FILE); preferred to --slack-token, which ps shows")
	f.StringVar(&auditKeyFile, "audit-key-file", "", "key of the audit log's MACs, created 0600 when missing (env TSUNA_AUDIT_KEY_FILE; default: tsuna-audit.key beside a SQLite database); replicas share one")
	f.StringVar(&slackSecret, "slack-signing-secret", "", "signing secret of tsuna's Slack app, which verifies the /tsuna command, modals and events at /slack/ (env TSUNA_SLACK_SIGNING_SECRET); with --slack-token it turns the Slack app on")
	f.StringVar(&slackSecretFile, "slack-signing-secret-file", "", "file holding the Slack signing secret (env TSUNA_SLACK_SIGNING_SECRET_FILE); preferred to --slack-signing-secret, which ps shows")
	f.StringVar(&incidentChannel, "incident-channel", "#incidents", "organisation-wide chat channel for incidents of severities that notify it; \"\" for none")
	f.StringVar(&publicURL, "public-url", "", "the console's address as people reach it, linked from chat messages and incident channels (env TSUNA_PUBLIC_URL)")
	f.StringVar(&gateLevel, "readiness-gate-level", "", "deny deploys of production tier-1 services whose readiness level is below this one (such as silver); unset: readiness does not gate deploys")
	f.StringSliceVar(&trustedProxies, "trusted-proxy", nil, "address or CIDR of a TLS-terminating proxy whose X-Forwarded-Proto: https the console believes, marking its cookie Secure; repeat or separate with commas")
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

// readSecret sets *v to a secret from, in order: the --NAME flag, the
// --NAME-file flag (file), TSUNA_NAME, or the file named by TSUNA_NAME_FILE.
// Files are read whole, trailing whitespace dropped; errors never show the
// secret.
func readSecret(cmd *cobra.Command, env *Env, name string, v *string, file string) error {
	if cmd.Flags().Changed(name) {
		return nil
	}
	envName := "TSUNA_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if file == "" {
		file = env.getenv(envName + "_FILE")
	}
	if file == "" {
		*v = env.getenv(envName)
		return nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return usageError{fmt.Errorf("--%s-file: %w", name, err)}
	}
	*v = strings.TrimSpace(string(b))
	if *v == "" {
		return usageError{fmt.Errorf("--%s-file %s is empty", name, file)}
	}
	return nil
}

// parseProxies reads --trusted-proxy values: CIDRs, or single addresses.
func parseProxies(vs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vs {
		v = strings.TrimSpace(v)
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		addr, err := netip.ParseAddr(v)
		if err != nil {
			return nil, usageError{fmt.Errorf("--trusted-proxy %q: give an address or a CIDR, such as 10.0.0.0/8 or 127.0.0.1", v)}
		}
		out = append(out, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
	}
	return out, nil
}
