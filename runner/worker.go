package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/backoff"
)

// claimInterval is how often an idle worker looks for claimable runs
// without being woken. Queueing, unblocking and releasing a lock wake the
// workers; this is the safety net.
const claimInterval = 5 * time.Second

// replicaClaimInterval is claimInterval for a replica: runs are queued by
// another process (the poller), whose wake-up reaches this one's workers
// only through the store's signals (Signals) when it has them, so they
// also look more often. Measured in BenchmarkReplicas: with 5 s and no
// signals the second replica's workers joined after the first had done the
// work (ratio 0.99); 500 ms, 1.39; signals and 2 s, see docs/benchmarks.md.
const replicaClaimInterval = 2 * time.Second

// claimEvery is how often an idle worker of d looks for claimable runs.
func (d *Daemon) claimEvery() time.Duration {
	if d.replicas != nil {
		return replicaClaimInterval
	}
	return claimInterval
}

// work claims and executes runs until ctx is done. Executions use workCtx,
// which outlives ctx by the shutdown grace period.
//
// A run is claimed in the daemon's name (its owner), which is what a
// replica's crash is recovered by; worker names only the worker in logs.
func (d *Daemon) work(ctx, workCtx context.Context, worker string) error {
	for ctx.Err() == nil {
		// Taken before the claim: a run queued after it wakes this worker.
		woken := d.wake.C()
		run, err := d.store.ClaimRun(ctx, d.owner)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.logger.Error("claiming a run", "worker", worker, "err", err)
			d.sleep(ctx, d.claimEvery(), nil)
			continue
		}
		if run == nil {
			d.sleep(ctx, d.claimEvery(), woken)
			continue
		}
		d.busy(+1)
		err = d.executeClaimed(workCtx, run)
		d.busy(-1)
		// Its workspace is free again: an apply waiting for it may start.
		d.wakeWorkers()
		var unrecorded *unrecordedError
		if errors.As(err, &unrecorded) {
			// The run stays running in the store until the next start
			// recovers it.
			d.logger.Error("a run's end was not recorded", "repo", run.Repo, "workspace", run.Workspace, "run", run.ID, "err", err)
			continue
		}
		if err != nil {
			d.logger.Error("after a run", "repo", run.Repo, "workspace", run.Workspace, "run", run.ID, "err", err)
		}
		if run.State != landform.StateQueued { // not put back behind a lock
			d.emit(Event{Kind: EventRunFinished, Repo: run.Repo, Run: run})
		}
		if ctx.Err() != nil && run.State == landform.StateInterrupted {
			d.requeueInterrupted(run)
		}
	}
	return nil
}

// policy is how the daemon's workers execute: an environment fault before
// terraform is tried again with backoff, and a run's end is recorded,
// with its ledger entry, whatever it takes.
func (d *Daemon) policy() execPolicy {
	return execPolicy{attempts: envAttempts, wait: d.waitRetry, save: d.saveFinished}
}

// waitRetry waits before attempt+1 of run, whose prepare failed for an
// environment fault, on the daemon's timer; false when ctx ended first.
func (d *Daemon) waitRetry(ctx context.Context, run *landform.Run, attempt int, err error) bool {
	wait := envBackoff.Delay(attempt - 1)
	next, stop := d.after(wait)
	defer stop()
	d.logger.Warn("environment fault before terraform (not the commit's): trying the run again",
		"repo", run.Repo, "workspace", run.Workspace, "run", run.ID, "attempt", attempt, "of", envAttempts,
		"retry_in", wait.Round(100*time.Millisecond), "err", err)
	// Reported with the timer armed, so whoever waits for the event may
	// move a fake clock past it.
	d.emit(Event{Kind: EventRunRetrying, Repo: run.Repo, Run: run, Err: err, Wait: wait, Count: attempt})
	select {
	case <-ctx.Done():
		return false
	case <-next:
		return true
	}
}

