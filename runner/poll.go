package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/backoff"
)

// poll watches one repository until ctx is done. Each round lists the
// remote's refs once; only when a watched ref moved does it fetch, work out
// the affected workspaces and queue plans. Failures back off exponentially
// and never touch other repositories.
func (d *Daemon) poll(ctx context.Context, repo WatchedRepo) {
	log := d.logger.With("repo", repo.Name)
	failures := 0
	st := &pollState{last: map[string]string{}}
	for {
		err := d.pollOnce(ctx, repo, log, st)
		if ctx.Err() != nil {
			return
		}
		wait := backoff.Jitter(repo.PollInterval)
		if err != nil {
			failures++
			wait = pollBackoff(repo.PollInterval, failures)
			log.Error("poll failed", "err", err, "failures", failures, "retry_in", wait.Round(100*time.Millisecond))
		} else {
			failures = 0
		}
		d.status(repo.Name, func(s *RepoStatus) {
			s.Polls++
			s.LastPoll = d.now().UTC()
			s.Failures = failures
			s.LastError = ""
			if err != nil {
				s.LastError = err.Error()
			}
			s.NextPoll = s.LastPoll.Add(wait)
		})
		d.shareStatus(ctx, repo.Name)
		// Arm the timer before reporting the round, so whoever waits for
		// the event may move a fake clock past the next round.
		next, stop := d.after(wait)
		d.emit(Event{Kind: EventPolled, Repo: repo.Name, Err: err, Wait: wait, Count: failures})
		select {
		case <-ctx.Done():
			stop()
			return
		case <-d.poke[repo.Name]:
			stop()
		case <-next:
		}
	}
}

// pollState is what one repository's poll loop remembers between rounds,
// so that an unchanged repository costs one ref listing and no query of
// its own (the lock bookkeeping reads a view shared by all loops).
type pollState struct {
	// last caches the store's last processed commit per ref: this loop is
	// the only writer of its repository's poll state.
	last map[string]string
}

// pollOnce is one round of polling.
func (d *Daemon) pollOnce(ctx context.Context, repo WatchedRepo, log *slog.Logger, st *pollState) error {
	refs, defaultBranch, err := repo.Source.Refs(ctx)
	if err != nil {
		return fmt.Errorf("listing refs: %w", err)
	}
	d.observeRefs(repo, refs, defaultBranch, log) // health.go: gone branches, the default branch
	open := d.openPullRequests(ctx, repo, refs)
	if err := d.reconcileLocks(ctx, repo, open, log); err != nil {
		return err
	}
	if err := d.unblock(ctx, repo, open, log); err != nil {
		return err
	}
	if repo.PollComments && d.comments != nil && repo.Forge != nil {
		prs, err := repo.Forge.PullRequests(ctx)
		if err == nil {
			err = d.pollComments(ctx, repo, prs)
		}
		if err != nil {
			// Commands wait for the next round; plans go on.
			log.Warn("chat-ops: polling pull request comments failed", "err", err)
		}
	}

	type move struct{ ref, from, to string }
	var moved []move
	for _, ref := range watchedRefs(repo, refs, defaultBranch) {
		last, ok := st.last[ref]
		if !ok {
			if last, err = d.store.LastProcessed(ctx, repo.Name, ref); err != nil {
				return err
			}
			st.last[ref] = last
		}
		if last != refs[ref] {
			moved = append(moved, move{ref, last, refs[ref]})
		}
	}
	if len(moved) == 0 {
		return nil
	}
	names := make([]string, len(moved))
	for i, m := range moved {
		names[i] = m.ref
	}
	if err := repo.Source.Fetch(ctx, names); err != nil {
		return fmt.Errorf("fetching %s: %w", strings.Join(names, ", "), err)
	}
	d.status(repo.Name, func(s *RepoStatus) { s.Fetches++ })

	var errs []error
	for _, m := range moved {
		if err := d.processRef(ctx, repo, m.ref, m.from, m.to, refs, defaultBranch, log); err != nil {
			errs = append(errs, fmt.Errorf("%s at %s: %w", m.ref, landform.ShortSHA(m.to), err))
		}
		delete(st.last, m.ref) // reread: processRef may or may not have advanced it
	}
	return errors.Join(errs...)
}

