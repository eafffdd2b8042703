package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/gate"
	"github.com/landform/landform/policies"
	"github.com/landform/landform/report"
)

func newPolicyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Test policies and evaluate them on a plan",
	}
	cmd.AddCommand(newPolicyTestCmd(a), newPolicyEvalCmd(a))
	return cmd
}

func newPolicyTestCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "test DIR",
		Short: "Run the Rego unit tests of a policy directory (as opa test does)",
		Long: `Test runs every test_* rule of the .rego files under DIR (policies and their
*_test.rego files, Rego v1) and prints each result, as opa test -v does. It exits
1 when a test fails or errors, or when the policies do not compile (naming the
file and line).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			results, err := policies.Test(cmd.Context(), os.DirFS(dir), ".")
			if err != nil {
				return err
			}
			if err := policies.WriteTestResults(a.stdout, results); err != nil {
				return err
			}
			for _, r := range results {
				if !r.Pass && !r.Skip {
					return &exitError{code: 1}
				}
			}
			return nil
		},
	}
}

func newPolicyEvalCmd(a *app) *cobra.Command {
	var (
		planPath, cfgPath, workspace string
		dirs                         []string
		asJSON                       bool
	)
	cmd := &cobra.Command{
		Use:   "eval --plan PLAN_JSON [--policy DIR]... [--config landform.yaml] [--json]",
		Short: "Evaluate policies on a plan's JSON (terraform show -json)",
		Long: `Eval judges a plan as the daemon does and prints the decision: with --config,
the server config's policy sets (built-in and directory sets; a repository's own
set is read from its default branch by the daemon and is left out here) that
apply to --workspace; with --policy, each directory as a set of its own
(enforced with deny). A run's stored plan JSON is printed by
landform show RUN --plan-json. Exit status: 0 allowed, 2 denied, 1 error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			plan, err := os.ReadFile(planPath)
			if err != nil {
				return landform.Errorf(landform.EINVALID, "reading the plan: %w", err)
			}
			var configured config.Policies
			if cmd.Flags().Changed("config") {
				cfg, err := loadServerConfig(cfgPath)
				if err != nil {
					return err
				}
				configured = cfg.Policies
			}
			abs := make([]string, len(dirs))
			for i, d := range dirs {
				if abs[i], err = filepath.Abs(d); err != nil {
					return err
				}
			}
			sets, left := gate.Offline(configured, abs)
			for _, name := range left {
				fmt.Fprintf(a.stderr, "note: policy set %s is a repository's, read by the daemon from its default branch: left out\n", name)
			}
			if len(sets.Sets) == 0 {
				return landform.Errorf(landform.EINVALID, "no policies: give --config or --policy DIR")
			}
			g, err := gate.New(sets, nil)
			if err != nil {
				return err
			}
			res, err := g.Evaluate(cmd.Context(), &landform.Run{Workspace: workspace}, plan)
			if err != nil {
				return err
			}
			if res == nil {
				res = &landform.PolicyResult{}
			}
			if asJSON {
				err = writeJSON(a.stdout, report.NewPolicyDecision(res))
			} else {
				_, err = fmt.Fprint(a.stdout, report.PolicyText(res))
			}
			if err != nil {
				return err
			}
			if res.Denied() {
				return &exitError{code: 2}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&planPath, "plan", "", "the plan's JSON, as terraform show -json prints it (required)")
	cmd.Flags().StringArrayVar(&dirs, "policy", nil, "a policy directory (repeatable)")
	cmd.Flags().StringVar(&cfgPath, "config", "landform.yaml", "use the policy sets of this server config")
	cmd.Flags().StringVar(&workspace, "workspace", "", "the workspace the plan is of (policy sets apply by workspace)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the decision as one JSON document")
	_ = cmd.MarkFlagRequired("plan")
	return cmd
}
