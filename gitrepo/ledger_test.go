package gitrepo_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
)

const ledger = "landform/ledger"

// ledgerFiles lists the files of the ledger branch in the repository whose
// git directory is gitDir.
func ledgerFiles(t *testing.T, gitDir string) []string {
	t.Helper()
	return strings.Fields(runGit(t, gitDir, "--git-dir", gitDir, "ls-tree", "-r", "--name-only", ledger))
}

// wantLinear checks that the ledger branch is a chain of commits from one
// root and returns their number.
func wantLinear(t *testing.T, gitDir string) int {
	t.Helper()
	lines := strings.Split(runGit(t, gitDir, "--git-dir", gitDir, "rev-list", "--parents", ledger), "\n")
	roots := 0
	for _, l := range lines {
		switch n := len(strings.Fields(l)); n {
		case 1:
			roots++
		case 2:
		default:
			t.Errorf("ledger commit with %d parents: %s", n-1, l)
		}
	}
	if roots != 1 {
		t.Errorf("ledger history has %d roots, want 1", roots)
	}
	// The objects Landform wrote are well formed.
	runGit(t, gitDir, "--git-dir", gitDir, "fsck", "--strict", "--no-dangling", "--no-progress")
	return len(lines)
}

func entry(msg string, files ...string) gitrepo.LedgerEntry {
	e := gitrepo.LedgerEntry{Message: msg}
	for _, f := range files {
		e.Files = append(e.Files, gitrepo.LedgerFile{Path: f, Data: []byte("content of " + f + "\n")})
	}
	return e
}

// newLedger returns the writer of r's ledger branch ("" for the default).
func newLedger(t *testing.T, r *gitrepo.Repo, branch string, opts ...gitrepo.LedgerOption) *gitrepo.Ledger {
	t.Helper()
	l, err := gitrepo.NewLedger(r, branch, opts...)
	if err != nil {
		t.Fatalf("NewLedger(%s, %q): %v", r, branch, err)
	}
	return l
}

func writeLedger(t *testing.T, l *gitrepo.Ledger, sig gitrepo.Signature, entries ...gitrepo.LedgerEntry) string {
	t.Helper()
	sha, err := l.Write(context.Background(), sig, entries)
	if err != nil {
		t.Fatalf("Ledger.Write: %v", err)
	}
	return sha
}

