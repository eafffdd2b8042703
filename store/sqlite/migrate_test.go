package sqlite

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/landform/landform"
)

func embedded(t *testing.T) []migration {
	t.Helper()
	ms, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func openWith(t *testing.T, path string, ms []migration) (*DB, error) {
	t.Helper()
	db, err := Open(t.Context(), path, withMigrations(ms))
	if err == nil {
		t.Cleanup(func() { db.Close() })
	}
	return db, err
}

func versions(t *testing.T, db *DB) []int {
	t.Helper()
	rows, err := db.db.QueryContext(t.Context(), "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func upTo(n int) []int {
	vs := make([]int, n)
	for i := range vs {
		vs[i] = i + 1
	}
	return vs
}

func hasTable(t *testing.T, db *DB, name string) bool {
	t.Helper()
	var n int
	if err := db.db.QueryRowContext(t.Context(),
		"SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// withFake returns the embedded migrations plus a next one, as a newer
// Landform would have it. Its table references runs, to show foreign keys
// are enforced.
func withFake(t *testing.T) []migration {
	ms := embedded(t)
	return append(slices.Clone(ms), migration{
		version: len(ms) + 1,
		name:    "fake",
		sql: `CREATE TABLE fake_approvals (
			id     INTEGER PRIMARY KEY,
			run_id INTEGER NOT NULL REFERENCES runs (id)
		) STRICT;
		CREATE INDEX fake_approvals_run ON fake_approvals (run_id);`,
	})
}

func TestEmbeddedMigrations(t *testing.T) {
	ms := embedded(t)
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, m := range ms {
		if m.version != i+1 || m.name == "" || strings.TrimSpace(m.sql) == "" {
			t.Errorf("migration %d: %+v", i, m)
		}
	}
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "landform.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := versions(t, db); !slices.Equal(got, upTo(len(ms))) {
		t.Errorf("applied versions %v, want %v", got, upTo(len(ms)))
	}
}

func TestPragmas(t *testing.T) {
	db, err := openWith(t, filepath.Join(t.TempDir(), "landform.db"), embedded(t))
	if err != nil {
		t.Fatal(err)
	}
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "10000",
	} {
		var got string
		if err := db.db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestMigrateOlderDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "landform.db")
	old, err := openWith(t, path, embedded(t)[:1])
	if err != nil {
		t.Fatal(err)
	}
	// A row as the version-1 schema holds it (today's CreateRun writes
	// columns that schema lacks).
	res, err := old.db.ExecContext(t.Context(), `INSERT INTO runs (repo, workspace, kind, state, created_at)
		VALUES ('infra', 'net', 'plan', 'queued', '2026-11-23T13:57:01.000000000Z')`)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	r := &landform.Run{ID: strconv.FormatInt(id, 10)}
	old.Close()

	ms := withFake(t)
	db, err := openWith(t, path, ms)
	if err != nil {
		t.Fatalf("opening an older database: %v", err)
	}
	if got := versions(t, db); !slices.Equal(got, upTo(len(ms))) {
		t.Errorf("applied versions %v, want %v", got, upTo(len(ms)))
	}
	if !hasTable(t, db, "fake_approvals") {
		t.Error("migration not applied: no table fake_approvals")
	}
	if _, err := db.GetRun(t.Context(), r.ID); err != nil {
		t.Errorf("run lost in migration: %v", err)
	}
	if _, err := db.db.ExecContext(t.Context(), "INSERT INTO fake_approvals (run_id) VALUES (?)", r.ID); err != nil {
		t.Errorf("insert referencing run %s: %v", r.ID, err)
	}
	if _, err := db.db.ExecContext(t.Context(), "INSERT INTO fake_approvals (run_id) VALUES (999)"); err == nil {
		t.Error("foreign key not enforced")
	}
	db.Close()

	// Opening again applies nothing more.
	db, err = openWith(t, path, ms)
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(t, db); !slices.Equal(got, upTo(len(ms))) {
		t.Errorf("applied versions %v after reopening, want %v", got, upTo(len(ms)))
	}
}

func TestNewerDatabaseRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "landform.db")
	newer, err := openWith(t, path, withFake(t))
	if err != nil {
		t.Fatal(err)
	}
	newer.Close()

	_, err = Open(t.Context(), path)
	if landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer database: %v, want EINVALID saying it is newer", err)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	ms := embedded(t)
	broken := append(slices.Clone(ms), migration{
		version: len(ms) + 1,
		name:    "broken",
		sql:     "CREATE TABLE half_done (id INTEGER); INSERT INTO no_such_table VALUES (1);",
	})

	// Up to date but for the broken one: it leaves nothing behind.
	path := filepath.Join(t.TempDir(), "current.db")
	db, err := openWith(t, path, ms)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := openWith(t, path, broken); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("Open with a broken migration = %v, want an error naming it", err)
	}
	if db, err = openWith(t, path, ms); err != nil {
		t.Fatal(err)
	}
	if got := versions(t, db); !slices.Equal(got, upTo(len(ms))) {
		t.Errorf("applied versions %v, want %v", got, upTo(len(ms)))
	}
	if hasTable(t, db, "half_done") {
		t.Error("the failed migration left its table")
	}

	// A new database: the pending migrations go in together or not at all.
	path = filepath.Join(t.TempDir(), "new.db")
	if _, err := openWith(t, path, broken); err == nil {
		t.Fatal("Open with a broken migration succeeded")
	}
	if db, err = openWith(t, path, []migration{}); err != nil {
		t.Fatal(err)
	}
	if got := versions(t, db); len(got) != 0 || hasTable(t, db, "runs") {
		t.Errorf("a failed Open applied versions %v", got)
	}
}
