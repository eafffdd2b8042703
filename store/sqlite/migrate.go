package sqlite

import (
	"context"
	"embed"
	"fmt"
	"path"
	"strconv"
	"strings"

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

// migrate applies the migrations the database lacks, all in one immediate
// transaction, so that the schema moves to the latest version or not at all
// and concurrent Opens apply each migration once. A database holding a
// version it does not know was made by a newer Landform: EINVALID.
func (db *DB) migrate(ctx context.Context) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	applied, newest := map[int]bool{}, 0
	rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrating: %w", err)
		}
		applied[v] = true
		newest = max(newest, v)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	rows.Close()

	if known := len(db.migrations); newest > known {
		return landform.Errorf(landform.EINVALID,
			"database schema is at version %d, newer than the %d this Landform knows: upgrade Landform", newest, known)
	}
	for _, m := range db.migrations {
		if applied[m.version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("applying migration %d (%s): %w", m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.version, m.name, formatTime(db.now())); err != nil {
			return fmt.Errorf("recording migration %d (%s): %w", m.version, m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	return nil
}
