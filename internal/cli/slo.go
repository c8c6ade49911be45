package cli

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

func newSLO(env *Env) *cobra.Command {
	c := &cobra.Command{Use: "slo", Short: "Generate Prometheus rules from SLOs"}
	var inputs []string
	var out, format string
	rules := &cobra.Command{
		Use:   "rules -i PATH... -o DIR",
		Short: "Write one Prometheus rule file per service from the SLOs in PATH",
		Long: `Read SLOs from catalog services, Sloth specs (version: prometheus/v1 and
PrometheusServiceLevel) and OpenSLO specs, and write one Prometheus rule file
per service: error-ratio recordings for each alert window, the period SLI
weighted by events, metadata, and page and ticket burn-rate alerts with
factors scaled to each SLO's period. The output is stable, so diffs read well.

-o DIR writes DIR/<service>.yaml; -o FILE.yaml writes one file when the input
has one service (as sloth generate -o does); -o - writes to stdout.`,
		Example: `  tsuna slo rules -i catalog/ -o rules/
  tsuna slo rules -i sloth/specs/getting-started.yml -o rules.yml
  tsuna slo rules -i catalog/ -o manifests/ --format prometheus-operator`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(inputs) == 0 {
				return usageError{fmt.Errorf("give the SLO sources with -i PATH")}
			}
			if format != slo.FormatPrometheus && format != slo.FormatPrometheusOperator {
				return usageError{fmt.Errorf("--format %q: use %s or %s", format, slo.FormatPrometheus, slo.FormatPrometheusOperator)}
			}
			files, err := catalog.ListFiles(inputs)
			if err != nil {
				return err
			}
			c, diags := catalog.Parse(files)
			if c == nil {
				diags.WriteText(env.Stderr)
				return fmt.Errorf("%d error(s) in the SLO sources; nothing written", diags.Errors())
			}
			byService := map[string][]*slo.SLO{}
			var services []string
			for _, s := range c.SLOs {
				if _, ok := byService[s.Service]; !ok {
					services = append(services, s.Service)
				}
				byService[s.Service] = append(byService[s.Service], s)
			}
			if len(services) == 0 {
				return fmt.Errorf("no SLOs found in %s", strings.Join(inputs, " "))
			}
			single := out == "-" || strings.HasSuffix(out, ".yaml") || strings.HasSuffix(out, ".yml")
			if single && len(services) > 1 {
				return usageError{fmt.Errorf("-o %s names one file, but the input has %d services; give a directory: one file per service (Prometheus reads only the first document of a file)", out, len(services))}
			}
			if !single {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return err
				}
			}
			// Each service's file is independent: write them in parallel.
			errs := make([]error, len(services))
			next := make(chan int)
			var wg sync.WaitGroup
			for range min(runtime.GOMAXPROCS(0), len(services)) {
				wg.Go(func() {
					for i := range next {
						svc := services[i]
						b, err := slo.Marshal(slo.ServiceRules(byService[svc]), format, svc+"-slos")
						if err == nil && single && out == "-" {
							_, err = env.Stdout.Write(b)
						} else if err == nil && single {
							err = writeFileAtomic(out, b)
						} else if err == nil {
							err = writeFileAtomic(filepath.Join(out, svc+".yaml"), b)
						}
						errs[i] = err
					}
				})
			}
			for i := range services {
				next <- i
			}
			close(next)
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				return err
			}
			if out != "-" {
				fmt.Fprintf(env.Stderr, "wrote %d SLOs of %d services to %s\n", len(c.SLOs), len(services), out)
			}
			return nil
		},
	}
	rules.Flags().StringSliceVarP(&inputs, "input", "i", nil, "catalog directory, Sloth or OpenSLO file (repeatable)")
	rules.Flags().StringVarP(&out, "out", "o", "-", "output directory, file, or - for stdout")
	rules.Flags().StringVar(&format, "format", slo.FormatPrometheus, "prometheus (rule files) or prometheus-operator (PrometheusRule objects)")
	c.AddCommand(rules, newSLOStatus(env), newSLOGate(env))
	return c
}

func newSLOStatus(env *Env) *cobra.Command {
	var rem remote
	var output, team string
	c := &cobra.Command{
		Use:   "status [SERVICE[/SLO]]",
		Short: "Show error budgets: SLI, budget left, burn rates, firing alerts",
		Example: `  tsuna slo status
  tsuna slo status checkout-api
  tsuna slo status checkout-api/availability --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := rem.start(env, output)
			if err != nil {
				return err
			}
			var statuses []budget.Status
			if len(args) == 1 && strings.Contains(args[0], "/") {
				svc, name, _ := strings.Cut(args[0], "/")
				st, err := cl.SLO(cmd.Context(), svc, name)
				if err != nil {
					return err
				}
				statuses = []budget.Status{*st}
			} else {
				q := url.Values{}
				if len(args) == 1 {
					q.Set("service", args[0])
				}
				if team != "" {
					q.Set("team", team)
				}
				if statuses, err = cl.SLOs(cmd.Context(), q); err != nil {
					return err
				}
			}
			rows := make([][]string, len(statuses))
			for i, s := range statuses {
				rows[i] = []string{s.Service + "/" + s.SLO, budget.FormatPercent(s.Objective), s.Window, pct(s.SLI), pct(s.BudgetRemaining),
					burn(s.BurnRates, "1h"), burn(s.BurnRates, "6h"), burn(s.BurnRates, "3d"), dash(strings.Join(s.Firing, ",")), s.State, dash(s.Source), dash(s.Reason)}
			}
			return render(env, output, statuses, []string{"SLO", "OBJECTIVE", "WINDOW", "SLI", "BUDGET LEFT", "BURN 1H", "BURN 6H", "BURN 3D", "FIRING", "STATE", "SOURCE", "REASON"}, rows)
		},
	}
	rem.flags(c)
	c.Flags().StringVar(&team, "team", "", "only the SLOs of this team's services")
	addOutputFlag(c, &output)
	return c
}

func pct(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f, 'f', 3, 64) + "%"
}

func burn(m map[string]float64, w string) string {
	v, ok := m[w]
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func newSLOGate(env *Env) *cobra.Command {
	var rem remote
	var output string
	c := &cobra.Command{
		Use:   "gate SERVICE",
		Short: "Ask whether SERVICE may deploy now (exit status 1 when frozen)",
		Long: `Ask the deploy gate whether SERVICE may deploy under the error budget policy.
Exit status 0 allows the deploy, 1 denies it: a pipeline step can run it as is.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := rem.start(env, output)
			if err != nil {
				return err
			}
			d, err := cl.DeployGate(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if output == "json" {
				err = writeJSON(env.Stdout, d)
			} else {
				_, err = fmt.Fprintf(env.Stdout, "%s: %s\n", d.Decision, d.Reason)
			}
			if err == nil && !d.Allow {
				return exitError{ExitError}
			}
			return err
		},
	}
	rem.flags(c)
	addOutputFlag(c, &output)
	return c
}

// writeFileAtomic writes b to path through a temporary file and a rename,
// so Prometheus never reads a half-written rule file.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tsuna-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
