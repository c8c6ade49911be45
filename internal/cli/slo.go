package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna/internal/budget"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/client"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

func newSLO(env *Env) *cobra.Command {
	c := &cobra.Command{
		Use:   "slo",
		Short: "SLOs and error budgets: generate rules, show status and history, ask the deploy gate",
		Long: `SLOs and error budgets.

  rules     generate Prometheus recording and alerting rules from the catalog,
            Sloth or OpenSLO specs (local: no server needed)
  status    every SLO's SLI, budget left, burn rates and firing alerts
  history   one SLO's SLI and budget left over time
  gate      whether a service may deploy under the error budget policy,
            with an exit status a pipeline can act on

status, history and gate ask a tsuna server (--server, TSUNA_SERVER) with a
token (--token, TSUNA_TOKEN); the server reads Prometheus (tsuna serve
--prometheus-url) or the events pushed to it.`,
	}
	c.AddCommand(newSLORules(env), newSLOStatus(env), newSLOHistory(env), newSLOGate(env))
	return c
}

// ruleOutput is one document of tsuna slo rules: the rules of one service,
// or of one PrometheusServiceLevel object.
type ruleOutput struct {
	key  string // the file name without .yaml
	slos []*slo.SLO
	meta *slo.K8sMeta
}

func newSLORules(env *Env) *cobra.Command {
	var inputs []string
	var out, format, defaultPeriod, windowsPath, groupPrefix string
	var extraLabels map[string]string
	var disableAlerts, disableRecordings, explain bool
	rules := &cobra.Command{
		Use:   "rules -i PATH... -o DIR",
		Short: "Write Prometheus rules from the SLOs in PATH (sloth generate's flags work)",
		Long: `Read SLOs from catalog services, Sloth specs (version: prometheus/v1 and
PrometheusServiceLevel), OpenSLO specs and Sloth AlertWindows documents, and
write Prometheus rules: error-ratio recordings for each alert window (those
up to 6h from the events inside the window, longer ones from the recorded
5-minute rates), the period SLI weighted by events, metadata, and page and
ticket burn-rate alerts whose windows and factors suit each SLO's period.
Series, labels, annotations and group names are Sloth's, so its dashboards
and Alertmanager routes keep working; labels you set win over tsuna's.

-o DIR writes DIR/<service>.yaml, and DIR/<name>.yaml for each
PrometheusServiceLevel; -o FILE.yaml or -o - (stdout) writes one rule file
holding every service's groups, and PrometheusRule objects as a
multi-document stream (kubectl apply -f - reads it).

A PrometheusServiceLevel's rules are a PrometheusRule named after its
metadata.name, in its namespace, with its labels, as sloth generate writes.
--format prometheus-operator writes the other SLOs as PrometheusRule
objects named <service>-slos.

--explain prints, instead of rules, each SLO's alert windows, factors and
the share of the budget each spends, and where they come from. Warnings are
printed on stderr.`,
		Example: `  tsuna slo rules -i catalog/ -o rules/
  tsuna slo rules -i sloth/specs/getting-started.yml -o rules.yml
  tsuna slo rules -i k8s/slos.yaml -o - | kubectl apply -f -
  tsuna slo rules -i specs/ -o rules/ -l env=prod --default-slo-period 28d
  tsuna slo rules -i specs/ --slo-period-windows-path windows/ --explain`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(inputs) == 0 {
				return usageError{fmt.Errorf("give the SLO sources with -i PATH")}
			}
			if format != slo.FormatPrometheus && format != slo.FormatPrometheusOperator {
				return usageError{fmt.Errorf("--format %q: use %s or %s", format, slo.FormatPrometheus, slo.FormatPrometheusOperator)}
			}
			period, err := slo.ParseDuration(defaultPeriod)
			if err != nil || period < slo.MinPeriod || period > slo.MaxPeriod || period%slo.Day != 0 {
				return usageError{fmt.Errorf("--default-slo-period %q: give whole days from 1d to 365d, such as 30d or 28d", defaultPeriod)}
			}
			for k := range extraLabels {
				if !labelNameRE.MatchString(k) {
					return usageError{fmt.Errorf("--extra-labels %q is not a Prometheus label name; use letters, digits and '_', not starting with a digit", k)}
				}
			}
			paths := slices.Clone(inputs)
			if windowsPath != "" {
				if st, err := os.Stat(windowsPath); err != nil || !st.IsDir() {
					return usageError{fmt.Errorf("--slo-period-windows-path %q: give a directory of AlertWindows documents", windowsPath)}
				}
				paths = append(paths, windowsPath)
			}
			if env.getenv("GOGC") == "" {
				// The live heap is the parsed SLOs, the garbage the parser's:
				// collecting a little more often keeps the peak lower (10,000
				// SLOs: 54 MiB instead of 64) for a tenth more CPU time.
				defer debug.SetGCPercent(debug.SetGCPercent(sloRulesGCPercent))
			}
			files, err := catalog.ListFiles(paths)
			if err != nil {
				return err
			}
			c, diags := catalog.Parse(files)
			if len(diags) > 0 {
				diags.WriteText(env.Stderr) // warnings too: they say what was changed or ignored
			}
			if c == nil {
				return fmt.Errorf("%d error(s) in the SLO sources; nothing written", diags.Errors())
			}
			c.SetDefaultPeriod(period)
			if len(c.SLOs) == 0 {
				return fmt.Errorf("no SLOs found in %s", strings.Join(inputs, " "))
			}
			if explain {
				for _, s := range c.SLOs {
					if s.SLI.Events != nil {
						fmt.Fprintf(env.Stdout, "%s/%s: events pushed to tsuna: no Prometheus rules\n\n", s.Service, s.Name)
						continue
					}
					fmt.Fprintln(env.Stdout, s.Explain())
				}
				return nil
			}
			opt := slo.Options{ExtraLabels: extraLabels, DisableAlerts: disableAlerts, DisableRecordings: disableRecordings, GroupPrefix: groupPrefix}
			outputs := ruleOutputs(c.SLOs)
			single := out == "-" || strings.HasSuffix(out, ".yaml") || strings.HasSuffix(out, ".yml")
			var b []byte
			if single {
				b = marshalStream(outputs, format, opt)
			} else if err := writeRuleDir(out, outputs, format, opt); err != nil {
				return err
			}
			switch {
			case out == "-":
				_, err = env.Stdout.Write(b)
				return err
			case single:
				if err := writeFileAtomic(out, b); err != nil {
					return err
				}
			}
			services := map[string]bool{}
			for _, s := range c.SLOs {
				services[s.Service] = true
			}
			fmt.Fprintf(env.Stderr, "wrote %d SLOs of %d services to %s\n", len(c.SLOs), len(services), out)
			return nil
		},
	}
	rules.Flags().StringSliceVarP(&inputs, "input", "i", nil, "catalog directory, Sloth or OpenSLO file (repeatable)")
	rules.Flags().StringVarP(&out, "out", "o", "-", "output directory, file, or - for stdout")
	rules.Flags().StringVar(&format, "format", slo.FormatPrometheus, "prometheus (rule files) or prometheus-operator (PrometheusRule objects)")
	rules.Flags().StringToStringVarP(&extraLabels, "extra-labels", "l", nil, "labels added to every rule, key=value (repeatable); they win over the spec's, as in sloth generate")
	rules.Flags().StringVar(&defaultPeriod, "default-slo-period", "30d", "the period of SLOs whose spec gives none (Sloth's)")
	rules.Flags().BoolVar(&disableAlerts, "disable-alerts", false, "write no alerting rules")
	rules.Flags().BoolVar(&disableRecordings, "disable-recordings", false, "write no recording rules (the alerts then need them from elsewhere)")
	rules.Flags().StringVar(&windowsPath, "slo-period-windows-path", "", "directory of Sloth AlertWindows documents: the alert windows of each period they name")
	rules.Flags().StringVar(&groupPrefix, "group-prefix", slo.DefaultGroupPrefix, "start of every rule group's name (Sloth's by default)")
	rules.Flags().BoolVar(&explain, "explain", false, "print each SLO's alert windows and factors instead of rules")
	return rules
}

