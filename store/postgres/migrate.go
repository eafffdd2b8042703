package postgres

import (
	"context"
	"embed"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/landform/landform"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema change. Versions are 1, 2, 3… in order.
type migration struct {
	version int
	name    string
	sql     string
}

// migrationLock is the key of the transaction-level advisory lock that
// serializes migrations: "landform" in ASCII. The single-key form of
// pg_advisory_xact_lock is a lock space apart from the two-key form that
// workspaces use (workspaceLockSQL).
const migrationLock int64 = 0x6c616e64666f726d

// embeddedMigrations returns the migrations in migrations/, in order. A
// malformed file name or a gap in the numbering is an error (and a test
// failure long before a release).
func embeddedMigrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries { // ReadDir sorts by name
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || name == "" {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", e.Name())
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration %s: number %d, want %d", e.Name(), v, len(ms)+1)
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	return ms, nil
}

// migrate applies the migrations the database lacks, all in one
// transaction holding the migration lock, so that the schema moves to the
// latest version or not at all, and replicas opening the database at once
// apply each migration once (the later ones wait, then find nothing to
// do). A database holding a version it does not know was made by a newer
// Landform: EINVALID.
func (db *DB) migrate(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at text NOT NULL
		)`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT version FROM schema_migrations")
		if err != nil {
			return err
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return err
		}
		applied, newest := map[int]bool{}, 0
		for _, v := range versions {
			applied[v] = true
			newest = max(newest, v)
		}
		if known := len(db.migrations); newest > known {
			return landform.Errorf(landform.EINVALID,
				"database schema is at version %d, newer than the %d this Landform knows: upgrade Landform", newest, known)
		}
		for _, m := range db.migrations {
			if applied[m.version] {
				continue
			}
			// No arguments: pgx sends it as a simple query, which may
			// hold several statements.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("applying migration %d (%s): %w", m.version, m.name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				m.version, m.name, formatTime(db.now())); err != nil {
				return fmt.Errorf("recording migration %d (%s): %w", m.version, m.name, err)
			}
		}
		return nil
	})
	if landform.ErrorCode(err) == landform.EINVALID {
		return err
	}
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	return nil
}
