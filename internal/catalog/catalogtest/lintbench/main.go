// Command lintbench measures `tsuna lint` on the hostile inputs of
// catalogtest.Adversarial: it writes each, at the given size, to a
// directory of its own, runs the given tsuna binary on it, and prints the
// wall time, CPU time, peak memory (maximum resident set, measured by
// /usr/bin/time) and output size of each run. A run past -timeout, or past
// -maxrss of memory, is killed and reported so. Wall time depends on what
// else the machine runs; CPU time and memory much less.
//
//	go build -o /tmp/tsuna ./cmd/tsuna
//	go run ./internal/catalog/catalogtest/lintbench -tsuna /tmp/tsuna -size 32
//
// Build tsuna from another commit (a git worktree) to compare.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/catalog/catalogtest"
)

func main() {
	tsuna := flag.String("tsuna", "tsuna", "the tsuna binary to measure")
	sizeMiB := flag.Float64("size", 32, "size of each input, in MiB")
	only := flag.String("only", "", "comma-separated inputs to run (default: all)")
	output := flag.String("output", "text", "tsuna lint --output: text or json")
	timeout := flag.Duration("timeout", 2*time.Minute, "kill a run after this long")
	maxRSS := flag.Int64("maxrss", 8<<10, "kill a run past this resident memory, in MiB")
	dir := flag.String("dir", "", "where to write the inputs, kept after (default: a temporary directory, removed)")
	flag.Parse()

	keep := *dir != ""
	if !keep {
		d, err := os.MkdirTemp("", "lintbench")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	names := catalogtest.AdversarialNames
	if *only != "" {
		names = strings.Split(*only, ",")
	}
	fmt.Printf("%-16s %9s %9s %9s %11s %12s  %s\n", "input", "MiB", "wall s", "cpu s", "max RSS MiB", "output KiB", "result")
	for _, name := range names {
		in := filepath.Join(*dir, name)
		// A little under the size: the generators may go a line over.
		size, err := write(in, catalogtest.Adversarial(name, int(*sizeMiB*(1<<20))-64<<10))
		if err != nil {
			fail(err)
		}
		r := run(*tsuna, *output, in, *timeout, *maxRSS<<20)
		fmt.Printf("%-16s %9.1f %9.2f %9.2f %11.0f %12.0f  %s\n", name, float64(size)/(1<<20),
			r.wall.Seconds(), r.cpu.Seconds(), float64(r.maxRSS)/(1<<20), float64(r.output)/(1<<10), r.result)
		if !keep {
			os.RemoveAll(in)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "lintbench:", err)
	os.Exit(2)
}

// write writes files under dir and returns their size.
func write(dir string, files []catalog.File) (int, error) {
	size := 0
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return 0, err
		}
		size += len(f.Data)
	}
	return size, nil
}

type result struct {
	wall, cpu time.Duration
	maxRSS    int64
	output    int64
	result    string
}

// run runs tsuna lint on dir under /usr/bin/time, which measures the
// peak memory and CPU time of tsuna alone, and watches its memory.
func run(tsuna, output, dir string, timeout time.Duration, maxRSS int64) result {
	times, err := os.CreateTemp("", "lintbench-time")
	if err != nil {
		fail(err)
	}
	defer os.Remove(times.Name())
	times.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/time", "-o", times.Name(), "-f", "%M %U %S", tsuna, "lint", "--output", output, dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // to kill tsuna with time
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fail(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	w := &watcher{pid: cmd.Process.Pid, max: maxRSS, done: make(chan struct{})}
	go w.watch()
	n, _ := io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	close(w.done)
	r := result{wall: time.Since(start), output: n, maxRSS: w.peak.Load()}
	if b, rerr := os.ReadFile(times.Name()); rerr == nil {
		var kib int64
		var user, sys float64
		lines := strings.Split(strings.TrimSpace(string(b)), "\n") // after "Command exited with..."
		if _, serr := fmt.Sscan(lines[len(lines)-1], &kib, &user, &sys); serr == nil {
			r.maxRSS = kib << 10
			r.cpu = time.Duration((user + sys) * float64(time.Second))
		}
	}
	var exit *exec.ExitError
	switch {
	case w.killed.Load():
		r.result = fmt.Sprintf("killed past %d MiB of memory", maxRSS>>20)
	case ctx.Err() != nil:
		r.result = fmt.Sprintf("killed after %v", timeout)
	case err == nil:
		r.result = "exit 0 (clean)"
	case errors.As(err, &exit):
		r.result = fmt.Sprintf("exit %d", exit.ExitCode())
	default:
		r.result = err.Error()
	}
	return r
}

// watcher follows the memory of the process that /usr/bin/time (pid)
// runs, keeping its peak, and kills both past max.
type watcher struct {
	pid    int
	max    int64
	peak   atomic.Int64
	killed atomic.Bool
	done   chan struct{}
}

func (w *watcher) watch() {
	for {
		select {
		case <-w.done:
			return
		case <-time.After(20 * time.Millisecond):
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", w.pid, w.pid))
		child, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || child == 0 {
			continue
		}
		rss, peak := memory(child)
		w.peak.Store(max(w.peak.Load(), peak))
		if rss > w.max {
			w.killed.Store(true)
			syscall.Kill(-w.pid, syscall.SIGKILL)
			return
		}
	}
}

// memory reads the resident memory of a process and its peak (VmRSS and
// VmHWM) from /proc.
func memory(pid int) (rss, peak int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch key {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak
}
