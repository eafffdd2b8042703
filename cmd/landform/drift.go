package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
	"github.com/landform/landform/report"
	"github.com/landform/landform/runner"
)

func newDriftCmd(a *app) *cobra.Command {
	var (
		repoSrc, ref     string
		asJSON, exitCode bool
		names, allowEnv  []string
		parallel         int
		ef               engineFlags
	)
	cmd := &cobra.Command{
		Use:   "drift --repo DIR_OR_URL [--ref REV] [--workspace NAME]... [--json] [--exit-code]",
		Short: "Check workspaces for drift: what moved outside Terraform, and code not applied",
		Long: `Drift checks each workspace at --ref (every one, or those named): a refresh-only
plan shows the resources changed and deleted outside Terraform (with the
attributes that moved; sensitive values masked), then a normal plan shows the
code not yet applied. Drift is decided from the plans' JSON, never from
terraform's exit code. The runs are stored (kind drift), so "drifted since"
comes from earlier checks.

Progress goes to stderr, one line per workspace; the report to stdout (--json:
DESIGN.md's contract). With --exit-code, the exit status is 2 when anything
drifted; 1 when a check failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := runner.CheckParallel(parallel); cmd.Flags().Changed("parallel") && err != nil {
				return landform.Errorf(landform.EINVALID, "--parallel: %w", err)
			}
			res, err := a.plan(ctx, planOptions{
				repo: repoSrc, head: ref, names: names, allowEnv: allowEnv, parallel: parallel, engine: ef, drift: true,
			})
			if err != nil {
				return err
			}
			if asJSON {
				out, err := report.DriftJSON(res.drift)
				if err != nil {
					return err
				}
				if _, err := a.stdout.Write(append(out, '\n')); err != nil {
					return err
				}
			} else {
				fmt.Fprint(a.stdout, report.DriftText(res.drift))
			}
			if n := res.failed(); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d drift checks failed", n, len(res.runs))}
			}
			if exitCode {
				for _, w := range res.drift.Workspaces {
					if w.Drifted {
						return &exitError{code: 2}
					}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&repoSrc, "repo", "", "repository: a local path or a URL (required)")
	f.StringVar(&ref, "ref", "HEAD", "the revision to check (the tracked branch's head)")
	f.StringArrayVar(&names, "workspace", nil, "check only this workspace (repeatable)")
	f.IntVar(&parallel, "parallel", 0, "workspaces checked at once (default: the repo's parallel setting, else the number of CPUs)")
	f.BoolVar(&asJSON, "json", false, "print the report as one JSON document")
	f.BoolVar(&exitCode, "exit-code", false, "exit 2 when anything drifted")
	addEngineFlags(cmd, &ef)
	addAllowEnvFlag(cmd, &allowEnv)
	_ = cmd.MarkFlagRequired("repo")
	return cmd
}
