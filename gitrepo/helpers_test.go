package gitrepo_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
)

// gitEnv isolates the git CLI from the user's and system configuration and
// makes commits reproducible.
func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Landform Test",
		"GIT_AUTHOR_EMAIL=test@landform.invalid",
		"GIT_AUTHOR_DATE=2026-01-02T03:04:05Z",
		"GIT_COMMITTER_NAME=Landform Test",
		"GIT_COMMITTER_EMAIL=test@landform.invalid",
		"GIT_COMMITTER_DATE=2026-01-02T03:04:05Z",
		"GIT_TERMINAL_PROMPT=0",
	)
}

// runGit runs git in dir and returns its trimmed stdout.
func runGit(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// workRepo is a working copy made with the git CLI.
type workRepo struct {
	tb  testing.TB
	dir string
}

func newWorkRepo(tb testing.TB) *workRepo {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "work")
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	runGit(tb, dir, "init", "-q", "-b", "main")
	return &workRepo{tb: tb, dir: dir}
}

func (w *workRepo) git(args ...string) string {
	w.tb.Helper()
	return runGit(w.tb, w.dir, args...)
}

func (w *workRepo) write(name, content string) {
	w.tb.Helper()
	w.writeMode(name, content, 0o644)
}

func (w *workRepo) writeMode(name, content string, mode os.FileMode) {
	w.tb.Helper()
	p := filepath.Join(w.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		w.tb.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		w.tb.Fatal(err)
	}
}

func (w *workRepo) symlink(name, target string) {
	w.tb.Helper()
	p := filepath.Join(w.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.tb.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		w.tb.Fatal(err)
	}
}

func (w *workRepo) remove(name string) {
	w.tb.Helper()
	if err := os.RemoveAll(filepath.Join(w.dir, filepath.FromSlash(name))); err != nil {
		w.tb.Fatal(err)
	}
}

// commit stages everything and commits; it returns the new HEAD.
func (w *workRepo) commit(msg string) string {
	w.tb.Helper()
	w.git("add", "-A")
	w.git("commit", "-q", "--allow-empty", "-m", msg)
	return w.git("rev-parse", "HEAD")
}

func openRepo(tb testing.TB, src string, opts ...gitrepo.Option) *gitrepo.Repo {
	tb.Helper()
	r, err := gitrepo.Open(context.Background(), src, opts...)
	if err != nil {
		tb.Fatalf("Open(%s): %v", src, err)
	}
	tb.Cleanup(func() {
		if err := r.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return r
}

// wantCode fails unless err carries code and its message contains every
// one of parts.
func wantCode(tb testing.TB, err error, code string, parts ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want %s", code)
	}
	if got := landform.ErrorCode(err); got != code {
		tb.Fatalf("error %q has code %q, want %q", err, got, code)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			tb.Errorf("error %q does not mention %q", err, p)
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// startGitDaemon serves the repositories under base over git://, pushes
// included, and returns the URL prefix ("git://127.0.0.1:PORT/").
func startGitDaemon(tb testing.TB, base string) string {
	tb.Helper()
	port := freePort(tb)
	cmd := exec.Command("git", "daemon", "--export-all", "--reuseaddr", "--enable=receive-pack",
		"--base-path="+base, "--listen=127.0.0.1", "--port="+strconv.Itoa(port), base)
	cmd.Env = gitEnv()
	// git runs git-daemon as a child, which forks one more per connection:
	// give them a process group of their own and end the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "git://" + addr + "/"
		}
		select {
		case <-done:
			tb.Fatalf("git daemon exited: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("git daemon does not accept on %s: %v", addr, errors.Join(err, errors.New(stderr.String())))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
