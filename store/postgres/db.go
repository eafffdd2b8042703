// Package postgres is Landform's store for several replicas: the same run
// records, queue, workspace locks, poll state, outboxes, approvals, tokens
// and leases as store/sqlite, with the same contract (store/storetest), in
// a PostgreSQL database shared by every replica, through pgx.
//
// # Concurrency
//
// Every change that reads before it writes runs in one READ COMMITTED
// transaction that locks what it reads. The queue is claimed with SELECT …
// FOR UPDATE SKIP LOCKED, so replicas claiming at once skip each other's
// runs instead of waiting; what keeps one workspace to one running run is
// described at ClaimRun. Leases are rows that expire by the database's
// clock (now()), so that replicas' clocks need not agree.
//
// # Times
//
// Run, lock, outbox, approval, token and session times are stored as text,
// UTC RFC 3339 with exactly nine fractional digits, the layout store/sqlite
// uses, in columns of the "C" collation: text order is time order, and
// times keep their nanoseconds, which the contract asks for and timestamptz
// (microseconds) would round away. They come from the DB's clock (WithClock)
// as in store/sqlite; only leases, which replicas compare, are timestamptz
// from the database's clock.
//
// # Schema
//
// Open brings the schema up to date: the SQL files in migrations/, named
// NNNN_name.sql, are applied in order, all pending ones in one transaction
// under an advisory lock (replicas starting at once apply each once), and
// recorded in the schema_migrations table. A database whose schema is newer
// than this Landform knows is refused. To change the schema, append a file;
// never edit one that has been released.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/landform/landform"
)

// DB is a Landform store in a PostgreSQL database. It is safe for
// concurrent use, by goroutines and by other processes (replicas) on the
// same database.
type DB struct {
	pool       *pgxpool.Pool
	now        func() time.Time
	migrations []migration
	// listenDSN, when set, is where WatchSignals listens (WithListenDSN).
	listenDSN string
}

// Option configures a DB.
type Option func(*DB)

// WithClock sets the clock that stamps CreatedAt on new runs and locks,
// StartedAt on claimed runs, FinishedAt on superseded and interrupted
// ones, and the times of outbox entries, approvals, tokens and sessions
// (default: time.Now), as store/sqlite's WithClock does. Leases do not use
// it: they expire by the database's clock.
func WithClock(now func() time.Time) Option {
	return func(db *DB) {
		if now != nil {
			db.now = now
		}
	}
}

// WithListenDSN makes WatchSignals listen on a connection of its own to
// dsn rather than on one taken from the pool: for a pool that goes
// through a transaction-pooling proxy (PgBouncer's pool_mode =
// transaction), which does not carry LISTEN, dsn reaches PostgreSQL
// directly (or through session pooling). "" keeps the pool's.
func WithListenDSN(dsn string) Option {
	return func(db *DB) { db.listenDSN = dsn }
}

// withMigrations replaces the embedded migrations; tests use it to play an
// older or a newer Landform.
func withMigrations(ms []migration) Option {
	return func(db *DB) { db.migrations = ms }
}

// Open connects to the PostgreSQL database dsn names (a URL,
// postgres://user:password@host:port/database?sslmode=…, or key=value
// pairs, as pgx reads them; pool_max_conns and the other pgxpool settings
// may be given in it) and migrates it to the current schema.
//
// Returns EINVALID for an empty or malformed dsn, and for a database whose
// schema is newer than this Landform knows. Errors never quote the dsn,
// which may hold a password.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	if dsn == "" {
		return nil, landform.Errorf(landform.EINVALID, "postgres: empty DSN")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message redacts the password.
		return nil, landform.Errorf(landform.EINVALID, "postgres: %v", err)
	}
	db := &DB{now: time.Now}
	for _, o := range opts {
		o(db)
	}
	if db.listenDSN != "" {
		if _, err := pgx.ParseConfig(db.listenDSN); err != nil {
			return nil, landform.Errorf(landform.EINVALID, "postgres: the listen DSN: %v", err)
		}
	}
	if db.migrations == nil {
		if db.migrations, err = embeddedMigrations(); err != nil {
			return nil, err
		}
	}
	if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("opening database on %s: %w", cfg.ConnConfig.Host, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("opening database %s on %s: %w", cfg.ConnConfig.Database, cfg.ConnConfig.Host, err)
	}
	return db, nil
}

// Close closes the connections.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// txAttempts bounds how often inTx runs a transaction that PostgreSQL
// aborted to break a deadlock.
const txAttempts = 5

// inTx runs fn in one READ COMMITTED transaction, committed when fn
// returns nil. fn's error rolls it back and is returned as is; callers
// wrap it. A transaction PostgreSQL chose as a deadlock's victim (or a
// serialization failure) is run again, up to txAttempts times: fn must
// set its results afresh on each call.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, db.pool, fn)
		if attempt < txAttempts && retryable(err) {
			continue
		}
		return err
	}
}

// retryable reports whether err is PostgreSQL breaking a deadlock or a
// serialization conflict: the same transaction may succeed when run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// isUniqueViolation reports whether err is a unique constraint refusing a
// row.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
