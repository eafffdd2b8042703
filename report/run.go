package report

import (
	"time"

	"github.com/landform/landform"
)

// RunRecord is a run as Landform shows it to machines: the objects of the
// CLI's `runs`, `show` and `plan --json` documents and the .json record of
// a run on the ledger branch. Fields may be added, never renamed.
type RunRecord struct {
	ID         string               `json:"id"`
	Repo       string               `json:"repo"`
	Workspace  string               `json:"workspace"`
	Dir        string               `json:"dir"`
	Commit     string               `json:"commit"`
	Ref        string               `json:"ref,omitempty"`
	Kind       landform.RunKind     `json:"kind"`
	State      landform.RunState    `json:"state"`
	Summary    landform.PlanSummary `json:"summary"`
	Error      string               `json:"error,omitempty"`
	PlanSHA256 string               `json:"plan_sha256,omitempty"`
	BlockedBy  string               `json:"blocked_by,omitempty"`
	// PullRequest is the pull request a run of a pull request's head plans:
	// its number, and with a forge configured its author and base branch.
	PullRequest *landform.RunPR `json:"pull_request,omitempty"`
	// Policy is what the policies decided (and an owner's override).
	Policy *landform.PolicyResult `json:"policy,omitempty"`
	// CommitAuthor is the email of the commit's author.
	CommitAuthor string `json:"commit_author,omitempty"`
	// Approvals are the approvals and refused approvals of the plan,
	// oldest first, when the run's reader filled them in.
	Approvals []landform.Approval `json:"approvals,omitempty"`
	// Apply is the apply of the plan, nil until one was asked for.
	Apply *landform.ApplyResult `json:"apply,omitempty"`
	// Drift is what a drift run found.
	Drift      *landform.WorkspaceDrift `json:"drift,omitempty"`
	CreatedAt  time.Time                `json:"created_at"`
	StartedAt  time.Time                `json:"started_at,omitzero"`
	FinishedAt time.Time                `json:"finished_at,omitzero"`
	DurationMS int64                    `json:"duration_ms,omitempty"`
}

// NewRunRecord returns run's record, times in UTC. The record holds copies
// of the run's approvals and apply.
func NewRunRecord(run *landform.Run) RunRecord {
	var pr *landform.RunPR
	if run.PR != (landform.RunPR{}) {
		p := run.PR
		pr = &p
	}
	var approvals []landform.Approval
	for _, a := range run.Approvals {
		if a != nil {
			c := *a
			c.At = utc(c.At)
			approvals = append(approvals, c)
		}
	}
	var apply *landform.ApplyResult
	if run.Apply != nil {
		c := *run.Apply
		c.RequestedAt, c.StartedAt, c.FinishedAt = utc(c.RequestedAt), utc(c.StartedAt), utc(c.FinishedAt)
		apply = &c
	}
	return RunRecord{
		PullRequest:  pr,
		Policy:       run.Policy,
		CommitAuthor: run.CommitAuthor,
		Approvals:    approvals,
		Apply:        apply,
		Drift:        run.Drift,
		ID:           run.ID, Repo: run.Repo, Workspace: run.Workspace, Dir: run.Dir, Commit: run.Commit, Ref: run.Ref,
		Kind: run.Kind, State: run.State, Summary: run.Summary, Error: run.Error, PlanSHA256: run.PlanSHA256,
		BlockedBy: run.BlockedBy, CreatedAt: utc(run.CreatedAt), StartedAt: utc(run.StartedAt),
		FinishedAt: utc(run.FinishedAt), DurationMS: run.Duration().Milliseconds(),
	}
}

// RunRecords returns the records of runs, in order; never nil.
func RunRecords(runs []*landform.Run) []RunRecord {
	out := make([]RunRecord, 0, len(runs))
	for _, r := range runs {
		out = append(out, NewRunRecord(r))
	}
	return out
}

// utc is t in UTC; the zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
