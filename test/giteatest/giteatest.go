// Package giteatest runs a real Gitea 1.26 for tests: a fresh instance per
// call to Start, on a loopback port, with its SQLite database and
// repositories in the test's temporary directory, an admin user and an
// access token with every scope.
//
// The binary and the source tree it reads its locale files from are built by
// `scripts/setup --with gitea` (which `make test` runs) and located through
// test/tftest; without them Start fails the test, as a missing terraform
// does.
//
// The helpers that set a scene up (repositories, pull requests, webhooks,
// users) and those that look at the result (comments, statuses) speak to
// Gitea's REST API with net/http directly, not with the Gitea SDK, so that
// they observe the forge independently of the client under test.
package giteatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform/test/tftest"
)

const (
	adminName     = "admin"
	adminPassword = "landform-admin-password"
	// userPassword is the password of every user CreateUser makes.
	userPassword = "landform-user-password"

	// startTimeout bounds how long `gitea web` may take to answer.
	startTimeout = 60 * time.Second
	// stopTimeout bounds a graceful stop before the process group is killed.
	stopTimeout = 15 * time.Second
	// cliTimeout bounds each of the setup commands (migrate, admin user …).
	cliTimeout = 2 * time.Minute
)

// Server is one running Gitea. Its methods are safe for concurrent use.
type Server struct {
	bin    string
	dir    string // work path: app.ini, data, repositories, log
	config string // app.ini
	log    string // what gitea web writes to stdout and stderr
	env    []string
	port   int
	url    string // http://127.0.0.1:PORT (no trailing slash)
	token  string

	mu   sync.Mutex
	proc *process // the running gitea web, nil when stopped
}

// process is one `gitea web`; done is closed once Wait returned.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts a fresh Gitea and stops it when the test ends. It skips the
// test when `scripts/setup --with gitea` has not built Gitea (fails instead
// when CI is set) and fails it when Gitea does not come up.
func Start(t testing.TB) *Server {
	t.Helper()
	tools := tftest.Load(t)
	if tools.Gitea == "" || tools.GiteaStaticRoot == "" {
		// Like a missing terraform: make test's setup builds it, and a
		// skip would hide the forge tests.
		t.Fatal("giteatest: no Gitea in .tools/tools.env; run scripts/setup --with gitea (make test does)")
	}
	dir := t.TempDir()
	port := tftest.FreePort(t)
	s := &Server{
		bin:    tools.Gitea,
		dir:    dir,
		config: filepath.Join(dir, "app.ini"),
		log:    filepath.Join(dir, "gitea.log"),
		env:    childEnv(dir),
		port:   port,
		url:    fmt.Sprintf("http://127.0.0.1:%d", port),
	}
	ini, err := appINI(dir, port, tools.GiteaStaticRoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.config, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cli(t, "migrate")
	s.cli(t, "admin", "user", "create", "--admin", "--username", adminName,
		"--password", adminPassword, "--email", adminName+"@landform.invalid",
		"--must-change-password=false")
	// Gitea logs to stdout until it has read app.ini (as root it warns
	// there): the token is the line of 40 hex digits.
	out := s.cli(t, "admin", "user", "generate-access-token",
		"--username", adminName, "--token-name", "landform-test", "--scopes", "all", "--raw")
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); len(line) == 40 && strings.Trim(line, "0123456789abcdef") == "" {
			s.token = line
		}
	}
	if s.token == "" {
		t.Fatalf("giteatest: no token in the output of generate-access-token:\n%s", out)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("giteatest: the end of %s:\n%s", s.log, s.logTail())
		}
	})
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// URL is Gitea's base URL, http://127.0.0.1:PORT, without a trailing slash.
func (s *Server) URL() string { return s.url }

// Token is an access token of the admin user with every scope.
func (s *Server) Token() string { return s.token }

// Admin is the admin user's login; repositories the helpers create belong
// to it.
func (s *Server) Admin() string { return adminName }

// CloneURL is the HTTP URL of the admin's repository name with the admin's
// token as the password, which git can fetch from and push to.
func (s *Server) CloneURL(name string) string {
	return fmt.Sprintf("http://%s:%s@127.0.0.1:%d/%s/%s.git", adminName, s.token, s.port, adminName, name)
}

