// Package sqlite is Landform's embedded store: run records, the queue (the
// runs in state queued: ClaimRun, SupersedeRuns, RecoverRuns), workspace
// locks, the last commit processed per ref and the ledger outbox, in one
// SQLite file, through the pure-Go driver modernc.org/sqlite. Everything the
// daemon needs to resume after a restart or a crash is here.
//
// Every connection runs in WAL mode with a busy timeout and foreign keys on,
// and begins transactions with BEGIN IMMEDIATE, so concurrent writers (also
// from other processes sharing the file) wait for each other instead of
// failing with "database is locked".
//
// Open brings the schema up to date: the SQL files in migrations/, named
// NNNN_name.sql, are applied in order, all pending ones in one transaction,
// and recorded in the schema_migrations table. To change the schema, append a
// file; never edit one that has been released.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/landform/landform"
)

// busyTimeout is how long a statement waits for another writer's lock.
const busyTimeout = 10 * time.Second

// DB is a Landform store in one SQLite file. It is safe for concurrent use.
type DB struct {
	db         *sql.DB
	now        func() time.Time
	migrations []migration
}

// Option configures a DB.
type Option func(*DB)

// WithClock sets the clock that stamps CreatedAt on new runs and locks,
// StartedAt on claimed runs and FinishedAt on superseded and interrupted
// ones (default: time.Now).
func WithClock(now func() time.Time) Option {
	return func(db *DB) {
		if now != nil {
			db.now = now
		}
	}
}

// withMigrations replaces the embedded migrations; tests use it to play an
// older or a newer Landform.
func withMigrations(ms []migration) Option {
	return func(db *DB) { db.migrations = ms }
}

// Open opens the SQLite database at path, creating it (0600: it, and its
// -wal and -shm files, are readable by the owner only) and its parent
// directory (0700) when missing, and migrates it to the current schema. An
// existing database file readable by others is made 0600.
//
// Returns EINVALID for an empty path or ":memory:", and for a database whose
// schema is newer than this Landform knows.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if path == "" || path == ":memory:" {
		return nil, landform.Errorf(landform.EINVALID, "database path %q: want a file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	if err := private(abs); err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	db := &DB{now: time.Now}
	for _, o := range opts {
		o(db)
	}
	if db.migrations == nil {
		if db.migrations, err = embeddedMigrations(); err != nil {
			return nil, err
		}
	}

	// A file: URI, so that any character in the path is escaped; the
	// underscore parameters are the driver's and run on every new connection.
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate")
	dsn := (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String()
	if db.db, err = sql.Open("sqlite", dsn); err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	if err := db.init(ctx); err != nil {
		db.db.Close()
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	return db, nil
}

// private creates the database file at path readable and writable by its
// owner only (0600), or takes group and other permissions away from one
// that has them (made by an older Landform). SQLite gives the -wal and
// -shm files the database file's mode; existing ones are set too.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return err
			}
		}
	}
	return nil
}

func (db *DB) init(ctx context.Context) error {
	var mode string
	if err := db.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	return db.migrate(ctx)
}

// Close closes the database.
func (db *DB) Close() error {
	return db.db.Close()
}
