package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// RecordFault is the error (or in the chain of the error) a
// WatchedSource's Record returns when the record of one run cannot be
// written through its own fault: the daemon sets that run's record aside
// in the outbox, with the error as the reason, and writes the others.
type RecordFault interface {
	error
	// FaultyRun is the ID of the run at fault.
	FaultyRun() string
}

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

// record writes the runs in repo's ledger outbox, in batches. A run whose
// record cannot be written through its own fault is set aside. Each write
// is reported (an event; repo's status of ledger writes is updated first,
// so that whoever sees the event sees the status), and so is any other
// failure.
func (d *Daemon) record(ctx context.Context, repo WatchedRepo) error {
	for {
		ids, err := d.store.PendingLedger(ctx, repo.Name, ledgerBatch)
		if err != nil {
			return d.ledgerFailed(repo, err)
		}
		if len(ids) == 0 {
			d.status(repo.Name, func(s *RepoStatus) { s.LedgerError, s.LedgerFailures = "", 0 })
			return nil
		}
		branch := cmp.Or(repo.LedgerBranch, landform.DefaultLedgerBranch)
		if err := d.checkLedgerBranch(ctx, repo, branch); err != nil {
			return d.ledgerFailed(repo, err)
		}
		runs := make([]*landform.Run, 0, len(ids))
		for _, id := range ids {
			run, err := d.store.GetRun(ctx, id)
			if err != nil {
				return d.ledgerFailed(repo, fmt.Errorf("reading run %s: %w", id, err))
			}
			if run.Approvals, err = d.store.ListApprovals(ctx, id); err != nil {
				return d.ledgerFailed(repo, fmt.Errorf("reading the approvals of run %s: %w", id, err))
			}
			if len(run.Approvals) == 0 {
				run.Approvals = nil
			}
			runs = append(runs, run)
		}
		for len(runs) > 0 {
			err := repo.Source.Record(ctx, branch, runs)
			var fault RecordFault
			if err != nil && errors.As(err, &fault) {
				i := slices.IndexFunc(runs, func(r *landform.Run) bool { return r.ID == fault.FaultyRun() })
				if i < 0 {
					return d.ledgerFailed(repo, fmt.Errorf("the ledger blames run %s, not in the batch: %w", fault.FaultyRun(), err))
				}
				if err := d.setAside(ctx, repo, runs[i], err); err != nil {
					return d.ledgerFailed(repo, err)
				}
				runs = slices.Delete(runs, i, i+1)
				continue
			}
			if err != nil {
				return d.ledgerFailed(repo, err)
			}
			written := make([]string, len(runs))
			for i, r := range runs {
				written[i] = r.ID
			}
			if err := d.store.MarkLedgerDone(ctx, repo.Name, written); err != nil {
				return d.ledgerFailed(repo, err)
			}
			d.status(repo.Name, func(s *RepoStatus) { s.LedgerError, s.LedgerFailures = "", 0 })
			d.emit(Event{Kind: EventLedgerWritten, Repo: repo.Name, Count: len(runs)})
			break
		}
		if len(ids) < ledgerBatch {
			return nil
		}
	}
}

// ledgerFailed notes in repo's status that its ledger write failed with
// err, reports it, and returns err.
func (d *Daemon) ledgerFailed(repo WatchedRepo, err error) error {
	d.status(repo.Name, func(s *RepoStatus) {
		s.LedgerError = err.Error()
		s.LedgerFailures++
	})
	d.emit(Event{Kind: EventLedgerWritten, Repo: repo.Name, Err: err})
	return err
}

// setAside sets the ledger record of run aside, for reason.
func (d *Daemon) setAside(ctx context.Context, repo WatchedRepo, run *landform.Run, reason error) error {
	if err := d.store.SetAsideLedger(ctx, repo.Name, run.ID, reason.Error()); err != nil {
		return fmt.Errorf("setting aside the ledger record of run %s: %w", run.ID, err)
	}
	d.logger.Error("ledger: a run's record cannot be written: set aside, the others are written", "repo", repo.Name,
		"workspace", run.Workspace, "run", run.ID, "err", reason)
	d.emit(Event{Kind: EventLedgerSetAside, Repo: repo.Name, Run: run, Err: reason})
	return nil
}

// checkLedgerBranch refuses a ledger branch that is the remote's default
// branch or a watched one: ledger commits must never land on code. The
// default branch is the one the last poll saw, or asked of the remote
// when no poll has listed its refs yet.
func (d *Daemon) checkLedgerBranch(ctx context.Context, repo WatchedRepo, branch string) error {
	for _, b := range repo.Branches {
		if strings.TrimPrefix(b, branchPrefix) == branch {
			return landform.Errorf(landform.EINVALID, "ledger branch %s is a watched branch of %s: refusing to write ledger files onto it", branch, repo.Name)
		}
	}
	def := d.defaultBranch(repo.Name)
	if def == "" {
		refs, listed, err := repo.Source.Refs(ctx)
		if err != nil {
			return fmt.Errorf("listing refs to check the ledger branch: %w", err)
		}
		d.observeRefs(repo, refs, listed, d.logger.With("repo", repo.Name))
		def = listed
	}
	if def == "" {
		return landform.Errorf(landform.ENOTFOUND, "the remote of %s names no default branch: not writing the ledger until it does", repo.Name)
	}
	if def == branch {
		return landform.Errorf(landform.EINVALID, "ledger branch %s is the default branch of %s: refusing to write ledger files onto it (configure a ledger_branch of its own, such as %s)",
			branch, repo.Name, landform.DefaultLedgerBranch)
	}
	return nil
}
