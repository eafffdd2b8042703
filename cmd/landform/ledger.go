package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/landform/landform/report"
	"github.com/landform/landform/runner"
)

func newLedgerCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Ledger records the daemon set aside",
	}
	var repo string
	list := &cobra.Command{
		Use:   "aside --repo NAME",
		Short: "List the ledger records set aside (they could not be written) and why",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			aside, err := db.ListSetAsideLedger(ctx, repo)
			if err != nil {
				return err
			}
			if len(aside) == 0 {
				fmt.Fprintf(a.stderr, "no ledger record of %s is set aside\n", repo)
			}
			for _, id := range slices.Sorted(maps.Keys(aside)) {
				fmt.Fprintf(a.stdout, "run %s\t%s\n", id, report.Field(aside[id]))
			}
			return nil
		},
	}
	list.Flags().StringVar(&repo, "repo", "", "the repository's name in the server config (required)")
	_ = list.MarkFlagRequired("repo")
	retry := &cobra.Command{
		Use:   "retry RUN",
		Short: "Put a ledger record set aside back in the outbox: the daemon writes it again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			reason, err := runner.RetryLedger(ctx, db, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "run %s: its ledger record is pending again (it was set aside: %s)\n", args[0], report.Field(reason))
			return nil
		},
	}
	cmd.AddCommand(list, retry)
	return cmd
}