// Stop stops Gitea (SIGTERM, then SIGKILL to its process group after
// stopTimeout) and waits for it to exit. Stopping a stopped server does
// nothing. The data stays: Restart starts it again.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	pgid := p.cmd.Process.Pid // Setpgid: the group has the process's id
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// Restart stops Gitea if it runs and starts it again on the same data and
// port, returning once the API answers. A test simulates an outage with
// Stop, then Restart.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}

// start runs `gitea web` and waits until /api/v1/version answers, the
// process exits, or startTimeout passes.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("giteatest: gitea web is already running")
	}
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("giteatest: %w", err)
	}
	cmd := exec.Command(s.bin, "--config", s.config, "--work-path", s.dir, "web")
	cmd.Dir, cmd.Env = s.dir, s.env
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that Stop reaches the git processes it runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("giteatest: starting gitea web: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	s.proc = p

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.After(startTimeout)
	for {
		resp, err := client.Get(s.url + "/api/v1/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			s.proc = nil
			return fmt.Errorf("giteatest: gitea web exited before answering: %v\n%s", p.err, s.logTail())
		case <-deadline:
			return fmt.Errorf("giteatest: gitea web did not answer %s/api/v1/version within %s\n%s", s.url, startTimeout, s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cli runs a gitea command on this instance's config and returns its
// stdout, failing the test with its output when it fails.
func (s *Server) cli(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, append([]string{"--config", s.config, "--work-path", s.dir}, args...)...)
	cmd.Dir, cmd.Env = s.dir, s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("giteatest: gitea %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// logTail returns the last lines gitea web wrote.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// childEnv is the environment of every gitea process: the test's, less
// anything Gitea would read as configuration (GITEA_*), with a home of its
// own and, as root, the switch Gitea needs to run at all.
func childEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GITEA_") || strings.HasPrefix(kv, "HOME=") ||
			strings.HasPrefix(kv, "GIT_CONFIG") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+filepath.Join(dir, "home"), "GIT_CONFIG_NOSYSTEM=1")
	if os.Geteuid() == 0 {
		env = append(env, "GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true")
	}
	return env
}

// appINI is the configuration of one instance: SQLite, loopback only, no
// SSH, mail, OAuth2, cron or network access, webhooks allowed to loopback,
// and secrets generated for this run.
func appINI(dir string, port int, staticRoot string) (string, error) {
	secret, err := randomHex(32)
	if err != nil {
		return "", err
	}
	internal, err := randomHex(48)
	if err != nil {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	jwt := base64.RawURLEncoding.EncodeToString(b)
	return fmt.Sprintf(`APP_NAME = Landform test forge
RUN_MODE = prod
WORK_PATH = %[1]s

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[2]d
DOMAIN = 127.0.0.1
ROOT_URL = http://127.0.0.1:%[2]d/
STATIC_ROOT_PATH = %[3]s
APP_DATA_PATH = %[1]s/data
OFFLINE_MODE = true
DISABLE_SSH = true
START_SSH_SERVER = false
LFS_START_SERVER = false
GRACEFUL_HAMMER_TIME = 3s

[database]
DB_TYPE = sqlite3
PATH = %[1]s/data/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = %[1]s/repositories
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = %[4]s
INTERNAL_TOKEN = %[5]s

[oauth2]
ENABLED = false
JWT_SECRET = %[6]s

[service]
DISABLE_REGISTRATION = true
DEFAULT_KEEP_EMAIL_PRIVATE = true
NO_REPLY_ADDRESS = noreply.landform.invalid

[mailer]
ENABLED = false

[webhook]
ALLOWED_HOST_LIST = loopback
DELIVER_TIMEOUT = 5

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[actions]
ENABLED = false

[cron]
ENABLED = false

[cron.update_checker]
ENABLED = false

[log]
MODE = console
LEVEL = Warn
ROOT_PATH = %[1]s/log

[log.console]
STDERR = true
`, dir, port, staticRoot, secret, internal, jwt), nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
