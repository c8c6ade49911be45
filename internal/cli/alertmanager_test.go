package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/promtest"
)

const amBase = `global:
  resolve_timeout: 5m
  smtp_smarthost: 127.0.0.1:25
  smtp_from: alerts@example.com
route:
  receiver: sre-email
  group_by: [alertname]
  routes:
    - matchers: ['env="staging"']
      receiver: blackhole
receivers:
  - name: sre-email
    email_configs:
      - to: sre@example.com
  - name: blackhole
`

// TestAlertmanagerConfig checks the generated configuration with Debian's
// amtool: it is valid, it keeps the base file, and a team's alert goes to
// that team's receiver.
func TestAlertmanagerConfig(t *testing.T) {
	amtool := promtest.Binary(t, "amtool")
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yml")
	os.WriteFile(base, []byte(amBase), 0o644)
	creds := filepath.Join(dir, "token")
	os.WriteFile(creds, []byte("secret"), 0o600)
	out := filepath.Join(dir, "alertmanager.yml")
	if r := run(t, nil, "alertmanager", "config", "-i", exampleCatalog, "--base", base, "--webhook-url", "http://127.0.0.1:8080/hooks/alertmanager",
		"--credentials-file", creds, "-o", out); r.code != 0 {
		t.Fatalf("alertmanager config: %s", r.stderr)
	}
	if b, err := exec.Command(amtool, "check-config", out).CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, b)
	}
	generated, _ := os.ReadFile(out)
	for _, want := range []string{"resolve_timeout: 5m", "receiver: sre-email", "name: blackhole", `env="staging"`, "credentials_file: " + creds} {
		if !strings.Contains(string(generated), want) {
			t.Errorf("the generated config lost %q from the base", want)
		}
	}
	if strings.Contains(string(generated), "secret") {
		t.Error("the webhook secret is in the configuration")
	}
	for labels, want := range map[string]string{
		"team=payments":                        "tsuna-team-payments",
		"team=payments service=checkout-api":   "tsuna-service-checkout-api", // its own channel
		"team=storefront service=web-frontend": "tsuna-team-storefront",
		"env=staging":                          "blackhole",
		"alertname=Other":                      "tsuna-fallback,sre-email", // unrouted: tsuna and the base's default
	} {
		args := append([]string{"config", "routes", "test", "--config.file=" + out}, strings.Fields(labels)...)
		b, err := exec.Command(amtool, args...).Output() // stdout: the receiver; stderr has a warning
		if err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("amtool config routes test %s = %q (%v), want %s", labels, strings.TrimSpace(string(b)), err, want)
		}
	}
	// Regenerating from its own output keeps one copy of tsuna's routes.
	again := filepath.Join(dir, "again.yml")
	run(t, nil, "alertmanager", "config", "-i", exampleCatalog, "--base", out, "--credentials-file", creds, "-o", again)
	b, _ := os.ReadFile(again)
	if n := strings.Count(string(b), "name: tsuna-team-payments"); n != 1 {
		t.Errorf("regenerated config has %d tsuna-team-payments receivers", n)
	}
}
