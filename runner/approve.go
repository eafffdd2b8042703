package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/landform/landform"
)

// ApprovalPolicy says who may approve a run's plan and what its apply
// needs (chatops.Authority implements it from the server config and each
// repository's default branch).
type ApprovalPolicy interface {
	// Rules returns the approval rules of run's workspace.
	Rules(ctx context.Context, run *landform.Run) (landform.ApprovalRules, error)
	// IsMember reports whether identity is in list: one of its identities,
	// or a member of one of its "team:" groups.
	IsMember(ctx context.Context, run *landform.Run, identity string, list []string) (bool, error)
	// IsAuthor reports whether identity authored run's change: it opened
	// the pull request, or the commit's author email is one of identity's.
	IsAuthor(run *landform.Run, identity string) bool
}

// ApprovalStore is what approving needs of a store.
type ApprovalStore interface {
	GetRun(ctx context.Context, id string) (*landform.Run, error)
	// TransitionRun moves run id from one of the states from to what
	// change makes of it, atomically; ECONFLICT (with the run as it is)
	// when it is in none of them.
	TransitionRun(ctx context.Context, id string, from []landform.RunState, change func(*landform.Run) error) (*landform.Run, error)
	AddApproval(ctx context.Context, a *landform.Approval) error
	ListApprovals(ctx context.Context, runID string) ([]*landform.Approval, error)
}

// ApprovalRequest is someone's approval of a run's plan.
type ApprovalRequest struct {
	RunID string
	// By is the identity approving (a forge login, or what a Slack user ID
	// or an API token maps to), Channel where the approval came from.
	By, Channel string
	// Note is the approver's note, kept with the approval.
	Note string
	Now  time.Time
	// Forge, when set, is the forge of the run's repository: asked for
	// the pull request's author when the run lacks it (FillPullRequest).
	Forge PullRequestLister
}

// Approvable are the states a plan can be approved in.
var approvable = []landform.RunState{landform.StatePlanned, landform.StateAwaitingApproval, landform.StateApproved}

// RefusedError is the error of an approval or apply refused for a reason
// people can act on; the approval refusals are recorded.
type RefusedError struct {
	Run    *landform.Run
	Reason string
}

func (e *RefusedError) Error() string { return fmt.Sprintf("run %s: %s", e.Run.ID, e.Reason) }

// refuse returns a coded error around a RefusedError.
func refuse(code string, run *landform.Run, format string, args ...any) error {
	re := &RefusedError{Run: run, Reason: fmt.Sprintf(format, args...)}
	return &landform.Error{Code: code, Message: re.Error(), Err: re}
}

// Approve records req's approval of a run's plan when the approval policy
// allows it, and moves the run to approved once it has enough approvals
// (awaiting_approval before). An approval binds the run's commit and plan
// sha256. A pull request's run whose author is not known (asked of
// req.Forge when it lacks one) cannot be approved without
// allow_self_approval. A refused approval is recorded too, with the reason, and the
// error says why: EUNAUTHORIZED when req.By may not approve (not an
// approver, or the change's author under allow_self_approval: false),
// ECONFLICT when the run cannot be approved in its state (superseded,
// stale, applied, errored…), ENOTFOUND for an unknown run.
func Approve(ctx context.Context, s ApprovalStore, p ApprovalPolicy, req ApprovalRequest) (*landform.Run, error) {
	FillPullRequest(ctx, s, req.Forge, req.RunID)
	run, err := s.GetRun(ctx, req.RunID)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.By) == "" {
		return nil, landform.Errorf(landform.EINVALID, "an approval needs who approves")
	}
	record := func(ok bool, reason string) error {
		a := &landform.Approval{RunID: run.ID, By: req.By, Channel: req.Channel, Commit: run.Commit,
			PlanSHA256: run.PlanSHA256, Approved: ok, Reason: reason, At: req.Now.UTC()}
		return s.AddApproval(ctx, a)
	}
	refused := func(code, format string, args ...any) (*landform.Run, error) {
		err := refuse(code, run, format, args...)
		if rerr := record(false, err.(*landform.Error).Err.(*RefusedError).Reason); rerr != nil {
			return nil, fmt.Errorf("%w (and recording the refusal failed: %v)", err, rerr)
		}
		return run, err
	}
	if run.Kind != landform.RunPlan {
		return refused(landform.EINVALID, "is a %s run: only plans are approved", run.Kind)
	}
	if !slices.Contains(approvable, run.State) {
		return refused(landform.ECONFLICT, "is %s: %s", run.State, whyNotApprovable(run))
	}
	rules, err := p.Rules(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("reading the approval rules of %s: %w", run.Workspace, err)
	}
	if len(rules.Approvers) > 0 {
		ok, err := p.IsMember(ctx, run, req.By, rules.Approvers)
		if err != nil {
			return nil, fmt.Errorf("checking the approvers of %s: %w", run.Workspace, err)
		}
		if !ok {
			return refused(landform.EUNAUTHORIZED, "%s may not approve %s: not one of its approvers (%s)", req.By, run.Workspace, strings.Join(rules.Approvers, ", "))
		}
	}
	if _, isPR := pullRequest(run.Ref); isPR && !rules.AllowSelf && run.PR.Author == "" {
		// Without the pull request's author, a self-approval cannot be
		// told apart: fail closed.
		return refused(landform.ECONFLICT, "the author of its pull request is not known (the forge did not answer when it was planned), so Landform cannot tell whether %s approves their own change; try again when the forge answers", req.By)
	}
	if !rules.AllowSelf && p.IsAuthor(run, req.By) {
		return refused(landform.EUNAUTHORIZED, "%s may not approve their own change (allow_self_approval is off)", req.By)
	}
	if err := record(true, strings.TrimSpace(req.Note)); err != nil {
		return nil, err
	}
	return settleApprovals(ctx, s, p, run.ID, rules)
}