func TestWriteLedgerRemote(t *testing.T) {
	clock := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			s := newServed(t)
			remote := filepath.Join(s.base, "repo.git")
			prefix, opts := p.serve(t, s.base)
			opts = append(opts, gitrepo.WithDataDir(t.TempDir()))
			r := openRemote(t, prefix+"repo.git", opts...)
			l := newLedger(t, r, "", gitrepo.WithClock(func() time.Time { return clock }))
			w := watch(t, r)

			// The first write creates the orphan branch on the remote.
			sha1 := writeLedger(t, l, gitrepo.Signature{},
				entry("plan envs/prod: 1 to add\n\nRun 1 of envs/prod.", "runs/envs/prod/1.md", "runs/envs/prod/1.json"))
			if diff := cmp.Diff([]string{"runs/envs/prod/1.json", "runs/envs/prod/1.md"}, ledgerFiles(t, remote)); diff != "" {
				t.Errorf("ledger files (-want +got):\n%s", diff)
			}
			log := runGit(t, remote, "--git-dir", remote, "log", "--format=%H|%P|%an <%ae>|%cn <%ce>|%aI|%s", ledger)
			want := sha1 + "||Landform <landform@localhost>|Landform <landform@localhost>|2026-03-04T05:06:07+00:00|plan envs/prod: 1 to add"
			if log != want {
				t.Errorf("ledger log:\n%s\nwant\n%s", log, want)
			}
			if body := runGit(t, remote, "--git-dir", remote, "log", "-1", "--format=%b", ledger); body != "Run 1 of envs/prod." {
				t.Errorf("commit body %q", body)
			}
			if err := exec.Command("git", "--git-dir", remote, "merge-base", "main", ledger).Run(); err == nil {
				t.Errorf("the ledger shares history with main")
			}

			// A second write adds a commit on top and keeps the earlier files.
			e2 := entry("drift envs/prod", "drift/2026-03-04/envs-prod.md")
			e2.Files = append(e2.Files, gitrepo.LedgerFile{Path: "runs/envs/prod/1.md", Data: []byte("# run 1, applied\n")})
			// Run 1's record, updated: its entry says so.
			e2.Replaces = func(existing map[string][]byte) bool {
				return string(existing["runs/envs/prod/1.md"]) == "content of runs/envs/prod/1.md\n"
			}
			sha2 := writeLedger(t, l, gitrepo.Signature{Name: "Ops Bot", Email: "ops@example.com"}, e2)
			if got := runGit(t, remote, "--git-dir", remote, "log", "-1", "--format=%P|%an <%ae>", ledger); got != sha1+"|Ops Bot <ops@example.com>" {
				t.Errorf("second commit: %s", got)
			}
			if diff := cmp.Diff([]string{"drift/2026-03-04/envs-prod.md", "runs/envs/prod/1.json", "runs/envs/prod/1.md"}, ledgerFiles(t, remote)); diff != "" {
				t.Errorf("ledger files after the second write (-want +got):\n%s", diff)
			}
			if got := runGit(t, remote, "--git-dir", remote, "cat-file", "blob", ledger+":runs/envs/prod/1.md"); got != "# run 1, applied" {
				t.Errorf("overwritten file holds %q", got)
			}

			// Five entries, one commit.
			var batch []gitrepo.LedgerEntry
			for i := range 5 {
				batch = append(batch, entry(fmt.Sprintf("plan envs/ws%d", i), fmt.Sprintf("runs/envs/ws%d/2.md", i)))
			}
			sha3 := writeLedger(t, l, gitrepo.Signature{}, batch...)
			if got := runGit(t, remote, "--git-dir", remote, "log", "-1", "--format=%P|%B", ledger); !strings.HasPrefix(got, sha2+"|Record 5 ledger entries\n\n- plan envs/ws0\n") || !strings.Contains(got, "- plan envs/ws4") {
				t.Errorf("batch commit:\n%s", got)
			}
			if n := wantLinear(t, remote); n != 3 {
				t.Errorf("%d ledger commits, want 3", n)
			}
			if n := len(ledgerFiles(t, remote)); n != 8 {
				t.Errorf("%d ledger files, want 8", n)
			}

			// Writing the same files again records nothing new.
			if sha := writeLedger(t, l, gitrepo.Signature{}, batch...); sha != sha3 {
				t.Errorf("rewrite of the same files made commit %s, want the tip %s", sha, sha3)
			}
			if st := w.Stats(); st.Pushes != 3 {
				t.Errorf("%d pushes, want 3", st.Pushes)
			}
			if refs := listRefs(t, w); refs["refs/heads/"+ledger] != sha3 {
				t.Errorf("listed ledger branch at %s, want %s", refs["refs/heads/"+ledger], sha3)
			}
			if got, err := r.Resolve(ledger); err != nil || got != sha3 {
				t.Errorf("clone's ledger branch: %s, %v", got, err)
			}

			// Another branch name.
			sha := writeLedger(t, l, gitrepo.Signature{}, entry("x", "x.md"))
			if _, err := newLedger(t, r, "audit/log").Write(context.Background(), gitrepo.Signature{}, []gitrepo.LedgerEntry{entry("y", "y.md")}); err != nil {
				t.Fatal(err)
			}
			if got := runGit(t, remote, "--git-dir", remote, "ls-tree", "--name-only", "audit/log"); got != "y.md" {
				t.Errorf("audit/log holds %q", got)
			}
			if got := runGit(t, remote, "--git-dir", remote, "rev-parse", ledger); got != sha {
				t.Errorf("ledger moved to %s", got)
			}
		})
	}
}

