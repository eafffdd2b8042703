package landform

import "time"

// Approval channels: where an approval (or its refusal) came from.
const (
	ChannelComment = "comment" // a pull request comment
	ChannelSlack   = "slack"   // a Slack slash command
	ChannelAPI     = "api"     // the REST API
	ChannelWeb     = "web"     // the web dashboard
	ChannelCLI     = "cli"     // the landform command line
	ChannelDrift   = "drift"   // a drift remediation applied without a person (remediation: auto)
)

// Approval is one decision on a run's plan: an approval bound to the run,
// its commit and its plan's sha256 (an apply checks all three), or a
// refused one with the reason — refusals are recorded too.
type Approval struct {
	// ID is assigned by the store.
	ID      string `json:"id"`
	RunID   string `json:"run"`
	By      string `json:"by"`
	Channel string `json:"channel"`
	// Commit and PlanSHA256 are what was approved.
	Commit     string `json:"commit"`
	PlanSHA256 string `json:"plan_sha256"`
	// Approved is false for a refused approval; Reason says why (or, for
	// an approval, the approver's note).
	Approved bool      `json:"approved"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// ChannelOnMerge marks an approval carried over to the plan of a merge
// commit whose resource changes equal those of the approved plan of the
// pull request it merged (apply mode on_merge).
const ChannelOnMerge = "on_merge"

// Apply modes: when an approved plan of a pull request is applied.
const (
	// ApplyBeforeMerge: the pull request's approved plan is applied from
	// the pull request (landform apply), then it is merged.
	ApplyBeforeMerge = "before_merge"
	// ApplyOnMerge: once the pull request merges, Landform plans the merge
	// commit and applies it when its resource changes equal the approved
	// plan's, carrying the approval over; otherwise it asks again.
	ApplyOnMerge = "on_merge"
)

// ApplyModes are the apply modes, the default first.
var ApplyModes = []string{ApplyBeforeMerge, ApplyOnMerge}

// Apply requirements: what must hold before an approved plan is applied.
const (
	// RequireApproved: enough approvals, bound to the run's commit and
	// plan sha256.
	RequireApproved = "approved"
	// RequireMergeable: the forge says the pull request can be merged.
	RequireMergeable = "mergeable"
	// RequireUndiverged: the pull request's head contains the head of its
	// base branch (nothing merged there since is missing from the plan).
	RequireUndiverged = "undiverged"
	// RequirePoliciesPassed: no policy deny (or a policy owner's override).
	RequirePoliciesPassed = "policies_passed"
)

// ApplyRequirements are every apply requirement.
var ApplyRequirements = []string{RequireApproved, RequireMergeable, RequireUndiverged, RequirePoliciesPassed}

// DefaultApplyRequirements are the apply requirements unless configured.
var DefaultApplyRequirements = []string{RequireApproved, RequirePoliciesPassed}

// ApprovalRules are who may approve a workspace's plans and what an apply
// needs: the server config's, per repository and workspace glob, with the
// repository's own overrides read from its default branch.
type ApprovalRules struct {
	// Approvers may approve: identities, and groups as "team:NAME" (a team
	// of the server config's teams, or of the forge: "team:org/slug").
	// Empty means anyone who can reach a channel may.
	Approvers []string `json:"approvers,omitempty"`
	// Required is how many distinct approvers a plan needs (at least 1).
	Required int `json:"required_approvals"`
	// AllowSelf lets the author of a change approve it.
	AllowSelf bool `json:"allow_self_approval"`
	// Requirements are the apply requirements.
	Requirements []string `json:"apply_requirements"`
	// Mode is ApplyBeforeMerge or ApplyOnMerge.
	Mode string `json:"apply"`
}

// Requires reports whether the rules require req (an apply requirement).
func (r ApprovalRules) Requires(req string) bool {
	for _, x := range r.Requirements {
		if x == req {
			return true
		}
	}
	return false
}

// ApplyResult is what became of the apply of a run's plan.
type ApplyResult struct {
	// By asked for the apply, through Channel.
	By      string `json:"by"`
	Channel string `json:"channel"`
	// RequestedAt is when the apply was asked for; StartedAt and
	// FinishedAt bound terraform's apply.
	RequestedAt time.Time `json:"requested_at"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	// Summary is terraform's one-line summary ("Apply complete! Resources:
	// 2 added, 0 changed, 0 destroyed."), Output its redacted, bounded
	// output, Error why the apply failed or was refused.
	Summary string `json:"summary,omitempty"`
	Output  string `json:"output,omitempty"`
	Error   string `json:"error,omitempty"`
	// Replan is the run planned again after this one's plan turned out
	// stale.
	Replan string `json:"replan,omitempty"`
}
