package gitrepo_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
)

func TestOpenWorkingCopyAndBare(t *testing.T) {
	w := newWorkRepo(t)
	w.write("main.tf", "# one\n")
	head := w.commit("one")

	bare := filepath.Join(t.TempDir(), "bare.git")
	runGit(t, w.dir, "clone", "-q", "--bare", w.dir, bare)

	for name, src := range map[string]string{"working copy": w.dir, "bare": bare} {
		t.Run(name, func(t *testing.T) {
			r := openRepo(t, src)
			got, err := r.Resolve("main")
			if err != nil {
				t.Fatal(err)
			}
			if got != head {
				t.Errorf("Resolve(main) = %s, want %s", got, head)
			}
		})
	}
}

func TestOpenLinkedWorktree(t *testing.T) {
	w := newWorkRepo(t)
	w.write("main.tf", "# one\n")
	head := w.commit("one")
	wt := filepath.Join(t.TempDir(), "wt")
	w.git("worktree", "add", "-q", "-b", "side", wt)

	r := openRepo(t, wt)
	for _, rev := range []string{"HEAD", "side", "main"} {
		if got, err := r.Resolve(rev); err != nil || got != head {
			t.Errorf("Resolve(%s) = %s, %v; want %s", rev, got, err, head)
		}
	}
}

func TestOpenNotARepository(t *testing.T) {
	empty := t.TempDir()
	file := filepath.Join(empty, "file.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{empty, filepath.Join(empty, "missing"), file} {
		_, err := gitrepo.Open(context.Background(), p)
		wantCode(t, err, landform.EINVALID, "not a git repository: "+p)
	}
}

func TestResolve(t *testing.T) {
	w := newWorkRepo(t)
	w.write("a.tf", "# 1\n")
	first := w.commit("first")
	w.git("tag", "light")
	w.write("a.tf", "# 2\n")
	second := w.commit("second")
	w.git("tag", "-a", "-m", "release", "v2")
	w.git("branch", "feature", first)
	w.write("a.tf", "# 3\n")
	third := w.commit("third")

	// A clone has origin/* refs, as in CI.
	clone := filepath.Join(t.TempDir(), "clone")
	runGit(t, w.dir, "clone", "-q", w.dir, clone)

	r := openRepo(t, w.dir)
	rc := openRepo(t, clone)
	for _, tc := range []struct {
		repo *gitrepo.Repo
		rev  string
		want string
	}{
		{r, "main", third},
		{r, "HEAD", third},
		{r, "HEAD~1", second},
		{r, "main~2", first},
		{r, "feature", first},
		{r, "refs/heads/feature", first},
		{r, "light", first},
		{r, "v2", second},
		{r, "refs/tags/v2", second},
		{r, second, second},
		{r, second[:7], second},
		{rc, "origin/main", third},
		{rc, "origin/feature", first},
		{rc, "refs/remotes/origin/main~1", second},
	} {
		got, err := tc.repo.Resolve(tc.rev)
		if err != nil {
			t.Errorf("Resolve(%s): %v", tc.rev, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Resolve(%s) = %s, want %s", tc.rev, got, tc.want)
		}
	}

	for _, rev := range []string{"nope", "HEAD~5", "deadbeef", "origin/main", "main^^^^", "v2~~~x"} {
		_, err := r.Resolve(rev)
		wantCode(t, err, landform.ENOTFOUND, "unknown revision "+rev)
	}
	_, err := r.Resolve("")
	wantCode(t, err, landform.EINVALID)
}

func TestMergeBase(t *testing.T) {
	w := newWorkRepo(t)
	w.write("a.tf", "# 1\n")
	w.commit("one")
	w.write("a.tf", "# 2\n")
	fork := w.commit("two")
	w.git("checkout", "-q", "-b", "pr")
	w.write("b.tf", "# pr\n")
	w.commit("pr one")
	w.write("b.tf", "# pr 2\n")
	w.commit("pr two")
	w.git("checkout", "-q", "main")
	w.write("a.tf", "# 3\n")
	w.commit("main moves on")

	r := openRepo(t, w.dir)
	got, err := r.MergeBase("main", "pr")
	if err != nil {
		t.Fatal(err)
	}
	if got != fork {
		t.Errorf("MergeBase = %s, want %s", got, fork)
	}

	w.git("checkout", "-q", "--orphan", "unrelated")
	w.commit("no shared history")
	if _, err := openRepo(t, w.dir).MergeBase("main", "unrelated"); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("MergeBase of unrelated histories: %v, want ENOTFOUND", err)
	}
	if _, err := r.MergeBase("main", "nope"); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("MergeBase with unknown revision: %v, want ENOTFOUND", err)
	}
}

