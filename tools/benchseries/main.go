// Command benchseries writes the history scripts/bench-rule-eval loads, as
// Prometheus TSDB blocks, for every SLO of the Sloth specs in -specs:
//
//   - its raw counters http_request_duration_seconds_count{job,route,code}
//     (10 requests/s, 0.1% of them code="500"), every -step (the scrape
//     interval);
//   - the 5-minute rates tsuna's rules record (slo:sli_errors:rate5m and
//     slo:sli_total:rate5m), every -tsuna-step (the interval of their group);
//   - the 5-minute error ratio Sloth's rules record
//     (slo:sli_error:ratio_rate5m, for the service renamed with
//     -sloth-prefix), every -sloth-step (the evaluation interval),
//
// over the -days before now, so the long windows of each tool read what
// that tool would have written. The blocks are written one -block time range
// after another (non-overlapping, in order), so memory stays bounded
// whatever the number of days; each block is written as promtool's backfill
// writes it (tsdb.BlockWriter) and opens in Prometheus 2.x and 3.x.
//
// With -serve, it instead serves the same raw counters, at their value now,
// on /metrics, for Prometheus to scrape from where the history ends. With
// -pyrra, it writes the SLOs as Pyrra ServiceLevelObjective files reading
// the same counters.
//
//	go run ./tools/benchseries -specs specs -days 30 -o data
//	go run ./tools/benchseries -specs specs -serve 127.0.0.1:0 -addr-file addr
//	go run ./tools/benchseries -specs specs -pyrra pyrra-specs
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// The traffic every SLO sees: requestsPerSecond, errorRatio of them failing.
const (
	requestsPerSecond = 10.0
	errorRatio        = 0.001
	rawMetric         = "http_request_duration_seconds_count"
)

// appendBatch is how many samples go into one appender transaction: the
// appender holds them in memory until Commit.
const appendBatch = 100_000

var (
	jobRE   = regexp.MustCompile(`job="([^"]+)"`)
	routeRE = regexp.MustCompile(`route="([^"]+)"`)
)

// series is one series of the history: its labels, the time between its
// samples and its value at a time in milliseconds.
type series struct {
	labels labels.Labels
	step   int64
	value  func(ms int64) float64
}

// counter is the value at ms of a counter growing by perSecond since the
// Unix epoch: the history and the served counters agree at every instant,
// so rates are continuous where the history ends and scraping begins.
func counter(perSecond float64) func(int64) float64 {
	return func(ms int64) float64 { return perSecond * float64(ms) / 1000 }
}

func constant(v float64) func(int64) float64 { return func(int64) float64 { return v } }

func main() {
	specs := flag.String("specs", "", "directory of Sloth specs (tools/gencatalog -sloth)")
	days := flag.Int("days", 30, "days of history, ending now")
	step := flag.Duration("step", time.Minute, "time between samples of the raw counters (the scrape interval)")
	tsunaStep := flag.Duration("tsuna-step", 5*time.Minute, "time between samples of the 5-minute rates tsuna records (its group's interval)")
	slothStep := flag.Duration("sloth-step", time.Minute, "time between samples of the 5-minute ratio Sloth records (the evaluation interval)")
	block := flag.Duration("block", 48*time.Hour, "time range of each TSDB block")
	prefix := flag.String("sloth-prefix", "sl-", "prefix of the service names in Sloth's copy of the specs")
	out := flag.String("o", "data", "TSDB directory to write the blocks in (Prometheus's --storage.tsdb.path)")
	serveAddr := flag.String("serve", "", "instead, serve the raw counters on this address's /metrics")
	addrFile := flag.String("addr-file", "", "with -serve, write the address listened on to this file")
	pyrra := flag.String("pyrra", "", "instead, write the SLOs as Pyrra ServiceLevelObjective files in this directory")
	flag.Parse()
	for name, d := range map[string]time.Duration{"-step": *step, "-tsuna-step": *tsunaStep, "-sloth-step": *slothStep, "-block": *block} {
		if d < time.Second || d%time.Second != 0 {
			fatal(fmt.Errorf("%s %s: give a whole number of seconds, at least 1s", name, d))
		}
	}
	if *days < 1 || *days > 400 {
		fatal(fmt.Errorf("-days %d: give 1 to 400", *days))
	}
	files, err := catalog.ListFiles([]string{*specs})
	if err != nil {
		fatal(err)
	}
	c, diags := catalog.Parse(files)
	if c == nil {
		fatal(fmt.Errorf("specs: %d errors", diags.Errors()))
	}
	switch {
	case *pyrra != "":
		writePyrra(c.SLOs, *pyrra)
	case *serveAddr != "":
		raw, _, _ := history(c.SLOs, *prefix, *step, *tsunaStep, *slothStep)
		if err := serve(*serveAddr, *addrFile, raw); err != nil {
			fatal(err)
		}
	default:
		raw, tsuna, sloth := history(c.SLOs, *prefix, *step, *tsunaStep, *slothStep)
		all := append(append(raw, tsuna...), sloth...)
		end := time.Now()
		start := end.Add(-time.Duration(*days) * 24 * time.Hour)
		began := time.Now()
		blocks, samples, err := writeBlocks(context.Background(), *out, all, start.UnixMilli(), end.UnixMilli(), block.Milliseconds())
		if err != nil {
			fatal(err)
		}
		fmt.Fprintf(os.Stderr, "benchseries: %d series (%d raw every %s, %d tsuna every %s, %d sloth every %s), %d samples in %d blocks, %s to %s, in %.1fs\n",
			len(all), len(raw), step, len(tsuna), tsunaStep, len(sloth), slothStep, samples, blocks,
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), time.Since(began).Seconds())
	}
}

