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

// openPullRequests returns whether a pull request head ref of repo is
// open: its ref is on the remote (refs) and, with a forge, the forge lists
// it open — forges keep the head refs of closed pull requests (GitHub and
// Gitea do). The forge is asked once, at the first call that needs it;
// when it does not answer, the refs decide.
func (d *Daemon) openPullRequests(ctx context.Context, repo WatchedRepo, refs map[string]string) func(ref string) bool {
	var (
		openPRs map[int]landform.PullRequest
		asked   bool
	)
	return func(ref string) bool {
		if _, ok := refs[ref]; !ok {
			return false
		}
		if repo.Forge == nil {
			return true
		}
		if !asked {
			openPRs, asked = d.pullRequests(ctx, repo), true
		}
		if n, ok := prNumber(ref); ok && openPRs != nil {
			_, open := openPRs[n]
			return open
		}
		return true
	}
}

// reconcileLocks releases the locks whose reason is gone: locks held by a
// pull request that is no longer open (closed or merged). Locks never
// outlive their reason.
func (d *Daemon) reconcileLocks(ctx context.Context, repo WatchedRepo, open func(ref string) bool, log *slog.Logger) error {
	locks, _, err := d.lockState(ctx, repo.Name)
	if err != nil {
		return err
	}
	released := map[string]bool{}
	for _, l := range locks {
		ref, isPR := refFor(l.Holder)
		if !isPR || released[l.Holder] || open(ref) {
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
		d.wakeWorkers()
	}
	return nil
}

// unblock clears BlockedBy on the queued runs of repo whose lock has been
// released (or moved to their own holder), so workers claim them, and
// drops the queued runs of pull requests no longer open.
func (d *Daemon) unblock(ctx context.Context, repo WatchedRepo, open func(ref string) bool, log *slog.Logger) error {
	locks, queued, err := d.lockState(ctx, repo.Name)
	if err != nil {
		return err
	}
	for _, run := range queued {
		if _, isPR := pullRequest(run.Ref); isPR && !open(run.Ref) {
			// Its pull request closed while it waited: never planned.
			if err := d.dropClosed(ctx, repo, run, log); err != nil {
				return err
			}
			continue
		}
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
		d.wakeWorkers()
	}
	return nil
}

// dropClosed marks a queued plan of a closed pull request superseded, and
// records it.
func (d *Daemon) dropClosed(ctx context.Context, repo WatchedRepo, run *landform.Run, log *slog.Logger) error {
	dropped, err := d.store.TransitionRun(ctx, run.ID, []landform.RunState{landform.StateQueued}, func(r *landform.Run) error {
		r.State, r.BlockedBy = landform.StateSuperseded, ""
		r.Error = "its pull request closed before it could be planned"
		r.FinishedAt = d.now().UTC()
		return nil
	})
	if landform.ErrorCode(err) == landform.ECONFLICT {
		return nil // claimed or superseded meanwhile
	}
	if err != nil {
		return err
	}
	log.Info("dropped the queued plan of a closed pull request", "workspace", run.Workspace, "run", run.ID)
	d.invalidateLocks()
	d.emit(Event{Kind: EventRunFinished, Repo: repo.Name, Run: dropped})
	return d.ledgerRecord(ctx, repo, dropped)
}
