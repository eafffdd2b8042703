package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/demo"
)

func newDemoDriftCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "drift",
		Short: "Edit the running demo's test cloud outside Terraform and watch the next drift check find it",
		Long: `Drift changes the retention tag of prod's flow-log bucket in the running demo's
test cloud (a JSON file under the data directory), the way someone in a cloud
console would, then waits for the demo daemon's next drift check to report it
and prints the report. It finds the demo through the data directory (the same
--data-dir as "landform demo") and asks its daemon through the API.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			l := demo.NewLayout(a.dataDir, "", nil)
			s, err := demo.FindSession(l, a.dataDir)
			if err != nil {
				return err
			}
			token, err := s.Token()
			if err != nil {
				return err
			}
			c, err := demo.NewClient(s.URL, token)
			if err != nil {
				return err
			}
			if !c.Alive(ctx) {
				return landform.Errorf(landform.ENOTFOUND, "%s: the demo's daemon does not answer at %s", demo.ErrNoDemo, s.URL)
			}
			every, _ := time.ParseDuration(s.DriftEvery) // 0 when unknown: a longer wait
			return a.demoDrift(ctx, c, l, nil, every)
		},
	}
}