// history returns the series of the SLOs: the raw counters (two per job and
// route), tsuna's recorded rates and Sloth's recorded ratios.
func history(slos []*slo.SLO, prefix string, step, tsunaStep, slothStep time.Duration) (raw, tsuna, sloth []series) {
	seen := map[string]bool{}
	for _, s := range slos {
		job, route := jobRoute(s)
		if !seen[job+"\x00"+route] {
			seen[job+"\x00"+route] = true
			raw = append(raw,
				series{labels.FromStrings("__name__", rawMetric, "job", job, "route", route, "code", "200"), step.Milliseconds(), counter(requestsPerSecond * (1 - errorRatio))},
				series{labels.FromStrings("__name__", rawMetric, "job", job, "route", route, "code", "500"), step.Milliseconds(), counter(requestsPerSecond * errorRatio)})
		}
		own := sloLabels(s.Labels, "sloth_id", s.ID(), "sloth_service", s.Service, "sloth_slo", s.Name, "sloth_window", "5m")
		tsuna = append(tsuna,
			series{withName(own, slo.SeriesErrors), tsunaStep.Milliseconds(), constant(requestsPerSecond * errorRatio)},
			series{withName(own, slo.SeriesTotal), tsunaStep.Milliseconds(), constant(requestsPerSecond)})
		sl := prefix + s.Service
		theirs := sloLabels(s.Labels, "sloth_id", sl+"-"+s.Name, "sloth_service", sl, "sloth_slo", s.Name, "sloth_window", "5m")
		sloth = append(sloth, series{withName(theirs, slo.SeriesRatioPrefix+"5m"), slothStep.Milliseconds(), constant(errorRatio)})
	}
	return raw, tsuna, sloth
}

// writeBlocks writes the series' samples from mint to maxt (milliseconds,
// both included) into dir, one block per blockMS-aligned time range, and
// returns how many blocks and samples it wrote.
func writeBlocks(ctx context.Context, dir string, all []series, mint, maxt, blockMS int64) (blocks int, samples int64, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, err
	}
	logger := slog.New(slog.DiscardHandler)
	for lo := mint - mint%blockMS; lo <= maxt; lo += blockMS {
		hi := min(lo+blockMS, maxt+1) // [lo, hi)
		began := time.Now()
		n, err := writeBlock(ctx, logger, dir, all, max(lo, mint), hi, blockMS)
		if err != nil {
			return blocks, samples, fmt.Errorf("block %s to %s: %w", time.UnixMilli(lo).UTC().Format(time.RFC3339), time.UnixMilli(hi).UTC().Format(time.RFC3339), err)
		}
		if n > 0 {
			blocks++
			samples += n
		}
		fmt.Fprintf(os.Stderr, "benchseries: block %s to %s: %d samples in %.1fs\n",
			time.UnixMilli(max(lo, mint)).UTC().Format(time.RFC3339), time.UnixMilli(hi).UTC().Format(time.RFC3339), n, time.Since(began).Seconds())
	}
	return blocks, samples, nil
}