// processRef queues plans for a ref that moved from one commit to another.
// A branch seen for the first time becomes the baseline: nothing is
// planned. A pull request head is planned against its merge base with the
// default branch. The runs and the ref's new last processed commit are
// stored in one transaction (QueueRuns), so a failure queues nothing and
// the next poll tries the commit again, once. The ref is marked processed
// even when the commit is broken, or would queue more runs than the
// repository may have queued, so one bad commit is reported once, not on
// every poll.
func (d *Daemon) processRef(ctx context.Context, repo WatchedRepo, ref, from, to string, refs map[string]string, defaultBranch string, log *slog.Logger) error {
	log = log.With("ref", ref, "commit", landform.ShortSHA(to))
	holder, isPR := pullRequest(ref)
	base := from
	if isPR {
		mainRef := branchPrefix + defaultBranch
		mainSHA, ok := refs[mainRef]
		if !ok {
			return fmt.Errorf("default branch %q not on the remote", defaultBranch)
		}
		if err := repo.Source.Fetch(ctx, []string{mainRef}); err != nil {
			return err
		}
		mb, err := repo.Source.MergeBase(ctx, to, mainSHA)
		if err != nil {
			return fmt.Errorf("merge base with %s: %w", defaultBranch, err)
		}
		base = mb
	} else if from == "" {
		log.Info("watching branch", "baseline", landform.ShortSHA(to))
		_, err := d.store.QueueRuns(ctx, repo.Name, ref, to, nil)
		return err
	}

	targets, deleted, cerr := repo.Source.Targets(ctx, base, to)
	if cerr == nil {
		over, err := d.overQueueLimit(ctx, repo.Name, to, len(targets))
		if err != nil {
			return err
		}
		cerr = over
	}
	if cerr != nil {
		// The commit's own fault (e.g. a broken .landform.yaml): record
		// it where people look, as an errored run of the commit.
		log.Error("cannot queue the commit's plans", "err", cerr)
		return d.recordBrokenCommit(ctx, repo, ref, to, cerr)
	}
	for _, name := range deleted {
		log.Warn("workspace deleted by this change: not planned", "workspace", name)
	}
	var pr landform.RunPR
	if isPR {
		pr = prOf(ref, d.pullRequests(ctx, repo))
	}
	author := d.commitAuthor(ctx, repo, to, log)
	runs := make([]*landform.Run, len(targets))
	for i, t := range targets {
		runs[i] = d.planRun(ctx, repo, ref, holder, to, t)
		runs[i].PR = pr
		runs[i].CommitAuthor = author
	}
	superseded, err := d.store.QueueRuns(ctx, repo.Name, ref, to, runs)
	if err != nil {
		return err
	}
	d.status(repo.Name, func(s *RepoStatus) { s.RunsQueued += len(runs) })
	for _, run := range runs {
		d.emit(Event{Kind: EventRunQueued, Repo: repo.Name, Run: run})
	}
	for _, old := range superseded {
		log.Info("superseded", "workspace", old.Workspace, "run", old.ID)
	}
	if err := d.ledgerRecord(ctx, repo, superseded...); err != nil {
		return err
	}
	if isPR {
		d.rememberDeleted(repo.Name, ref, to, deleted)
		if err := d.enqueueForge(ctx, repo, ref, to, deleted, runs...); err != nil {
			log.Error("forge: queueing the preview and statuses failed", "err", err)
		}
	}
	if len(runs) > 0 {
		log.Info("queued plans", "base", landform.ShortSHA(base), "workspaces", len(runs))
		d.wakeWorkers()
	}
	return nil
}

// CommitAuthors is what a WatchedSource that knows commit authors offers:
// their emails, for the rule that the author of a change may not approve
// it (allow_self_approval: false).
type CommitAuthors interface {
	CommitAuthor(ctx context.Context, commit string) (string, error)
}

// commitAuthor returns the email of commit's author, "" when the source
// cannot say (logged: approvals then check the pull request's author only).
func (d *Daemon) commitAuthor(ctx context.Context, repo WatchedRepo, commit string, log *slog.Logger) string {
	ca, ok := repo.Source.(CommitAuthors)
	if !ok {
		return ""
	}
	email, err := ca.CommitAuthor(ctx, commit)
	if err != nil {
		log.Warn("reading the commit's author failed", "err", err)
	}
	return email
}

