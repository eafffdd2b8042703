package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/datadir"
	"github.com/landform/landform/internal/storage"
	"github.com/landform/landform/runner"
)

func newApplyCmd(a *app) *cobra.Command {
	var (
		cfgPath, as string
		asJSON      bool
		timeout     time.Duration
		remote      remoteFlags
	)
	cmd := &cobra.Command{
		Use:   "apply RUN [--json] [--as USER] [--config landform.yaml] [--server URL]",
		Short: "Apply exactly the approved plan of a run",
		Long: `Apply applies the saved plan of a run — exactly the plan that was approved —
after checking: it has the approvals it needs, bound to its commit and the sha256
of its plan; its ref's head has not moved (else the run is superseded); the apply
requirements of its workspace (mergeable, undiverged, policies passed); and that
no other run applies it (concurrent requests apply once). It takes the workspace
lock, re-reads the stored plan and checks its sha256, and applies the plan file.
When the state moved since the plan was made, the run becomes stale and a fresh
plan is queued for a new approval.

Without --server, apply runs terraform here, on the local store of the config's
data directory (not while a daemon serves it: use --server then). With
--server URL, the daemon applies it and apply waits for the outcome.

Exit status: 0 applied, 1 refused or failed (the reason is printed).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			client, err := remote.client()
			if err != nil {
				return err
			}
			var run *landform.Run
			if client != nil {
				fmt.Fprintf(a.stderr, "applying run %s through %s …\n", args[0], remote.server)
				if run, err = client.Apply(ctx, args[0], timeout); err != nil {
					return err
				}
			} else {
				cfg, who, err := a.localConfig(cfgPath, as)
				if err != nil {
					return err
				}
				as = who
				if storage.Shared(cfg.Store) {
					// Replicas recover what no live replica runs: an apply
					// here would be taken for a dead replica's.
					return landform.Errorf(landform.EINVALID, "the store is shared by replicas: apply through one of them with --server URL")
				}
				// Terraform runs here: not beside a daemon of the same data
				// directory, which may be applying or planning it.
				lock, err := datadir.Acquire(a.dataDir, "landform apply")
				if err != nil {
					return err
				}
				defer lock.Release()
				db, err := a.openStore(ctx)
				if err != nil {
					return err
				}
				defer db.Close()
				sv, err := a.openServed(ctx, cfg)
				if err != nil {
					return err
				}
				w := sv.repos
				defer w.close()
				r, err := a.newRunner(db, sv.engine, cfg.Terraform.Env, sv.red, 1, false, runner.WithCredentials(sv.creds))
				if err != nil {
					return err
				}
				if run, err = db.GetRun(ctx, args[0]); err != nil {
					return err
				}
				repo, ok := w.repo(run.Repo)
				if !ok {
					return landform.Errorf(landform.EINVALID, "run %s is of repository %q, which the config does not watch", run.ID, run.Repo)
				}
				env := runner.ApplyEnv{Store: db, Policy: w.authority(cfg), Source: repo.Source, Forge: repo.Forge, LockPolicy: repo.LockPolicy}
				run, err = r.StartApply(ctx, env, runner.ApplyRequest{RunID: args[0], By: as, Channel: landform.ChannelCLI, Now: time.Now()})
				if err != nil {
					if run != nil && run.State == landform.StateSuperseded {
						announce(ctx, a, db, w, run)
					}
					return err
				}
				fmt.Fprintf(a.stderr, "applying run %s %s at %s (plan sha256 %s) …\n", run.ID, run.Workspace, landform.ShortSHA(run.Commit), run.PlanSHA256[:12])
				run, err = r.FinishApply(ctx, env, run)
				announce(ctx, a, db, w, run)
				if err != nil {
					return err
				}
			}
			if asJSON {
				if err := writeJSON(a.stdout, map[string]any{"run": run}); err != nil {
					return err
				}
			} else {
				printApply(a, run)
			}
			if run.State != landform.StateApplied {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "landform.yaml", "the server config (approvers, repositories, terraform)")
	cmd.Flags().StringVar(&as, "as", "", "who applies (default: the user running the command)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the run as JSON")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "with --server: give up waiting after this long (0: no limit)")
	remote.add(cmd)
	return cmd
}

// printApply prints what became of an apply.
func printApply(a *app, run *landform.Run) {
	res := run.Apply
	if res == nil {
		fmt.Fprintf(a.stdout, "run %s %s: %s\n", run.ID, run.Workspace, run.State)
		return
	}
	switch run.State {
	case landform.StateApplied:
		fmt.Fprintf(a.stdout, "run %s %s: applied — %s\n", run.ID, run.Workspace, res.Summary)
	case landform.StateStale:
		fmt.Fprintf(a.stdout, "run %s %s: stale — the state moved since the plan; planning again as run %s, which needs a new approval\n", run.ID, run.Workspace, res.Replan)
	default:
		fmt.Fprintf(a.stdout, "run %s %s: %s — %s\n", run.ID, run.Workspace, run.State, landform.OneLine(res.Error, 2000))
	}
}
