package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
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
			ws := args[0]
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			if repo == "" {
				locks, err := db.ListLocks(ctx, "")
				if err != nil {
					return err
				}
				var repos []string
				for _, l := range locks {
					if l.Workspace == ws {
						repos = append(repos, l.Repo)
					}
				}
				switch len(repos) {
				case 0:
					return landform.Errorf(landform.ENOTFOUND, "workspace %s is not locked", ws)
				case 1:
					repo = repos[0]
				default:
					return landform.Errorf(landform.EINVALID, "workspace %s is locked in several repositories (%v): say which with --repo", ws, repos)
				}
			}
			l, err := db.ForceUnlock(ctx, repo, ws)
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
