package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// proc is `tsuna serve` running as its own process.
type proc struct {
	cmd *exec.Cmd
	url string
	log *syncBuffer
}

// startProcess starts the tsuna binary serving db on a free port.
func startProcess(t *testing.T, db string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--listen", "127.0.0.1:0", "--db", db}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: &syncBuffer{}}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.log.Write([]byte(sc.Text() + "\n"))
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case addr := <-found:
		p.url = "http://" + addr
	case <-time.After(30 * time.Second):
		t.Fatalf("tsuna serve did not start:\n%s", p.log.String())
	}
	return p
}

func TestCatalogSurvivesSIGKILLRightAfterApply(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		env := []string{"TSUNA_BOOTSTRAP_TOKEN=" + adminSecret}
		p := startProcess(t, dsn, env)
		r := run(t, map[string]string{"TSUNA_SERVER": p.url, "TSUNA_TOKEN": adminSecret}, "apply", exampleCatalog)
		if r.code != 0 || !strings.Contains(r.stdout, "applied: 15 created") {
			t.Fatalf("apply: %d %s %s", r.code, r.stdout, r.stderr)
		}
		// The answer is in: kill at once, with no chance to flush anything.
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()

		p2 := startProcess(t, dsn, env)
		var out struct{ Services []struct{ Name string } }
		call(t, "GET", p2.url+"/api/v1/services", adminSecret, "", &out)
		if len(out.Services) != 11 {
			t.Fatalf("after SIGKILL and restart: %d services, want 11", len(out.Services))
		}
		if r := run(t, nil, "audit", "verify", "--db", dsn); r.code != 0 || !strings.Contains(r.stdout, "16 records verified") {
			t.Errorf("audit after restart: %d %s %s", r.code, r.stdout, r.stderr)
		}
	})
}

func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	p := startProcess(t, filepath.Join(t.TempDir(), "t.db"), nil, "--log-format", "json")
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.log.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("tsuna serve did not stop on SIGTERM")
	}
	if !strings.Contains(p.log.String(), `"msg":"shutting down"`) {
		t.Errorf("no JSON shutdown log:\n%s", p.log.String())
	}
}

func TestBootstrapTokenPrintedOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "t.db")
	p := startProcess(t, db, nil)
	// Its stderr is not a terminal: the secret goes to a file only its
	// owner reads, whose path the log gives; never into the log.
	file := filepath.Join(filepath.Dir(db), "tsuna-bootstrap-token")
	b, err := os.ReadFile(file)
	m := regexp.MustCompile(`^(tsuna_[a-z0-9]+)\n$`).FindStringSubmatch(string(b))
	if err != nil || m == nil || !strings.Contains(p.log.String(), file) || strings.Contains(p.log.String(), m[1]) {
		t.Fatalf("bootstrap token file %s: %v %q\n%s", file, err, b, p.log.String())
	}
	os.Remove(file)
	var who struct{ Name, Role string }
	if call(t, "GET", p.url+"/api/v1/whoami", m[1], "", &who); who.Name != "bootstrap" || who.Role != "admin" {
		t.Fatalf("bootstrap token = %+v", who)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	p2 := startProcess(t, db, nil)
	if _, err := os.Stat(file); err == nil || strings.Contains(p2.log.String(), "tsuna-bootstrap-token") {
		t.Error("a second start made another token")
	}
	// The token is stored only as a hash.
	raw, _ := os.ReadFile(db)
	wal, _ := os.ReadFile(db + "-wal")
	if strings.Contains(string(raw)+string(wal), m[1]) {
		t.Error("the database file holds the token in clear")
	}
}

func TestAuditVerifyNamesTamperedRecord(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		startServer(t, dsn, "--catalog", exampleCatalog).stop()
		if r := run(t, nil, "audit", "verify", "--db", dsn); r.code != 0 || !strings.Contains(r.stdout, "audit log intact: 16 records verified") {
			t.Fatalf("intact: %d %s %s", r.code, r.stdout, r.stderr)
		}
		db, err := store.Open(context.Background(), dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// Someone with database rights removes the guard and rewrites history.
		for _, stmt := range tamperStatements(db.Engine(), `UPDATE audit_log SET after = '{"name":"checkout-api","team":"payments","tier":3}' WHERE seq = 9`) {
			if _, err := db.SQL().Exec(stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		r := run(t, nil, "audit", "verify", "--db", dsn, "--output", "json")
		var res struct {
			OK    bool
			Break struct {
				Seq    int64
				Reason string
			}
		}
		json.Unmarshal([]byte(r.stdout), &res)
		if r.code != 1 || res.OK || res.Break.Seq != 9 {
			t.Errorf("tampered: exit %d %s", r.code, r.stdout)
		}
		if r := run(t, nil, "audit", "verify", "--db", dsn); !strings.Contains(r.stdout, "audit log BROKEN at record 9") {
			t.Errorf("text output: %s", r.stdout)
		}
	})
}

func tamperStatements(engine, stmt string) []string {
	if engine == store.Postgres {
		return []string{`DROP TRIGGER audit_log_append_only ON audit_log`, stmt}
	}
	return []string{`DROP TRIGGER audit_log_no_update`, stmt}
}
