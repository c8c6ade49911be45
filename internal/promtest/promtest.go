// Package promtest runs a real Prometheus (Debian's package) for tests: on
// 127.0.0.1 and a free port, with a test's config and rules, stopped by pid
// when the test ends. Under CI=true a missing Prometheus fails the test.
package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Prometheus is a running Prometheus server.
type Prometheus struct {
	URL string
	cmd *exec.Cmd
	log string
}

// Binary returns the path of a Prometheus program, failing under CI and
// skipping elsewhere when it is missing.
func Binary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI (scripts/test installs it from Debian's packages)", name)
		}
		t.Skipf("%s not installed (scripts/test installs it)", name)
	}
	return p
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs Prometheus with config (YAML; rule_files may name files in
// the "rules" folder, written from rules beforehand) and extra flags (a
// --storage.tsdb.path there replaces the fresh one), and waits until it is
// ready. The groups' own intervals are dropped from rules, so every group
// runs at the config's evaluation_interval, as promtool test rules runs
// them: a test need not wait 5 minutes for tsuna's 5-minute rates.
func Start(t testing.TB, config string, rules map[string][]byte, extra ...string) *Prometheus {
	t.Helper()
	bin := Binary(t, "prometheus")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rules"), 0o755)
	for name, b := range rules {
		b = groupInterval.ReplaceAll(b, nil)
		if err := os.WriteFile(filepath.Join(dir, "rules", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	p := &Prometheus{URL: "http://127.0.0.1:" + strconv.Itoa(port), log: filepath.Join(dir, "prometheus.log")}
	args := []string{"--config.file=" + cfg, "--web.listen-address=127.0.0.1:" + strconv.Itoa(port), "--web.external-url=" + p.URL, "--web.enable-lifecycle"}
	if !slices.ContainsFunc(extra, func(a string) bool { return strings.HasPrefix(a, "--storage.tsdb.path=") }) {
		args = append(args, "--storage.tsdb.path="+filepath.Join(dir, "data"))
	}
	args = append(args, extra...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	logf, _ := os.Create(p.log)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(p.Stop)
	waitReady(t, "prometheus", p.URL, p.log)
	return p
}

// groupInterval matches the interval line of a rule group.
var groupInterval = regexp.MustCompile(`(?m)^ +interval: [0-9a-z"]+\n`)

// waitReady waits up to 30 s for url's /-/ready to answer 200.
func waitReady(t testing.TB, what, url, logPath string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s did not become ready:\n%s", what, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends Prometheus by its pid.
func (p *Prometheus) Stop() {
	if p.cmd == nil || p.cmd.Process == nil || p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// Log returns what Prometheus printed.
func (p *Prometheus) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// Sample is one value of a series at a time.
type Sample struct {
	Metric map[string]string
	Time   float64
	Value  float64
}

// Query runs an instant query at time at (zero: now) and returns its
// vector, or for a range selector every sample of every series.
func (p *Prometheus) Query(ctx context.Context, q string, at time.Time) ([]Sample, error) {
	v := url.Values{"query": {q}}
	if !at.IsZero() {
		v.Set("time", strconv.FormatFloat(float64(at.UnixNano())/1e9, 'f', 3, 64))
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", p.URL+"/api/v1/query?"+v.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct {
			ResultType string
			Result     []struct {
				Metric map[string]string
				Value  []any
				Values [][]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, body.Error)
	}
	var out []Sample
	for _, r := range body.Data.Result {
		pairs := r.Values
		if r.Value != nil {
			pairs = [][]any{r.Value}
		}
		for _, pv := range pairs {
			f, _ := strconv.ParseFloat(pv[1].(string), 64)
			out = append(out, Sample{Metric: r.Metric, Time: pv[0].(float64), Value: f})
		}
	}
	return out, nil
}

// Alert is an alert as Prometheus reports it.
type Alert struct {
	Labels map[string]string
	State  string
}

// Alerts returns the pending and firing alerts.
func (p *Prometheus) Alerts(ctx context.Context) ([]Alert, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", p.URL+"/api/v1/alerts", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Data struct{ Alerts []Alert }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	return body.Data.Alerts, nil
}

// Alertmanager is a running Alertmanager.
type Alertmanager struct {
	URL string
	cmd *exec.Cmd
	log string
}

// StartAlertmanager runs Debian's Alertmanager with config, without
// clustering, on a free port, and waits until it is ready.
func StartAlertmanager(t testing.TB, config string) *Alertmanager {
	t.Helper()
	bin := Binary(t, "prometheus-alertmanager")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	a := &Alertmanager{URL: "http://127.0.0.1:" + strconv.Itoa(port), log: filepath.Join(dir, "alertmanager.log")}
	a.cmd = exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--web.external-url="+a.URL, "--cluster.listen-address=")
	logf, _ := os.Create(a.log)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start alertmanager: %v", err)
	}
	t.Cleanup(func() {
		if a.cmd.ProcessState == nil {
			a.cmd.Process.Signal(syscall.SIGTERM)
			a.cmd.Wait()
		}
	})
	waitReady(t, "alertmanager", a.URL, a.log)
	return a
}

// Log returns what Alertmanager printed.
func (a *Alertmanager) Log() string {
	b, _ := os.ReadFile(a.log)
	return string(b)
}