// gitTry runs git in dir and returns its output and error, for goroutines
// (which must not call t.Fatal).
func gitTry(dir, stdin string, env []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(gitEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// externalCommit makes, in the git directory gitDir, a commit adding file
// on top of parent (none when empty), the way a person would with git.
func externalCommit(gitDir, parent, file string) (string, error) {
	index := filepath.Join(gitDir, "ext-index-"+strings.ReplaceAll(file, "/", "_"))
	defer os.Remove(index)
	env := []string{"GIT_INDEX_FILE=" + index, "GIT_DIR=" + gitDir}
	readTree := []string{"read-tree", "--empty"}
	if parent != "" {
		readTree = []string{"read-tree", parent}
	}
	if _, err := gitTry(gitDir, "", env, readTree...); err != nil {
		return "", err
	}
	blob, err := gitTry(gitDir, "pushed by a person\n", env, "hash-object", "-w", "--stdin")
	if err != nil {
		return "", err
	}
	if _, err := gitTry(gitDir, "", env, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+file); err != nil {
		return "", err
	}
	tree, err := gitTry(gitDir, "", env, "write-tree")
	if err != nil {
		return "", err
	}
	args := []string{"commit-tree", tree, "-m", "external " + file}
	if parent != "" {
		args = append(args, "-p", parent)
	}
	return gitTry(gitDir, "", env, args...)
}

// externalPusher commits n files to the ledger branch of the bare repo
// remote from a repository of its own, and pushes with git, fetching and
// trying again when rejected.
func externalPusher(remote, work string, n int) error {
	if _, err := gitTry(work, "", nil, "init", "-q", "--bare", "."); err != nil {
		return err
	}
	for i := range n {
		file := fmt.Sprintf("manual/%d.md", i)
		for attempt := 0; ; attempt++ {
			if attempt == 100 {
				return fmt.Errorf("external push of %s kept failing", file)
			}
			parent := ""
			if _, err := gitTry(work, "", nil, "fetch", "-q", remote, "+refs/heads/"+ledger+":refs/heads/tip"); err == nil {
				parent, _ = gitTry(work, "", nil, "rev-parse", "tip")
			}
			commit, err := externalCommit(work, parent, file)
			if err != nil {
				return err
			}
			if _, err := gitTry(work, "", nil, "push", "-q", remote, commit+":refs/heads/"+ledger); err == nil {
				break
			}
			time.Sleep(time.Duration(5+rand.IntN(20)) * time.Millisecond)
		}
	}
	return nil
}

// Two daemons with their own clones write 10 entries each at once, while a
// person pushes to the same branch: nothing is lost, history stays linear.
func TestWriteLedgerConcurrent(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			s := newServed(t)
			remote := filepath.Join(s.base, "repo.git")
			prefix, opts := p.serve(t, s.base)
			clones := []*gitrepo.Repo{
				openRemote(t, prefix+"repo.git", append(opts, gitrepo.WithDataDir(t.TempDir()))...),
				openRemote(t, prefix+"repo.git", append(opts, gitrepo.WithDataDir(t.TempDir()))...),
			}
			daemons := []*gitrepo.Ledger{newLedger(t, clones[0], ""), newLedger(t, clones[1], "")}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			var wg sync.WaitGroup
			errs := make(chan error, 21)
			var want []string
			for d, l := range daemons {
				for i := range 10 {
					path := fmt.Sprintf("runs/d%d/%d.md", d, i)
					want = append(want, path)
					wg.Go(func() {
						e := entry(fmt.Sprintf("daemon %d run %d", d, i), path)
						if _, err := l.Write(ctx, gitrepo.Signature{}, []gitrepo.LedgerEntry{e}); err != nil {
							errs <- fmt.Errorf("daemon %d entry %d: %w", d, i, err)
						}
					})
				}
			}
			for i := range 3 {
				want = append(want, fmt.Sprintf("manual/%d.md", i))
			}
			wg.Go(func() {
				if err := externalPusher(remote, t.TempDir(), 3); err != nil {
					errs <- err
				}
			})
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}

			slices.Sort(want)
			if diff := cmp.Diff(want, ledgerFiles(t, remote)); diff != "" {
				t.Errorf("ledger files (-want +got):\n%s", diff)
			}
			if n := wantLinear(t, remote); n != 23 {
				t.Errorf("%d ledger commits, want 23", n)
			}
			t.Logf("pushes: %d and %d for 10 entries each", watch(t, clones[0]).Stats().Pushes, watch(t, clones[1]).Stats().Pushes)
		})
	}
}

