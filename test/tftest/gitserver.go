package tftest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// GitServer serves bare repositories under Root over real git protocols on
// loopback: smart HTTP through `git http-backend`, and optionally git://
// through `git daemon`. It counts the requests it serves, so tests can tell
// a ref listing from a fetch.
type GitServer struct {
	t    testing.TB
	Root string
	// HTTP is the base URL of the smart HTTP server: HTTP + "/NAME.git".
	HTTP string

	refListings atomic.Int64 // GET …/info/refs?service=git-upload-pack, v2 ls-refs
	fetches     atomic.Int64 // POST …/git-upload-pack asking for objects
	pushes      atomic.Int64 // POST …/git-receive-pack
	down        atomic.Bool
}

// StartGitServer starts a smart HTTP git server over a fresh root directory.
func StartGitServer(t testing.TB) *GitServer {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git not found: %v", err)
	}
	s := &GitServer{t: t, Root: t.TempDir()}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=" + os.DevNull,
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs") && r.URL.Query().Get("service") == "git-upload-pack":
			s.refListings.Add(1)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			// Protocol v2 lists refs with a POST too ("command=ls-refs").
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte("command=ls-refs")) {
				s.refListings.Add(1)
			} else {
				s.fetches.Add(1)
			}
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack"):
			s.pushes.Add(1)
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.HTTP = srv.URL
	return s
}

// RefListings, Fetches and Pushes count the smart HTTP requests served.
func (s *GitServer) RefListings() int64 { return s.refListings.Load() }
func (s *GitServer) Fetches() int64     { return s.fetches.Load() }
func (s *GitServer) Pushes() int64      { return s.pushes.Load() }

// SetDown makes the HTTP server answer 503 to everything (true) or serve
// again (false).
func (s *GitServer) SetDown(down bool) { s.down.Store(down) }

// NewBare makes an empty bare repository NAME.git under Root that accepts
// pushes over HTTP, and returns its directory.
func (s *GitServer) NewBare(name string) string {
	s.t.Helper()
	dir := filepath.Join(s.Root, name+".git")
	Git(s.t, s.Root, "init", "--quiet", "--bare", "--initial-branch=main", dir)
	Git(s.t, dir, "config", "http.receivepack", "true")
	return dir
}

// URL is the smart HTTP URL of repository NAME.
func (s *GitServer) URL(name string) string { return s.HTTP + "/" + name + ".git" }

// StartGitDaemon serves the bare repositories under root over git:// with
// pushes enabled, and returns the base URL ("git://127.0.0.1:PORT").
func StartGitDaemon(t testing.TB, root string) string {
	t.Helper()
	port := FreePort(t)
	cmd := exec.Command("git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr",
		"--base-path="+root, "--listen=127.0.0.1", fmt.Sprintf("--port=%d", port), root)
	cmd.Env = gitEnv()
	// Its own process group: git daemon forks children that must go too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting git daemon: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
		}
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return "git://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("git daemon did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ClosedURL returns an http URL on loopback where nothing listens.
func ClosedURL(t testing.TB) string {
	return fmt.Sprintf("http://127.0.0.1:%d/nothing.git", FreePort(t))
}