// whyNotApprovable says what to do about a run that cannot be approved.
func whyNotApprovable(run *landform.Run) string {
	switch run.State {
	case landform.StateSuperseded:
		return "a newer commit was planned since; approve its plan instead"
	case landform.StateStale:
		return "the state moved under its plan; approve the fresh plan"
	case landform.StatePolicyFailed:
		return "its policies denied it (a policy owner may override: landform approve --override-policy)"
	case landform.StateNoChanges:
		return "it changes nothing"
	case landform.StateQueued, landform.StateRunning:
		return "it is not planned yet"
	case landform.StateApplying, landform.StateApplied:
		return "it was applied already"
	case landform.StateApplyFailed, landform.StateInterrupted:
		return "its apply ran and did not finish (or its stored plan was not the approved one): look at the state, then plan again"
	}
	return "only a planned run can be approved"
}

// Tally is how a run's approvals stand against what it needs.
type Tally struct {
	// Approvers are the distinct identities whose approval counts: bound
	// to the run's commit and plan sha256.
	Approvers []string
	// Required is how many it needs: the rules', raised by the policies'
	// require_approvals.
	Required int
	// Missing says what is still needed, "" when nothing is.
	Missing string
}

// Satisfied reports whether the run has the approvals it needs.
func (t Tally) Satisfied() bool { return t.Missing == "" }

// TallyApprovals counts run's approvals under rules and its policies'
// require_approvals: only approvals of run's commit and plan sha256 count,
// each identity once.
func TallyApprovals(ctx context.Context, p ApprovalPolicy, run *landform.Run, approvals []*landform.Approval, rules landform.ApprovalRules) (Tally, error) {
	var t Tally
	for _, a := range approvals {
		if a.Approved && a.Commit == run.Commit && a.PlanSHA256 == run.PlanSHA256 && !slices.Contains(t.Approvers, a.By) {
			t.Approvers = append(t.Approvers, a.By)
		}
	}
	t.Required = max(rules.Required, 1)
	var missing []string
	if run.Policy != nil {
		for _, req := range run.Policy.RequireApprovals {
			t.Required = max(t.Required, req.Count)
			if len(req.From) == 0 {
				continue
			}
			n := 0
			for _, who := range t.Approvers {
				ok, err := p.IsMember(ctx, run, who, req.From)
				if err != nil {
					return t, err
				}
				if ok {
					n++
				}
			}
			if n < req.Count {
				missing = append(missing, fmt.Sprintf("%d more from %s (policy %s)", req.Count-n, strings.Join(req.From, ", "), req.Package))
			}
		}
	}
	if n := len(t.Approvers); n < t.Required {
		missing = append([]string{fmt.Sprintf("%d of %d approvals", n, t.Required)}, missing...)
	}
	t.Missing = strings.Join(missing, "; ")
	return t, nil
}

// settleApprovals moves run id to approved when its approvals satisfy
// rules, to awaiting_approval otherwise.
func settleApprovals(ctx context.Context, s ApprovalStore, p ApprovalPolicy, id string, rules landform.ApprovalRules) (*landform.Run, error) {
	run, err := s.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	approvals, err := s.ListApprovals(ctx, id)
	if err != nil {
		return nil, err
	}
	tally, err := TallyApprovals(ctx, p, run, approvals, rules)
	if err != nil {
		return nil, err
	}
	next := landform.StateAwaitingApproval
	if tally.Satisfied() {
		next = landform.StateApproved
	}
	run, err = s.TransitionRun(ctx, id, []landform.RunState{landform.StatePlanned, landform.StateAwaitingApproval}, func(r *landform.Run) error {
		r.State = next
		return nil
	})
	if landform.ErrorCode(err) == landform.ECONFLICT && run != nil && run.State == landform.StateApproved {
		return run, nil // approved already: this approval adds to it
	}
	if err != nil {
		return run, err
	}
	run.Approvals = approvals
	return run, nil
}

// PullRequestLister lists a forge's open pull requests.
type PullRequestLister interface {
	PullRequests(ctx context.Context) ([]landform.PullRequest, error)
}

// FillPullRequest asks the forge for the author and base branch of the
// pull request of run runID when the run lacks them (the forge did not
// answer when it was queued), and stores them. Nothing happens without a
// forge, for a run of a branch, or when the forge does not answer or no
// longer lists the pull request: Approve then refuses what it cannot
// check.
func FillPullRequest(ctx context.Context, s ApprovalStore, f PullRequestLister, runID string) {
	if f == nil {
		return
	}
	run, err := s.GetRun(ctx, runID)
	if err != nil || run.PR.Author != "" {
		return
	}
	n, isPR := prNumber(run.Ref)
	if !isPR {
		return
	}
	prs, err := f.PullRequests(ctx)
	if err != nil {
		return
	}
	for _, pr := range prs {
		if pr.Number != n {
			continue
		}
		_, _ = s.TransitionRun(ctx, runID, approvable, func(r *landform.Run) error {
			r.PR.Author, r.PR.BaseBranch = pr.Author, cmpOr(r.PR.BaseBranch, pr.BaseBranch)
			return nil
		})
		return
	}
}
