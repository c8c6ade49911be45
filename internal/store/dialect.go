package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
)

// dialect is everything that differs between SQLite and PostgreSQL. The
// SQL elsewhere is written once, in the dialect both accept ($N
// parameters, ON CONFLICT, CAST), and asks dialect for the rest.
type dialect struct {
	engine string // SQLite or Postgres
}

func dialectOf(dsn string) dialect {
	if IsPostgresDSN(dsn) {
		return dialect{Postgres}
	}
	return dialect{SQLite}
}

func (d dialect) postgres() bool { return d.engine == Postgres }

// open opens the database pool with each engine's settings.
func (d dialect) open(dsn string) (*sql.DB, error) {
	if d.postgres() {
		db, err := sql.Open("pgx", dsn)
		if err == nil {
			db.SetMaxOpenConns(16)
			db.SetMaxIdleConns(16)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
		return db, err
	}
	db, err := sql.Open("sqlite", sqliteDSN(dsn))
	if err == nil {
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	}
	return db, err
}

// sqliteDSN turns a path into a modernc DSN: WAL for concurrent readers,
// synchronous=FULL so an acknowledged commit survives power loss, foreign
// keys on, and write transactions that take the write lock at BEGIN so two
// writers never deadlock on a lock upgrade.
func sqliteDSN(path string) string {
	path = strings.TrimPrefix(path, "sqlite://")
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// migrations returns goose's dialect and the folder of this engine's
// migrations.
func (d dialect) migrations() (goose.Dialect, string) {
	if d.postgres() {
		return goose.DialectPostgres, "migrations/postgres"
	}
	return goose.DialectSQLite3, "migrations/sqlite"
}

// Advisory lock keys: one per kind of writer that must be serialised
// across replicas on PostgreSQL.
const (
	lockAudit  = 7412720001 // the audit chain's head
	lockOutbox = 7412720002 // outbox claims
)

// lock serialises tx with every other transaction taking the same key,
// until tx ends. SQLite's immediate transactions already hold the one
// write lock.
func (d dialect) lock(ctx context.Context, tx *sql.Tx, key int64) error {
	if !d.postgres() {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, key); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}

// skipLocked is the clause that locks the rows a claim selects and skips
// rows another claimer holds: "FOR UPDATE [OF table] SKIP LOCKED" on
// PostgreSQL; nothing on SQLite, where the claimer holds the write lock.
func (d dialect) skipLocked(of string) string {
	if !d.postgres() {
		return ""
	}
	if of != "" {
		return " FOR UPDATE OF " + of + " SKIP LOCKED"
	}
	return " FOR UPDATE SKIP LOCKED"
}

// placeholder returns the n-th (from 1) parameter of a bulk statement.
// Bulk statements use SQLite's anonymous "?": SQLite resolves each "$N" by
// a linear search of the names before it, which makes a statement of
// thousands of "$N" quadratic. PostgreSQL takes "$1", "$2", ...
func (d dialect) placeholder(b *strings.Builder, n int) {
	if d.postgres() {
		fmt.Fprintf(b, "$%d", n)
	} else {
		b.WriteByte('?')
	}
}

// isUniqueViolation reports whether err is a unique constraint failure.
func (d dialect) isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
