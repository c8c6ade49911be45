// Package deploy_test checks what deploy/ ships: the systemd unit, the
// Kubernetes manifests, tsuna's own alerting rules and the container image
// recipe. Each is checked with the tool that would read it, where one runs
// here, and the flags they pass to tsuna serve are run for real.
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/tsuna-sre/tsuna/internal/alerting/alertingtest"
	"github.com/tsuna-sre/tsuna/internal/chatfake"
	"github.com/tsuna-sre/tsuna/internal/cli"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/promtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/tsuna once.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tsuna-deploy-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tsuna")
		if out, err := exec.Command("go", "build", "-o", binPath, "../cmd/tsuna").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build tsuna: %v", buildErr)
	}
	return binPath
}

// serveFlags returns the flags of `tsuna serve` and the environment
// variables its help names.
func serveFlags(t *testing.T) (flags, envs map[string]bool) {
	t.Helper()
	var out bytes.Buffer
	if code := cli.Run(context.Background(), []string{"serve", "--help"}, cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: io.Discard,
		Getenv: func(string) string { return "" }}); code != 0 {
		t.Fatalf("tsuna serve --help: exit %d", code)
	}
	flags, envs = map[string]bool{}, map[string]bool{}
	for _, m := range regexp.MustCompile(`--([a-z0-9-]+)`).FindAllStringSubmatch(out.String(), -1) {
		flags[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`TSUNA_[A-Z_]+`).FindAllString(out.String(), -1) {
		envs[m] = true
	}
	return flags, envs
}

// checkFlags fails for each --flag of args that tsuna serve lacks.
func checkFlags(t *testing.T, where string, args []string) {
	t.Helper()
	flags, _ := serveFlags(t)
	n := 0
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			n++
			if !flags[name] {
				t.Errorf("%s passes --%s, which tsuna serve does not have", where, name)
			}
		}
	}
	if n == 0 {
		t.Errorf("%s passes no flag to tsuna serve", where)
	}
}

// startTsuna runs the binary with args and env until the test ends and
// returns its base URL once /readyz answers.
func startTsuna(t *testing.T, dir string, args []string, env []string) string {
	t.Helper()
	port := promtest.FreePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	for i, a := range args {
		switch {
		case a == "--listen" && i+1 < len(args):
			args[i+1] = listen
		case strings.HasPrefix(a, "--listen="):
			args[i] = "--listen=" + listen
		}
	}
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url
			}
		}
		select {
		case <-done:
			t.Fatalf("tsuna %s exited:\n%s", strings.Join(args, " "), log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tsuna %s not ready within 60 s:\n%s", strings.Join(args, " "), log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSystemdUnit checks deploy/systemd/tsuna.service with
// systemd-analyze verify (no warning allowed), and runs tsuna with the
// unit's command line, its credentials in place.
func TestSystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze not found: scripts/test installs systemd")
	}
	unit, err := os.ReadFile("systemd/tsuna.service")
	if err != nil {
		t.Fatal(err)
	}
	// The binary where the unit expects it.
	dir := t.TempDir()
	path := filepath.Join(dir, "tsuna.service")
	os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/tsuna"), []byte(binary(t))), 0o644)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	// ExecStart, its continuation lines joined.
	var execStart string
	sc := bufio.NewScanner(bytes.NewReader(unit))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ExecStart=") || (execStart != "" && strings.HasSuffix(execStart, "\\")) {
			execStart = strings.TrimSuffix(execStart, "\\") + " " + strings.TrimPrefix(line, "ExecStart=")
		}
	}
	fields := strings.Fields(execStart)
	if len(fields) < 2 || fields[0] != "/usr/local/bin/tsuna" || fields[1] != "serve" {
		t.Fatalf("ExecStart = %q, want /usr/local/bin/tsuna serve ...", execStart)
	}
	args := fields[1:]
	checkFlags(t, "the systemd unit", args)

	// Run it: %d is systemd's credentials directory, /var/lib/tsuna the
	// state directory.
	creds, state := filepath.Join(dir, "creds"), filepath.Join(dir, "state")
	os.Mkdir(creds, 0o700)
	os.Mkdir(state, 0o700)
	for _, m := range regexp.MustCompile(`(?m)^LoadCredential=([a-z-]+):`).FindAllStringSubmatch(string(unit), -1) {
		os.WriteFile(filepath.Join(creds, m[1]), []byte("secret-"+m[1]+"-0123456789abcdef0123456789\n"), 0o600)
	}
	for i, a := range args {
		a = strings.ReplaceAll(a, "%d", creds)
		args[i] = strings.ReplaceAll(a, "/var/lib/tsuna", state)
	}
	url := startTsuna(t, state, args, nil)
	resp, err := http.Post(url+"/hooks/alertmanager", "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != 401 {
		t.Errorf("the webhook without the secret: %v %v; want 401 (the credential read)", resp.StatusCode, err)
	}
	if _, err := os.Stat(filepath.Join(state, "tsuna-bootstrap-token")); err != nil {
		t.Errorf("no bootstrap token file in the state directory, as the unit's comment says: %v", err)
	}
}

