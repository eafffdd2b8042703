package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/landform/landform/internal/demo"
	"github.com/landform/landform/report"
	"github.com/spf13/cobra"
)

func newDemoCmd(a *app) *cobra.Command {
	var (
		ef    engineFlags
		serve bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run Landform's main job on an example repository",
		Long: `Demo writes an example infrastructure repository (two environments sharing
local modules, resources of Landform's test cloud) into the data directory,
commits a change to a shared module, and shows which workspaces it affects
and their plans. The test cloud is a directory of JSON files in the data
directory, so nothing leaves this machine.

Terraform and the providers come from the machine: the demo uses the CLI
config written by scripts/setup (.tools/terraformrc) when it exists.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if serve {
				return a.demoServe(cmd.Context(), ef)
			}
			return a.demo(cmd.Context(), ef)
		},
	}
	cmd.Flags().BoolVar(&serve, "serve", false, "serve the example repo over git:// on loopback, run the daemon on it, push a commit and watch its plans appear")
	addEngineFlags(cmd, &ef)
	return cmd
}

// demoSetup makes the data directory absolute and writes and commits the
// example repository. It returns the repository's directory and the engine
// flags to use (see demo.NewLayout).
func (a *app) demoSetup(ctx context.Context, ef engineFlags) (string, engineFlags, error) {
	dataDir, err := filepath.Abs(a.dataDir)
	if err != nil {
		return "", ef, err
	}
	a.dataDir = dataDir
	l := demo.NewLayout(dataDir, ef.cliConfig, ef.env)
	ef.cliConfig, ef.env = l.CLIConfig, l.Env
	a.say("Writing the example infrastructure repository to %s", l.RepoDir)
	if err := demo.WriteRepo(ctx, l.RepoDir); err != nil {
		return "", ef, err
	}
	return l.RepoDir, ef, nil
}

// say prints one step of the demo.
func (a *app) say(format string, args ...any) {
	fmt.Fprintf(a.stderr, "\n==> "+format+"\n", args...)
}

func (a *app) demo(ctx context.Context, ef engineFlags) error {
	repoDir, ef, err := a.demoSetup(ctx, ef)
	if err != nil {
		return err
	}
	dataDir := a.dataDir
	say := a.say

	say("Workspaces Landform discovers (every directory with Terraform files, except modules):")
	if err := a.printWorkspaces(ctx, repoDir); err != nil {
		return err
	}

	say("Committing a change to the shared module modules/network (flow-log buckets gain a retention tag)")
	if err := demo.CommitChange(ctx, repoDir); err != nil {
		return err
	}

	say("Affected by HEAD~1..HEAD (landform affected --repo %s --base HEAD~1):", repoDir)
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

	say("Planning exactly those workspaces with real terraform (landform plan --repo %s --base HEAD~1):", repoDir)
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

	say("Runs stored in %s:", filepath.Join(dataDir, "landform.db"))
	var ids []string
	for _, run := range res.runs {
		ids = append(ids, run.ID)
		fmt.Fprintf(a.stderr, "    run %-4s %-14s %-10s %s  plan sha256 %s…\n", run.ID, run.Workspace, run.State, run.Summary, run.PlanSHA256[:12])
	}

	if len(ids) == 0 {
		return fmt.Errorf("demo: the change planned no workspace")
	}
	self := selfName() + " --data-dir " + a.dataDir
	fmt.Fprintf(a.stdout, `
Landform planned %d of the repository's workspaces: the ones the commit touched through a shared module.
Try next:
  %s runs                    # every stored run
  %s show %s                 # one run with its plan text
  %s affected --repo %s --base HEAD~1 --json
  %s plan --repo %s --all%s
  %s demo --serve            # the daemon: it watches the repo, a pushed commit gets planned
`, len(res.runs), self, self, ids[0], self, repoDir, self, repoDir, engineHint(ef), self)
	return nil
}

// selfName is how the user ran this binary, for suggested commands.
func selfName() string {
	if len(os.Args) > 0 && strings.Contains(os.Args[0], "/") {
		return os.Args[0]
	}
	return "landform"
}

// engineHint repeats the engine flags the demo used, for the suggested
// commands.
func engineHint(ef engineFlags) string {
	var b strings.Builder
	if ef.cliConfig != "" {
		b.WriteString(" --terraform-cli-config " + ef.cliConfig)
	}
	if root, ok := ef.env["TESTCLOUD_ROOT"]; ok {
		b.WriteString(" --env TESTCLOUD_ROOT=" + root)
	}
	return b.String()
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
