// Package pgtest gives tests a fresh PostgreSQL database each: on the server
// named by TSUNA_TEST_POSTGRES, or on a private cluster it starts from
// Debian's PostgreSQL binaries on 127.0.0.1 and a free port, and stops by pid
// when the tests end. Under CI=true a missing PostgreSQL fails the test; it
// never skips.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvServer names a PostgreSQL server URL (with a user that may create
// databases) to use instead of starting a cluster.
const EnvServer = "TSUNA_TEST_POSTGRES"

var (
	once    sync.Once
	server  string // base URL without database
	cluster *exec.Cmd
	dir     string
	initErr error
	counter atomic.Int64
)

// Run runs the tests of a package and then stops the cluster it started.
// Use it from TestMain: os.Exit(pgtest.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the private cluster, if one was started, by its pid.
func Stop() {
	if cluster == nil || cluster.Process == nil {
		return
	}
	cluster.Process.Signal(syscall.SIGINT) // fast shutdown
	done := make(chan struct{})
	go func() { cluster.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cluster.Process.Kill()
		<-done
	}
	os.RemoveAll(dir)
	cluster = nil
}

// DSN returns the URL of a new, empty database that is dropped when t ends.
func DSN(t testing.TB) string {
	t.Helper()
	once.Do(func() { server, initErr = start() })
	if initErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required under CI: %v (install it with scripts/test, or set %s)", initErr, EnvServer)
		}
		t.Skipf("PostgreSQL not available: %v (install it with scripts/test, or set %s)", initErr, EnvServer)
	}
	name := fmt.Sprintf("tsuna_test_%d_%d", os.Getpid(), counter.Add(1))
	admin, err := sql.Open("pgx", server+"/postgres?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", server+"/postgres?sslmode=disable")
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	return server + "/" + name + "?sslmode=disable"
}

func start() (string, error) {
	if s := os.Getenv(EnvServer); s != "" {
		return s, nil
	}
	bin, err := findBin()
	if err != nil {
		return "", err
	}
	dir, err = os.MkdirTemp("", "tsuna-pgtest-")
	if err != nil {
		return "", err
	}
	data := filepath.Join(dir, "data")
	cred, err := credential(dir)
	if err != nil {
		return "", err
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	cluster = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "max_connections=300", "-c", "shared_buffers=128MB")
	cluster.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return "", err
	}
	cluster.Stdout, cluster.Stderr = logf, logf
	if err := cluster.Start(); err != nil {
		return "", fmt.Errorf("start postgres: %w", err)
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, _ := sql.Open("pgx", url+"/postgres?sslmode=disable")
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		db.Close()
		if err == nil {
			return url, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			Stop()
			return "", fmt.Errorf("postgres did not start: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// findBin returns the directory of initdb and postgres.
func findBin() (string, error) {
	if p, err := exec.LookPath("pg_config"); err == nil {
		if out, err := exec.Command(p, "--bindir").Output(); err == nil {
			d := string(out[:len(out)-1])
			if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
				return d, nil
			}
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(matches) == 0 {
		return "", errors.New("no PostgreSQL server binaries (apt-get install postgresql)")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// credential returns the user to run PostgreSQL as: it refuses root, so
// as root use the "postgres" account and give it dir.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Engine names, as the store reports them.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// ForEachEngine runs fn as a subtest on a fresh SQLite file (subtest
// "sqlite") and on a fresh PostgreSQL database (subtest "postgres"); dsn is
// what the store opens.
func ForEachEngine(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, engine := range []string{SQLite, Postgres} {
		t.Run(engine, func(t *testing.T) {
			fn(t, EngineDSN(t, engine))
		})
	}
}

// EngineDSN returns what the store opens for a fresh, empty database of
// engine (SQLite or Postgres): a file in a temporary directory, or a new
// PostgreSQL database; either is removed when tb ends.
func EngineDSN(tb testing.TB, engine string) string {
	tb.Helper()
	if engine == Postgres {
		return DSN(tb)
	}
	return filepath.Join(tb.TempDir(), "tsuna.db")
}
