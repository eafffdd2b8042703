package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/landform/landform/report"
	"github.com/spf13/cobra"
)

func newWorkspacesCmd(a *app) *cobra.Command {
	var (
		repoSrc, ref string
		asJSON       bool
		allowEnv     []string
	)
	cmd := &cobra.Command{
		Use:   "workspaces --repo DIR_OR_URL [--ref REV]",
		Short: "List the Terraform workspaces of a repository at a revision",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			repo, done, err := a.openSource(ctx, repoSrc, allowEnv)
			if err != nil {
				return err
			}
			defer done()
			all, err := repo.All(ctx, ref)
			if err != nil {
				return err
			}
			out := []workspaceJSON{}
			for _, af := range all.Affected {
				out = append(out, newWorkspaceJSON(af.Workspace, nil, all.Head.Index))
			}
			if asJSON {
				return writeJSON(a.stdout, map[string]any{"workspaces": out})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			for _, w := range out {
				note := ""
				if w.Error != "" {
					note = "invalid: " + w.Error
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", report.Field(w.Name), report.Field(w.Dir), report.Field(note))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&repoSrc, "repo", "", "repository: a local path or a URL (required)")
	cmd.Flags().StringVar(&ref, "ref", "HEAD", "revision to read")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	addAllowEnvFlag(cmd, &allowEnv)
	_ = cmd.MarkFlagRequired("repo")
	return cmd
}