// saveFinished records the end of run and, for a repository with a
// ledger, puts it in the ledger outbox: recording a finished run is both.
// It tries until both are done or ctx (the work context) ends; meanwhile
// the daemon's health is degraded. When ctx ends first, the run stays
// running in the store, and the next start's crash recovery handles it.
func (d *Daemon) saveFinished(ctx context.Context, run *landform.Run) error {
	repo, ok := d.repo(run.Repo)
	ledger := ok && repo.Ledger
	err := d.retryStore(ctx, run, "recording a finished run", func() error {
		if err := d.saveOnce(ctx, run); err != nil {
			return err
		}
		if ledger {
			if err := d.enqueueLedger(ctx, run.Repo, run.ID); err != nil {
				return err
			}
		}
		if ok && run.State != landform.StateQueued {
			return d.enqueueForge(ctx, repo, run.Ref, run.Commit, d.deletedBy(run.Repo, run.Ref, run.Commit), run)
		}
		return nil
	})
	if err != nil {
		return &unrecordedError{err}
	}
	if ledger {
		d.wakeLoop(LoopLedger, run.Repo)
	}
	return nil
}

// unrecordedError is the error of a run whose end could not be recorded.
type unrecordedError struct{ err error }

func (e *unrecordedError) Error() string { return e.err.Error() }
func (e *unrecordedError) Unwrap() error { return e.err }

// ledgerRecord puts runs of repo that ended otherwise than through a
// worker (superseded, or a broken commit's) in its ledger outbox, trying
// as recording a finished run does, and wakes its ledger loop.
func (d *Daemon) ledgerRecord(ctx context.Context, repo WatchedRepo, runs ...*landform.Run) error {
	if !repo.Ledger || len(runs) == 0 {
		return nil
	}
	for _, run := range runs {
		err := d.retryStore(ctx, run, "queueing a run's ledger record", func() error {
			return d.enqueueLedger(ctx, repo.Name, run.ID)
		})
		if err != nil {
			return err
		}
	}
	d.wakeLoop(LoopLedger, repo.Name)
	return nil
}

// enqueueLedger puts a run in repo's ledger outbox, once, also when ctx is
// cancelled.
func (d *Daemon) enqueueLedger(ctx context.Context, repo, runID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := d.store.EnqueueLedger(ctx, repo, runID); err != nil {
		return fmt.Errorf("queueing the ledger record of run %s: %w", runID, err)
	}
	return nil
}

// recordBackoff is the wait between attempts to record a run.
var recordBackoff = backoff.Policy{Base: time.Second, Cap: time.Minute}

