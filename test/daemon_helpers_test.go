package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform/test/tftest"
)

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// daemon is a `landform serve` process.
type daemon struct {
	t       testing.TB
	cmd     *exec.Cmd
	logs    *syncBuffer
	dataDir string
	config  string
	done    chan struct{}
	exit    error
}

// daemonConfig writes a server config with the test's terraform settings
// and repos (YAML list items, already indented under "repos:"). extra lines
// go between the terraform block and repos; "{{cloud}}" in them is the test
// cloud's directory (TESTCLOUD_ROOT), which exists.
func daemonConfig(t testing.TB, dataDir, repos string, extra ...string) string {
	t.Helper()
	tools := tftest.Load(t)
	cloud := filepath.Join(t.TempDir(), "cloud")
	if err := os.MkdirAll(cloud, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`data_dir: %s
listen: 127.0.0.1:0
parallel: 2
shutdown_grace: 3s
terraform:
  cli_config: %s
  binaries: [%s]
  env:
    TESTCLOUD_ROOT: %s
%s
repos:
%s`, dataDir, tools.MirrorConfig(t), tools.Terraform, cloud, strings.ReplaceAll(strings.Join(extra, "\n"), "{{cloud}}", cloud), repos)
	path := filepath.Join(t.TempDir(), "landform.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startDaemon runs `landform serve --config config` until the test ends,
// with env added to the test process's environment.
func startDaemon(t testing.TB, config, dataDir string, env ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, logs: &syncBuffer{}, dataDir: dataDir, config: config, done: make(chan struct{})}
	d.cmd = exec.Command(landformBin, "--log-level", "debug", "serve", "--config", config)
	d.cmd.Env = append(os.Environ(), env...)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exit = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.signal(syscall.SIGKILL)
		<-d.done
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.logs.String())
		}
	})
	return d
}

func (d *daemon) signal(sig syscall.Signal) {
	select {
	case <-d.done:
	default:
		_ = d.cmd.Process.Signal(sig)
	}
}

// wait waits for the process to exit and returns its error.
func (d *daemon) wait(timeout time.Duration) error {
	d.t.Helper()
	select {
	case <-d.done:
		return d.exit
	case <-time.After(timeout):
		d.t.Fatalf("daemon still running after %s", timeout)
		return nil
	}
}

// waitLog waits until the daemon logged a line containing all parts.
func (d *daemon) waitLog(timeout time.Duration, parts ...string) {
	d.t.Helper()
	waitFor(d.t, timeout, fmt.Sprintf("daemon log line with %q", parts), func() bool {
		for _, line := range strings.Split(d.logs.String(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return true
			}
		}
		return false
	})
}

type daemonRun struct {
	ID        string    `json:"id"`
	Repo      string    `json:"repo"`
	Workspace string    `json:"workspace"`
	Commit    string    `json:"commit"`
	Ref       string    `json:"ref"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"`
	Error     string    `json:"error"`
	CreatedAt time.Time `json:"created_at"`
	Summary   struct {
		Add int `json:"add"`
	} `json:"summary"`
}

// runs lists the daemon's runs through the CLI, newest first.
func (d *daemon) runs() []daemonRun {
	d.t.Helper()
	var doc struct {
		Runs []daemonRun `json:"runs"`
	}
	landformJSON(d.t, 0, &doc, "--data-dir", d.dataDir, "runs", "--json", "--limit", "0")
	return doc.Runs
}

// waitRuns waits until the runs satisfy cond and returns them.
func (d *daemon) waitRuns(timeout time.Duration, what string, cond func([]daemonRun) bool) []daemonRun {
	d.t.Helper()
	var runs []daemonRun
	waitFor(d.t, timeout, what, func() bool {
		runs = d.runs()
		return cond(runs)
	})
	return runs
}

// waitFor polls cond every 100ms until it holds, failing the test after
// timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func runsOf(runs []daemonRun, match func(daemonRun) bool) []daemonRun {
	var out []daemonRun
	for _, r := range runs {
		if match(r) {
			out = append(out, r)
		}
	}
	return out
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// gitOutput runs git in dir and returns its output, or the error.
func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return string(out), err
}

// healthRepo is one repository of what /healthz answers.
type healthRepo struct {
	Repo      string `json:"repo"`
	LastError string `json:"last_error"`
	Polls     int    `json:"polls"`
}

// health is what the daemon's /healthz answers.
type health struct {
	Status string       `json:"status"`
	Repos  []healthRepo `json:"repos"`
}

// health asks the daemon's /healthz.
func (d *daemon) health() (health, error) {
	var h health
	resp, err := http.Get("http://" + d.listenAddr() + "/healthz")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&h)
	return h, err
}

// polls returns how many poll rounds of repo the daemon has ended.
func (d *daemon) polls(repo string) int {
	d.t.Helper()
	h, err := d.health()
	if err != nil {
		d.t.Fatalf("/healthz: %v", err)
	}
	for _, r := range h.Repos {
		if r.Repo == repo {
			return r.Polls
		}
	}
	d.t.Fatalf("/healthz has no repo %s: %+v", repo, h)
	return 0
}

// waitPolls waits until the daemon has ended n more poll rounds of repo
// (counted on /healthz): with n ≥ 2, at least one round started and ended
// after the call, so it saw whatever the remote held then.
func (d *daemon) waitPolls(repo string, n int) {
	d.t.Helper()
	want := d.polls(repo) + n
	waitFor(d.t, time.Duration(n)*pollInterval+30*time.Second, fmt.Sprintf("%d more poll rounds of %s", n, repo), func() bool {
		return d.polls(repo) >= want
	})
}

var listenLine = regexp.MustCompile(`msg="landform serving".* listen=(\S+)`)

// listenAddr returns the address the daemon's HTTP server listens on.
func (d *daemon) listenAddr() string {
	d.t.Helper()
	var addr string
	waitFor(d.t, 30*time.Second, "the daemon's listen address", func() bool {
		if m := listenLine.FindStringSubmatch(d.logs.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	return addr
}
