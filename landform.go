// Package landform holds Landform's domain types — repositories, workspaces,
// runs and their states, plan summaries, drift reports and approvals — and the
// error codes every other package speaks.
//
// Adapters (store/sqlite, planstore/fs, gitrepo, terraform, forge/…) import
// this package; it imports none of them. The orchestration core lives in
// package runner and the wiring in cmd/landform.
package landform

import "time"

// Repo is a git remote Landform watches.
type Repo struct {
	Name          string        `json:"name"`
	URL           string        `json:"url"`
	DefaultBranch string        `json:"default_branch,omitempty"`
	PollInterval  time.Duration `json:"poll_interval,omitempty"`
	// Forge is the kind of forge hosting the repo: "github", "gitlab",
	// "gitea" or "" for a plain git remote.
	Forge string `json:"forge,omitempty"`
}

// DefaultTFWorkspace is Terraform's own name for the workspace used when none
// is selected.
const DefaultTFWorkspace = "default"

// Workspace is one unit of plan and apply: a directory of a repository plus a
// Terraform workspace name.
type Workspace struct {
	// Name identifies the workspace within its repo. It defaults to Dir, with
	// "@<TFWorkspace>" appended for a non-default Terraform workspace.
	Name string `json:"name"`
	// Dir is the configuration directory relative to the repo root,
	// "/"-separated, "." for the root itself.
	Dir string `json:"dir"`
	// TFWorkspace is the Terraform workspace; "" means "default".
	TFWorkspace string `json:"workspace,omitempty"`
	// TerraformVersion constrains the engine version (same syntax as
	// required_version); empty means "whatever the configuration requires".
	TerraformVersion string `json:"terraform_version,omitempty"`
	// WhenModified are extra globs (relative to the repo root) whose changes
	// affect this workspace.
	WhenModified []string `json:"when_modified,omitempty"`
	// VarFiles are passed as -var-file, relative to Dir.
	VarFiles []string `json:"var_files,omitempty"`
	// Env is extra environment for terraform child processes.
	Env map[string]string `json:"env,omitempty"`
}

// WorkspaceName returns the default name of the workspace in dir with
// Terraform workspace tfws.
func WorkspaceName(dir, tfws string) string {
	if tfws == "" || tfws == DefaultTFWorkspace {
		return dir
	}
	return dir + "@" + tfws
}
