package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/landform/landform/internal/datadir"
	"github.com/landform/landform/internal/demo"
	"github.com/landform/landform/report"
)

// demoOptions are the flags of `landform demo`.
type demoOptions struct {
	ef         engineFlags
	yes        bool
	planOnly   bool
	listen     string
	driftEvery time.Duration
}

func newDemoCmd(a *app) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Landform's main job on an example repository: plan, approve, apply, drift, dashboard",
		Long: `Demo runs the whole loop on this machine, with nothing to configure: it writes
an example infrastructure repository (two environments sharing local modules,
resources of Landform's test cloud: a directory of JSON files) into the data
directory, serves it with git daemon on loopback, and starts the daemon with
its dashboard and API on --listen. Then it commits a change to a shared
module, shows the plans of the workspaces it touches, and prints how to
approve them (landform approve, or the dashboard). Once you approve, the demo
applies. The daemon keeps running until Ctrl-C: run "landform demo drift" in
another terminal to edit the test cloud and watch the next drift check find
it.

--yes approves by itself, applies, makes the drift and waits for the drift
report, then stops: the whole loop without a person (tests use it).
--plan-only is the short version: no daemon, the change's plans only.

Each run of the demo starts afresh: it empties the data directory's
database, plans, clones and demo/ (the repository, the test cloud, its
state). Terraform and the providers come from the machine: the demo uses
the CLI config written by scripts/setup (.tools/terraformrc) and the terraform it
built (.tools/bin/terraform) when they exist.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.planOnly {
				return a.demoPlanOnly(cmd.Context(), o.ef)
			}
			return a.demoLoop(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.yes, "yes", "y", false, "approve as the demo user without waiting for you, apply, make drift, show the drift report, then stop")
	f.BoolVar(&o.planOnly, "plan-only", false, "no daemon: plan the change's workspaces with the CLI and stop")
	f.StringVar(&o.listen, "listen", demo.DefaultListen, "where the daemon serves the dashboard and the API (host:port; port 0 picks a free one)")
	f.DurationVar(&o.driftEvery, "drift-every", demo.DefaultDriftEvery, "how often the daemon checks every workspace for drift (whole seconds)")
	addEngineFlags(cmd, &o.ef)
	cmd.AddCommand(newDemoDriftCmd(a))
	return cmd
}

// say prints one step of the demo.
func (a *app) say(format string, args ...any) {
	fmt.Fprintf(a.stderr, "\n==> "+format+"\n", args...)
}

// demoReset starts the demo afresh in the data directory: refused while a
// daemon (or another demo) holds it, then the database, plans, clones and
// the demo's own directory are removed.
func (a *app) demoReset(l demo.Layout) error {
	lock, err := datadir.Acquire(a.dataDir, "landform demo")
	if err != nil {
		return err
	}
	lock.Release()
	for _, p := range []string{a.dbPath(), a.dbPath() + "-wal", a.dbPath() + "-shm", a.plansDir(), a.reposDir()} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return l.Reset()
}

// demoEngine returns the engine flags the demo's terraform runs with: the
// layout's CLI config, binaries and environment (the test cloud), and the
// sandbox paths it writes.
func demoEngine(l demo.Layout, ef engineFlags) engineFlags {
	ef.cliConfig, ef.env = l.CLIConfig, l.Env
	ef.binaries = append(append([]string(nil), ef.binaries...), l.Binaries...)
	ef.sandboxRW = append(append([]string(nil), ef.sandboxRW...), l.SandboxPaths()...)
	return ef
}

// demoPlanOnly is the short demo: the example repository, a change to a
// shared module, the workspaces it affects and their plans, with the CLI
// alone.
func (a *app) demoPlanOnly(ctx context.Context, ef engineFlags) error {
	l := demo.NewLayout(a.dataDir, ef.cliConfig, ef.env)
	ef = demoEngine(l, ef)
	if err := a.demoReset(l); err != nil {
		return err
	}
	repoDir := l.RepoDir
	a.say("Writing the example infrastructure repository to %s", repoDir)
	if err := demo.WriteRepo(ctx, repoDir, l.StateDir); err != nil {
		return err
	}

	a.say("Workspaces Landform discovers (every directory with Terraform files, except modules):")
	if err := a.printWorkspaces(ctx, repoDir); err != nil {
		return err
	}

	a.say("Committing a change to the shared module modules/network (flow-log buckets gain a retention tag)")
	if err := demo.CommitChange(ctx, repoDir); err != nil {
		return err
	}

	a.say("Affected by HEAD~1..HEAD (landform affected --repo %s --base HEAD~1):", repoDir)
	repo, done, err := a.openSource(ctx, repoDir, nil)
	if err != nil {
		return err
	}
	defer done()
	change, err := repo.Changes(ctx, "HEAD~1", "HEAD")
	if err != nil {
		return err
	}
	for _, af := range change.Affected {
		fmt.Fprintf(a.stderr, "    %-14s %s\n", af.Workspace.Name, strings.Join(af.Reasons, "; "))
	}

	a.say("Planning exactly those workspaces with real terraform (landform plan --repo %s --base HEAD~1):", repoDir)
	res, err := a.plan(ctx, planOptions{repo: repoDir, base: "HEAD~1", head: "HEAD", engine: ef})
	if err != nil {
		return err
	}
	if n := res.failed(); n > 0 {
		for _, run := range res.runs {
			if run.Error != "" {
				fmt.Fprintf(a.stderr, "\n%s (run %s):\n%s\n", run.Workspace, run.ID, report.Indent(run.Error))
			}
		}
		return &exitError{code: 1, err: fmt.Errorf("demo: %d of %d plans failed (did scripts/setup run?)", n, len(res.runs))}
	}

	a.say("Runs stored in %s:", a.dbPath())
	var ids []string
	for _, run := range res.runs {
		ids = append(ids, run.ID)
		fmt.Fprintf(a.stderr, "    run %-4s %-14s %-10s %s  plan sha256 %s…\n", run.ID, run.Workspace, run.State, run.Summary, run.PlanSHA256[:12])
	}

	if len(ids) == 0 {
		return errors.New("demo: the change planned no workspace")
	}
	self := selfName() + " --data-dir " + a.dataDir
	fmt.Fprintf(a.stdout, `
Landform planned %d of the repository's workspaces: the ones the commit touched through a shared module.
Try next:
  %s runs                    # every stored run
  %s show %s                 # one run with its plan text
  %s affected --repo %s --base HEAD~1 --json
  %s demo                    # the whole loop: the daemon plans a pushed commit, you approve, it applies
`, len(res.runs), self, self, ids[0], self, repoDir, self)
	return nil
}

// selfName is how the user ran this binary, for suggested commands.
func selfName() string {
	if len(os.Args) > 0 && strings.Contains(os.Args[0], "/") {
		return os.Args[0]
	}
	return "landform"
}

// demoSelf is the command that reaches the demo's data directory: with
// --data-dir when it is not the default.
func (a *app) demoSelf() string {
	if def, err := filepath.Abs(defaultDataDir()); err == nil && def == a.dataDir {
		return selfName()
	}
	return selfName() + " --data-dir " + a.dataDir
}

// printWorkspaces prints the workspaces of the repo at HEAD to stderr.
func (a *app) printWorkspaces(ctx context.Context, dir string) error {
	repo, done, err := a.openSource(ctx, dir, nil)
	if err != nil {
		return err
	}
	defer done()
	all, err := repo.All(ctx, "HEAD")
	if err != nil {
		return err
	}
	for _, t := range all.Targets {
		fmt.Fprintf(a.stderr, "    %s\n", t.Workspace.Name)
	}
	return nil
}