// manifests reads every document of deploy/kubernetes, by kind.
func manifests(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, _ := filepath.Glob("kubernetes/*.yaml")
	byKind := map[string]map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			kind, _ := doc["kind"].(string)
			if kind == "" || doc["apiVersion"] == nil {
				t.Fatalf("%s: a document without apiVersion and kind", f)
			}
			byKind[kind] = doc
		}
	}
	return byKind
}

// get walks a path of map keys and list indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

// TestKubernetesManifests parses deploy/kubernetes and checks that the
// pieces fit: the flags and variables exist on tsuna serve, the Secret has
// every key referenced, probes and ports name what tsuna serves, the
// Service and ServiceMonitor select tsuna. Then it runs two replicas with
// the Deployment's arguments and environment on one PostgreSQL.
func TestKubernetesManifests(t *testing.T) {
	m := manifests(t)
	for _, kind := range []string{"Deployment", "Service", "ServiceMonitor", "Secret", "Kustomization"} {
		if m[kind] == nil {
			t.Fatalf("deploy/kubernetes has no %s", kind)
		}
	}
	dep, svc, mon, sec := m["Deployment"], m["Service"], m["ServiceMonitor"], m["Secret"]
	labels, _ := get(dep, "spec", "template", "metadata", "labels").(map[string]any)
	for k, v := range get(dep, "spec", "selector", "matchLabels").(map[string]any) {
		if labels[k] != v {
			t.Errorf("the Deployment's selector %s=%v does not match its pods", k, v)
		}
	}
	c := get(dep, "spec", "template", "spec", "containers", 0)
	var args []string
	for _, a := range list(get(c, "args")) {
		args = append(args, fmt.Sprint(a))
	}
	if len(args) == 0 || args[0] != "serve" {
		t.Fatalf("the container's args = %v, want serve ...", args)
	}
	checkFlags(t, "the Deployment", args[1:])

	secretKeys, _ := get(sec, "stringData").(map[string]any)
	_, envs := serveFlags(t)
	envs[cli.EnvBootstrapToken] = true
	env := map[string]string{}
	for _, e := range list(get(c, "env")) {
		name := fmt.Sprint(get(e, "name"))
		if !envs[name] {
			t.Errorf("the Deployment sets %s, which tsuna serve does not read", name)
		}
		key := fmt.Sprint(get(e, "valueFrom", "secretKeyRef", "key"))
		if get(e, "valueFrom", "secretKeyRef", "name") != get(sec, "metadata", "name") || secretKeys[key] == nil {
			t.Errorf("%s reads key %q of a Secret that lacks it", name, key)
		}
		env[name] = key
	}
	// Files the flags name are in a mounted volume that provides them.
	mounts := map[string]string{}
	for _, vm := range list(get(c, "volumeMounts")) {
		mounts[fmt.Sprint(get(vm, "mountPath"))] = fmt.Sprint(get(vm, "name"))
	}
	volumes := map[string]any{}
	for _, v := range list(get(dep, "spec", "template", "spec", "volumes")) {
		volumes[fmt.Sprint(get(v, "name"))] = v
	}
	secretFiles := map[string]string{} // mounted path -> secret key
	for dir, name := range mounts {
		if _, ok := volumes[name]; !ok {
			t.Errorf("volume mount %s names no volume %s", dir, name)
		}
		for _, it := range list(get(volumes[name], "secret", "items")) {
			key := fmt.Sprint(get(it, "key"))
			if secretKeys[key] == nil {
				t.Errorf("volume %s mounts key %q the Secret lacks", name, key)
			}
			secretFiles[dir+"/"+fmt.Sprint(get(it, "path"))] = key
		}
	}
	// The init container's copies count as files too.
	for _, ic := range list(get(dep, "spec", "template", "spec", "initContainers")) {
		cmd := fmt.Sprint(get(ic, "command"))
		if m := regexp.MustCompile(`install -m 0600 (\S+) (\S+?)"?\]?$`).FindStringSubmatch(cmd); m != nil {
			if key, ok := secretFiles[m[1]]; ok {
				secretFiles[m[2]] = key
			}
		}
	}
	fileFlags := map[string]string{}
	for _, a := range args[1:] {
		name, val, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if strings.HasSuffix(name, "-file") {
			key, ok := secretFiles[val]
			if !ok {
				t.Errorf("--%s=%s: no volume provides that file", name, val)
			}
			fileFlags[name] = key
		}
	}
	if get(volumes["secrets"], "secret", "defaultMode") != uint64(0o440) {
		t.Errorf("the secrets volume's defaultMode = %v, want 0440 (read by the non-root user through fsGroup)", get(volumes["secrets"], "secret", "defaultMode"))
	}

	// Ports and probes: what tsuna serves.
	ports := map[string]bool{}
	for _, p := range list(get(c, "ports")) {
		ports[fmt.Sprint(get(p, "name"))] = true
		if fmt.Sprint(get(p, "containerPort")) != "8080" || !strings.Contains(strings.Join(args, " "), ":8080") {
			t.Errorf("containerPort %v does not match --listen", get(p, "containerPort"))
		}
	}
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		if get(c, probe, "httpGet", "path") != path || !ports[fmt.Sprint(get(c, probe, "httpGet", "port"))] {
			t.Errorf("%s = %v, want %s on a container port", probe, get(c, probe), path)
		}
	}
	if tp := fmt.Sprint(get(svc, "spec", "ports", 0, "targetPort")); !ports[tp] {
		t.Errorf("the Service's targetPort %s is not a container port", tp)
	}
	for k, v := range get(svc, "spec", "selector").(map[string]any) {
		if labels[k] != v {
			t.Errorf("the Service selects %s=%v, which tsuna's pods lack", k, v)
		}
	}
	svcLabels, _ := get(svc, "metadata", "labels").(map[string]any)
	for k, v := range get(mon, "spec", "selector", "matchLabels").(map[string]any) {
		if svcLabels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%v, which the Service lacks", k, v)
		}
	}
	if get(mon, "spec", "endpoints", 0, "port") != get(svc, "spec", "ports", 0, "name") || get(mon, "spec", "endpoints", 0, "path") != "/metrics" {
		t.Errorf("the ServiceMonitor scrapes %v", get(mon, "spec", "endpoints"))
	}
	if get(svc, "metadata", "name") != "tsuna" {
		t.Error(`the Service is not named "tsuna": the job label the alerting rules expect`)
	}
	var res []string
	for _, r := range list(get(m["Kustomization"], "resources")) {
		res = append(res, fmt.Sprint(r))
	}
	if len(res) != 4 {
		t.Errorf("kustomization lists %v", res)
	}

	// Run two replicas as the Deployment would, on one PostgreSQL, with
	// the Secret's files (real values where the placeholders would not do).
	dsn := pgtest.DSN(t)
	values := map[string]string{}
	for k, v := range secretKeys {
		values[k] = fmt.Sprint(v)
	}
	values["database-url"] = dsn
	values["audit-key"] = strings.Repeat("ab", 32)
	var urls []string
	for i := range 2 {
		dir := t.TempDir()
		replicaArgs := append([]string(nil), args...)
		for j, a := range replicaArgs {
			name, val, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if key, ok := fileFlags[name]; ok {
				p := filepath.Join(dir, key)
				os.WriteFile(p, []byte(values[key]+"\n"), 0o600)
				replicaArgs[j] = "--" + name + "=" + p
			} else if name == "prometheus-url" {
				replicaArgs[j] = "--prometheus-url=http://127.0.0.1:1" // none here: SLOs read unknown
			}
			_ = val
		}
		var vars []string
		for name, key := range env {
			vars = append(vars, name+"="+values[key])
		}
		urls = append(urls, startTsuna(t, dir, replicaArgs, vars))
		t.Logf("replica %d ready at %s", i, urls[i])
	}
	// The bootstrap token from the Secret works on both.
	for _, u := range urls {
		req, _ := http.NewRequest("GET", u+"/api/v1/whoami", nil)
		req.Header.Set("Authorization", "Bearer "+values[env[cli.EnvBootstrapToken]])
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("whoami on %s with the Secret's bootstrap token: %v %v", u, err, resp)
		} else {
			resp.Body.Close()
		}
	}
}

