// Package pgtest runs a real PostgreSQL for tests: one cluster per test
// process, made with initdb in a temporary directory when the first test
// asks for a database, serving on a free port of 127.0.0.1 and trusting
// local connections, and stopped (its directory removed) when the
// package's tests end. Each test gets a database of its own, dropped when
// it ends.
//
// A package that uses it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.NewDatabase(t)
//		…
//	}
//
// The binaries (initdb, postgres) are found by BinDir. Without them
// NewDatabase fails the test — a skip would hide the PostgreSQL tests in
// CI — except under `go test -short`, where it skips. `scripts/setup
// --with postgres` installs them. PostgreSQL refuses to run as root; as
// root, the server runs as the user "postgres" (which the Debian package
// creates).
//
// The test cluster runs without fsync (see Options.Durable), its data on
// tmpfs (/dev/shm) when there is room: fast, and a crash loses only test
// data. Benchmarks that want a production-like server Start their own
// cluster with Durable set, on disk.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// shared is the test process's cluster, started by the first NewDatabase.
var shared struct {
	main    atomic.Bool // Main was called: someone stops the cluster
	once    sync.Once
	cluster *Cluster
	err     error
	dbs     atomic.Int64
}

// Main runs m's tests, then stops every cluster this process started and
// did not stop (the shared one, and those of Start), and exits with the
// tests' code. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain with work of its own after the tests: it
// runs m's tests, stops the clusters and returns the exit code.
func Run(m *testing.M) int {
	shared.main.Store(true)
	code := m.Run()
	if err := StopAll(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// StopAll stops every cluster this process started and did not stop yet.
// Main calls it; a TestMain that cannot use Main calls it after m.Run.
func StopAll() error {
	running.Lock()
	var cs []*Cluster
	for c := range running.m {
		cs = append(cs, c)
	}
	running.Unlock()
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Stop())
	}
	return errors.Join(errs...)
}

// Shared returns the test process's cluster, starting it on the first
// call. It fails the test when the cluster cannot start, or when the
// binaries are missing (skips it under -short), and when the package's
// TestMain does not call Main, which stops the cluster.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	if !shared.main.Load() {
		t.Fatal("pgtest: the package's TestMain must call pgtest.Main, which stops the cluster")
	}
	shared.once.Do(func() {
		shared.cluster, shared.err = Start(context.Background(), Options{})
	})
	if errors.Is(shared.err, ErrNoBinaries) && testing.Short() {
		t.Skipf("pgtest: %v; skipped under -short", shared.err)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.cluster
}

// NewDatabase creates an empty database on the shared cluster, drops it
// when the test ends, and returns its DSN (postgres://…, over TCP, as the
// superuser). See Shared for when it fails or skips the test.
func NewDatabase(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	name := fmt.Sprintf("test_%d_%s", shared.dbs.Add(1), identPart(t.Name()))
	dsn, err := c.CreateDatabase(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The test's context is done by now.
		if err := c.DropDatabase(context.Background(), name); err != nil {
			t.Error(err)
		}
	})
	return dsn
}

// identPart returns the letters, digits and underscores of a test name,
// lower-cased, at most 40 of them: a readable part of a database name.
func identPart(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case b.Len() >= 40:
			return b.String()
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == '/':
			b.WriteByte('_')
		}
	}
	return b.String()
}
