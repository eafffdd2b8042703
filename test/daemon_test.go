package test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	lf "github.com/landform/landform"
	"github.com/landform/landform/store/sqlite"
	"github.com/landform/landform/test/tftest"
)

const pollInterval = time.Second

// infraFiles are two small workspaces that need no provider.
func infraFiles() map[string]string {
	return map[string]string{
		"README.md":      "# infra\n",
		"envs/a/main.tf": `resource "terraform_data" "a" { input = "a1" }` + "\n",
		"envs/b/main.tf": `resource "terraform_data" "b" { input = "b1" }` + "\n",
	}
}

// repoYAML is one entry of the config's repos list.
func repoYAML(name, url string, extra ...string) string {
	s := fmt.Sprintf("  - name: %s\n    url: %s\n    poll_interval: %s\n", name, url, pollInterval)
	for _, e := range extra {
		s += "    " + e + "\n"
	}
	return s
}

// pushRepo is a working copy that pushes to a remote URL.
type pushRepo struct {
	*tftest.GitRepo
	url string
}

func newPushRepo(t *testing.T, url string, files map[string]string) *pushRepo {
	r := &pushRepo{GitRepo: tftest.NewGitRepo(t), url: url}
	r.Write(files).Commit("initial")
	r.push("main")
	return r
}

// push pushes refspecs to the remote.
func (r *pushRepo) push(refspecs ...string) {
	r.Git(append([]string{"push", "--quiet", "--force", r.url}, refspecs...)...)
}

// change writes files, commits and pushes HEAD to ref.
func (r *pushRepo) change(ref string, files map[string]string) string {
	sha := r.Write(files).Commit("change " + strings.Join(keys(files), ", "))
	r.push("HEAD:" + ref)
	return sha
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// watchedInfra is an infra repository served over smart HTTP and a daemon
// watching it, past its first poll (main taken as the baseline).
type watchedInfra struct {
	srv     *tftest.GitServer
	bare    string
	work    *pushRepo
	dataDir string
	config  string
	d       *daemon
}

// watchInfra serves files as repo "infra" and starts a daemon on it; repo
// holds extra lines of its config entry ("pull_requests: true", …).
func watchInfra(t *testing.T, files map[string]string, repo ...string) *watchedInfra {
	t.Helper()
	w := &watchedInfra{srv: tftest.StartGitServer(t), dataDir: t.TempDir()}
	w.bare = w.srv.NewBare("infra")
	w.work = newPushRepo(t, w.srv.URL("infra"), files)
	w.config = daemonConfig(t, w.dataDir, repoYAML("infra", w.srv.URL("infra"), repo...))
	w.d = startDaemon(t, w.config, w.dataDir)
	w.d.waitLog(30*time.Second, "watching branch", "infra")
	return w
}

func TestDaemonPlansPushedCommitsAndIdlesCheaply(t *testing.T) {
	t.Parallel()
	w := watchInfra(t, infraFiles(), "ledger: false")
	srv, work, d := w.srv, w.work, w.d

	pushed := time.Now()
	sha := work.change("refs/heads/main", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "a2" }` + "\n"})
	runs := d.waitRuns(30*time.Second, "a plan run of the pushed commit", func(rs []daemonRun) bool { return len(rs) > 0 })
	// Queued within two poll intervals of the push (by the daemon's own
	// clock: the test's polling of `landform runs` adds nothing), plus a
	// second for the fetch and the analysis on a loaded CI machine.
	latency := runs[0].CreatedAt.Sub(pushed)
	t.Logf("run queued %s after the push", latency.Round(10*time.Millisecond))
	if latency > 2*pollInterval+time.Second {
		t.Errorf("run queued %s after the push, want within two poll intervals (%s)", latency, 2*pollInterval)
	}
	runs = d.waitRuns(60*time.Second, "the plan to finish", func(rs []daemonRun) bool { return len(rs) > 0 && rs[0].State != "queued" && rs[0].State != "running" })
	if len(runs) != 1 || runs[0].Workspace != "envs/a" || runs[0].Commit != sha || runs[0].State != "planned" || runs[0].Ref != "refs/heads/main" {
		t.Fatalf("runs = %s, want one planned run of envs/a at %s", toJSON(runs), sha)
	}

	// An unchanged repo costs one ref listing per poll and no fetch.
	fetches, listings := srv.Fetches(), srv.RefListings()
	d.waitPolls("infra", 4)
	if got := srv.Fetches(); got != fetches {
		t.Errorf("%d fetches while nothing changed", got-fetches)
	}
	if got := srv.RefListings() - listings; got < 2 || got > 6 {
		t.Errorf("%d ref listings in 4 poll rounds, want about 4", got)
	}
	if n := len(d.runs()); n != 1 {
		t.Errorf("%d runs after idling, want 1", n)
	}
}

func TestDaemonPullRequestPlansAgainstMergeBase(t *testing.T) {
	t.Parallel()
	srv := tftest.StartGitServer(t)
	srv.NewBare("infra")
	gitURL := tftest.StartGitDaemon(t, srv.Root) + "/infra.git"
	work := newPushRepo(t, gitURL, infraFiles())
	forkPoint := work.Head()
	dataDir := t.TempDir()
	d := startDaemon(t, daemonConfig(t, dataDir, repoYAML("infra", gitURL, "pull_requests: true", "ledger: false")), dataDir)
	d.waitLog(30*time.Second, "watching branch", "infra")

	// main moves on (b), then a pull request forked before that changes a.
	work.change("refs/heads/main", map[string]string{"envs/b/main.tf": `resource "terraform_data" "b" { input = "b2" }` + "\n"})
	d.waitRuns(30*time.Second, "the plan of main", func(rs []daemonRun) bool { return len(rs) == 1 })
	work.Checkout(forkPoint).Branch("feature")
	prSHA := work.change("refs/pull/1/head", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "a-pr" }` + "\n"})

	runs := d.waitRuns(60*time.Second, "the pull request's plan", func(rs []daemonRun) bool {
		pr := runsOf(rs, func(r daemonRun) bool { return r.Ref == "refs/pull/1/head" })
		return len(pr) > 0 && pr[0].State == "planned"
	})
	pr := runsOf(runs, func(r daemonRun) bool { return r.Ref == "refs/pull/1/head" })
	if len(pr) != 1 || pr[0].Workspace != "envs/a" || pr[0].Commit != prSHA {
		t.Errorf("pull request runs = %s, want only envs/a (its merge base is before main's change to b)", toJSON(pr))
	}
}

