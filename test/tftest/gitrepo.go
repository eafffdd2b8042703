package tftest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GitRepo is a throwaway git repository with a working copy, made with the
// real git CLI in a test's temporary directory.
type GitRepo struct {
	t   testing.TB
	Dir string
}

// gitEnv isolates git from the machine's and user's configuration and fixes
// the identities so commits are reproducible.
func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=Landform Test",
		"GIT_AUTHOR_EMAIL=test@landform.invalid",
		"GIT_COMMITTER_NAME=Landform Test",
		"GIT_COMMITTER_EMAIL=test@landform.invalid",
		"GIT_TERMINAL_PROMPT=0",
	)
}

// NewGitRepo makes an empty repository whose first branch is main.
func NewGitRepo(t testing.TB) *GitRepo {
	t.Helper()
	r := &GitRepo{t: t, Dir: t.TempDir()}
	r.Git("init", "--quiet", "--initial-branch=main")
	return r
}

// Git runs git with args in the repository and returns its trimmed stdout,
// failing the test on error.
func (r *GitRepo) Git(args ...string) string {
	r.t.Helper()
	return Git(r.t, r.Dir, args...)
}

// Git runs git with args in dir, isolated from the machine's configuration,
// and returns its trimmed stdout, failing the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// Write writes files (repo-relative path → content) into the working copy.
func (r *GitRepo) Write(files map[string]string) *GitRepo {
	r.t.Helper()
	WriteFiles(r.t, r.Dir, files)
	return r
}

// Remove deletes paths (files or directories) from the working copy.
func (r *GitRepo) Remove(paths ...string) *GitRepo {
	r.t.Helper()
	for _, p := range paths {
		if err := os.RemoveAll(filepath.Join(r.Dir, filepath.FromSlash(p))); err != nil {
			r.t.Fatal(err)
		}
	}
	return r
}

// Move renames a tracked path with git mv.
func (r *GitRepo) Move(from, to string) *GitRepo {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Join(r.Dir, filepath.Dir(filepath.FromSlash(to))), 0o755); err != nil {
		r.t.Fatal(err)
	}
	r.Git("mv", from, to)
	return r
}

// Commit stages everything and commits it, returning the commit SHA. An
// empty change still makes a commit.
func (r *GitRepo) Commit(msg string) string {
	r.t.Helper()
	r.Git("add", "--all")
	r.Git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", msg)
	return r.Head()
}

// Head returns the SHA of HEAD.
func (r *GitRepo) Head() string {
	r.t.Helper()
	return r.Git("rev-parse", "HEAD")
}

// Branch creates branch name at HEAD and checks it out.
func (r *GitRepo) Branch(name string) *GitRepo {
	r.t.Helper()
	r.Git("checkout", "--quiet", "-b", name)
	return r
}

// Checkout checks out an existing branch or commit.
func (r *GitRepo) Checkout(rev string) *GitRepo {
	r.t.Helper()
	r.Git("checkout", "--quiet", rev)
	return r
}
