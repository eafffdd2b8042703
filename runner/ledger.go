package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/backoff"
)

// ledgerBatch caps how many runs one ledger commit records.
const ledgerBatch = 50

// Ledger loop waits: the periodic retry, and how long a woken loop lets
// runs finishing together gather into one commit.
const (
	ledgerInterval = 10 * time.Second
	ledgerGather   = 200 * time.Millisecond
)

// recordLoop writes finished runs of repo to its ledger: woken when a run
// finishes, and every ten seconds for what failed before. Runs that finish
// together go into one commit.
func (d *Daemon) recordLoop(ctx context.Context, repo WatchedRepo) {
	failures := 0
	for {
		wait := ledgerInterval
		if err := d.record(ctx, repo); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait = backoff.Policy{Base: time.Second, Cap: 10 * time.Minute}.Delay(failures)
			d.logger.Error("ledger: write failed; the runs stay in the outbox", "repo", repo.Name, "err", err, "retry_in", wait)
		} else {
			failures = 0
		}
		next, stop := d.after(wait)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-d.ledger[repo.Name]:
			stop()
			// Let runs finishing together land in one commit.
			if !d.sleep(ctx, ledgerGather, nil) {
				return
			}
		case <-next:
		}
	}
}

// record writes the runs in repo's ledger outbox, in batches.
func (d *Daemon) record(ctx context.Context, repo WatchedRepo) error {
	for {
		ids, err := d.store.PendingLedger(ctx, repo.Name, ledgerBatch)
		if err != nil || len(ids) == 0 {
			return err
		}
		runs := make([]*landform.Run, 0, len(ids))
		for _, id := range ids {
			run, err := d.store.GetRun(ctx, id)
			if err != nil {
				return fmt.Errorf("reading run %s: %w", id, err)
			}
			runs = append(runs, run)
		}
		if err := repo.Source.Record(ctx, repo.LedgerBranch, runs); err != nil {
			d.emit(Event{Kind: EventLedgerWritten, Repo: repo.Name, Err: err})
			return err
		}
		if err := d.store.MarkLedgerDone(ctx, repo.Name, ids); err != nil {
			return err
		}
		d.emit(Event{Kind: EventLedgerWritten, Repo: repo.Name, Count: len(runs)})
		if len(ids) < ledgerBatch {
			return nil
		}
	}
}
