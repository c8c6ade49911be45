// Package store keeps tsuna's state in SQLite (the embedded default) or
// PostgreSQL, behind one implementation: the SQL is written once in the
// dialect both accept, and the few differences live in dialect.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tsuna-sre/tsuna"
)

//go:embed migrations
var migrations embed.FS

// Engines.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// DB is tsuna's database.
type DB struct {
	db  *sql.DB
	d   dialect
	log *slog.Logger
	now func() time.Time
	// auditKey, when set, keys the audit chain (see SetAuditKey).
	auditKey []byte
	path     string // the SQLite file; for PostgreSQL, unused
}

// lockFile takes an exclusive lock on path (created if missing) and
// returns its release.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// IsPostgresDSN reports whether dsn names a PostgreSQL database.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn, a postgres:// URL or a SQLite file
// path, and applies pending migrations, each in its own transaction.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &DB{d: dialectOf(dsn), log: log, now: time.Now, path: strings.TrimPrefix(dsn, "sqlite://")}
	var err error
	d.db, err = d.d.open(dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", d.d.engine, err)
	}
	if err := d.db.PingContext(ctx); err != nil {
		d.db.Close()
		return nil, fmt.Errorf("open %s database: %s", d.d.engine, redact(err, dsn))
	}
	if err := d.migrate(ctx); err != nil {
		d.db.Close()
		return nil, err
	}
	return d, nil
}

// redact removes a DSN's password from an error message.
func redact(err error, dsn string) string {
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

func (d *DB) migrate(ctx context.Context) error {
	dialect, dir := d.d.migrations()
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var opts []goose.ProviderOption
	if !d.d.postgres() {
		// Processes that open one SQLite file at once (serve and a CLI
		// command, say) take turns, by a lock on a file beside it.
		unlock, err := lockFile(d.path + ".migrate-lock")
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer unlock()
	}
	if d.d.postgres() {
		// Replicas that start a new version at once take turns: a session
		// advisory lock holds every other migrator until the first is done.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, d.db, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s database: %w", d.d.engine, err)
	}
	for _, r := range results {
		d.log.Info("applied migration", "version", r.Source.Version, "path", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// Engine returns SQLite or Postgres.
func (d *DB) Engine() string { return d.d.engine }

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.db.PingContext(ctx); err != nil {
		return &tsuna.Error{Code: tsuna.EUNAVAILABLE, Message: "database unreachable"}
	}
	return nil
}

// SQL returns the underlying handle, for tests and tools that inspect the
// database directly.
func (d *DB) SQL() *sql.DB { return d.db }

// tx runs fn in a transaction, committing when fn returns nil.
func (d *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// lockAudit serialises writers of the audit chain.
func (d *DB) lockAudit(ctx context.Context, tx *sql.Tx) error {
	return d.d.lock(ctx, tx, lockAudit)
}

// nowUTC is the store's clock at the audit log's precision.
func (d *DB) nowUTC() time.Time { return d.now().UTC().Truncate(time.Microsecond) }

// placeholders returns "(p,p,...),(...)" for rows rows of cols columns.
func (d *DB) placeholders(rows, cols int) string {
	var b strings.Builder
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			d.d.placeholder(&b, n)
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// maxParams bounds the parameters of one statement, below SQLite's 32766
// and PostgreSQL's 65535.
const maxParams = 30000

// insertRows runs "prefix VALUES (...),(...) suffix" in batches.
func (d *DB) insertRows(ctx context.Context, tx *sql.Tx, prefix, suffix string, cols int, rows [][]any) error {
	per := maxParams / cols
	for len(rows) > 0 {
		n := min(per, len(rows))
		args := make([]any, 0, n*cols)
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, prefix+" VALUES "+d.placeholders(n, cols)+" "+suffix, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// filter builds a WHERE clause of "$N" conditions.
type filter struct {
	where []string
	args  []any
}

// add appends cond, a format with one %d for the parameter number, bound to v.
func (f *filter) add(cond string, v any) {
	f.args = append(f.args, v)
	f.where = append(f.where, fmt.Sprintf(cond, len(f.args)))
}

// during adds the half-open window [since, until) on column, each bound
// when it is set.
func (f *filter) during(column string, since, until time.Time) {
	if !since.IsZero() {
		f.add(column+" >= $%d", since.UTC())
	}
	if !until.IsZero() {
		f.add(column+" < $%d", until.UTC())
	}
}

// clause returns " WHERE a AND b", or "" without conditions.
func (f *filter) clause() string {
	if len(f.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(f.where, " AND ")
}
