package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/landform/landform/config"
	"github.com/landform/landform/gate"
)

// loadServerConfig reads a server config and checks that the environment
// variables and files it names exist, as serve and validate both need.
func loadServerConfig(path string) (*config.Server, error) {
	cfg, err := config.LoadServer(path)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckEnvironment(os.LookupEnv); err != nil {
		return nil, err
	}
	return cfg, nil
}

func newValidateCmd(a *app) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "validate --config landform.yaml",
		Short: "Check a server config: syntax, fields, the env vars and files it names, and its policies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadServerConfig(cfgPath)
			if err != nil {
				return err
			}
			// The server's policy sets compile as serve would compile them
			// (repository sets are read from each default branch at run
			// time).
			if _, err := gate.New(cfg.Policies, nil); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: ok (%d repositories, %d policy sets)\n", cfgPath, len(cfg.Repos), len(cfg.Policies.Sets))
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "landform.yaml", "the server config file")
	return cmd
}