// retryStore calls save until it succeeds or ctx ends, waiting
// recordBackoff on the daemon's timer between attempts. While it fails,
// run is reported as a record pending (health degraded, an event per
// failure).
func (d *Daemon) retryStore(ctx context.Context, run *landform.Run, what string, save func() error) error {
	for failures := 0; ; failures++ {
		err := save()
		if err == nil {
			if failures > 0 {
				d.unsaved(run.ID, nil)
				d.logger.Info(what+": done after failures", "repo", run.Repo, "workspace", run.Workspace, "run", run.ID, "failures", failures)
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w (gave up: stopping)", what, err)
		}
		d.unsaved(run.ID, err)
		wait := recordBackoff.Delay(failures)
		next, stop := d.after(wait)
		d.logger.Error(what+": failed; trying again", "repo", run.Repo, "workspace", run.Workspace, "run", run.ID,
			"failures", failures+1, "retry_in", wait.Round(100*time.Millisecond), "err", err)
		d.emit(Event{Kind: EventRecordFailed, Repo: run.Repo, Run: run, Err: err, Wait: wait, Count: failures + 1})
		select {
		case <-ctx.Done():
			stop()
			return fmt.Errorf("%s: %w (gave up: stopping)", what, err)
		case <-next:
		}
	}
}

// executeClaimed executes a claimed (running) run through the executor,
// with what the daemon adds around it: the workspace lock of a pull
// request's plan, supersede, and the ledger.
func (d *Daemon) executeClaimed(ctx context.Context, run *landform.Run) error {
	p := d.policy()
	repo, ok := d.repo(run.Repo)
	if !ok {
		return d.fail(ctx, run, fmt.Errorf("repository %q is no longer configured", run.Repo), p)
	}
	holder, isPR := pullRequest(run.Ref)
	if isPR && run.Kind == landform.RunPlan && repo.LockPolicy == landform.LockStrict {
		err := d.store.AcquireLock(ctx, landform.Lock{
			Repo: run.Repo, Workspace: run.Workspace, Holder: holder, RunID: run.ID,
			Reason: "plan of " + landform.ShortSHA(run.Commit), CreatedAt: d.now().UTC(),
		})
		var locked *landform.LockedError
		if errors.As(err, &locked) {
			// Another pull request took the lock since this run was
			// queued: wait for it like a run queued behind it.
			run.State, run.StartedAt = landform.StateQueued, time.Time{}
			run.BlockedBy, run.Error = locked.Lock.Holder, blockedMessage(&locked.Lock)
			err := d.retryStore(ctx, run, "putting a run back in the queue", func() error { return d.saveOnce(ctx, run) })
			if err != nil {
				return &unrecordedError{err}
			}
			d.emit(Event{Kind: EventRunQueued, Repo: run.Repo, Run: run})
			return nil
		}
		if err != nil {
			return d.fail(ctx, run, fmt.Errorf("taking the workspace lock: %w", err), p)
		}
	}
	if err := d.ensureCommit(ctx, repo, run.Commit, run.Ref); err != nil {
		return d.fail(ctx, run, err, p)
	}
	if err := d.execute(ctx, repo.Source, run, p); err != nil {
		return err
	}
	if run.Kind == landform.RunDrift {
		return d.driftFinished(ctx, repo, run)
	}
	// A newer commit may have queued a run while this one ran: this plan
	// is then superseded too, and its ledger record says so.
	superseded, err := d.supersedeByNewer(ctx, run)
	if err != nil {
		return err
	}
	if err := d.ledgerRecord(ctx, repo, superseded...); err != nil {
		return err
	}
	if err := d.onMerge(ctx, repo, run); err != nil {
		d.logger.Error("on merge: carrying an approval over failed; the plan waits for approvals", "repo", run.Repo, "workspace", run.Workspace, "run", run.ID, "err", err)
	}
	if err := d.autoRemediate(ctx, run); err != nil {
		d.logger.Error("drift: the automatic remediation failed; the plan waits for approvals", "repo", run.Repo, "workspace", run.Workspace, "run", run.ID, "err", err)
	}
	// A pull request whose newest plan changes nothing holds no lock.
	if isPR && run.State == landform.StateNoChanges {
		if err := d.store.ReleaseLock(ctx, run.Repo, run.Workspace, holder); err != nil {
			return err
		}
		if repo.LockPolicy == landform.LockStrict {
			d.emit(Event{Kind: EventLocksReleased, Repo: run.Repo, Holder: holder, Count: 1})
		}
		d.wakeWorkers()
	}
	return nil
}

// requeueInterrupted queues a plan cut off by a shutdown again, so the next
// start plans it.
func (d *Daemon) requeueInterrupted(run *landform.Run) {
	if run.Kind == landform.RunApply {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	again := &landform.Run{
		Repo: run.Repo, Workspace: run.Workspace, Dir: run.Dir, Commit: run.Commit, Ref: run.Ref,
		Kind: run.Kind, State: landform.StateQueued, PR: run.PR, CommitAuthor: run.CommitAuthor, CreatedAt: d.now().UTC(),
	}
	if err := d.store.CreateRun(ctx, again); err != nil {
		d.logger.Error("re-queueing an interrupted run", "run", run.ID, "err", err)
		return
	}
	d.logger.Info("interrupted by shutdown; queued again for the next start", "run", run.ID, "new_run", again.ID)
	d.emit(Event{Kind: EventRunQueued, Repo: again.Repo, Run: again})
}

func (d *Daemon) repo(name string) (WatchedRepo, bool) {
	for _, r := range d.repos {
		if r.Name == name {
			return r, true
		}
	}
	return WatchedRepo{}, false
}

// supersedeByNewer marks run superseded when a newer run of its workspace
// and ref exists, and returns the runs it superseded.
func (d *Daemon) supersedeByNewer(ctx context.Context, run *landform.Run) ([]*landform.Run, error) {
	recent, err := d.store.ListRuns(ctx, landform.RunFilter{Repo: run.Repo, Workspace: run.Workspace, Kind: run.Kind, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, r := range recent {
		if r.Ref != run.Ref {
			continue
		}
		if r.ID == run.ID {
			return nil, nil // run is the newest
		}
		superseded, err := d.store.SupersedeRuns(ctx, run.Repo, run.Workspace, run.Ref, r.ID)
		for _, s := range superseded {
			if s.ID == run.ID {
				run.State = s.State
			}
		}
		return superseded, err
	}
	return nil, nil
}
