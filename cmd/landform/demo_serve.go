package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/internal/demo"
	"github.com/landform/landform/report"
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
	remote, err := demo.Serve(ctx, repoDir, filepath.Join(a.dataDir, "demo", "remotes"))
	if err != nil {
		return err
	}
	defer remote.Close()
	url, bare := remote.URL, remote.Bare
	a.say("Serving the example repository at %s (git daemon on loopback)", url)

	// A fresh database each time, so the runs shown are this demo's.
	for _, p := range []string{a.dbPath(), a.dbPath() + "-wal", a.dbPath() + "-shm", a.plansDir(), a.reposDir()} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	cfg := &config.Server{
		Path: "(demo)", DataDir: a.dataDir, Listen: "127.0.0.1:0", Parallel: runtime.NumCPU(),
		ShutdownGrace: 10 * time.Second, Ledger: true, Sandbox: ef.sandbox,
		Terraform: config.TerraformSettings{CLIConfig: ef.cliConfig, Binaries: ef.binaries, Env: ef.env, PassEnv: ef.passEnv},
		Repos: []config.RepoSettings{{Repo: landform.Repo{
			Name: "infra", URL: url, PollInterval: time.Second, LedgerBranch: landform.DefaultLedgerBranch,
			Ledger: true, LockPolicy: landform.LockStrict,
		}}},
	}
	// The database is made (migrated) before the daemon opens it: two
	// first opens at once race on the schema (SQLITE_BUSY).
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	served := make(chan error, 1)
	go func() { served <- a.serve(serveCtx, cfg) }()
	a.say("The daemon polls every second; waiting for it to take main as its baseline")
	if err := demo.WaitUntil(ctx, served, 60*time.Second, func() (bool, error) {
		sha, err := db.LastProcessed(ctx, "infra", "refs/heads/main")
		return sha != "", err
	}); err != nil {
		return err
	}

	a.say("Pushing a change to the shared module modules/network")
	if err := demo.CommitChange(ctx, repoDir); err != nil {
		return err
	}
	if err := remote.Push(ctx, repoDir); err != nil {
		return err
	}
	var runs []*landform.Run
	if err := demo.WaitUntil(ctx, served, 5*time.Minute, func() (bool, error) {
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
		fmt.Fprintf(a.stderr, "    run %-4s %-14s %-10s %s  %s\n", r.ID, r.Workspace, r.State, r.Summary, report.FirstLine(r.Error))
	}

	a.say("Waiting for the ledger commit on landform/ledger")
	var ledger string
	if err := demo.WaitUntil(ctx, served, 60*time.Second, func() (bool, error) {
		out, err := demo.Git(ctx, bare, "log", "--format=%h %s", landform.DefaultLedgerBranch)
		ledger = out
		return err == nil && out != "", nil
	}); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "%s\n", report.Indent(ledger))
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