// planRun returns a queued plan run of t at commit, waiting (BlockedBy)
// when another holder has its workspace's lock under a strict policy.
func (d *Daemon) planRun(ctx context.Context, repo WatchedRepo, ref, holder, commit string, t landform.Target) *landform.Run {
	run := &landform.Run{
		Repo: repo.Name, Workspace: t.Workspace.Name, Dir: t.Workspace.Dir,
		Commit: commit, Ref: ref, Kind: landform.RunPlan, State: landform.StateQueued,
		CreatedAt: d.now().UTC(),
	}
	if holder != "" && repo.LockPolicy == landform.LockStrict {
		if l := d.lockHeldByOther(ctx, repo.Name, t.Workspace.Name, holder); l != nil {
			run.BlockedBy = l.Holder
			run.Error = blockedMessage(l)
		}
	}
	return run
}

// DefaultMaxQueuedPerRepo is how many runs of one repository may be
// queued at once unless WithMaxQueuedPerRepo says otherwise.
const DefaultMaxQueuedPerRepo = 5000

// WithMaxQueuedPerRepo caps the runs of one repository queued at once
// (default DefaultMaxQueuedPerRepo; n ≤ 0 keeps the default). A commit
// whose plans would take its repository over the cap queues none of them
// and is recorded as one errored run saying so, as a broken commit is:
// one huge change (a generated configuration with tens of thousands of
// workspaces) cannot fill the queue, the database and the memory.
func WithMaxQueuedPerRepo(n int) DaemonOption {
	return func(dm *Daemon) {
		if n > 0 {
			dm.maxQueued = n
		}
	}
}

// overQueueLimit returns an error saying so when queueing n more runs of
// repo would take it over the cap on queued runs; nil otherwise. Only the
// query's own failure is returned as err.
func (d *Daemon) overQueueLimit(ctx context.Context, repo, commit string, n int) (over, err error) {
	if n == 0 {
		return nil, nil
	}
	limit := d.maxQueued
	if n > limit {
		return landform.Errorf(landform.EINVALID,
			"commit %s would queue %d plans, over the limit of %d queued runs per repository: none of them was queued",
			landform.ShortSHA(commit), n, limit), nil
	}
	room := limit - n
	queued, err := d.store.ListRuns(ctx, landform.RunFilter{Repo: repo, States: []landform.RunState{landform.StateQueued}, Limit: room + 1})
	if err != nil {
		return nil, fmt.Errorf("counting queued runs: %w", err)
	}
	if len(queued) > room {
		return landform.Errorf(landform.EINVALID,
			"commit %s would queue %d plans while more than %d runs of this repository are queued, over the limit of %d queued runs per repository: none of them was queued",
			landform.ShortSHA(commit), n, room, limit), nil
	}
	return nil, nil
}

// recordBrokenCommit stores an errored run naming the commit's problem and
// marks the commit processed, in one transaction.
func (d *Daemon) recordBrokenCommit(ctx context.Context, repo WatchedRepo, ref, commit string, cause error) error {
	now := d.now().UTC()
	run := &landform.Run{
		Repo: repo.Name, Workspace: ConfigWorkspace, Dir: ".", Commit: commit, Ref: ref,
		Kind: landform.RunPlan, State: landform.StateErrored, Error: errorText(d.redactor, cause),
		CreatedAt: now, StartedAt: now, FinishedAt: now,
	}
	if n, ok := prNumber(ref); ok {
		run.PR.Number = n
	}
	if _, err := d.store.QueueRuns(ctx, repo.Name, ref, commit, []*landform.Run{run}); err != nil {
		return err
	}
	d.emit(Event{Kind: EventRunFinished, Repo: repo.Name, Run: run})
	if err := d.enqueueForge(ctx, repo, ref, commit, nil, run); err != nil {
		d.logger.Error("forge: queueing the preview failed", "repo", repo.Name, "ref", ref, "err", err)
	}
	return d.ledgerRecord(ctx, repo, run)
}

// ConfigWorkspace names the pseudo-workspace of runs that record a commit
// whose configuration could not be read at all.
const ConfigWorkspace = "(repository)"
