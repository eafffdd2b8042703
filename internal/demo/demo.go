// Package demo builds what `landform demo` shows and decides how it runs:
// the example infrastructure repository (two environments sharing local
// modules, with resources of the test cloud), the change it commits to a
// shared module, a bare remote served by `git daemon` on loopback, the
// daemon's config (config.go), the session file through which `landform
// demo drift` finds the running demo (session.go), the waits on the
// daemon's REST API (api.go, loop.go) and the edit of the test cloud that
// makes drift (cloud.go). The command in cmd/landform parses flags, wires
// these together and prints the story.
package demo

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// example is the example infrastructure repository.
//
//go:embed all:repo
var example embed.FS

// Branch is the example repository's branch.
const Branch = "main"

// stateMarker, in the example's backend.tf files, stands for the directory
// that holds the workspaces' state (Layout.StateDir).
const stateMarker = "@STATE_DIR@"

// WriteRepo replaces dir with the example repository and commits it as the
// first commit of Branch. Its workspaces keep their state in stateDir (an
// absolute path, outside the repository: terraform runs in a fresh export
// of each commit).
func WriteRepo(ctx context.Context, dir, stateDir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	err := fs.WalkDir(example, "repo", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p, "repo")))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := example.ReadFile(p)
		if err != nil {
			return err
		}
		data = bytes.ReplaceAll(data, []byte(stateMarker), []byte(hclStringContent(stateDir)))
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return err
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=" + Branch},
		{"add", "--all"},
		{"commit", "--quiet", "-m", "Example infrastructure: staging and prod share modules/app and modules/network"},
	} {
		if _, err := Git(ctx, dir, args...); err != nil {
			return err
		}
	}
	return nil
}

