package pgtest_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/landform/landform/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connecting to %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(t.Context()) })
	return conn
}

// TestDatabasesAreSeparate: each test database is empty and its own, on
// one cluster, on loopback.
func TestDatabasesAreSeparate(t *testing.T) {
	a, b := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	if a == b {
		t.Fatalf("two databases with one DSN %s", a)
	}
	for _, dsn := range []string{a, b} {
		if !strings.HasPrefix(dsn, "postgres://postgres@127.0.0.1:") {
			t.Errorf("DSN %s: want the superuser on loopback", dsn)
		}
	}
	ca, cb := connect(t, a), connect(t, b)
	if _, err := ca.Exec(t.Context(), "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := cb.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n); err != nil || n != 0 {
		t.Errorf("database b sees a's table: %d, %v", n, err)
	}
	var version string
	if err := ca.QueryRow(t.Context(), "SHOW server_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if c := pgtest.Shared(t); !strings.HasPrefix(version, c.Version) {
		t.Errorf("server_version %s, cluster version %s", version, c.Version)
	}
}

// TestDroppedAtCleanup: a test's database is gone once the test ended,
// even with a connection left open.
func TestDroppedAtCleanup(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		dsn := pgtest.NewDatabase(t)
		conn := connect(t, dsn)
		if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		leaked, err := pgx.Connect(t.Context(), dsn) // never closed: DROP … WITH (FORCE) ends it
		if err != nil {
			t.Fatal(err)
		}
		_ = leaked
	})
	conn := connect(t, pgtest.Shared(t).DSN("postgres"))
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after its test", name)
	}
}

// TestStartStop: a cluster of its own (as benchmarks use), durable, stops
// and leaves nothing behind.
func TestStartStop(t *testing.T) {
	pgtest.Shared(t) // fails or skips as the others do without binaries
	c, err := pgtest.Start(t.Context(), pgtest.Options{Durable: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	dsn, err := c.CreateDatabase(t.Context(), "bench")
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, dsn)
	var fsync string
	if err := conn.QueryRow(t.Context(), "SHOW fsync").Scan(&fsync); err != nil || fsync != "on" {
		t.Errorf("fsync of a durable cluster = %q, %v", fsync, err)
	}
	conn.Close(t.Context())
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s after Stop: %v", c.Dir, err)
	}
	if _, err := pgx.Connect(t.Context(), dsn); err == nil {
		t.Error("the stopped cluster still answers")
	}
}

// TestBinDir: LANDFORM_PG_BIN wins, and a wrong one is an error naming
// the setup command, not a fallback.
func TestBinDir(t *testing.T) {
	dir, err := pgtest.BinDir()
	if err != nil {
		if testing.Short() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Setenv("LANDFORM_PG_BIN", dir)
	if got, err := pgtest.BinDir(); err != nil || got != dir {
		t.Errorf("BinDir with LANDFORM_PG_BIN=%s = %q, %v", dir, got, err)
	}
	t.Setenv("LANDFORM_PG_BIN", t.TempDir())
	_, err = pgtest.BinDir()
	if !errors.Is(err, pgtest.ErrNoBinaries) || !strings.Contains(err.Error(), "scripts/setup --with postgres") {
		t.Errorf("BinDir with an empty LANDFORM_PG_BIN = %v, want ErrNoBinaries naming the setup command", err)
	}
}
