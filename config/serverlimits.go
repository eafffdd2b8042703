package config

import "gopkg.in/yaml.v3"

// Limits bound what one repository can make the daemon do:
//
//	limits:
//	  repo_config_bytes: 1048576      # largest .landform.yaml read (default 1 MiB)
//	  workspaces_per_repo: 10000      # declared and discovered together (default 10,000)
//	  queued_runs_per_repo: 5000      # runs queued at once per repository (default 5,000)
//
// A zero field means the default of the part that applies it (RepoOptions
// for the first two, the runner for the third).
type Limits struct {
	RepoConfigBytes   int64
	WorkspacesPerRepo int
	QueuedRunsPerRepo int
}

var serverLimitsFields = []string{"repo_config_bytes", "workspaces_per_repo", "queued_runs_per_repo"}

// decodeLimits reads the server config's limits at p.
func decodeLimits(d *decoder, p string, v *yaml.Node) Limits {
	var l Limits
	d.object(v, p, serverLimitsFields, func(name, fp string, _, val *yaml.Node) {
		n, ok := d.integer(val, fp)
		if !ok {
			return
		}
		if n < 1 {
			d.errorf(val, fp, "must be at least 1, got %d", n)
			return
		}
		switch name {
		case "repo_config_bytes":
			l.RepoConfigBytes = int64(n)
		case "workspaces_per_repo":
			l.WorkspacesPerRepo = n
		case "queued_runs_per_repo":
			l.QueuedRunsPerRepo = n
		}
	})
	return l
}

// RepoOptions are the repo-config options the server config sets: the
// environment names repositories may set and the limits.
func (s *Server) RepoOptions() RepoOptions {
	return RepoOptions{
		AllowedEnv:    s.Terraform.AllowedEnv,
		MaxFileSize:   s.Limits.RepoConfigBytes,
		MaxWorkspaces: s.Limits.WorkspacesPerRepo,
	}
}

// LedgerFor reports whether the runs of the repository named repo are
// recorded on its ledger branch: its own setting, else the global one.
func (s *Server) LedgerFor(repo string) bool {
	for _, rs := range s.Repos {
		if rs.Name == repo {
			return rs.Ledger
		}
	}
	return s.Ledger
}
