package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna/internal/amconfig"
	"github.com/tsuna-sre/tsuna/internal/catalog"
)

func newAlertmanager(env *Env) *cobra.Command {
	c := &cobra.Command{Use: "alertmanager", Short: "Generate Alertmanager configuration from the catalog"}
	var inputs []string
	var base, webhook, creds, out string
	cfg := &cobra.Command{
		Use:   "config -i CATALOG [--base FILE] [--webhook-url URL]",
		Short: "Write an Alertmanager configuration that routes each team's alerts to tsuna",
		Long: `Write an Alertmanager configuration with one route per team (matched on the
team label) and one per service whose chat channel overrides its team's, each
to a receiver calling tsuna's webhook. The --base file's global settings,
receivers and routes are kept; routes tsuna generated before are replaced.

Alerts that no route matches go to tsuna's fallback receiver, so tsuna
alerts unrouted lists them and they reach --fallback-channel; with --base,
two last routes send them to tsuna and then to the base's own default
receiver too, which keeps getting them as before.

The webhook secret is any random string you choose, such as the output of
  head -c 32 /dev/urandom | base64
Give it to tsuna serve (--alertmanager-token-file, or
TSUNA_ALERTMANAGER_TOKEN) and write the same string into the file
--credentials-file names, on the Alertmanager host, readable by Alertmanager
(Debian's package, prometheus-alertmanager, runs as user prometheus).
Alertmanager reads it and sends it as a bearer token; it is never written
into the configuration.`,
		Example: `  tsuna alertmanager config -i catalog/ --base alertmanager.base.yml \
    --webhook-url https://tsuna.internal/hooks/alertmanager -o alertmanager.yml
  amtool check-config alertmanager.yml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(inputs) == 0 {
				return usageError{fmt.Errorf("give the catalog with -i DIR")}
			}
			files, err := catalog.ListFiles(inputs)
			if err != nil {
				return err
			}
			cat, diags := catalog.Parse(files)
			if cat == nil {
				diags.WriteText(env.Stderr)
				return fmt.Errorf("%d error(s) in the catalog; nothing written", diags.Errors())
			}
			opts := amconfig.Options{WebhookURL: webhook, CredentialsFile: creds}
			if base != "" {
				if opts.Base, err = os.ReadFile(base); err != nil {
					return err
				}
			}
			b, err := amconfig.Generate(cat, opts)
			if err != nil {
				return err
			}
			if out == "-" {
				_, err = env.Stdout.Write(b)
				return err
			}
			return writeFileAtomic(out, b)
		},
	}
	cfg.Flags().StringSliceVarP(&inputs, "input", "i", nil, "catalog directory (repeatable)")
	cfg.Flags().StringVar(&base, "base", "", "an Alertmanager configuration to extend")
	cfg.Flags().StringVar(&webhook, "webhook-url", "http://127.0.0.1:8080/hooks/alertmanager", "tsuna's webhook address")
	cfg.Flags().StringVar(&creds, "credentials-file", "/etc/alertmanager/tsuna-webhook-token", "file holding the webhook's bearer secret, on the Alertmanager host")
	cfg.Flags().StringVarP(&out, "out", "o", "-", "output file, or - for stdout")
	c.AddCommand(cfg)
	return c
}
