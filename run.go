package landform

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// RunKind says what a run does.
type RunKind string

const (
	RunPlan  RunKind = "plan"
	RunApply RunKind = "apply"
	RunDrift RunKind = "drift"
)

// RunState is the state of a run. The lifecycle is
//
//	queued → running → planned | no_changes | errored
//	planned → policy_failed | awaiting_approval → approved → applying → applied | apply_failed
//
// and any unapplied plan may become superseded (a newer commit) or stale
// (the state moved under it). A run cut off by a shutdown or crash is
// interrupted.
type RunState string

const (
	StateQueued           RunState = "queued"
	StateRunning          RunState = "running"
	StatePlanned          RunState = "planned"
	StateNoChanges        RunState = "no_changes"
	StateErrored          RunState = "errored"
	StatePolicyFailed     RunState = "policy_failed"
	StateAwaitingApproval RunState = "awaiting_approval"
	StateApproved         RunState = "approved"
	StateApplying         RunState = "applying"
	StateApplied          RunState = "applied"
	StateApplyFailed      RunState = "apply_failed"
	StateSuperseded       RunState = "superseded"
	StateStale            RunState = "stale"
	StateInterrupted      RunState = "interrupted"
)

// Terminal reports whether no further transition leaves s, except the
// superseded/stale marking of an unapplied plan.
func (s RunState) Terminal() bool {
	switch s {
	case StateQueued, StateRunning, StateApproved, StateApplying:
		return false
	}
	return true
}

// PlanSummary counts the resource changes of a plan. Replacements are counted
// apart from adds and destroys.
type PlanSummary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Replace int `json:"replace"`
}

// String renders the summary the way progress lines show it: "+4 ~0 -0 ±0".
func (s PlanSummary) String() string {
	return fmt.Sprintf("+%d ~%d -%d ±%d", s.Add, s.Change, s.Destroy, s.Replace)
}

// Run is one workspace at one commit.
type Run struct {
	// ID is assigned by the store: a decimal number, short enough to type in
	// "landform approve 42".
	ID        string   `json:"id"`
	Repo      string   `json:"repo"`
	Workspace string   `json:"workspace"`
	Dir       string   `json:"dir"`
	Commit    string   `json:"commit"`
	Ref       string   `json:"ref,omitempty"`
	Kind      RunKind  `json:"kind"`
	State     RunState `json:"state"`
	// Summary is set once the plan has been made.
	Summary PlanSummary `json:"summary"`
	// Error is the failure message of an errored run, terraform's
	// diagnostics included.
	Error string `json:"error,omitempty"`
	// PlanSHA256 identifies the stored plan artifact.
	PlanSHA256 string `json:"plan_sha256,omitempty"`
	// BlockedBy names the holder of the workspace lock a queued run waits
	// for ("pr/12"); a queued run with BlockedBy set is not claimed until
	// it is cleared.
	BlockedBy string `json:"blocked_by,omitempty"`
	// PR is the pull request of a run of a pull request's head, zero
	// otherwise: its number (from the ref), and with a forge configured
	// who opened it and its base branch.
	PR RunPR `json:"pull_request,omitzero"`
	// Policy is what the policies decided about the plan, nil when they
	// were not evaluated (no policies, no changes, not planned yet).
	Policy *PolicyResult `json:"policy,omitempty"`
	// CommitAuthor is the email of the commit's author, set when the run
	// is queued: with the pull request's author, who may not approve the
	// change under allow_self_approval: false.
	CommitAuthor string `json:"commit_author,omitempty"`
	// Apply is the apply of the run's plan, nil until one is asked for.
	Apply *ApplyResult `json:"apply,omitempty"`
	// Drift is what a drift run found, nil for other kinds (and before
	// the check ends).
	Drift *WorkspaceDrift `json:"drift,omitempty"`
	// Owner names the daemon (replica) that claimed the run or runs its
	// apply ("" before one does): a replica's crash is recovered by the
	// others from it.
	Owner string `json:"owner,omitempty"`
	// Approvals are the run's approvals and refusals, oldest first, where
	// a reader filled them in (the store keeps them apart: ListApprovals).
	Approvals  []*Approval `json:"approvals,omitempty"`
	CreatedAt  time.Time   `json:"created_at"`
	StartedAt  time.Time   `json:"started_at,omitzero"`
	FinishedAt time.Time   `json:"finished_at,omitzero"`
}

// ErrWorkspaceBusy is in the chain of the error of a run that cannot start
// applying because another run of its workspace is running or applying:
// one run touches a workspace at a time.
var ErrWorkspaceBusy = errors.New("workspace busy")

// RunPR is the pull request a run plans.
type RunPR struct {
	Number     int    `json:"number"`
	Author     string `json:"author,omitempty"`
	BaseBranch string `json:"base_branch,omitempty"`
}

// Duration is how long the run ran, zero until it finished.
func (r *Run) Duration() time.Duration {
	if r.StartedAt.IsZero() || r.FinishedAt.IsZero() {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// RunFilter selects runs. Zero fields match everything.
type RunFilter struct {
	Repo      string
	Workspace string
	Kind      RunKind
	// Ref and Commit, when set, keep the runs of that ref and commit.
	Ref, Commit string
	// States, when not empty, keeps runs in one of these states.
	States []RunState
	// Limit caps the number of runs returned (newest first); 0 means no cap.
	Limit int
	// Before, when set, keeps the runs listed after run Before (older in
	// the list's order): the next page of a list that ended with it. An
	// unknown Before keeps nothing.
	Before string
}

// RunCount is how many runs of one kind are in one state.
type RunCount struct {
	Kind  RunKind  `json:"kind"`
	State RunState `json:"state"`
	Count int      `json:"count"`
}

// OneLine joins the lines of s with single spaces and cuts it to at most
// limit characters (runes), ending with "…" when it was cut: a commit
// status's description, a table cell.
func OneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if limit <= 0 || utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit-1]) + "…"
}

// ShortSHA abbreviates a commit to the 12 characters messages show.
func ShortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
