package postgres

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/pgtest"
)

func embedded(t *testing.T) []migration {
	t.Helper()
	ms, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func openWith(t *testing.T, dsn string, ms []migration) (*DB, error) {
	t.Helper()
	db, err := Open(t.Context(), dsn, withMigrations(ms))
	if err == nil {
		t.Cleanup(func() { db.Close() })
	}
	return db, err
}

func versions(t *testing.T, db *DB) []int {
	t.Helper()
	rows, err := db.pool.Query(t.Context(), "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
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
	var ok bool
	if err := db.pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// withFake returns the embedded migrations plus a next one, as a newer
// Landform would have it. Its table references runs, to show foreign keys
// hold across migrations.
func withFake(t *testing.T) []migration {
	ms := embedded(t)
	return append(slices.Clone(ms), migration{
		version: len(ms) + 1,
		name:    "fake",
		sql: `CREATE TABLE fake_approvals (
			id     bigint PRIMARY KEY,
			run_id bigint NOT NULL REFERENCES runs (id)
		);
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
	db, err := Open(t.Context(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := versions(t, db); !slices.Equal(got, upTo(len(ms))) {
		t.Errorf("applied versions %v, want %v", got, upTo(len(ms)))
	}
}

func TestMigrateOlderDatabase(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	old, err := openWith(t, dsn, embedded(t))
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := old.pool.QueryRow(t.Context(), `INSERT INTO runs (repo, workspace, kind, state, created_at)
		VALUES ('infra', 'net', 'plan', 'queued', '2026-11-23T13:57:01.000000000Z') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	old.Close()

	ms := withFake(t)
	db, err := openWith(t, dsn, ms)
	if err != nil {
		t.Fatalf("opening an older database: %v", err)
	}
	if got := versions(t, db); !slices.Equal(got, upTo(len(ms))) {
		t.Errorf("applied versions %v, want %v", got, upTo(len(ms)))
	}
	if !hasTable(t, db, "fake_approvals") {
		t.Error("migration not applied: no table fake_approvals")
	}
	if _, err := db.GetRun(t.Context(), formatID(id)); err != nil {
		t.Errorf("run lost in migration: %v", err)
	}
	if _, err := db.pool.Exec(t.Context(), "INSERT INTO fake_approvals (id, run_id) VALUES (1, $1)", id); err != nil {
		t.Errorf("insert referencing run %d: %v", id, err)
	}
	if _, err := db.pool.Exec(t.Context(), "INSERT INTO fake_approvals (id, run_id) VALUES (2, 999)"); err == nil {
		t.Error("foreign key not enforced")
	}
	db.Close()

	// Opening again applies nothing more.
	if db, err = openWith(t, dsn, ms); err != nil {
		t.Fatal(err)
	}
	if got := versions(t, db); !slices.Equal(got, upTo(len(ms))) {
		t.Errorf("applied versions %v after reopening, want %v", got, upTo(len(ms)))
	}
}

func TestNewerDatabaseRefused(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	newer, err := openWith(t, dsn, withFake(t))
	if err != nil {
		t.Fatal(err)
	}
	newer.Close()

	_, err = Open(t.Context(), dsn)
	if landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer database: %v, want EINVALID saying it is newer", err)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	ms := embedded(t)
	broken := append(slices.Clone(ms), migration{
		version: len(ms) + 1,
		name:    "broken",
		sql:     "CREATE TABLE half_done (id integer); INSERT INTO no_such_table VALUES (1);",
	})

	// Up to date but for the broken one: it leaves nothing behind.
	dsn := pgtest.NewDatabase(t)
	db, err := openWith(t, dsn, ms)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := openWith(t, dsn, broken); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("Open with a broken migration = %v, want an error naming it", err)
	}
	if db, err = openWith(t, dsn, ms); err != nil {
		t.Fatal(err)
	}
	if got := versions(t, db); !slices.Equal(got, upTo(len(ms))) {
		t.Errorf("applied versions %v, want %v", got, upTo(len(ms)))
	}
	if hasTable(t, db, "half_done") {
		t.Error("the failed migration left its table")
	}

	// A new database: the pending migrations go in together or not at all.
	dsn = pgtest.NewDatabase(t)
	if _, err := openWith(t, dsn, broken); err == nil {
		t.Fatal("Open with a broken migration succeeded")
	}
	if db, err = openWith(t, dsn, []migration{}); err != nil {
		t.Fatal(err)
	}
	if got := versions(t, db); len(got) != 0 || hasTable(t, db, "runs") {
		t.Errorf("a failed Open applied versions %v", got)
	}
}

// TestConcurrentOpens: replicas starting at once on a new database all
// open it, and each migration is applied once.
func TestConcurrentOpens(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	const replicas = 8
	errs := make([]error, replicas)
	dbs := make([]*DB, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { dbs[i], errs[i] = Open(t.Context(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		return
	}
	if got, want := versions(t, dbs[0]), upTo(len(embedded(t))); !slices.Equal(got, want) {
		t.Errorf("applied versions %v, want %v, each once", got, want)
	}
}
