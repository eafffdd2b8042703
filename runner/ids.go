package runner

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
)

// Run IDs never repeat: they name plan artifacts and ledger records, and
// people type them. The store assigns them, so a lost or restored database
// would start again at 1 — over the artifacts of the plan store and the
// records of the ledger. Before it creates any run, Landform raises the
// store's sequence above every run ID those hold.

// RunIDStore is a store's run ID sequence.
type RunIDStore interface {
	// EnsureNextRunID makes every run ID assigned afterwards at least
	// next; it never lowers the sequence.
	EnsureNextRunID(ctx context.Context, next int64) error
}

// ContinueRunIDs makes the run IDs store assigns from now on continue
// above every run ID plans holds and above each of ledgerIDs (the highest
// run IDs recorded on ledger branches), and returns the highest of them
// all: the floor.
func ContinueRunIDs(ctx context.Context, store RunIDStore, plans PlanStore, ledgerIDs ...int64) (int64, error) {
	floor, err := plans.HighestRunID(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the run IDs of the plan store: %w", err)
	}
	for _, id := range ledgerIDs {
		floor = max(floor, id)
	}
	if err := store.EnsureNextRunID(ctx, floor+1); err != nil {
		return 0, err
	}
	return floor, nil
}

// ledgerReadTimeout bounds the reading of one repository's ledger at
// start.
const ledgerReadTimeout = time.Minute

// continueRunIDs makes new run IDs continue above those of the plan store
// and of the ledger branch of every repository that has one. A ledger that
// cannot be read (its remote is down) does not stop the daemon: its IDs
// may then be handed out again, but the ledger writer refuses to overwrite
// another run's record, so the run whose ID collides has its record set
// aside, and the others are written.
func (d *Daemon) continueRunIDs(ctx context.Context) error {
	ids := make([]int64, len(d.repos))
	var g errgroup.Group
	g.SetLimit(8)
	for i, repo := range d.repos {
		if !repo.Ledger {
			continue
		}
		g.Go(func() error {
			rctx, cancel := context.WithTimeout(ctx, ledgerReadTimeout)
			defer cancel()
			id, err := repo.Source.HighestLedgerRunID(rctx, repo.LedgerBranch)
			if err != nil {
				d.logger.Warn("cannot read the ledger branch: new run IDs continue above the plan store's only; a ledger record of another run is never overwritten",
					"repo", repo.Name, "branch", repo.LedgerBranch, "err", err)
				return nil
			}
			ids[i] = id
			return nil
		})
	}
	_ = g.Wait()
	floor, err := ContinueRunIDs(ctx, d.store, d.plans, ids...)
	if err != nil {
		return err
	}
	d.logger.Debug("run IDs continue above the plan store's and the ledgers'", "floor", floor)
	return nil
}
