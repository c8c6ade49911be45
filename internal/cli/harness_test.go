package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/cli"
	"github.com/tsuna-sre/tsuna/internal/openapitest"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/promtest"
)

// adminSecret is the bootstrap admin token of every test server.
const adminSecret = "tsuna_test_admin_secret_0123456789abcdef"

var binPath string // the tsuna binary, built once for tests that need a process

func TestMain(m *testing.M) {
	os.Exit(pgtest.Run(m))
}

// binary builds cmd/tsuna once and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tsuna-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tsuna")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/tsuna").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build tsuna: %v", buildErr)
	}
	return binPath
}

var (
	buildOnce sync.Once
	buildErr  error
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs tsuna in-process with args and environment vars.
func run(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return vars[k] },
	})
	return result{code, out.String(), errb.String()}
}

// addrRE finds the listening address in a text or JSON log.
var addrRE = regexp.MustCompile(`(?:msg=listening addr=|"msg":"listening","addr":")([0-9.]+:[0-9]+)`)

// testServer is a running `tsuna serve`.
type testServer struct {
	url    string // through the OpenAPI validating proxy
	addr   string // the server itself, host:port, for raw connections
	stderr *syncBuffer
	stop   func() int
}

// startServer runs `tsuna serve` in-process on 127.0.0.1:0 with db and
// extra args, and stops it when the test ends.
func startServer(t *testing.T, db string, extra ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--db", db}, extra...)
	go func() {
		done <- cli.Run(ctx, args, cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: stderr,
			Getenv: func(k string) string {
				if k == cli.EnvBootstrapToken {
					return adminSecret
				}
				return ""
			}})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			s := &testServer{url: openapitest.NewFromURL(t, "http://"+m[1]+"/api/v1/openapi.json").Proxy("http://" + m[1]), addr: m[1], stderr: stderr}
			var once sync.Once
			code := -1
			s.stop = func() int {
				once.Do(func() { cancel(); code = <-done })
				return code
			}
			t.Cleanup(func() { s.stop() })
			return s
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("tsuna serve exited %d:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("tsuna serve did not start:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newToken creates a token on srv as its admin, with name and role (an
// editor of team when team is not empty), and returns its secret.
func newToken(t *testing.T, srv *testServer, name, role, team string) string {
	t.Helper()
	args := []string{"token", "create", "--name", name, "--role", role}
	if team != "" {
		args = append(args, "--team", team)
	}
	r := run(t, cliVars(srv, adminSecret), args...)
	if r.code != 0 {
		t.Fatalf("token create %s: %d %s", name, r.code, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// checkoutAlerts runs the alert path's real peers in front of srv: an
// exporter of checkout_up, down while the returned flag is true (as it
// starts); Debian's Prometheus with the rule CheckoutDown (severity page,
// service checkout-api, team payments) carrying annotations, a YAML flow
// mapping; and Debian's Alertmanager, configured by `tsuna alertmanager
// config` to call srv with amSecret.
func checkoutAlerts(t *testing.T, srv *testServer, annotations string) (*promtest.Prometheus, *promtest.Alertmanager, *atomic.Bool) {
	t.Helper()
	dir := t.TempDir()
	creds := filepath.Join(dir, "token")
	os.WriteFile(creds, []byte(amSecret), 0o600)
	base := filepath.Join(dir, "base.yml")
	os.WriteFile(base, []byte("route:\n  receiver: tsuna-fallback\n  group_by: [alertname, service]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"), 0o644)
	amConfig := filepath.Join(dir, "am.yml")
	if r := run(t, nil, "alertmanager", "config", "-i", exampleCatalog, "--base", base, "--webhook-url", srv.url+"/hooks/alertmanager",
		"--credentials-file", creds, "-o", amConfig); r.code != 0 {
		t.Fatal(r.stderr)
	}
	cfg, _ := os.ReadFile(amConfig)
	am := promtest.StartAlertmanager(t, string(cfg))

	down := new(atomic.Bool)
	down.Store(true)
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := 1
		if down.Load() {
			up = 0
		}
		fmt.Fprintf(w, "checkout_up %d\n", up)
	}))
	t.Cleanup(exporter.Close)
	rules := `groups:
  - name: checkout
    rules:
      - alert: CheckoutDown
        expr: checkout_up == 0
        labels: {severity: page, service: checkout-api, team: payments}
        annotations: ` + annotations + `
`
	prom := promtest.Start(t, fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["rules/*.yaml"]
alerting:
  alertmanagers: [{static_configs: [{targets: [%q]}]}]
scrape_configs:
  - job_name: checkout
    static_configs: [{targets: [%q]}]
`, strings.TrimPrefix(am.URL, "http://"), strings.TrimPrefix(exporter.URL, "http://")), map[string][]byte{"checkout.yaml": []byte(rules)})
	return prom, am, down
}

// scrapeEverySecond starts Debian's Prometheus scraping the exporter at
// target and evaluating rules (file name → content) every second.
func scrapeEverySecond(t *testing.T, target string, rules map[string][]byte) *promtest.Prometheus {
	t.Helper()
	return promtest.Start(t, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["rules/*.yaml"]
scrape_configs:
  - job_name: exporter
    static_configs: [{targets: ["%s"]}]
`, strings.TrimPrefix(target, "http://")), rules)
}

// checkErrorRatio checks a recorded 5-minute error ratio against the one
// computed in Go from app's raw counters (code 500 over 200 and 500) at
// its time. A scrape stamped just before the evaluation may be stored
// just after it: the rule may not have seen the newest sample, so the
// recorded ratio must equal the one computed with or without that sample,
// exactly.
func checkErrorRatio(t *testing.T, prom *promtest.Prometheus, app string, recorded promtest.Sample) {
	t.Helper()
	at := time.Unix(0, int64(recorded.Time*1e9))
	raw, err := prom.Query(context.Background(), `http_requests_total{app="`+app+`"}[5m]`, at)
	if err != nil {
		t.Fatal(err)
	}
	samples := map[string][]float64{}
	for _, s := range raw {
		samples[s.Metric["code"]] = append(samples[s.Metric["code"]], s.Value)
	}
	ratioOf := func(drop int) float64 {
		ok, bad := samples["200"], samples["500"]
		ok, bad = ok[:len(ok)-drop], bad[:len(bad)-drop]
		d := bad[len(bad)-1] - bad[0]
		return d / (d + ok[len(ok)-1] - ok[0])
	}
	if all, older := ratioOf(0), ratioOf(1); math.Abs(recorded.Value-all) > 1e-9 && math.Abs(recorded.Value-older) > 1e-9 {
		t.Errorf("recorded 5m error ratio of %s = %v, computed in Go from the counters = %v (or %v without the newest sample)", app, recorded.Value, all, older)
	}
}

// startWithEvent starts a server on eventsCatalog holding one pushed event
// of the SLO nightly/jobs: good of 100 requests, at.
func startWithEvent(t *testing.T, good int, at time.Time) *testServer {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(eventsCatalog), 0o644)
	srv := startServer(t, filepath.Join(t.TempDir(), "t.db"), "--catalog", dir)
	body := fmt.Sprintf(`{"events":[{"key":"run-1","timestamp":%q,"good":%d,"total":100}]}`, at.UTC().Format(time.RFC3339), good)
	if resp := call(t, "POST", srv.url+"/api/v1/services/nightly/slos/jobs/events", adminSecret, body, nil); resp.StatusCode != 200 {
		t.Fatalf("push: %d", resp.StatusCode)
	}
	return srv
}

// call makes an HTTP request with a bearer token (none if empty) and
// decodes a JSON answer into out when out is not nil.
func call(t *testing.T, method, url, token, body string, out any) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, url, data, err)
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp
}

func bodyOf(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