// ruleOutputs groups SLOs into documents: one per PrometheusServiceLevel
// object, one per service for the others, in a stable order.
func ruleOutputs(slos []*slo.SLO) []ruleOutput {
	var outs []ruleOutput
	index := map[string]int{}
	for _, s := range slos {
		key := s.Service
		if s.K8s != nil {
			key = "\x00" + s.K8s.Namespace + "/" + s.K8s.Name
		}
		i, ok := index[key]
		if !ok {
			i = len(outs)
			index[key] = i
			o := ruleOutput{key: s.Service}
			if s.K8s != nil {
				o.key, o.meta = s.K8s.Name, s.K8s
				if s.K8s.Namespace != "" {
					o.key = s.K8s.Namespace + "-" + s.K8s.Name
				}
			}
			outs = append(outs, o)
		}
		outs[i].slos = append(outs[i].slos, s)
	}
	slices.SortStableFunc(outs, func(a, b ruleOutput) int { return strings.Compare(a.key, b.key) })
	return outs
}

// marshalOutput appends one output to b: a PrometheusRule for a
// PrometheusServiceLevel, else a rule file or object as format says.
func marshalOutput(b *bytes.Buffer, o ruleOutput, format string, opt slo.Options) {
	if o.meta != nil {
		slo.WriteRulesObject(b, o.slos, opt, *o.meta)
		return
	}
	_ = slo.WriteRules(b, o.slos, opt, format, o.key+"-slos") // format was checked
}

