package landform

import "time"

// What Landform says on, and reads from, a code forge (Gitea, GitHub,
// GitLab). The forge package's clients speak these types; the runner
// declares what it needs of a forge with them.

// ForgeKind names a forge API.
type ForgeKind string

const (
	ForgeGitea  ForgeKind = "gitea"
	ForgeGitHub ForgeKind = "github"
	ForgeGitLab ForgeKind = "gitlab"
)

// ForgeKinds are the forges Landform speaks to.
var ForgeKinds = []ForgeKind{ForgeGitea, ForgeGitHub, ForgeGitLab}

// Mergeable says whether a pull request can be merged as it is.
type Mergeable string

const (
	MergeableYes     Mergeable = "mergeable"
	MergeableNo      Mergeable = "conflicting" // conflicts, or blocked
	MergeableUnknown Mergeable = "unknown"     // the forge has not computed it yet
)

// PullRequest is an open pull (merge) request.
type PullRequest struct {
	Number     int       `json:"number"`
	Title      string    `json:"title"`
	Author     string    `json:"author"` // the forge's login of who opened it
	HeadSHA    string    `json:"head_sha"`
	BaseSHA    string    `json:"base_sha"`
	HeadBranch string    `json:"head_branch"`
	BaseBranch string    `json:"base_branch"`
	Mergeable  Mergeable `json:"mergeable"`
	URL        string    `json:"url"` // the web page of the pull request
}

// Comment is a comment on a pull request or issue.
type Comment struct {
	ID        int64     `json:"id"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	URL       string    `json:"url,omitempty"`
}

// StatusState is the state of a commit status.
type StatusState string

const (
	StatusPending StatusState = "pending"
	StatusSuccess StatusState = "success"
	StatusFailure StatusState = "failure"
	StatusError   StatusState = "error"
)

// CommitStatus is a commit status: one per workspace and commit, found
// again by its context ("landform/plan: envs/prod").
type CommitStatus struct {
	SHA         string      `json:"sha"`
	Context     string      `json:"context"`
	State       StatusState `json:"state"`
	Description string      `json:"description"` // one line; clients cut it to the forge's limit
	TargetURL   string      `json:"target_url,omitempty"`
}

// Issue is an issue of the repository.
type Issue struct {
	Number int    `json:"number"`
	Title  string `json:"title"`
	Body   string `json:"body"`
	Open   bool   `json:"open"`
	URL    string `json:"url"`
}

// PullRequestPlans is what a pull request's plan preview shows: the latest
// run of every workspace its head commit affects, and those of the head
// planned before it (for "what changed since the previous push").
type PullRequestPlans struct {
	Repo   string
	PR     RunPR
	Ref    string
	Commit string
	// Runs are the latest run of each workspace at Commit, by workspace.
	Runs []*Run
	// Deleted are the workspaces Commit deletes: reported, not planned.
	Deleted []string
	// PreviousCommit is the pull request's head planned before Commit
	// ("" for the first), and Previous its runs, by workspace.
	PreviousCommit string
	Previous       []*Run
}
