package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/tokens"
	"github.com/landform/landform/store"
)

func newTokenCmd(a *app) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "token create|list|revoke",
		Short: "Manage API tokens (the REST API's bearer tokens and the dashboard's sign-in)",
		Long: `Tokens made here are kept in the data directory's database (only their sha256),
and work at once for the REST API (Authorization: Bearer TOKEN) and to sign in
to the dashboard, with their role: viewer reads, approver also approves and
applies (who may approve a given run is still decided by the approvals rules),
admin also unlocks workspaces. With --config, the config's data directory is
used. Tokens in the server config (api.tokens) work too; they are listed
there, not here.`,
	}
	cmd.PersistentFlags().StringVar(&cfgPath, "config", "", "the server config whose data directory holds the tokens (default: --data-dir)")
	// openDB opens the store of --config's data directory, else of
	// --data-dir.
	openDB := func(ctx context.Context) (store.Store, error) {
		if cfgPath != "" {
			if _, _, err := a.localConfig(cfgPath, "-"); err != nil {
				return nil, err
			}
		}
		return a.openStore(ctx)
	}

	var (
		identity, role string
		ttl            time.Duration
	)
	create := &cobra.Command{
		Use:   "create --identity NAME --role viewer|approver|admin [--expires-in 720h]",
		Short: "Make a token and print it (once: it is not kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			r, err := landform.ParseRole(role)
			if err != nil {
				return err
			}
			db, err := openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			by, err := whoAmI("")
			if err != nil {
				by = "cli"
			}
			token, t, err := tokens.Create(ctx, db, identity, r, ttl, by, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, token)
			exp := "never expires"
			if !t.ExpiresAt.IsZero() {
				exp = "expires " + t.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(a.stderr, "token %s: %s as %s, %s; shown once, keep it secret\n", t.ID, t.Identity, t.Role, exp)
			return nil
		},
	}
	create.Flags().StringVar(&identity, "identity", "", "who the token acts as (approvals are recorded under it)")
	create.Flags().StringVar(&role, "role", "", "viewer, approver or admin")
	create.Flags().DurationVar(&ttl, "expires-in", 0, "how long the token works (0: until revoked)")
	_ = create.MarkFlagRequired("identity")
	_ = create.MarkFlagRequired("role")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the stored tokens (never the tokens themselves)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			ts, err := db.ListTokens(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, map[string]any{"tokens": ts})
			}
			now := time.Now()
			for _, t := range ts {
				state := "active"
				if t.Expired(now) {
					state = "expired"
				}
				fmt.Fprintf(a.stdout, "%s\t%s\t%s\t%s\tcreated %s by %s\n", t.ID, t.Identity, t.Role, state, t.CreatedAt.Format(time.RFC3339), t.CreatedBy)
			}
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a stored token (its sign-ins end when their sessions expire)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, err := openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.RevokeToken(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "revoked token %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