func TestDaemonSupersedesOlderPlans(t *testing.T) {
	t.Parallel()
	w := watchInfra(t, infraFiles(), "ledger: false")
	work, d := w.work, w.d

	first := work.change("refs/heads/main", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "v2" }` + "\n"})
	d.waitRuns(60*time.Second, "the first plan", func(rs []daemonRun) bool { return len(rs) == 1 && rs[0].State == "planned" })
	second := work.change("refs/heads/main", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "v3" }` + "\n"})
	runs := d.waitRuns(60*time.Second, "the second plan", func(rs []daemonRun) bool { return len(rs) == 2 && rs[0].State == "planned" })
	if runs[0].Commit != second || runs[1].Commit != first || runs[1].State != "superseded" {
		t.Errorf("runs = %s, want the first superseded by the second", toJSON(runs))
	}
}

func TestDaemonStrictLocksBetweenPullRequests(t *testing.T) {
	t.Parallel()
	w := watchInfra(t, infraFiles(), "pull_requests: true", "lock_policy: strict", "ledger: false")
	work, d, dataDir := w.work, w.d, w.dataDir
	base := work.Head()

	work.Branch("pr-a")
	work.change("refs/pull/1/head", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "pr-a" }` + "\n"})
	d.waitRuns(60*time.Second, "pull request A's plan", func(rs []daemonRun) bool { return len(rs) == 1 && rs[0].State == "planned" })

	work.Checkout(base).Branch("pr-b")
	work.change("refs/pull/2/head", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "pr-b" }` + "\n"})
	runs := d.waitRuns(30*time.Second, "pull request B's run", func(rs []daemonRun) bool { return len(rs) == 2 })
	d.waitPolls("infra", 2) // B must stay blocked, not get planned
	runs = d.runs()
	b := runsOf(runs, func(r daemonRun) bool { return r.Ref == "refs/pull/2/head" })
	if len(b) != 1 || b[0].State != "queued" || !strings.Contains(b[0].Error, "locked by pr/1") {
		t.Fatalf("pull request B = %s, want queued and naming pr/1 as the lock holder", toJSON(b))
	}

	// Closing A (its head ref goes away) frees the workspace for B.
	work.push(":refs/pull/1/head")
	d.waitRuns(60*time.Second, "B planned once A closed", func(rs []daemonRun) bool {
		b := runsOf(rs, func(r daemonRun) bool { return r.Ref == "refs/pull/2/head" })
		return len(b) == 1 && b[0].State == "planned"
	})

	// Now B holds the lock; C waits for it until a person unlocks.
	var locks struct {
		Locks []struct{ Workspace, Holder string } `json:"locks"`
	}
	landformJSON(t, 0, &locks, "--data-dir", dataDir, "locks", "--json")
	if len(locks.Locks) != 1 || locks.Locks[0].Holder != "pr/2" || locks.Locks[0].Workspace != "envs/a" {
		t.Fatalf("locks = %+v, want envs/a held by pr/2", locks.Locks)
	}
	work.Checkout(base).Branch("pr-c")
	work.change("refs/pull/3/head", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "pr-c" }` + "\n"})
	d.waitRuns(30*time.Second, "C blocked by B", func(rs []daemonRun) bool {
		c := runsOf(rs, func(r daemonRun) bool { return r.Ref == "refs/pull/3/head" })
		return len(c) == 1 && c[0].State == "queued" && strings.Contains(c[0].Error, "locked by pr/2")
	})
	res := landform(t, "--data-dir", dataDir, "unlock", "envs/a")
	if res.Code != 0 || !strings.Contains(res.Stdout, "was held by pr/2") {
		t.Fatalf("unlock: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	d.waitRuns(60*time.Second, "C planned once unlocked", func(rs []daemonRun) bool {
		c := runsOf(rs, func(r daemonRun) bool { return r.Ref == "refs/pull/3/head" })
		return len(c) == 1 && c[0].State == "planned"
	})
}

func TestDaemonWritesTheLedger(t *testing.T) {
	t.Parallel()
	w := watchInfra(t, infraFiles())
	bare, work, d := w.bare, w.work, w.d

	sha := work.change("refs/heads/main", map[string]string{
		"envs/a/main.tf": `resource "terraform_data" "a" { input = "a2" }` + "\n",
		"envs/b/main.tf": `resource "terraform_data" "b" { input = "b2" }` + "\n",
	})
	runs := d.waitRuns(60*time.Second, "two plans", func(rs []daemonRun) bool {
		return len(rs) == 2 && rs[0].State == "planned" && rs[1].State == "planned"
	})
	var want []string
	for _, r := range runs {
		want = append(want, fmt.Sprintf("runs/%s/%s.json", r.Workspace, r.ID), fmt.Sprintf("runs/%s/%s.md", r.Workspace, r.ID))
	}
	waitFor(t, 30*time.Second, "ledger files on the remote", func() bool {
		out, err := gitOutput(bare, "ls-tree", "-r", "--name-only", "landform/ledger")
		if err != nil {
			return false
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				return false
			}
		}
		return true
	})
	rec := tftest.Git(t, bare, "show", fmt.Sprintf("landform/ledger:runs/envs/a/%s.json", runsOf(runs, func(r daemonRun) bool { return r.Workspace == "envs/a" })[0].ID))
	if !strings.Contains(rec, sha) || !strings.Contains(rec, `"state": "planned"`) {
		t.Errorf("ledger record:\n%s", rec)
	}
	// The code history is untouched: the ledger is its own branch.
	if got := tftest.Git(t, bare, "rev-parse", "main"); got != sha {
		t.Errorf("main moved to %s", got)
	}
}

// hangingBackend is a Terraform HTTP state backend whose reads block until
// released, so a test can catch a plan while terraform runs.
type hangingBackend struct {
	srv      *httptest.Server
	mu       sync.Mutex
	release  chan struct{}
	requests chan struct{}
}

func newHangingBackend(t *testing.T) *hangingBackend {
	h := &hangingBackend{release: make(chan struct{}), requests: make(chan struct{}, 100)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case h.requests <- struct{}{}:
		default:
		}
		h.mu.Lock()
		release := h.release
		h.mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		http.NotFound(w, r) // no state yet
	}))
	t.Cleanup(func() { h.Release(); h.srv.Close() })
	return h
}

func (h *hangingBackend) Release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.release:
	default:
		close(h.release)
	}
}

func (h *hangingBackend) config() string {
	return fmt.Sprintf("terraform {\n  backend \"http\" {\n    address = %q\n  }\n}\n", h.srv.URL+"/state")
}

func TestDaemonCrashRecovery(t *testing.T) {
	t.Parallel()
	backend := newHangingBackend(t)
	files := infraFiles()
	files["envs/slow/main.tf"] = `resource "terraform_data" "s" { input = "s1" }` + "\n"
	w := watchInfra(t, files, "ledger: false")
	work, d, dataDir, config := w.work, w.d, w.dataDir, w.config

	sha := work.change("refs/heads/main", map[string]string{"envs/slow/backend.tf": backend.config()})
	d.waitRuns(30*time.Second, "the plan running", func(rs []daemonRun) bool { return len(rs) == 1 && rs[0].State == "running" })
	select {
	case <-backend.requests:
	case <-time.After(60 * time.Second):
		t.Fatal("terraform never reached the backend")
	}
	d.signal(syscall.SIGKILL)
	d.wait(10 * time.Second)

	// An apply a killed process left applying: flagged, never re-applied.
	db, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "landform.db"))
	if err != nil {
		t.Fatal(err)
	}
	apply := &lf.Run{Repo: "infra", Workspace: "envs/b", Dir: "envs/b", Commit: sha, Ref: "refs/heads/main",
		Kind: lf.RunApply, State: lf.StateApplying, StartedAt: time.Now().UTC()}
	if err := db.CreateRun(context.Background(), apply); err != nil {
		t.Fatal(err)
	}
	db.Close()

	backend.Release()
	d2 := startDaemon(t, config, dataDir)
	runs := d2.waitRuns(60*time.Second, "the interrupted plan re-queued and planned", func(rs []daemonRun) bool {
		plans := runsOf(rs, func(r daemonRun) bool { return r.Workspace == "envs/slow" })
		return len(plans) == 2 && plans[0].State == "planned"
	})
	plans := runsOf(runs, func(r daemonRun) bool { return r.Workspace == "envs/slow" })
	if plans[1].State != "interrupted" || plans[0].Commit != sha {
		t.Errorf("envs/slow runs = %s, want the killed one interrupted and a new one planned", toJSON(plans))
	}
	applies := runsOf(runs, func(r daemonRun) bool { return r.Kind == "apply" })
	if len(applies) != 1 || applies[0].State != "interrupted" || applies[0].Error == "" {
		t.Errorf("apply runs = %s, want exactly the one, interrupted and flagged", toJSON(applies))
	}
	d2.waitLog(10*time.Second, "apply was interrupted", "run="+apply.ID)
}

func TestDaemonGracefulStopInterruptsTerraform(t *testing.T) {
	t.Parallel()
	backend := newHangingBackend(t)
	w := watchInfra(t, infraFiles(), "ledger: false")
	work, d := w.work, w.d

	work.change("refs/heads/main", map[string]string{"envs/a/backend.tf": backend.config()})
	d.waitRuns(30*time.Second, "the plan running", func(rs []daemonRun) bool { return len(rs) == 1 && rs[0].State == "running" })
	<-backend.requests
	stopped := time.Now()
	d.signal(syscall.SIGTERM)
	if err := d.wait(30 * time.Second); err != nil {
		t.Errorf("daemon exit after SIGTERM: %v", err)
	}
	// shutdown_grace is 3s; then terraform gets SIGINT and, hung on the
	// backend, is killed after the engine's own grace.
	t.Logf("stopped in %s", time.Since(stopped).Round(100*time.Millisecond))
	runs := d.runs()
	if len(runs) != 2 || runs[1].State != "interrupted" || runs[0].State != "queued" {
		t.Errorf("runs = %s, want the interrupted run and its re-queued copy", toJSON(runs))
	}
}

func TestDaemonUnreachableRepoDoesNotStopOthers(t *testing.T) {
	t.Parallel()
	srv := tftest.StartGitServer(t)
	srv.NewBare("infra")
	work := newPushRepo(t, srv.URL("infra"), infraFiles())
	dataDir := t.TempDir()
	repos := repoYAML("gone", tftest.ClosedURL(t), "ledger: false") + repoYAML("infra", srv.URL("infra"), "ledger: false")
	d := startDaemon(t, daemonConfig(t, dataDir, repos), dataDir)
	d.waitLog(30*time.Second, "watching branch", "infra")
	d.waitLog(30*time.Second, "poll failed", "gone")

	// /healthz names the failing repository and keeps answering.
	health, err := d.health()
	if err != nil || health.Status != "degraded" || len(health.Repos) != 2 || health.Repos[0].LastError == "" || health.Repos[1].LastError != "" {
		t.Errorf("/healthz = %+v (%v), want gone failing and infra healthy", health, err)
	}

	for i := range 2 {
		work.change("refs/heads/main", map[string]string{"envs/a/main.tf": fmt.Sprintf(`resource "terraform_data" "a" { input = "n%d" }`+"\n", i)})
		d.waitRuns(60*time.Second, "the healthy repo planned", func(rs []daemonRun) bool {
			return len(rs) == i+1 && rs[0].State == "planned" && rs[0].Repo == "infra"
		})
	}
}

func TestDaemonReportsABrokenCommitAndGoesOn(t *testing.T) {
	t.Parallel()
	w := watchInfra(t, infraFiles(), "ledger: false")
	work, d := w.work, w.d

	broken := work.change("refs/heads/main", map[string]string{".landform.yaml": "version: 1\nworkspaces:\n  - dri: envs/a\n"})
	runs := d.waitRuns(30*time.Second, "the broken commit reported", func(rs []daemonRun) bool { return len(rs) == 1 })
	if runs[0].State != "errored" || runs[0].Commit != broken || !strings.Contains(runs[0].Error, ".landform.yaml:3:5") {
		t.Fatalf("runs = %s, want one errored run naming .landform.yaml:3:5", toJSON(runs))
	}
	// Reported once, not on every poll; a fixed commit plans again.
	d.waitPolls("infra", 2)
	if n := len(d.runs()); n != 1 {
		t.Errorf("%d runs after more polls, want the one report", n)
	}
	work.Remove(".landform.yaml")
	fixed := work.change("refs/heads/main", map[string]string{"envs/b/main.tf": `resource "terraform_data" "b" { input = "b9" }` + "\n"})
	d.waitRuns(60*time.Second, "the fixed commit planned", func(rs []daemonRun) bool {
		return len(rs) >= 2 && rs[0].Commit == fixed && rs[0].State == "planned"
	})
}

func TestValidateServerConfig(t *testing.T) {
	t.Parallel()
	good := daemonConfig(t, t.TempDir(), repoYAML("infra", "https://git.example.com/org/infra.git"))
	if res := landform(t, "validate", "--config", good); res.Code != 0 || !strings.Contains(res.Stdout, "ok (1 repositories, 0 policy sets)") {
		t.Errorf("validate of a good config: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	bad := filepath.Join(t.TempDir(), "landform.yaml")
	tftest.WriteFiles(t, filepath.Dir(bad), map[string]string{"landform.yaml": `repos:
  - name: infra
    url: https://user:hunter2@git.example.com/org/infra.git
    poll_interval: 5 minutes
`})
	res := landform(t, "validate", "--config", bad)
	if res.Code != 1 {
		t.Fatalf("validate of a bad config: exit %d", res.Code)
	}
	for _, want := range []string{"landform.yaml:3:10: repos[0].url", "landform.yaml:4:20: repos[0].poll_interval"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, res.Stderr)
		}
	}
	if strings.Contains(res.Stderr, "hunter2") {
		t.Errorf("validate echoed the password:\n%s", res.Stderr)
	}
}
