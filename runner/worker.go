package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/landform/landform"
)

// claimInterval is how often an idle worker looks for claimable runs
// without being woken. Queueing, unblocking and releasing a lock wake the
// workers; this is the safety net.
const claimInterval = 5 * time.Second

// work claims and executes runs until ctx is done. Executions use workCtx,
// which outlives ctx by the shutdown grace period.
func (d *Daemon) work(ctx, workCtx context.Context, owner string) error {
	for ctx.Err() == nil {
		// Taken before the claim: a run queued after it wakes this worker.
		woken := d.wake.C()
		run, err := d.store.ClaimRun(ctx, owner)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.logger.Error("claiming a run", "err", err)
			d.sleep(ctx, claimInterval, nil)
			continue
		}
		if run == nil {
			d.sleep(ctx, claimInterval, woken)
			continue
		}
		if err := d.executeClaimed(workCtx, run); err != nil {
			d.logger.Error("recording a run", "run", run.ID, "err", err)
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

// executeClaimed executes a claimed (running) run through the executor,
// with what the daemon adds around it: the workspace lock of a pull
// request's plan, supersede, and the ledger.
func (d *Daemon) executeClaimed(ctx context.Context, run *landform.Run) error {
	repo, ok := d.repo(run.Repo)
	if !ok {
		return d.finish(run, nil, fmt.Errorf("repository %q is no longer configured", run.Repo))
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
			if err := d.store.UpdateRun(ctx, run); err != nil {
				return err
			}
			d.emit(Event{Kind: EventRunQueued, Repo: run.Repo, Run: run})
			return nil
		}
		if err != nil {
			return d.finish(run, nil, err)
		}
	}
	if err := d.execute(ctx, repo.Source, run); err != nil {
		return err
	}
	// A newer commit may have queued a run while this one ran: this plan
	// is then superseded too.
	if err := d.supersedeByNewer(ctx, run); err != nil {
		return err
	}
	// A pull request whose newest plan changes nothing holds no lock.
	if isPR && run.State == landform.StateNoChanges {
		if err := d.store.ReleaseLock(ctx, run.Repo, run.Workspace, holder); err != nil {
			return err
		}
		if repo.LockPolicy == landform.LockStrict {
			d.emit(Event{Kind: EventLocksReleased, Repo: run.Repo, Holder: holder, Count: 1})
		}
		d.wake.Notify()
	}
	if repo.Ledger {
		if err := d.store.EnqueueLedger(context.WithoutCancel(ctx), run.Repo, run.ID); err != nil {
			return err
		}
		notify(d.ledger[run.Repo])
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
		Kind: run.Kind, State: landform.StateQueued, CreatedAt: d.now().UTC(),
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
// and ref exists.
func (d *Daemon) supersedeByNewer(ctx context.Context, run *landform.Run) error {
	recent, err := d.store.ListRuns(ctx, landform.RunFilter{Repo: run.Repo, Workspace: run.Workspace, Kind: run.Kind, Limit: 20})
	if err != nil {
		return err
	}
	for _, r := range recent {
		if r.Ref != run.Ref {
			continue
		}
		if r.ID == run.ID {
			return nil // run is the newest
		}
		superseded, err := d.store.SupersedeRuns(ctx, run.Repo, run.Workspace, run.Ref, r.ID)
		for _, s := range superseded {
			if s.ID == run.ID {
				run.State = s.State
			}
		}
		return err
	}
	return nil
}