// A local repository gets the ledger branch in place, without a push, and
// concurrent writers (Landform's and git's own) all land.
func TestWriteLedgerLocal(t *testing.T) {
	ctx := context.Background()
	w := newWorkRepo(t)
	w.write("main.tf", "# main\n")
	main := w.commit("first")
	gitDir := filepath.Join(w.dir, ".git")
	r := openRepo(t, w.dir)
	l := newLedger(t, r, "")

	sha := writeLedger(t, l, gitrepo.Signature{}, entry("first entry", "runs/a/1.md"))
	if got := w.git("rev-parse", ledger); got != sha {
		t.Errorf("ledger branch at %s, want %s", got, sha)
	}
	if got := ledgerFiles(t, gitDir); !slices.Equal(got, []string{"runs/a/1.md"}) {
		t.Errorf("ledger files: %q", got)
	}
	// The working copy, index and HEAD are untouched.
	if st := w.git("status", "--porcelain"); st != "" {
		t.Errorf("git status after WriteLedger:\n%s", st)
	}
	if head := w.git("symbolic-ref", "HEAD"); head != "refs/heads/main" || w.git("rev-parse", "HEAD") != main {
		t.Errorf("HEAD moved: %s", head)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "runs")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ledger files in the working copy: %v", err)
	}
	if st := watch(t, r).Stats(); st != (gitrepo.Stats{}) {
		t.Errorf("local ledger write used the network: %+v", st)
	}

	// With the ref packed, the next write still builds on it.
	w.git("pack-refs", "--all")
	writeLedger(t, l, gitrepo.Signature{}, entry("second entry", "runs/a/2.md"))

	// Two Repos on the same repository, 10 writers each, and git.
	other := newLedger(t, openRepo(t, w.dir), "")
	var wg sync.WaitGroup
	errs := make(chan error, 21)
	want := []string{"runs/a/1.md", "runs/a/2.md"}
	for d, l := range []*gitrepo.Ledger{l, other} {
		for i := range 10 {
			path := fmt.Sprintf("runs/d%d/%d.md", d, i)
			want = append(want, path)
			wg.Go(func() {
				if _, err := l.Write(ctx, gitrepo.Signature{}, []gitrepo.LedgerEntry{entry(path, path)}); err != nil {
					errs <- err
				}
			})
		}
	}
	for i := range 3 {
		file := fmt.Sprintf("manual/%d.md", i)
		want = append(want, file)
		wg.Go(func() {
			for attempt := 0; attempt < 100; attempt++ {
				parent, err := gitTry(w.dir, "", nil, "rev-parse", ledger)
				if err != nil {
					errs <- err
					return
				}
				commit, err := externalCommit(gitDir, parent, file)
				if err != nil {
					errs <- err
					return
				}
				// git's own compare-and-swap.
				if _, err := gitTry(w.dir, "", nil, "update-ref", "refs/heads/"+ledger, commit, parent); err == nil {
					return
				}
				time.Sleep(time.Duration(5+rand.IntN(20)) * time.Millisecond)
			}
			errs <- fmt.Errorf("git update-ref of %s kept failing", file)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, ledgerFiles(t, gitDir)); diff != "" {
		t.Errorf("ledger files (-want +got):\n%s", diff)
	}
	if n := wantLinear(t, gitDir); n != 25 {
		t.Errorf("%d ledger commits, want 25", n)
	}
	if st := w.git("status", "--porcelain"); st != "" {
		t.Errorf("git status after concurrent writes:\n%s", st)
	}

	// A linked worktree writes the main repository's branch.
	wt := filepath.Join(t.TempDir(), "wt")
	w.git("worktree", "add", "-q", "-b", "wt", wt)
	linked := newLedger(t, openRepo(t, wt), "")
	sha = writeLedger(t, linked, gitrepo.Signature{}, entry("from a worktree", "wt.md"))
	if got := w.git("rev-parse", ledger); got != sha {
		t.Errorf("ledger after a write from a worktree: %s, want %s", got, sha)
	}

	// A leftover lock file blocks writers until the context ends.
	lock := filepath.Join(gitDir, "refs", "heads", "landform", "ledger.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err := l.Write(short, gitrepo.Signature{}, []gitrepo.LedgerEntry{entry("locked", "locked.md")})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WriteLedger with the ref locked: %v", err)
	}
	os.Remove(lock)

	// The branch checked out: refused.
	w.git("checkout", "-q", ledger)
	_, err = l.Write(ctx, gitrepo.Signature{}, []gitrepo.LedgerEntry{entry("x", "x.md")})
	wantCode(t, err, landform.ECONFLICT, "checked out")
}

