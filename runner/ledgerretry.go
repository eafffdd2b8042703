package runner

import (
	"context"

	"github.com/landform/landform"
)

// LedgerRetrier is what RetryLedger needs of a store.
type LedgerRetrier interface {
	GetRun(ctx context.Context, id string) (*landform.Run, error)
	ListSetAsideLedger(ctx context.Context, repo string) (map[string]string, error)
	EnqueueLedger(ctx context.Context, repo, runID string) error
}

// RetryLedger puts the ledger record of run runID, set aside because it
// could not be written (the daemon's health names it), back in the outbox:
// the daemon's next ledger write tries it again (once the cause is fixed:
// a ledger branch that refused a path, a hook that rejected a push). It
// returns the reason it was set aside.
//
// Errors: ENOTFOUND for an unknown run; EINVALID when its record is not
// set aside.
func RetryLedger(ctx context.Context, s LedgerRetrier, runID string) (string, error) {
	run, err := s.GetRun(ctx, runID)
	if err != nil {
		return "", err
	}
	aside, err := s.ListSetAsideLedger(ctx, run.Repo)
	if err != nil {
		return "", err
	}
	reason, ok := aside[run.ID]
	if !ok {
		return "", landform.Errorf(landform.EINVALID, "the ledger record of run %s is not set aside", run.ID)
	}
	return reason, s.EnqueueLedger(ctx, run.Repo, run.ID)
}
