package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
	"github.com/landform/landform/report"
)

func newRunsCmd(a *app) *cobra.Command {
	var (
		asJSON          bool
		repo, workspace string
		limit           int
	)
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List stored runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			runs, err := db.ListRuns(ctx, landform.RunFilter{Repo: repo, Workspace: workspace, Limit: limit})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, map[string]any{"runs": report.RunRecords(runs)})
			}
			return report.RunsTable(a.stdout, runs)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	cmd.Flags().StringVar(&repo, "repo", "", "only runs of this repository")
	cmd.Flags().StringVar(&workspace, "workspace", "", "only runs of this workspace")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many runs (0: all)")
	return cmd
}

func newShowCmd(a *app) *cobra.Command {
	var asJSON, planJSON bool
	cmd := &cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show one run and its plan",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			run, err := db.GetRun(ctx, args[0])
			if err != nil {
				return err
			}
			if run.Approvals, err = db.ListApprovals(ctx, run.ID); err != nil {
				return err
			}
			if len(run.Approvals) == 0 {
				run.Approvals = nil
			}
			if planJSON {
				if run.PlanSHA256 == "" {
					return landform.Errorf(landform.ENOTFOUND, "run %s has no plan", run.ID)
				}
				art, err := a.planOf(ctx, run.ID)
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(art.JSON)
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, report.NewRunRecord(run))
			}
			fmt.Fprintf(a.stdout, "run %s: %s %s of %s at %s\n", run.ID, run.State, run.Kind, run.Workspace, landform.ShortSHA(run.Commit))
			fmt.Fprintf(a.stdout, "repo: %s\nchanges: %s\n", run.Repo, run.Summary)
			if run.Duration() > 0 {
				fmt.Fprintf(a.stdout, "took: %s\n", run.Duration().Round(time.Millisecond))
			}
			if run.Error != "" {
				fmt.Fprintf(a.stdout, "\nerror:\n%s\n", report.Indent(run.Error))
			}
			if run.Policy != nil {
				fmt.Fprintf(a.stdout, "\npolicies: %s\n", report.Indent(report.PolicyText(run.Policy)))
			}
			for _, ap := range run.Approvals {
				verdict := "approved by"
				if !ap.Approved {
					verdict = "refused:"
				}
				fmt.Fprintf(a.stdout, "approval: %s %s via %s at %s", verdict, ap.By, ap.Channel, ap.At.Format(time.RFC3339))
				if ap.Reason != "" {
					fmt.Fprintf(a.stdout, " (%s)", landform.OneLine(ap.Reason, 200))
				}
				fmt.Fprintln(a.stdout)
			}
			if res := run.Apply; res != nil {
				fmt.Fprintf(a.stdout, "apply: asked by %s via %s at %s\n", res.By, res.Channel, res.RequestedAt.Format(time.RFC3339))
				if res.Summary != "" {
					fmt.Fprintf(a.stdout, "apply: %s\n", res.Summary)
				}
				if res.Error != "" {
					fmt.Fprintf(a.stdout, "apply error:\n%s\n", report.Indent(res.Error))
				}
			}
			if run.PlanSHA256 == "" {
				return nil
			}
			art, err := a.planOf(ctx, run.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "plan sha256: %s\n\n%s", art.SHA256, art.Text)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the run as one JSON document")
	cmd.Flags().BoolVar(&planJSON, "plan-json", false, "print the run's stored plan JSON (terraform show -json), e.g. for landform policy eval")
	return cmd
}

// planOf reads the stored plan artifact of run id.
func (a *app) planOf(ctx context.Context, id string) (*landform.PlanArtifact, error) {
	plans, err := a.openPlans(ctx)
	if err != nil {
		return nil, err
	}
	return plans.Get(ctx, id)
}
