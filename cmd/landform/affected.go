package main

import (
	"fmt"

	"github.com/landform/landform/report"
	"github.com/spf13/cobra"
)

func newAffectedCmd(a *app) *cobra.Command {
	var (
		repoSrc, base, head string
		asJSON              bool
		allowEnv            []string
	)
	cmd := &cobra.Command{
		Use:   "affected --repo DIR_OR_URL --base REV --head REV",
		Short: "List the workspaces a change touches, with the reasons",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			repo, done, err := a.openSource(ctx, repoSrc, allowEnv)
			if err != nil {
				return err
			}
			defer done()
			change, err := repo.Changes(ctx, base, head)
			if err != nil {
				return err
			}
			out := []workspaceJSON{}
			for _, af := range change.Affected {
				out = append(out, newWorkspaceJSON(af.Workspace, af.Reasons, change.Head.Index))
			}
			if asJSON {
				return writeJSON(a.stdout, map[string]any{"workspaces": out})
			}
			if len(out) == 0 {
				fmt.Fprintln(a.stderr, "no workspace affected")
			}
			for _, w := range out {
				fmt.Fprintln(a.stdout, report.AffectedLine(w.Name, w.Reasons))
				if n := len(w.Unresolved); n > 0 {
					fmt.Fprintf(a.stderr, "note: %s: %d file references only partly known (over-approximated; --json lists them)\n", report.Field(w.Name), n)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&repoSrc, "repo", "", "repository: a local path or a URL (required)")
	cmd.Flags().StringVar(&base, "base", "", "base revision (required)")
	cmd.Flags().StringVar(&head, "head", "HEAD", "head revision")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	addAllowEnvFlag(cmd, &allowEnv)
	_ = cmd.MarkFlagRequired("repo")
	_ = cmd.MarkFlagRequired("base")
	return cmd
}
