package runner

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

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

// lockViewMaxAge is how old the shared view of locks and waiting runs may
// be: however many repositories poll, the lock bookkeeping costs two
// queries per interval.
const lockViewMaxAge = time.Second

// lockView is every repository's locks and queued runs, read at once and
// shared by the poll loops.
type lockView struct {
	mu     sync.Mutex
	at     time.Time
	locks  []*landform.Lock
	queued []*landform.Run
}

// lockState returns the locks and queued runs of repo, from a view at most
// lockViewMaxAge old.
func (d *Daemon) lockState(ctx context.Context, repo string) (locks []*landform.Lock, queued []*landform.Run, err error) {
	v := &d.locks
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.at.IsZero() || d.now().Sub(v.at) > lockViewMaxAge {
		if v.locks, err = d.store.ListLocks(ctx, ""); err != nil {
			return nil, nil, fmt.Errorf("listing locks: %w", err)
		}
		if v.queued, err = d.store.ListRuns(ctx, landform.RunFilter{States: []landform.RunState{landform.StateQueued}}); err != nil {
			return nil, nil, fmt.Errorf("listing queued runs: %w", err)
		}
		v.at = d.now()
	}
	for _, l := range v.locks {
		if l.Repo == repo {
			locks = append(locks, l)
		}
	}
	for _, r := range v.queued {
		if r.Repo == repo {
			queued = append(queued, r)
		}
	}
	return locks, queued, nil
}

// invalidateLocks makes the next lockState read the store.
func (d *Daemon) invalidateLocks() {
	d.locks.mu.Lock()
	d.locks.at = time.Time{}
	d.locks.mu.Unlock()
}

// reconcileLocks releases the locks whose reason is gone: locks held by a
// pull request whose head ref the remote no longer has (closed or merged
// and cleaned up). Locks never outlive their reason.
func (d *Daemon) reconcileLocks(ctx context.Context, repo WatchedRepo, refs map[string]string, log *slog.Logger) error {
	locks, _, err := d.lockState(ctx, repo.Name)
	if err != nil {
		return err
	}
	released := map[string]bool{}
	// Forges keep the head refs of closed pull requests (GitHub and
	// Gitea do): with a forge, a pull request is open when the forge
	// lists it. Asked once per round, and only when a pull request holds
	// a lock; when the forge does not answer, the refs decide.
	var openPRs map[int]landform.PullRequest
	asked := false
	for _, l := range locks {
		ref, isPR := refFor(l.Holder)
		if !isPR || released[l.Holder] {
			continue
		}
		_, open := refs[ref]
		if open && repo.Forge != nil {
			if !asked {
				openPRs, asked = d.pullRequests(ctx, repo), true
			}
			if n, ok := prNumber(ref); ok && openPRs != nil {
				_, open = openPRs[n]
			}
		}
		if open {
			continue
		}
		n, err := d.store.ReleaseLocksOf(ctx, repo.Name, l.Holder)
		if err != nil {
			return fmt.Errorf("releasing locks of %s: %w", l.Holder, err)
		}
		released[l.Holder] = true
		log.Info("released the locks of a closed pull request", "holder", l.Holder, "locks", n)
		d.invalidateLocks()
		d.emit(Event{Kind: EventLocksReleased, Repo: repo.Name, Holder: l.Holder, Count: n})
		d.wake.Notify()
	}
	return nil
}

// unblock clears BlockedBy on the queued runs of repo whose lock has been
// released (or moved to their own holder), so workers claim them.
func (d *Daemon) unblock(ctx context.Context, repo WatchedRepo, log *slog.Logger) error {
	locks, queued, err := d.lockState(ctx, repo.Name)
	if err != nil {
		return err
	}
	for _, run := range queued {
		if run.BlockedBy == "" {
			continue
		}
		holder, _ := pullRequest(run.Ref)
		if slices.ContainsFunc(locks, func(l *landform.Lock) bool { return l.Workspace == run.Workspace && l.Holder != holder }) {
			continue
		}
		// The view may be a second old: re-read the run before changing it.
		current, err := d.store.GetRun(ctx, run.ID)
		if err != nil {
			return err
		}
		if current.State != landform.StateQueued || current.BlockedBy == "" {
			continue
		}
		run = current
		log.Info("lock released: run can plan", "workspace", run.Workspace, "run", run.ID, "was_blocked_by", run.BlockedBy)
		run.BlockedBy, run.Error = "", ""
		if err := d.store.UpdateRun(ctx, run); err != nil {
			return err
		}
		d.invalidateLocks()
		d.wake.Notify()
	}
	return nil
}
