package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/spf13/cobra"

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
	c.AddCommand(rules)
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