// marshalStream writes every output into one stream: the plain rules of
// every service as one rule file (Prometheus reads only the first document
// of a file), then each PrometheusRule object as its own document.
func marshalStream(outputs []ruleOutput, format string, opt slo.Options) []byte {
	var docs [][]byte
	var plain []*slo.SLO
	for _, o := range outputs {
		if o.meta == nil && format == slo.FormatPrometheus {
			plain = append(plain, o.slos...)
			continue
		}
		var b bytes.Buffer
		marshalOutput(&b, o, format, opt)
		docs = append(docs, b.Bytes())
	}
	if len(plain) > 0 {
		var b bytes.Buffer
		_ = slo.WriteRules(&b, plain, opt, slo.FormatPrometheus, "")
		docs = append([][]byte{b.Bytes()}, docs...)
	}
	return bytes.Join(docs, []byte("---\n"))
}

// writeRuleDir writes each output to dir/<key>.yaml, in parallel: they are
// independent.
func writeRuleDir(dir string, outputs []ruleOutput, format string, opt slo.Options) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	errs := make([]error, len(outputs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(outputs)) {
		wg.Go(func() {
			var b bytes.Buffer // reused: each file is written before the next is made
			for i := range next {
				b.Reset()
				marshalOutput(&b, outputs[i], format, opt)
				errs[i] = writeFileAtomic(filepath.Join(dir, outputs[i].key+".yaml"), b.Bytes())
			}
		})
	}
	for i := range outputs {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// sloRulesGCPercent is the GC target of tsuna slo rules, unless GOGC sets one.
const sloRulesGCPercent = 45

// labelNameRE matches a Prometheus label name.
var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func newSLOStatus(env *Env) *cobra.Command {
	var rem remote
	var output, team string
	c := &cobra.Command{
		Use:   "status [SERVICE[/SLO]]",
		Short: "Show error budgets: SLI, budget left, burn rates, firing alerts",
		Long: `Show each SLO's SLI over its period, the error budget left, the burn rates of
the alert windows, and the alerts whose burn-rate condition holds now.

An alert fires while both windows of one of its pairs burn above the pair's
factor: page on 1h and 5m, or 6h and 30m; ticket on 1d and 2h, or 3d and 6h
(for periods of 7 to 30 days; factors 14.4, 6, 3 and 1 for 30 days). The short window is what ends
it: once errors stop, a page clears within 5 to 30 minutes, a ticket within 2
to 6 hours, although BURN 6H and BURN 3D stay high for their whole window.
Under the table, each firing SLO says when it clears.`,
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
			if err := render(env, output, statuses, []string{"SLO", "OBJECTIVE", "WINDOW", "SLI", "BUDGET LEFT", "BURN 1H", "BURN 6H", "BURN 3D", "FIRING", "STATE", "SOURCE", "REASON"}, rows); err != nil {
				return err
			}
			if output == "text" {
				for _, s := range statuses {
					for _, note := range firingNotes(s) {
						fmt.Fprintf(env.Stdout, "\n%s/%s: %s", s.Service, s.SLO, note)
					}
				}
			}
			return nil
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

// Exit statuses of tsuna slo gate, so a pipeline can tell a freeze from an
// outage. 0 allows the deploy and 2 is a wrong command line, as for every
// command.
const (
	// ExitGateDenied: the error budget policy denies the deploy.
	ExitGateDenied = 1
	// ExitGateUnavailable: tsuna could not be reached or could not answer
	// (network error, timeout, 5xx). --fail-open allows the deploy instead.
	ExitGateUnavailable = 3
	// ExitGateCredentials: no token, or the server refused it (401, 403).
	ExitGateCredentials = 4
	// ExitGateUnknownService: the catalog has no such service (404).
	ExitGateUnknownService = 5
)

func newSLOGate(env *Env) *cobra.Command {
	var rem remote
	var output string
	var failOpen bool
	c := &cobra.Command{
		Use:   "gate SERVICE",
		Short: "Ask whether SERVICE may deploy now; the exit status tells a freeze from an outage",
		Long: `Ask the deploy gate whether SERVICE may deploy under the error budget policy
(tsuna serve --freeze-below and --deny-unknown).

Exit status:
  0  the deploy is allowed
  1  the deploy is denied: the error budget policy freezes SERVICE
  2  the command line is wrong
  3  tsuna is unreachable or unavailable (network error, timeout, 5xx);
     with --fail-open the deploy is allowed instead (exit 0, a warning on stderr)
  4  no token, or the server refused it (401, 403)
  5  the catalog has no service SERVICE

A pipeline step can run it as is (any non-zero status stops it), or act on
each status: for instance retry on 3, page the platform team on 4.`,
		Example: `  tsuna slo gate checkout-api
  tsuna slo gate checkout-api --fail-open      # deploy when tsuna itself is down
  tsuna slo gate checkout-api --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			cl, err := rem.client(env)
			if err != nil {
				if strings.HasPrefix(err.Error(), "no token") {
					fmt.Fprintf(env.Stderr, "tsuna: %v\n", err)
					return exitError{ExitGateCredentials}
				}
				return err
			}
			d, err := cl.DeployGate(cmd.Context(), args[0])
			if err != nil {
				code := gateExit(err)
				if code == ExitGateUnavailable && failOpen {
					fmt.Fprintf(env.Stderr, "tsuna: %v\ntsuna: deploy of %s allowed by --fail-open: the error budget was not checked\n", err, args[0])
					if output == "json" {
						return writeJSON(env.Stdout, budget.Decision{Service: args[0], Allow: true, Decision: "allow", Reason: "tsuna unavailable; allowed by --fail-open: " + err.Error(), SLOs: []budget.Status{}})
					}
					fmt.Fprintf(env.Stdout, "allow: tsuna unavailable; allowed by --fail-open\n")
					return nil
				}
				writeProblem(env, output, err)
				fmt.Fprintf(env.Stderr, "tsuna: %v\n", err)
				return exitError{code}
			}
			if output == "json" {
				err = writeJSON(env.Stdout, d)
			} else {
				_, err = fmt.Fprintf(env.Stdout, "%s: %s\n", d.Decision, d.Reason)
			}
			if err == nil && !d.Allow {
				return exitError{ExitGateDenied}
			}
			return err
		},
	}
	rem.flags(c)
	addOutputFlag(c, &output)
	c.Flags().BoolVar(&failOpen, "fail-open", false, "allow the deploy (exit 0, with a warning) when tsuna is unreachable or unavailable, instead of exit 3")
	return c
}

// gateExit maps the deploy gate's failure to its exit status.
func gateExit(err error) int {
	var apiErr *client.Error
	if !errors.As(err, &apiErr) {
		return ExitGateUnavailable // no answer: network, timeout, TLS
	}
	switch {
	case apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden:
		return ExitGateCredentials
	case apiErr.Status == http.StatusNotFound && apiErr.Problem.Code == "not_found":
		return ExitGateUnknownService
	case apiErr.Status >= 500 || apiErr.Status == http.StatusTooManyRequests || apiErr.Status == http.StatusNotFound:
		// A 404 without tsuna's code is not tsuna answering: a proxy, or
		// a wrong --server.
		return ExitGateUnavailable
	}
	return ExitError
}

// writeFileAtomic writes b to path so that no reader sees a half-written
// replacement: an existing file is replaced through a temporary file and
// a rename, and left alone when it already holds b (its time stays, and a
// config reloader watching it does not fire). A new file is written in
// place: there is no previous content to keep whole, and a rename costs
// ext4 three times the write.
func writeFileAtomic(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	} else if errors.Is(err, fs.ErrNotExist) {
		if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); err == nil {
			return finishWrite(f, b, "")
		}
	}
	var tmp *os.File
	var err error
	for range 100 { // created 0644 at once: no chmod
		name := filepath.Join(filepath.Dir(path), ".tsuna-"+strconv.FormatUint(rand.Uint64(), 36))
		if tmp, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644); !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	return finishWrite(tmp, b, path)
}

// finishWrite writes b to f and closes it, then renames it to path unless
// path is empty. On failure f is removed.
func finishWrite(f *os.File, b []byte, path string) error {
	_, err := f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && path != "" {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// firingNotes explains, for each severity firing on s, what ends it: each
// pair's short window falling below the pair's factor, while the long
// window's burn rate stays high for its whole length. The pairs named are
// tsuna's default windows for the period (a team's own windows may differ).
func firingNotes(s budget.Status) []string {
	period, ok := periodOf(s.Window)
	if !ok {
		return nil
	}
	var notes []string
	for _, sev := range s.Firing {
		var pairs []string
		var longest slo.BurnWindow
		for _, bw := range slo.BurnWindows(period) {
			if bw.Severity != sev {
				continue
			}
			pairs = append(pairs, slo.FormatDuration(bw.Long)+"/"+slo.FormatDuration(bw.Short))
			if bw.Short > longest.Short {
				longest = bw
			}
		}
		if len(pairs) == 0 {
			continue
		}
		notes = append(notes, fmt.Sprintf("%s fires while both windows of one of its pairs (%s) burn above the pair's factor. It clears when the short windows fall below: within %s after errors stop (then Prometheus and Alertmanager resolve it). BURN %s stays high for up to %s after, which alone does not keep it firing.\n",
			sev, strings.Join(pairs, ", "), slo.FormatDuration(longest.Short), strings.ToUpper(slo.FormatDuration(longest.Long)), slo.FormatDuration(longest.Long)))
	}
	return notes
}

// periodOf reads a status's window ("30d", "calendar month (UTC)") as the
// period its burn factors scale to.
func periodOf(window string) (time.Duration, bool) {
	switch {
	case strings.HasPrefix(window, "calendar month"):
		return 30 * slo.Day, true
	case strings.HasPrefix(window, "calendar week"):
		return 7 * slo.Day, true
	}
	d, err := slo.ParseDuration(window)
	return d, err == nil && d > 0
}

func newSLOHistory(env *Env) *cobra.Command {
	var rem remote
	var output, from, to, step string
	c := &cobra.Command{
		Use:   "history SERVICE/SLO",
		Short: "Show one SLO's SLI, budget left and 1h burn rate over time",
		Long: `Show one SLO's SLI and error budget left over its period, evaluated at each
step between --from and --to, with the burn rate of the hour before each
point. --from and --to take RFC 3339 times or durations ago (24h, 7d).`,
		Example: `  tsuna slo history checkout-api/availability
  tsuna slo history checkout-api/availability --from 24h --step 30m
  tsuna slo history checkout-api/availability --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, name, ok := strings.Cut(args[0], "/")
			if !ok || svc == "" || name == "" {
				return usageError{fmt.Errorf("%q: name the SLO as SERVICE/SLO, such as checkout-api/availability (tsuna slo status lists them)", args[0])}
			}
			cl, err := rem.start(env, output)
			if err != nil {
				return err
			}
			q := queryOf(map[string]string{"from": from, "to": to, "step": step})
			h, err := cl.SLOHistory(cmd.Context(), svc, name, q)
			if err != nil {
				return err
			}
			rows := make([][]string, len(h.Points))
			for i, p := range h.Points {
				rows[i] = []string{p.Time.Format(time.RFC3339), pct(&p.SLI), pct(&p.BudgetRemaining), burnPtr(p.BurnRate1h)}
			}
			return render(env, output, h, []string{"TIME", "SLI", "BUDGET LEFT", "BURN 1H"}, rows)
		},
	}
	rem.flags(c)
	c.Flags().StringVar(&from, "from", "", "start: RFC 3339, or a duration ago such as 7d (default 7d)")
	c.Flags().StringVar(&to, "to", "", "end: RFC 3339, or a duration ago (default now)")
	c.Flags().StringVar(&step, "step", "", "time between points, such as 1h (default 1h)")
	addOutputFlag(c, &output)
	return c
}

func burnPtr(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f, 'f', 2, 64)
}
