package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
	"github.com/landform/landform/apiclient"
	"github.com/landform/landform/config"
	"github.com/landform/landform/runner"
)

// remoteFlags are the flags of commands that can go through a daemon's
// API instead of the local store.
type remoteFlags struct {
	server, tokenEnv string
}

func (f *remoteFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", "", "go through the daemon at this URL (its REST API) instead of the local store")
	cmd.Flags().StringVar(&f.tokenEnv, "token-env", "LANDFORM_TOKEN", "with --server: the environment variable holding the API token")
}

// client returns the API client, nil without --server.
func (f *remoteFlags) client() (*apiclient.Client, error) {
	if f.server == "" {
		return nil, nil
	}
	return apiclient.New(f.server, os.Getenv(f.tokenEnv))
}

// whoAmI is --as, or the user running the command.
func whoAmI(as string) (string, error) {
	if as != "" {
		return as, nil
	}
	u, err := user.Current()
	if err != nil {
		return "", landform.Errorf(landform.EINVALID, "who are you? say it with --as: %w", err)
	}
	return u.Username, nil
}

// localConfig loads the server config at path for a command on the local
// store, makes its data directory the command's (the daemon's store is
// the one approvals and applies act on), and says who runs it: as, or the
// user running the command.
func (a *app) localConfig(path, as string) (*config.Server, string, error) {
	cfg, err := loadServerConfig(path)
	if err != nil {
		return nil, "", err
	}
	if as, err = whoAmI(as); err != nil {
		return nil, "", err
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, "", err
	}
	a.dataDir = dir
	a.useStores(cfg)
	return cfg, as, nil
}

func newApproveCmd(a *app) *cobra.Command {
	var (
		cfgPath, as, override string
		remote                remoteFlags
	)
	cmd := &cobra.Command{
		Use:   "approve RUN [--as USER] [--config landform.yaml] [--server URL] [--override-policy REASON]",
		Short: "Approve a run's plan (or, as a policy owner, override its policy deny)",
		Long: `Approve records your approval of a run's plan, bound to its commit and the
sha256 of its plan: an apply checks both. Who may approve, how many approvals a
plan needs and whether the author of a change may approve it come from the
server config's approvals (and the repository's .landform.yaml on its default
branch). A refused approval is recorded too, with the reason.

Without --server, approve acts on the local store of the config's data
directory, as USER (--as; default: the user running the command). With
--server URL, it goes through that daemon's API as the identity of the API
token in $LANDFORM_TOKEN (--token-env).

With --override-policy, a policy owner lets a run its policies denied go on,
with a reason.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			client, err := remote.client()
			if err != nil {
				return err
			}
			if client != nil {
				if override != "" {
					return landform.Errorf(landform.EINVALID, "--override-policy goes through the local store (or a comment): not with --server")
				}
				run, err := client.Approve(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "run %s %s: approved; now %s\n", run.ID, run.Workspace, run.State)
				return nil
			}
			cfg, as, err := a.localConfig(cfgPath, as)
			if err != nil {
				return err
			}
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			if override != "" {
				run, err := runner.OverridePolicy(ctx, db, runner.Override{
					RunID: args[0], By: as, IsOwner: cfg.Policies.IsOwner, Reason: override, Ledger: cfg.LedgerFor, Now: time.Now(),
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "run %s: policy deny overridden by %s (%s); now %s\n", run.ID, as, override, run.State)
				return nil
			}
			plans, err := a.openPlans(ctx)
			if err != nil {
				return err
			}
			w, err := a.watchRepos(cfg, plans, nil, a.logger)
			if err != nil {
				return err
			}
			defer w.close()
			req := runner.ApprovalRequest{RunID: args[0], By: as, Channel: landform.ChannelCLI, Now: time.Now()}
			if run, err := db.GetRun(ctx, args[0]); err == nil {
				if repo, ok := w.repo(run.Repo); ok && repo.Forge != nil {
					req.Forge = repo.Forge
				}
			}
			run, err := runner.Approve(ctx, db, w.authority(cfg), req)
			if run != nil {
				announce(ctx, a, db, w, run)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "run %s %s: approved by %s; now %s\n", run.ID, run.Workspace, as, run.State)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "landform.yaml", "the server config (approvers, policy owners, ledger)")
	cmd.Flags().StringVar(&as, "as", "", "who approves (default: the user running the command)")
	cmd.Flags().StringVar(&override, "override-policy", "", "override the run's policy deny, for this reason (policy owners only)")
	remote.add(cmd)
	return cmd
}

// announce records run's change for the ledger and the forge (see
// runner.Announce); a failure is reported, not fatal: the run is stored.
func announce(ctx context.Context, a *app, s runner.AnnounceStore, w *watched, run *landform.Run) {
	repo, ok := w.repo(run.Repo)
	if !ok {
		return
	}
	if err := runner.Announce(ctx, s, repo, run); err != nil {
		fmt.Fprintf(a.stderr, "warning: run %s is recorded, but queueing its ledger and forge records failed: %v\n", run.ID, err)
	}
}
