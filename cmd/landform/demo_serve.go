package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
)

// demoServe is the daemon's demo: the example repo is pushed to a bare
// repository served by `git daemon` on loopback, `landform serve` logic
// watches it, and a scripted commit shows plans appearing and the ledger
// being written.
func (a *app) demoServe(ctx context.Context, ef engineFlags) error {
	repoDir, ef, err := a.demoSetup(ctx, ef)
	if err != nil {
		return err
	}
	remotes := filepath.Join(a.dataDir, "demo", "remotes")
	bare := filepath.Join(remotes, "infra.git")
	if err := os.RemoveAll(bare); err != nil {
		return err
	}
	if err := os.MkdirAll(remotes, 0o755); err != nil {
		return err
	}
	g := gitRunner{dir: repoDir}
	if _, err := (gitRunner{dir: remotes}).run(ctx, "init", "--quiet", "--bare", "--initial-branch=main", bare); err != nil {
		return err
	}
	if _, err := g.run(ctx, "push", "--quiet", bare, "main"); err != nil {
		return err
	}
	url, stop, err := startGitDaemon(ctx, remotes)
	if err != nil {
		return err
	}
	defer stop()
	a.say("Serving the example repository at %s (git daemon on loopback)", url)

	// A fresh database each time, so the runs shown are this demo's.
	for _, p := range []string{a.dbPath(), a.dbPath() + "-wal", a.dbPath() + "-shm", a.plansDir(), a.reposDir()} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	cfg := &config.Server{
		Path: "(demo)", DataDir: a.dataDir, Listen: "127.0.0.1:0", Parallel: runtime.NumCPU(),
		ShutdownGrace: 10 * time.Second, Ledger: true,
		Terraform: config.TerraformSettings{CLIConfig: ef.cliConfig, Binaries: ef.binaries, Env: ef.env},
		Repos: []config.RepoSettings{{Repo: landform.Repo{
			Name: "infra", URL: url, PollInterval: time.Second, LedgerBranch: landform.DefaultLedgerBranch,
			Ledger: true, LockPolicy: landform.LockStrict,
		}}},
	}
	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	served := make(chan error, 1)
	go func() { served <- a.serve(serveCtx, cfg) }()

	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	a.say("The daemon polls every second; waiting for it to take main as its baseline")
	if err := waitUntil(ctx, served, 60*time.Second, func() (bool, error) {
		sha, err := db.LastProcessed(ctx, "infra", "refs/heads/main")
		return sha != "", err
	}); err != nil {
		return err
	}

	a.say("Pushing a change to the shared module modules/network")
	if err := demoChange(ctx, repoDir); err != nil {
		return err
	}
	if _, err := g.run(ctx, "push", "--quiet", bare, "main"); err != nil {
		return err
	}
	var runs []*landform.Run
	if err := waitUntil(ctx, served, 5*time.Minute, func() (bool, error) {
		runs, err = db.ListRuns(ctx, landform.RunFilter{Repo: "infra"})
		if err != nil || len(runs) == 0 {
			return false, err
		}
		for _, r := range runs {
			if !r.State.Terminal() {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return err
	}
	a.say("Plans the daemon made for the push:")
	for _, r := range runs {
		fmt.Fprintf(a.stderr, "    run %-4s %-14s %-10s %s  %s\n", r.ID, r.Workspace, r.State, r.Summary, firstLine(r.Error))
	}

	a.say("Waiting for the ledger commit on landform/ledger")
	var ledger string
	if err := waitUntil(ctx, served, 60*time.Second, func() (bool, error) {
		out, err := (gitRunner{dir: bare}).run(ctx, "log", "--format=%h %s", "landform/ledger")
		ledger = out
		return err == nil && strings.Count(out, "\n")+1 >= 1 && strings.Contains(out, "run"), nil
	}); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "%s\n", indent(ledger))
	stopServe()
	if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Fprintf(a.stdout, `
The daemon planned the workspaces the push touched and recorded them on the ledger branch.
Try next:
  git --git-dir %s log --stat landform/ledger
  %s --data-dir %s runs
`, bare, selfName(), a.dataDir)
	return nil
}

// waitUntil polls cond every 200ms until it holds, the daemon stops, or
// timeout passes.
func waitUntil(ctx context.Context, served <-chan error, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case err := <-served:
			return fmt.Errorf("the daemon stopped: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: gave up after %s", timeout)
		}
	}
}

// startGitDaemon serves the bare repositories under root on a free
// loopback port and returns the URL of infra.git and a stop function.
func startGitDaemon(ctx context.Context, root string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.CommandContext(ctx, "git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr", "--base-path="+root,
		"--listen=127.0.0.1", fmt.Sprintf("--port=%d", port), root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting git daemon: %w", err)
	}
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return "git://" + addr + "/infra.git", stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("git daemon did not listen on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