// TestAlertingRules checks deploy/prometheus/tsuna-alerts.yaml with
// promtool (syntax, then its unit tests), and that every tsuna metric it
// reads is one tsuna exports.
func TestAlertingRules(t *testing.T) {
	promtool := promtest.Binary(t, "promtool")
	for _, args := range [][]string{{"check", "rules", "prometheus/tsuna-alerts.yaml"}, {"test", "rules", "prometheus/tsuna-alerts.test.yaml"}} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	rules, _ := os.ReadFile("prometheus/tsuna-alerts.yaml")
	for _, want := range []string{"outbox_oldest_pending_age", "tsuna_outbox_failed_messages", `route="/hooks/alertmanager"`, "tsuna_audit_checkpoint_timestamp_seconds"} {
		if !bytes.Contains(rules, []byte(want)) {
			t.Errorf("the rules do not watch %s", want)
		}
	}
	// A tsuna whose deliveries fail (no such channel) exports every metric.
	fake := chatfake.New(t)
	tok := filepath.Join(t.TempDir(), "slack")
	os.WriteFile(tok, []byte(fake.Token()), 0o600)
	dir := t.TempDir()
	url := startTsuna(t, dir, []string{"serve", "--listen=", "--db=" + filepath.Join(dir, "t.db"), "--catalog=" + abs(t, "../examples/catalog"),
		"--alertmanager-token=am-secret-0123456789", "--slack-token-file=" + tok, "--slack-api-url=" + fake.URL() + "/api/"}, []string{"TSUNA_BOOTSTRAP_TOKEN=" + strings.Repeat("b", 40)})
	req, _ := http.NewRequest("POST", url+"/hooks/alertmanager", strings.NewReader(alertingtest.Webhook("firing", "checkout-api", "CheckoutErrors")))
	req.Header.Set("Authorization", "Bearer am-secret-0123456789")
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("webhook: %v %v", err, resp)
	}
	var metrics string
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(metrics, "tsuna_outbox_failed_messages{") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		resp, err := http.Get(url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics = string(b)
	}
	// The webhook rules select the route label of the webhook's requests.
	if !regexp.MustCompile(`tsuna_http_requests_total\{code="200",method="POST",route="/hooks/alertmanager"\} 1`).MatchString(metrics) {
		t.Errorf("/metrics does not count the webhook under route=\"/hooks/alertmanager\", which the webhook rules select:\n%s",
			strings.Join(regexp.MustCompile(`(?m)^tsuna_http_requests_total.*$`).FindAllString(metrics, -1), "\n"))
	}
	for _, name := range regexp.MustCompile(`tsuna_[a-z_]+`).FindAllString(string(rules), -1) {
		if !strings.Contains(metrics, "\n"+name+"{") && !strings.Contains(metrics, "\n"+name+" ") {
			t.Errorf("the rules read %s, which tsuna does not export", name)
		}
	}
}

