// Package landform holds Landform's domain types — repositories, workspaces,
// targets, runs and their states, plan summaries, locks — and the error
// codes every other package speaks.
//
// Adapters (store/sqlite, planstore/fs, gitrepo, terraform, forge/…) import
// this package; it imports none of them. The orchestration core lives in
// package runner and the wiring in cmd/landform.
package landform

import "time"

// Repo is a git remote Landform watches, as the server config describes it
// (config.RepoSettings adds only how to authenticate).
type Repo struct {
	// Name is unique among the watched repos.
	Name string `json:"name"`
	// URL is the remote (or a local path).
	URL string `json:"url"`
	// Branches are the watched branches; empty means the remote's default
	// branch.
	Branches     []string      `json:"branches,omitempty"`
	PollInterval time.Duration `json:"poll_interval,omitempty"`
	// PullRequests says whether refs/pull/*/head and
	// refs/merge-requests/*/head are watched too.
	PullRequests bool `json:"pull_requests,omitempty"`
	// Ledger says whether finished runs are recorded on LedgerBranch.
	Ledger       bool       `json:"ledger,omitempty"`
	LedgerBranch string     `json:"ledger_branch,omitempty"`
	LockPolicy   LockPolicy `json:"lock_policy,omitempty"`
	// Forge is the kind of the repository's forge, "" for none: with one,
	// pull requests get plan previews and commit statuses.
	Forge ForgeKind `json:"forge,omitempty"`
}

// DefaultLedgerBranch is the branch a repository's ledger is written to
// unless its settings name another.
const DefaultLedgerBranch = "landform/ledger"

// LockPolicy says how long a workspace stays locked against other plans.
type LockPolicy string

const (
	// LockStrict locks a workspace from a pull request's plan until that
	// plan is applied or discarded (the default).
	LockStrict LockPolicy = "strict"
	// LockApply locks a workspace only while it is being applied.
	LockApply LockPolicy = "apply"
	// LockNone takes no Landform lock (Terraform's state lock still holds).
	LockNone LockPolicy = "none"
)

// LockPolicies are the valid lock policies, the default first.
var LockPolicies = []LockPolicy{LockStrict, LockApply, LockNone}

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
	// Changes is the rule that decides which changed paths affect the
	// workspace: ChangesRead ("" means the same) or ChangesDirectory.
	Changes string `json:"changes,omitempty"`
}

// The rules for which changed paths affect a workspace (the repo config's
// "changes" setting).
const (
	// ChangesRead: what Terraform reads for the workspace — Terraform files
	// of its directory and of the local modules it calls, its lock file and
	// var files, the files its configuration references, its when_modified
	// globs. The default.
	ChangesRead = "read"
	// ChangesDirectory: any file under the workspace's directory or a local
	// module's directory, as well as the references and globs.
	ChangesDirectory = "directory"
)

// ChangeRules are the valid values of Workspace.Changes, the default first.
var ChangeRules = []string{ChangesRead, ChangesDirectory}

// WorkspaceName returns the default name of the workspace in dir with
// Terraform workspace tfws.
func WorkspaceName(dir, tfws string) string {
	if tfws == "" || tfws == DefaultTFWorkspace {
		return dir
	}
	return dir + "@" + tfws
}

// Target is a workspace at a commit, with what its configuration requires
// of the engine and what it reads from the tree: what a run needs to
// prepare before terraform starts.
type Target struct {
	Workspace Workspace
	// RequiredVersions are the configuration's required_version strings.
	RequiredVersions []string
	// Paths are the directories and files the plan reads (the workspace's
	// dir, its local modules, the files its configuration reads); only they
	// are exported. nil means the whole tree.
	Paths []string
}
