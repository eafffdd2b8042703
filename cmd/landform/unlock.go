package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
)

func newUnlockCmd(a *app) *cobra.Command {
	var repo string
	cmd := &cobra.Command{
		Use:   "unlock WORKSPACE [--repo NAME]",
		Short: "Release a workspace lock, whoever holds it",
		Long: `Unlock releases the Landform lock of a workspace (the lock a pull request's plan
takes under lock_policy strict). Queued plans that waited for it are planned at
the daemon's next poll. With several repositories holding a lock on a workspace
of that name, say which with --repo.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			l, err := runner.Unlock(ctx, db, repo, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "unlocked %s in %s (was held by %s", l.Workspace, l.Repo, l.Holder)
			if l.RunID != "" {
				fmt.Fprintf(a.stdout, ", run %s", l.RunID)
			}
			fmt.Fprintln(a.stdout, ")")
			return nil
		},
	}
	cmd.Flags().StringVar(&repo, "repo", "", "the repository's name in the server config")
	return cmd
}

func newLocksCmd(a *app) *cobra.Command {
	var (
		repo   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "locks [--repo NAME]",
		Short: "List workspace locks and their holders",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			locks, err := db.ListLocks(ctx, repo)
			if err != nil {
				return err
			}
			if asJSON {
				if locks == nil {
					locks = []*landform.Lock{}
				}
				return writeJSON(a.stdout, map[string]any{"locks": locks})
			}
			for _, l := range locks {
				fmt.Fprintf(a.stdout, "%s\t%s\theld by %s\trun %s\t%s\n", l.Repo, l.Workspace, l.Holder, l.RunID, l.Reason)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&repo, "repo", "", "only this repository's locks")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}