// hclStringContent escapes s for the inside of an HCL quoted string:
// backslashes, quotes and the starts of interpolations and directives.
func hclStringContent(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", "$${", "%{", "%%{", "\n", `\n`).Replace(s)
}

// CommitChange commits a change to the shared module modules/network of
// the example repository in dir: flow-log buckets gain a retention tag.
func CommitChange(ctx context.Context, dir string) error {
	netFile := filepath.Join(dir, "modules", "network", "main.tf")
	src, err := os.ReadFile(netFile)
	if err != nil {
		return err
	}
	changed := strings.Replace(string(src), "tags       = { env = var.env }", "tags       = { env = var.env, retention = \"90d\" }", 1)
	if changed == string(src) {
		return fmt.Errorf("demo: the example module changed shape; cannot edit %s", netFile)
	}
	if err := os.WriteFile(netFile, []byte(changed), 0o644); err != nil {
		return err
	}
	_, err = Git(ctx, dir, "commit", "--quiet", "-am", "network: tag flow-log buckets with their retention")
	return err
}

// Git runs the git CLI in dir with a fixed identity, so the demo works on a
// machine with no git configuration, and returns its trimmed output.
func Git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Landform Demo", "GIT_AUTHOR_EMAIL=demo@landform.invalid",
		"GIT_COMMITTER_NAME=Landform Demo", "GIT_COMMITTER_EMAIL=demo@landform.invalid",
	)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// Remote is the example repository pushed to a bare repository and served
// by `git daemon` on a free loopback port.
type Remote struct {
	// URL is the git:// URL of the bare repository.
	URL string
	// Bare is the bare repository's directory.
	Bare string
	cmd  *exec.Cmd
}

// Serve pushes the repository in repoDir to a new bare repository
// root/infra.git and serves root with git daemon until Close.
func Serve(ctx context.Context, repoDir, root string) (*Remote, error) {
	bare := filepath.Join(root, "infra.git")
	if err := os.RemoveAll(bare); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	if _, err := Git(ctx, root, "init", "--quiet", "--bare", "--initial-branch="+Branch, bare); err != nil {
		return nil, err
	}
	if _, err := Git(ctx, repoDir, "push", "--quiet", bare, Branch); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.CommandContext(ctx, "git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr", "--base-path="+root,
		"--listen=127.0.0.1", fmt.Sprintf("--port=%d", port), root)
	cmd.SysProcAttr = daemonAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting git daemon: %w", err)
	}
	r := &Remote{Bare: bare, cmd: cmd}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			r.URL = "git://" + addr + "/infra.git"
			return r, nil
		}
		if time.Now().After(deadline) {
			r.Close()
			return nil, fmt.Errorf("git daemon did not listen on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Push pushes Branch of repoDir to the served repository.
func (r *Remote) Push(ctx context.Context, repoDir string) error {
	_, err := Git(ctx, repoDir, "push", "--quiet", r.Bare, Branch)
	return err
}

// Close stops git daemon.
func (r *Remote) Close() {
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
	_ = r.cmd.Wait()
}

// Layout is where a demo keeps its files under the data directory, and the
// engine settings it runs terraform with. Everything but the database, the
// plans and the clones is under Dir, which Reset empties.
type Layout struct {
	// Dir is the demo's own directory, DATA_DIR/demo.
	Dir string
	// RepoDir is the example repository's working copy.
	RepoDir string
	// RemotesDir holds the bare repository the demo serves.
	RemotesDir string
	// CloudDir is the test cloud: one JSON file per object
	// (TESTCLOUD_ROOT).
	CloudDir string
	// StateDir holds the example workspaces' terraform state.
	StateDir string
	// TokenFile holds the demo user's API token (0600); SessionFile says
	// where the running demo's daemon listens (see Session); LogFile is
	// the daemon's log.
	TokenFile, SessionFile, LogFile string
	// CLIConfig is the Terraform CLI config: the one given, else the one
	// scripts/setup wrote (.tools/terraformrc) when it exists.
	CLIConfig string
	// Binaries are terraform binaries to choose from besides those on
	// PATH and those given: the one scripts/setup builds into .tools/bin
	// when PATH has none.
	Binaries []string
	// Env is the environment the demo gives terraform: the test cloud in
	// the data directory (TESTCLOUD_ROOT), then what was given.
	Env map[string]string
}

// NewLayout returns the demo's layout under dataDir (absolute), given the
// engine's CLI config and extra environment from the command line.
func NewLayout(dataDir, cliConfig string, env map[string]string) Layout {
	if cliConfig == "" {
		if p, err := filepath.Abs(filepath.Join(".tools", "terraformrc")); err == nil {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				cliConfig = p
			}
		}
	}
	var binaries []string
	if p, err := filepath.Abs(filepath.Join(".tools", "bin", "terraform")); err == nil {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			binaries = append(binaries, p)
		}
	}
	dir := filepath.Join(dataDir, "demo")
	l := Layout{
		Dir:         dir,
		RepoDir:     filepath.Join(dir, "infra"),
		RemotesDir:  filepath.Join(dir, "remotes"),
		CloudDir:    filepath.Join(dir, "cloud"),
		StateDir:    filepath.Join(dir, "state"),
		TokenFile:   filepath.Join(dir, "token"),
		SessionFile: filepath.Join(dir, "session.json"),
		LogFile:     filepath.Join(dir, "daemon.log"),
		CLIConfig:   cliConfig,
		Binaries:    binaries,
	}
	l.Env = map[string]string{"TESTCLOUD_ROOT": l.CloudDir}
	for k, v := range env {
		l.Env[k] = v
	}
	return l
}

// Reset empties the demo's directory and makes the test cloud and the
// state directory anew (terraform's sandbox binds both, so they must
// exist). The directory is the owner's only: it holds the API token.
func (l Layout) Reset() error {
	if err := os.RemoveAll(l.Dir); err != nil {
		return err
	}
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return err
	}
	for _, d := range []string{l.CloudDir, l.StateDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// SandboxPaths are the paths terraform's sandbox must let it write: the
// test cloud and the state.
func (l Layout) SandboxPaths() []string { return []string{l.CloudDir, l.StateDir} }

// DaemonStopped is the error of a wait that the daemon's end, err (nil
// when it stopped without one), cut short.
func DaemonStopped(err error) error {
	if err == nil {
		return errors.New("the daemon stopped")
	}
	return fmt.Errorf("the daemon stopped: %w", err)
}

// pollEvery is how often WaitUntil asks.
const pollEvery = 500 * time.Millisecond

// WaitUntil calls cond every half second until it holds, stopped is
// closed or sends (the daemon in this process stopped; nil for a daemon of
// another process), ctx is done, or timeout passes (0: no limit).
func WaitUntil(ctx context.Context, stopped <-chan error, timeout time.Duration, cond func() (bool, error)) error {
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case err := <-stopped:
			return DaemonStopped(err)
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("demo: gave up after %s", timeout)
		case <-tick.C:
		}
	}
}