func TestWriteLedgerInvalid(t *testing.T) {
	ctx := context.Background()
	w := newWorkRepo(t)
	w.commit("empty")
	r := openRepo(t, w.dir)
	writeLedger(t, newLedger(t, r, ""), gitrepo.Signature{}, entry("a", "a/file.md", "dir/x.md"))

	for _, tc := range []struct {
		name    string
		branch  string
		sig     gitrepo.Signature
		entries []gitrepo.LedgerEntry
		code    string
		msg     string
	}{
		{name: "no entries", code: landform.EINVALID, msg: "no ledger entries"},
		{name: "no files", entries: []gitrepo.LedgerEntry{{Message: "m"}}, code: landform.EINVALID, msg: "no files"},
		{name: "dotdot", entries: []gitrepo.LedgerEntry{entry("m", "../x")}, code: landform.EINVALID, msg: "../x"},
		{name: "absolute", entries: []gitrepo.LedgerEntry{entry("m", "/etc/x")}, code: landform.EINVALID},
		{name: "empty", entries: []gitrepo.LedgerEntry{entry("m", "")}, code: landform.EINVALID},
		{name: "dot", entries: []gitrepo.LedgerEntry{entry("m", ".")}, code: landform.EINVALID},
		{name: "double slash", entries: []gitrepo.LedgerEntry{entry("m", "a//b")}, code: landform.EINVALID},
		{name: "trailing slash", entries: []gitrepo.LedgerEntry{entry("m", "a/")}, code: landform.EINVALID},
		{name: "backslash", entries: []gitrepo.LedgerEntry{entry("m", `a\b`)}, code: landform.EINVALID},
		{name: "dot git", entries: []gitrepo.LedgerEntry{entry("m", ".git/config")}, code: landform.EINVALID, msg: ".git"},
		{name: "dot git inside", entries: []gitrepo.LedgerEntry{entry("m", "x/.GIT/hooks")}, code: landform.EINVALID, msg: `".GIT" is reserved`},
		{name: "dot git with a trailing dot", entries: []gitrepo.LedgerEntry{entry("m", "x/.git./hooks")}, code: landform.EINVALID, msg: `".git." is reserved`},
		{name: "dot git short name", entries: []gitrepo.LedgerEntry{entry("m", "x/GIT~1/hooks")}, code: landform.EINVALID, msg: `"GIT~1" is reserved`},
		{name: "newline", entries: []gitrepo.LedgerEntry{entry("m", "x\ny.md")}, code: landform.EINVALID, msg: "control character"},
		{name: "invisible character", entries: []gitrepo.LedgerEntry{entry("m", ".g\u200cit/x")}, code: landform.EINVALID, msg: "invisible"},
		{name: "file and dir in a batch", entries: []gitrepo.LedgerEntry{entry("m", "p"), entry("n", "p/q")}, code: landform.EINVALID, msg: "p"},
		{name: "dir then file in a batch", entries: []gitrepo.LedgerEntry{entry("m", "p/q", "p")}, code: landform.EINVALID, msg: "p"},
		{name: "under a ledger file", entries: []gitrepo.LedgerEntry{entry("m", "a/file.md/x")}, code: landform.ECONFLICT, msg: "a/file.md"},
		{name: "over a ledger dir", entries: []gitrepo.LedgerEntry{entry("m", "dir")}, code: landform.ECONFLICT, msg: "dir"},
		{name: "bad branch", branch: "a..b", entries: []gitrepo.LedgerEntry{entry("m", "ok.md")}, code: landform.EINVALID, msg: "a..b"},
		{name: "full ref branch", branch: "refs/heads/x", entries: []gitrepo.LedgerEntry{entry("m", "ok.md")}, code: landform.EINVALID},
		{name: "bad signature", sig: gitrepo.Signature{Name: "a>b"}, entries: []gitrepo.LedgerEntry{entry("m", "ok.md")}, code: landform.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A bad branch name is refused by NewLedger, the rest by Write.
			l, err := gitrepo.NewLedger(r, tc.branch)
			if err == nil {
				_, err = l.Write(ctx, tc.sig, tc.entries)
			}
			if tc.msg != "" {
				wantCode(t, err, tc.code, tc.msg)
			} else {
				wantCode(t, err, tc.code)
			}
		})
	}
	if n := wantLinear(t, filepath.Join(w.dir, ".git")); n != 1 {
		t.Errorf("failed writes made commits: %d", n)
	}

	_, err := gitrepo.NewLedger(r, "", gitrepo.WithClock(nil))
	wantCode(t, err, landform.EINVALID, "clock")
	_, err = gitrepo.NewLedger(nil, "")
	wantCode(t, err, landform.EINVALID)
	if b := newLedger(t, r, "").Branch(); b != landform.DefaultLedgerBranch {
		t.Errorf("default ledger branch %q, want %q", b, landform.DefaultLedgerBranch)
	}
}
