package amconfig_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/amconfig"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/promtest"
)

const base = `route:
  receiver: sre-email
  routes:
    - matchers: ['env="staging"']
      receiver: blackhole
receivers:
  - name: sre-email
    email_configs:
      - to: sre@example.com
        smarthost: 127.0.0.1:25
        from: alerts@example.com
  - name: blackhole
`

// TestBaseFallbackReachesTsuna guards issue 10 item 6: with --base, an
// alert that no route matches reaches tsuna's fallback receiver (so tsuna
// alerts unrouted sees it) and still the base's default receiver; routes of
// the base keep what they match; regenerating from the output changes
// nothing. Checked with Debian's amtool.
func TestBaseFallbackReachesTsuna(t *testing.T) {
	amtool := promtest.Binary(t, "amtool")
	files, err := catalog.ListFiles([]string{"../../examples/catalog"})
	if err != nil {
		t.Fatal(err)
	}
	cat, diags := catalog.Parse(files)
	if cat == nil {
		t.Fatalf("example catalog: %v", diags)
	}
	opts := amconfig.Options{WebhookURL: "http://127.0.0.1:8080/hooks/alertmanager", CredentialsFile: "/etc/alertmanager/tsuna-webhook-token", Base: []byte(base)}
	out, err := amconfig.Generate(cat, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "alertmanager.yml")
	os.WriteFile(path, out, 0o644)
	if b, err := exec.Command(amtool, "check-config", path).CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config: %v\n%s\n%s", err, b, out)
	}
	for labels, want := range map[string]string{
		"alertname=Other":               "tsuna-fallback,sre-email", // unrouted: tsuna sees it, the base's default too
		"team=nobody alertname=X":       "tsuna-fallback,sre-email",
		"team=payments":                 "tsuna-team-payments",
		"env=staging alertname=Staging": "blackhole",
	} {
		args := append([]string{"config", "routes", "test", "--config.file=" + path}, strings.Fields(labels)...)
		b, err := exec.Command(amtool, args...).Output()
		if err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("amtool config routes test %s = %q (%v), want %s", labels, strings.TrimSpace(string(b)), err, want)
		}
	}
	opts.Base = out
	again, err := amconfig.Generate(cat, opts)
	if err != nil || string(again) != string(out) {
		t.Errorf("regenerating from the output changed it (%v):\n%s\nwas:\n%s", err, again, out)
	}

	// Without a base, the root receiver is tsuna's fallback.
	opts.Base = nil
	out, _ = amconfig.Generate(cat, opts)
	os.WriteFile(path, out, 0o644)
	if b, err := exec.Command(amtool, "config", "routes", "test", "--config.file="+path, "alertname=Other").Output(); err != nil || strings.TrimSpace(string(b)) != "tsuna-fallback" {
		t.Errorf("without a base, an unrouted alert goes to %q (%v)", b, err)
	}
}