// TestContainerImage checks deploy/container: the recipe is FROM scratch,
// the context holds a static binary and a CA bundle, and buildah (from
// Debian's packages) builds the image without a registry or a daemon and
// runs tsuna in it.
func TestContainerImage(t *testing.T) {
	recipe, err := os.ReadFile("container/Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^FROM scratch$`).Match(recipe) || regexp.MustCompile(`(?m)^RUN `).Match(recipe) {
		t.Error("the Containerfile is not FROM scratch without RUN steps")
	}
	cmd := exec.Command("container/build")
	cmd.Env = append(os.Environ(), "CONTEXT_ONLY=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("container/build with CONTEXT_ONLY=1: %v", err)
	}
	ctx := strings.TrimSpace(string(out))
	t.Cleanup(func() { os.RemoveAll(ctx) })
	f, err := elf.Open(filepath.Join(ctx, "tsuna"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the image's binary is dynamically linked: it cannot run FROM scratch")
		}
	}
	f.Close()
	if fi, err := os.Stat(filepath.Join(ctx, "ca-certificates.crt")); err != nil || fi.Size() == 0 {
		t.Errorf("no CA bundle in the context: %v", err)
	}

	buildah, err := exec.LookPath("buildah")
	if err != nil {
		t.Fatal("buildah not found: scripts/test installs it (Debian package buildah)")
	}
	tag := fmt.Sprintf("localhost/tsuna-test:%d", time.Now().UnixNano())
	if out, err := exec.Command(buildah, "bud", "--isolation", "chroot", "-f", filepath.Join(ctx, "Containerfile"), "-t", tag, ctx).CombinedOutput(); err != nil {
		t.Fatalf("buildah bud: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(buildah, "rmi", "-f", tag).Run() })
	ctr, err := exec.Command(buildah, "from", tag).Output()
	if err != nil {
		t.Fatalf("buildah from: %v", err)
	}
	name := strings.TrimSpace(string(ctr))
	t.Cleanup(func() { exec.Command(buildah, "rm", name).Run() })
	// The image's own user, working directory and entrypoint.
	user, _ := exec.Command(buildah, "inspect", "--format", "{{.OCIv1.Config.User}} {{.OCIv1.Config.WorkingDir}} {{.OCIv1.Config.Entrypoint}}", tag).Output()
	if got := strings.TrimSpace(string(user)); got != "65532:65532 /var/lib/tsuna [/usr/local/bin/tsuna]" {
		t.Errorf("image config = %q", got)
	}
	v, err := exec.Command(buildah, "run", "--isolation", "chroot", name, "--", "/usr/local/bin/tsuna", "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(v), "tsuna ") {
		t.Errorf("tsuna version in the image: %v %s", err, v)
	}
	// Time zones are embedded: a calendar SLO in Europe/Paris lints.
	lint := "apiVersion: tsuna/v1\nkind: Team\nname: t\n---\napiVersion: tsuna/v1\nkind: Service\nname: s\nteam: t\nslos:\n  - name: a\n    objective: 99\n    window: {calendar: month, timeZone: Europe/Paris}\n    sli: {events: {}}\n"
	file := filepath.Join(t.TempDir(), "paris.yaml")
	os.WriteFile(file, []byte(lint), 0o644)
	if out, err := exec.Command(buildah, "copy", "--chown", "65532:65532", name, file, "/tmp/paris.yaml").CombinedOutput(); err != nil {
		t.Fatalf("buildah copy: %v\n%s", err, out)
	}
	if out, err := exec.Command(buildah, "run", "--isolation", "chroot", name, "--", "/usr/local/bin/tsuna", "lint", "/tmp/paris.yaml").CombinedOutput(); err != nil {
		t.Errorf("a calendar SLO in Europe/Paris in the image: %v\n%s", err, out)
	}
}

func abs(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
