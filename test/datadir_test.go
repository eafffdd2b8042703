package test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform/test/tftest"
)

// wantMode fails the test unless path has permissions want.
func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s is %#o, want %#o", path, got, want)
	}
}

// TestSecondServeRefusedWhileTheFirstRuns: a second `landform serve` on
// the data directory of a running one would recover (re-queue) the first
// one's running runs and plan every commit twice; it exits 1 naming the
// first instead, as does a one-shot plan, whose in-process queue the
// daemon's workers would claim from. Commands that only read go on
// working, and once the first daemon stops another may start. The data
// directory Landform creates is its owner's only, and so is the database.
func TestSecondServeRefusedWhileTheFirstRuns(t *testing.T) {
	t.Parallel()
	srv := tftest.StartGitServer(t)
	srv.NewBare("infra")
	work := newPushRepo(t, srv.URL("infra"), infraFiles())
	dataDir := filepath.Join(t.TempDir(), "data") // serve creates it
	config := daemonConfig(t, dataDir, repoYAML("infra", srv.URL("infra"), "ledger: false"))
	first := startDaemon(t, config, dataDir)
	first.waitLog(30*time.Second, "watching branch", "infra")

	wantMode(t, dataDir, 0o700)
	for _, f := range []string{"landform.db", "landform.db-wal", "landform.db-shm"} {
		wantMode(t, filepath.Join(dataDir, f), 0o600)
	}

	inUse := fmt.Sprintf("data directory %s is in use by landform serve, pid %d on host ", dataDir, first.cmd.Process.Pid)
	second := startDaemon(t, config, dataDir)
	var exit *exec.ExitError
	if err := second.wait(30 * time.Second); !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(second.logs.String(), inUse) {
		t.Errorf("a second serve: %v, output:\n%s\nwant exit 1 and %q", err, second.logs.String(), inUse)
	}
	if res := landform(t, "--data-dir", dataDir, "plan", "--repo", work.Dir, "--all"); res.Code != 1 || !strings.Contains(res.Stderr, inUse) {
		t.Errorf("a one-shot plan beside a running daemon: exit %d, stderr:\n%s\nwant exit 1 and %q", res.Code, res.Stderr, inUse)
	}
	for _, cmd := range []string{"runs", "locks"} {
		if res := landform(t, "--data-dir", dataDir, cmd); res.Code != 0 {
			t.Errorf("landform %s beside a running daemon: exit %d\n%s", cmd, res.Code, res.Stderr)
		}
	}

	// The first daemon plans a push once.
	sha := work.change("refs/heads/main", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "a2" }` + "\n"})
	runs := first.waitRuns(60*time.Second, "the plan of the push", func(rs []daemonRun) bool {
		return len(rs) > 0 && rs[0].State == "planned"
	})
	first.waitPolls("infra", 2)
	if runs = first.runs(); len(runs) != 1 || runs[0].Commit != sha {
		t.Errorf("runs = %s, want one plan of %s", toJSON(runs), sha)
	}

	first.signal(syscall.SIGTERM)
	if err := first.wait(60 * time.Second); err != nil {
		t.Fatalf("the first daemon's exit: %v", err)
	}
	next := startDaemon(t, config, dataDir)
	next.waitLog(30*time.Second, "landform serving")
}

// runIDs returns the run IDs of a plan document, as numbers.
func runIDs(t *testing.T, doc planDoc) []int {
	t.Helper()
	var ids []int
	for _, r := range doc.Runs {
		n, err := strconv.Atoi(r.ID)
		if err != nil {
			t.Fatalf("run ID %q is not a number", r.ID)
		}
		ids = append(ids, n)
	}
	return ids
}

// removeDatabase deletes the data directory's database: lost, or replaced
// by an empty one.
func removeDatabase(t *testing.T, dataDir string) {
	t.Helper()
	for _, f := range []string{"landform.db", "landform.db-wal", "landform.db-shm"} {
		if err := os.Remove(filepath.Join(dataDir, f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

// TestPlanRunIDsContinueAfterTheDatabaseIsLost: one-shot plans, the
// database deleted between them. The second plan's runs do not take the
// IDs of the first's, whose plan artifacts are still stored.
func TestPlanRunIDsContinueAfterTheDatabaseIsLost(t *testing.T) {
	t.Parallel()
	env := newPlanEnv(t)
	repo := tftest.NewGitRepo(t).Write(infraFiles())
	repo.Commit("initial")

	var first, second planDoc
	landformJSON(t, 0, &first, env.args("plan", "--repo", repo.Dir, "--all", "--json")...)
	removeDatabase(t, env.dataDir)
	landformJSON(t, 0, &second, env.args("plan", "--repo", repo.Dir, "--all", "--json")...)
	before, after := runIDs(t, first), runIDs(t, second)
	if len(before) != 2 || len(after) != 2 || slices.Min(after) <= slices.Max(before) {
		t.Errorf("run IDs %v, then %v after the database was lost: want the second ones above the first", before, after)
	}
}

// ledgerTree lists the ledger branch of the bare repository as "blob
// path" lines.
func ledgerTree(t *testing.T, bare string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(tftest.Git(t, bare, "ls-tree", "-r", "landform/ledger"), "\n") {
		if f := strings.Fields(line); len(f) == 4 {
			out = append(out, f[2]+" "+f[3])
		}
	}
	return out
}

// TestDaemonRunIDsContinueAboveTheLedger: the daemon's database and plan
// store are lost between two starts; the ledger branch on the remote
// keeps the records. The next run's ID continues above the ledger's, and
// no ledger file is overwritten.
func TestDaemonRunIDsContinueAboveTheLedger(t *testing.T) {
	t.Parallel()
	w := watchInfra(t, infraFiles())
	w.work.change("refs/heads/main", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "a2" }` + "\n"})
	runs := w.d.waitRuns(60*time.Second, "the plan of the push", func(rs []daemonRun) bool {
		return len(rs) == 1 && rs[0].State == "planned"
	})
	firstID := runs[0].ID
	record := fmt.Sprintf("runs/envs/a/%s.json", firstID)
	waitFor(t, 30*time.Second, "the ledger record of run "+firstID, func() bool {
		out, err := gitOutput(w.bare, "ls-tree", "-r", "--name-only", "landform/ledger")
		return err == nil && strings.Contains(out, record)
	})
	w.d.signal(syscall.SIGTERM)
	if err := w.d.wait(60 * time.Second); err != nil {
		t.Fatalf("the daemon's exit: %v", err)
	}
	before := ledgerTree(t, w.bare)

	removeDatabase(t, w.dataDir)
	if err := os.RemoveAll(filepath.Join(w.dataDir, "plans")); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, w.config, w.dataDir)
	d.waitLog(30*time.Second, "watching branch", "infra") // a new database: main is a new baseline
	w.work.change("refs/heads/main", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "a3" }` + "\n"})
	runs = d.waitRuns(60*time.Second, "the plan of the second push", func(rs []daemonRun) bool {
		return len(rs) == 1 && rs[0].State == "planned"
	})
	first, _ := strconv.Atoi(firstID)
	if next, _ := strconv.Atoi(runs[0].ID); next <= first {
		t.Fatalf("run ID %d after the database was lost, want above the ledger's %d", next, first)
	}
	waitFor(t, 30*time.Second, "the ledger record of run "+runs[0].ID, func() bool {
		out, err := gitOutput(w.bare, "ls-tree", "-r", "--name-only", "landform/ledger")
		return err == nil && strings.Contains(out, fmt.Sprintf("runs/envs/a/%s.json", runs[0].ID))
	})
	after := ledgerTree(t, w.bare)
	for _, f := range before {
		if !slices.Contains(after, f) {
			t.Errorf("ledger file overwritten or removed: %s", f)
		}
	}
}
