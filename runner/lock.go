package runner

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/landform/landform"
)

// lockHeldByOther returns the lock of (repo, workspace) when a holder other
// than holder has it, else nil. A store error counts as "not held": the
// claim re-checks atomically.
func (d *Daemon) lockHeldByOther(ctx context.Context, repo, workspace, holder string) *landform.Lock {
	locks, err := d.store.ListLocks(ctx, repo)
	if err != nil {
		d.logger.Error("listing locks", "repo", repo, "err", err)
		return nil
	}
	for _, l := range locks {
		if l.Workspace == workspace && l.Holder != holder {
			return l
		}
	}
	return nil
}

// blockedMessage tells whoever is blocked who holds the lock.
func blockedMessage(l *landform.Lock) string {
	msg := fmt.Sprintf("waiting: workspace %s is locked by %s", l.Workspace, l.Holder)
	if l.RunID != "" {
		msg += fmt.Sprintf(" (run %s)", l.RunID)
	}
	return msg + "; it is planned once that lock is released (applied, merged, closed, or `landform unlock`)"
}

// reconcileLocks releases the locks whose reason is gone: locks held by a
// pull request whose head ref the remote no longer has (closed or merged
// and cleaned up). Locks never outlive their reason.
func (d *Daemon) reconcileLocks(ctx context.Context, repo WatchedRepo, refs map[string]string, log *slog.Logger) error {
	locks, err := d.store.ListLocks(ctx, repo.Name)
	if err != nil {
		return fmt.Errorf("listing locks: %w", err)
	}
	released := map[string]bool{}
	for _, l := range locks {
		ref, isPR := refFor(l.Holder)
		if !isPR || released[l.Holder] {
			continue
		}
		if _, open := refs[ref]; open {
			continue
		}
		n, err := d.store.ReleaseLocksOf(ctx, repo.Name, l.Holder)
		if err != nil {
			return fmt.Errorf("releasing locks of %s: %w", l.Holder, err)
		}
		released[l.Holder] = true
		log.Info("released the locks of a closed pull request", "holder", l.Holder, "locks", n)
		notify(d.wake)
	}
	return nil
}

// unblock clears BlockedBy on the queued runs of repo whose lock has been
// released (or moved to their own holder), so workers claim them.
func (d *Daemon) unblock(ctx context.Context, repo WatchedRepo, log *slog.Logger) error {
	queued, err := d.store.ListRuns(ctx, landform.RunFilter{Repo: repo.Name, States: []landform.RunState{landform.StateQueued}})
	if err != nil {
		return fmt.Errorf("listing queued runs: %w", err)
	}
	for _, run := range queued {
		if run.BlockedBy == "" {
			continue
		}
		holder, _ := pullRequest(run.Ref)
		if l := d.lockHeldByOther(ctx, repo.Name, run.Workspace, holder); l != nil {
			continue
		}
		log.Info("lock released: run can plan", "workspace", run.Workspace, "run", run.ID, "was_blocked_by", run.BlockedBy)
		run.BlockedBy, run.Error = "", ""
		if err := d.store.UpdateRun(ctx, run); err != nil {
			return err
		}
		notify(d.wake)
	}
	return nil
}