// writeBlock writes one block of the samples in [lo, hi), each series' at
// the multiples of its step.
func writeBlock(ctx context.Context, logger *slog.Logger, dir string, all []series, lo, hi, blockMS int64) (n int64, err error) {
	// The head rejects samples older than half its chunk range before the
	// newest one appended; series are appended one after the other, each
	// from lo, so the range is doubled, as promtool's backfill does.
	w, err := tsdb.NewBlockWriter(logger, dir, 2*blockMS)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, w.Close()) }()
	app := w.AppenderV2(ctx)
	batch := 0
	for _, s := range all {
		var ref storage.SeriesRef
		for t := (lo + s.step - 1) / s.step * s.step; t < hi; t += s.step {
			if ref, err = app.Append(ref, s.labels, 0, t, s.value(t), nil, nil, storage.AOptions{}); err != nil {
				return n, fmt.Errorf("append %s at %d: %w", s.labels, t, err)
			}
			n++
			if batch++; batch == appendBatch {
				if err := app.Commit(); err != nil {
					return n, fmt.Errorf("commit: %w", err)
				}
				app, batch = w.AppenderV2(ctx), 0
			}
		}
	}
	if err := app.Commit(); err != nil {
		return n, fmt.Errorf("commit: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	if _, err := w.Flush(ctx); err != nil {
		return n, fmt.Errorf("flush: %w", err)
	}
	return n, nil
}

// serve serves the raw counters at their value now on addr's /metrics,
// writing the address it listens on to addrFile, until it is killed.
func serve(addr, addrFile string, raw []series) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if addrFile != "" {
		if err := os.WriteFile(addrFile, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			return err
		}
	}
	lines := make([]string, len(raw))
	for i, s := range raw {
		lines[i] = fmt.Sprintf("%s{job=%q,route=%q,code=%q} ", rawMetric, s.labels.Get("job"), s.labels.Get("route"), s.labels.Get("code"))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		now := time.Now().UnixMilli()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		var b strings.Builder
		for i, s := range raw {
			b.WriteString(lines[i])
			b.WriteString(strconv.FormatFloat(s.value(now), 'f', -1, 64))
			b.WriteByte('\n')
		}
		_, _ = io.WriteString(w, b.String())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// writePyrra writes one Pyrra ServiceLevelObjective per SLO, with the same
// counters as the Sloth spec's queries.
func writePyrra(slos []*slo.SLO, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fatal(err)
	}
	for _, s := range slos {
		job, route := jobRoute(s)
		sel := fmt.Sprintf(`job=%q,route=%q`, job, route)
		doc := fmt.Sprintf(`apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: %s
  namespace: bench
spec:
  target: "%s"
  window: 30d
  indicator:
    ratio:
      errors:
        metric: %s{%s,code=~"(5..|429)"}
      total:
        metric: %s{%s}
`, s.ID(), strconvFloat(s.Objective), rawMetric, sel, rawMetric, sel)
		if err := os.WriteFile(fmt.Sprintf("%s/%s.yaml", dir, s.ID()), []byte(doc), 0o644); err != nil {
			fatal(err)
		}
	}
}

// jobRoute returns the job and route the SLO's total query selects.
func jobRoute(s *slo.SLO) (job, route string) {
	_, total, _ := s.Queries(5 * time.Minute)
	j, r := jobRE.FindStringSubmatch(total), routeRE.FindStringSubmatch(total)
	if j == nil || r == nil {
		fatal(fmt.Errorf("%s: no job and route in %s", s.ID(), total))
	}
	return j[1], r[1]
}

func strconvFloat(f float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.6f", f), "0"), ".")
}

// sloLabels returns the labels m with the name-value pairs kv added.
func sloLabels(m map[string]string, kv ...string) map[string]string {
	l := maps.Clone(m)
	if l == nil {
		l = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return l
}

// withName returns the labels l of the series named name.
func withName(l map[string]string, name string) labels.Labels {
	l = maps.Clone(l)
	l["__name__"] = name
	return labels.FromMap(l)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchseries:", err)
	os.Exit(1)
}
