package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/store/sqlite"
	"github.com/landform/landform/store/storetest"
)

var _ runner.Store = (*sqlite.DB)(nil)

func open(t *testing.T, path string, opts ...sqlite.Option) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return open(t, filepath.Join(t.TempDir(), "landform.db"))
	})
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "landform.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	r := storetest.NewRun("infra", "net")
	if err := db.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	r.State, r.StartedAt = landform.StateRunning, r.CreatedAt.Add(time.Second)
	if err := db.UpdateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(t, path)
	got, err := db.GetRun(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckRun(t, got, r)
	next := storetest.NewRun("infra", "app")
	if err := db.CreateRun(t.Context(), next); err != nil {
		t.Fatal(err)
	}
	if next.ID == r.ID {
		t.Errorf("reopened DB reused run ID %s", r.ID)
	}
}

func TestWithClock(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 42, time.FixedZone("X", -7200))
	db := open(t, filepath.Join(t.TempDir(), "landform.db"), sqlite.WithClock(func() time.Time { return now }))
	r := storetest.NewRun("infra", "net")
	if err := db.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if !r.CreatedAt.Equal(now) || r.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", r.CreatedAt, now)
	}
}

// TestPathWithSpecialCharacters checks that the path reaches SQLite intact
// and that Open creates the missing parent directories.
func TestPathWithSpecialCharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a b?c#d%20é", "sub", "landform.db")
	db := open(t, path)
	if err := db.CreateRun(t.Context(), storetest.NewRun("infra", "net")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not at its path: %v", err)
	}
}

func TestOpenInvalid(t *testing.T) {
	for _, path := range []string{"", ":memory:"} {
		if _, err := sqlite.Open(t.Context(), path); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("Open(%q) = %v, want EINVALID", path, err)
		}
	}
}

func TestNegativeLimit(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "landform.db"))
	_, err := db.ListRuns(t.Context(), landform.RunFilter{Limit: -1})
	if landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("ListRuns with limit -1 = %v, want EINVALID", err)
	}
}

// TestTwoHandles writes through two handles on one file at once, the way
// the daemon and a CLI command share the data directory.
func TestTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "landform.db")
	dbs := []*sqlite.DB{open(t, path), open(t, path)}
	errs := make([]error, 16)
	var wg sync.WaitGroup
	for g := range errs {
		wg.Go(func() {
			for i := range 8 {
				r := storetest.NewRun("infra", fmt.Sprintf("ws-%d-%d", g, i))
				if errs[g] = dbs[g%2].CreateRun(t.Context(), r); errs[g] != nil {
					return
				}
				r.State = landform.StateRunning
				if errs[g] = dbs[(g+1)%2].UpdateRun(t.Context(), r); errs[g] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", g, err)
		}
	}
	runs, err := dbs[0].ListRuns(t.Context(), landform.RunFilter{States: []landform.RunState{landform.StateRunning}})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 16*8 {
		t.Errorf("%d running runs, want %d", len(runs), 16*8)
	}
}

// TestDatabaseFilesArePrivate: the database holds run records and error
// texts, so it and its -wal and -shm files are the owner's only, whatever
// the umask; a file an older Landform left readable by others is made
// private when opened.
func TestDatabaseFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "landform.db")
	db := open(t, path)
	if err := db.CreateRun(t.Context(), storetest.NewRun("infra", "net")); err != nil {
		t.Fatal(err)
	}
	wantMode(t, dir, 0o700)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		wantMode(t, p, 0o600)
	}
	db.Close()

	legacy := filepath.Join(t.TempDir(), "landform.db")
	if err := os.WriteFile(legacy, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(legacy, 0o644); err != nil {
		t.Fatal(err)
	}
	db = open(t, legacy)
	if err := db.CreateRun(t.Context(), storetest.NewRun("infra", "net")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{legacy, legacy + "-wal", legacy + "-shm"} {
		wantMode(t, p, 0o600)
	}
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s is %#o, want %#o", filepath.Base(path), got, want)
	}
}

// TestRunIDFloorSurvivesReopen: the raised sequence is in the file, not in
// the handle.
func TestRunIDFloorSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "landform.db")
	db := open(t, path)
	if err := db.EnsureNextRunID(t.Context(), 500); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open(t, path)
	r := storetest.NewRun("infra", "net")
	if err := db.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if r.ID != "500" {
		t.Errorf("first run ID after EnsureNextRunID(500) and a reopen: %s, want 500", r.ID)
	}
}