func TestChangedPaths(t *testing.T) {
	w := newWorkRepo(t)
	w.write("keep/main.tf", "# untouched\n")
	w.write("modify.tf", "# before\n")
	w.write("delete/main.tf", "# goes away\n")
	w.write("old/name.tf", "# renamed\n")
	w.write("script.sh", "#!/bin/sh\n")
	w.write("deep/a/b/c.tf", "# deep\n")
	base := w.commit("base")

	w.write("modify.tf", "# after\n")
	w.remove("delete")
	w.git("mv", "old", "renamed")
	w.write("added/new.tf", "# new\n")
	if err := os.Chmod(filepath.Join(w.dir, "script.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.write("deep/a/b/c.tf", "# deeper\n")
	head := w.commit("head")

	r := openRepo(t, w.dir)
	got, err := r.ChangedPaths(base, head)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"added/new.tf",
		"deep/a/b/c.tf",
		"delete/main.tf",
		"modify.tf",
		"old/name.tf",
		"renamed/name.tf",
		"script.sh",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ChangedPaths =\n %q\nwant\n %q", got, want)
	}
	if cli := gitDiffNames(t, w, base, head); !slices.Equal(got, cli) {
		t.Errorf("ChangedPaths = %q, git diff says %q", got, cli)
	}

	// The other way round names the same paths.
	back, err := r.ChangedPaths(head, base)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back, want) {
		t.Errorf("ChangedPaths(head, base) = %q", back)
	}

	// Revisions, not only SHAs.
	if got, err := r.ChangedPaths("HEAD", "HEAD"); err != nil || len(got) != 0 {
		t.Errorf("ChangedPaths(HEAD, HEAD) = %q, %v", got, err)
	}
	if got, err := r.ChangedPaths("HEAD~1", "main"); err != nil || !slices.Equal(got, want) {
		t.Errorf("ChangedPaths(HEAD~1, main) = %q, %v", got, err)
	}
	if _, err := r.ChangedPaths("nope", "HEAD"); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("unknown base: %v", err)
	}
}

func TestChangedPathsFileBecomesDirectory(t *testing.T) {
	w := newWorkRepo(t)
	w.write("x", "file\n")
	base := w.commit("file")
	w.remove("x")
	w.write("x/inner.tf", "# dir now\n")
	head := w.commit("dir")

	got, err := openRepo(t, w.dir).ChangedPaths(base, head)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"x", "x/inner.tf"}; !slices.Equal(got, want) {
		t.Errorf("ChangedPaths = %q, want %q", got, want)
	}
	if cli := gitDiffNames(t, w, base, head); !slices.Equal(got, cli) {
		t.Errorf("ChangedPaths = %q, git diff says %q", got, cli)
	}
}

// gitDiffNames is what the git CLI lists as changed, renames as two paths.
func gitDiffNames(t *testing.T, w *workRepo, base, head string) []string {
	t.Helper()
	names := strings.Fields(w.git("diff", "--name-only", "--no-renames", base, head))
	slices.Sort(names)
	return slices.Compact(names)
}
