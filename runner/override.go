package runner

import (
	"context"
	"strings"
	"time"

	"github.com/landform/landform"
)

// OverrideStore is what OverridePolicy needs of a store.
type OverrideStore interface {
	GetRun(ctx context.Context, id string) (*landform.Run, error)
	UpdateRun(ctx context.Context, r *landform.Run) error
	EnqueueLedger(ctx context.Context, repo, runID string) error
}

// Override is a request to let a run its policies denied go on.
type Override struct {
	RunID string
	// By is who asks; IsOwner says whether they own the policies.
	By      string
	IsOwner func(who string) bool
	Reason  string
	// Ledger says whether a repository records its runs on a ledger: then
	// the run's record goes to the ledger outbox again, so the override
	// and its reason reach the ledger. nil means no ledger.
	Ledger func(repo string) bool
	Now    time.Time
}

// OverridePolicy records a policy owner's override of the deny of run
// o.RunID: the run goes from policy_failed to planned, its policy result
// keeps who overrode it, when and why, and (when o.Ledger says the repository has one) its ledger
// record is written again with them.
//
// Errors: EUNAUTHORIZED when o.By is not a policy owner; EINVALID without
// a reason or when the run is not policy_failed; ENOTFOUND for an unknown
// run.
func OverridePolicy(ctx context.Context, s OverrideStore, o Override) (*landform.Run, error) {
	if strings.TrimSpace(o.Reason) == "" {
		return nil, landform.Errorf(landform.EINVALID, "an override needs a reason (--override-policy \"why\")")
	}
	run, err := s.GetRun(ctx, o.RunID)
	if err != nil {
		return nil, err
	}
	if o.By == "" || o.IsOwner == nil || !o.IsOwner(o.By) {
		return nil, landform.Errorf(landform.EUNAUTHORIZED, "%q is not a policy owner: only the owners in the server config's policies.owners may override a policy", o.By)
	}
	if run.State != landform.StatePolicyFailed || !run.Policy.Denied() {
		return nil, landform.Errorf(landform.EINVALID, "run %s is %s: only a run its policies denied (policy_failed) can be overridden", run.ID, run.State)
	}
	verdict := *run.Policy
	verdict.Override = &landform.PolicyOverride{By: o.By, Reason: strings.TrimSpace(o.Reason), At: o.Now.UTC()}
	run.Policy = &verdict
	run.State = landform.StatePlanned
	if err := s.UpdateRun(ctx, run); err != nil {
		return nil, err
	}
	if o.Ledger != nil && o.Ledger(run.Repo) {
		if err := s.EnqueueLedger(ctx, run.Repo, run.ID); err != nil {
			return run, err
		}
	}
	return run, nil
}
