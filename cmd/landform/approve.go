package main

import (
	"fmt"
	"os/user"
	"time"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
)

func newApproveCmd(a *app) *cobra.Command {
	var (
		cfgPath, as, override string
	)
	cmd := &cobra.Command{
		Use:   "approve RUN --override-policy REASON [--as USER] [--config landform.yaml]",
		Short: "Override the policy deny of a run (policy owners only)",
		Long: `Approve with --override-policy lets a run its policies denied (state
policy_failed) go on: only a policy owner (policies.owners in the server config)
may, with a reason. The run becomes planned, and who overrode it, when and why
are kept with its policy result and written to the ledger.

Approvals of plans (who may approve, how many) come with the approvals issue;
today approve only overrides policies.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if override == "" {
				return landform.Errorf(landform.EINVALID, "approve needs --override-policy REASON (plain approvals are not built yet)")
			}
			cfg, err := loadServerConfig(cfgPath)
			if err != nil {
				return err
			}
			if as == "" {
				u, err := user.Current()
				if err != nil {
					return landform.Errorf(landform.EINVALID, "who are you? say it with --as: %w", err)
				}
				as = u.Username
			}
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			run, err := runner.OverridePolicy(ctx, db, runner.Override{
				RunID: args[0], By: as, IsOwner: cfg.Policies.IsOwner, Reason: override, Ledger: cfg.LedgerFor, Now: time.Now(),
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "run %s: policy deny overridden by %s (%s); now %s\n", run.ID, as, override, run.State)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "landform.yaml", "the server config (policy owners, ledger)")
	cmd.Flags().StringVar(&as, "as", "", "who approves (default: the user running the command)")
	cmd.Flags().StringVar(&override, "override-policy", "", "override the run's policy deny, for this reason")
	return cmd
}
