package runner

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/landform/landform/internal/backoff"

	"github.com/landform/landform"
)

// DaemonStore is what the daemon keeps durably: runs (the queue is the
// runs in state queued), workspace locks, the last commit processed per
// ref, and the ledger outbox.
type DaemonStore interface {
	Store
	// ClaimRun marks the oldest claimable queued run running and returns
	// it: one whose workspace has no running run and whose BlockedBy is
	// empty. Returns nil, nil when none is claimable.
	ClaimRun(ctx context.Context, owner string) (*landform.Run, error)
	// SupersedeRuns marks the unapplied plan runs of (repo, workspace,
	// ref) older than keepID superseded.
	SupersedeRuns(ctx context.Context, repo, workspace, ref, keepID string) ([]*landform.Run, error)
	// RecoverRuns, at start, turns runs a crash left running into
	// interrupted ones: plans are re-queued as new runs, applies are
	// flagged for a person and never re-queued.
	RecoverRuns(ctx context.Context) (requeued, flagged []*landform.Run, err error)

	// AcquireLock takes the workspace lock for l.Holder; ECONFLICT naming
	// the holder when another holder has it.
	AcquireLock(ctx context.Context, l landform.Lock) error
	ReleaseLock(ctx context.Context, repo, workspace, holder string) error
	ReleaseLocksOf(ctx context.Context, repo, holder string) (int, error)
	ListLocks(ctx context.Context, repo string) ([]*landform.Lock, error)

	LastProcessed(ctx context.Context, repo, ref string) (string, error)
	// QueueRuns creates runs (queued by one poll of ref at commit),
	// supersedes the older unapplied plans of each one's workspace and
	// ref, and records commit as processed on ref, all in one
	// transaction; on error nothing of it is stored. It returns the runs
	// superseded.
	QueueRuns(ctx context.Context, repo, ref, commit string, runs []*landform.Run) (superseded []*landform.Run, err error)
	RunIDStore

	// Chat-ops: commands handled, and the comment poll's cursor.
	MarkCommandSeen(ctx context.Context, repo, key string) (bool, error)
	CommentCursor(ctx context.Context, repo string) (string, error)
	SetCommentCursor(ctx context.Context, repo, cursor string) error

	// Approvals, and moving a run between states atomically.
	TransitionRun(ctx context.Context, id string, from []landform.RunState, change func(*landform.Run) error) (*landform.Run, error)
	AddApproval(ctx context.Context, a *landform.Approval) error
	ListApprovals(ctx context.Context, runID string) ([]*landform.Approval, error)

	EnqueueLedger(ctx context.Context, repo, runID string) error
	PendingLedger(ctx context.Context, repo string, limit int) ([]string, error)
	MarkLedgerDone(ctx context.Context, repo string, runIDs []string) error
	// SetAsideLedger keeps a pending record that cannot be written in the
	// outbox with reason, out of PendingLedger until it is enqueued again.
	SetAsideLedger(ctx context.Context, repo, runID, reason string) error
	// ListSetAsideLedger returns the records set aside: run ID → reason.
	ListSetAsideLedger(ctx context.Context, repo string) (map[string]string, error)
	// OldestPendingLedger returns when the oldest pending record was
	// enqueued, zero when none is.
	OldestPendingLedger(ctx context.Context, repo string) (time.Time, error)
}

// WatchedSource is one watched repository as the daemon sees it.
type WatchedSource interface {
	Source
	// Refs lists the remote's refs (name → commit) in one round trip, and
	// names its default branch.
	Refs(ctx context.Context) (refs map[string]string, defaultBranch string, err error)
	// Fetch brings refs into the local cache.
	Fetch(ctx context.Context, refs []string) error
	// MergeBase returns the best common ancestor of two commits.
	MergeBase(ctx context.Context, a, b string) (string, error)
	// Targets returns the targets at head that base..head affects and the
	// names of the workspaces it deleted. An error is the commit's own
	// fault (a broken .landform.yaml) or the cache's.
	Targets(ctx context.Context, base, head string) (targets []landform.Target, deleted []string, err error)
	// Record writes finished runs to the ledger branch, in one commit.
	// When one run's record cannot be written whatever the branch holds
	// (its own fault, such as a path the ledger refuses), it writes
	// nothing and returns an error that is (or wraps) a RecordFault
	// naming that run: the daemon sets it aside and writes the others.
	Record(ctx context.Context, branch string, runs []*landform.Run) error
	// HighestLedgerRunID returns the highest run ID recorded on the
	// ledger branch, as the remote has it now; 0 when there is no such
	// branch.
	HighestLedgerRunID(ctx context.Context, branch string) (int64, error)
}

// WatchedRepo is a repository the daemon polls: its settings and its
// source.
type WatchedRepo struct {
	landform.Repo
	Source WatchedSource
	// Forge is the repository's forge, nil for none: with one, pull
	// requests get plan previews and commit statuses, and their runs the
	// author and base branch.
	Forge Forge
	// PollComments makes the poll loop read new pull request comments
	// for commands (chat-ops without webhooks).
	PollComments bool
}

// Daemon polls repositories, plans what their new commits touch with a
// pool of workers, holds workspace locks and records finished runs in the
// ledger.
type Daemon struct {
	*Runner
	store DaemonStore
	repos []WatchedRepo
	grace time.Duration
	owner string
	// maxQueued caps the queued runs of one repository.
	maxQueued int
	after     func(time.Duration) (<-chan time.Time, func() bool)
	event     func(Event)
	// replicaEvents is given the other replicas' events (WithReplicaEvents).
	replicaEvents func(Event)

	wake   *broadcast // a run became claimable
	ledger map[string]chan struct{}
	// forgeOutbox is the store's forge outbox (nil when the store has
	// none: then nothing is said on forges); forgeWake wakes a repo's
	// forge loop, poke its poll loop.
	forgeOutbox ForgeOutbox
	forgeWake   map[string]chan struct{}
	poke        map[string]chan struct{}

	mu       sync.Mutex
	statuses map[string]*RepoStatus
	// deleted remembers the workspaces each pull request head deletes
	// (repo, ref → commit and names), for the previews updated as its
	// runs finish; guarded by mu. Lost on restart: a preview then lists
	// no deleted workspace.
	deleted map[[2]string]deletedAt
	health  healthState // guarded by mu; see health.go

	locks lockView

	// approvals decides who may approve and what an apply needs (nil:
	// refuse all); applies are the applies running in the background.
	approvals ApprovalPolicy
	applies   applies
	// comments gets every new pull request comment (nil: none).
	comments CommentHandler
	// drift is how repositories are swept for drift (nil: never).
	drift      *DriftConfig
	driftState driftState

	// replicas, when set, makes this daemon one of several on the store;
	// poller says whether it holds the poll lease (guarded by mu).
	replicas *replicaConfig
	poller   bool
}

// RepoStatus is the health of one watched repository.
type RepoStatus struct {
	Repo string `json:"repo"`
	// LastPoll is when the last poll round ended.
	LastPoll  time.Time `json:"last_poll"`
	LastError string    `json:"last_error,omitempty"`
	// Failures counts the poll rounds failed in a row.
	Failures int       `json:"failures"`
	NextPoll time.Time `json:"next_poll"`
	// Polls counts the poll rounds ended (failed or not) since the
	// daemon started: it grows by one per round, after the round's runs
	// are queued, so a client that saw it grow by two has seen at least
	// one whole round start and end.
	Polls      int `json:"polls"`
	Fetches    int `json:"fetches"`
	RunsQueued int `json:"runs_queued"`
	// DefaultBranch is the remote's default branch at the last listing
	// of its refs.
	DefaultBranch string `json:"default_branch,omitempty"`
	// MissingBranches are the configured branches the remote did not
	// have at the last listing: not polled until they come back.
	MissingBranches []string `json:"missing_branches,omitempty"`
	// LedgerError is the error of the last ledger write, while writes
	// fail (the runs stay in the outbox); LedgerFailures counts the
	// failed writes in a row.
	LedgerError    string `json:"ledger_error,omitempty"`
	LedgerFailures int    `json:"ledger_failures,omitempty"`
}

// DaemonOption configures a Daemon.
type DaemonOption func(*Daemon)

// WithShutdownGrace sets how long running terraform may finish after the
// daemon is asked to stop before it is interrupted (default 30s).
func WithShutdownGrace(d time.Duration) DaemonOption { return func(dm *Daemon) { dm.grace = d } }

// WithOwner names this daemon in the runs it claims (default "landform").
func WithOwner(name string) DaemonOption { return func(dm *Daemon) { dm.owner = name } }

// WithTimer replaces the daemon's timer, for tests of the schedule: every
// wait of the daemon (poll interval and backoff, the workers' claim
// interval, the ledger's waits, the shutdown grace) calls after(d), which
// returns a channel that receives once d has passed and a function that
// stops the timer early (reporting whether it had not fired yet). The
// default is time.NewTimer. Pair it with the runner's WithClock.
func WithTimer(after func(time.Duration) (<-chan time.Time, func() bool)) DaemonOption {
	return func(dm *Daemon) { dm.after = after }
}

// realTimer is the default timer.
func realTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// NewDaemon returns a daemon for repos. The runner supplies the plan store,
// the planner, the logger, the clock, the parallelism and the work
// directory; store must be the runner's store.
func NewDaemon(r *Runner, store DaemonStore, repos []WatchedRepo, opts ...DaemonOption) *Daemon {
	d := &Daemon{
		Runner:    r,
		store:     store,
		repos:     repos,
		grace:     30 * time.Second,
		owner:     "landform",
		maxQueued: DefaultMaxQueuedPerRepo,
		after:     realTimer,
		event:     func(Event) {},
		wake:      newBroadcast(),
		ledger:    map[string]chan struct{}{},
		forgeWake: map[string]chan struct{}{},
		poke:      map[string]chan struct{}{},
		statuses:  map[string]*RepoStatus{},
		deleted:   map[[2]string]deletedAt{},
	}
	d.forgeOutbox, _ = store.(ForgeOutbox)
	for _, o := range opts {
		o(d)
	}
	for _, repo := range repos {
		d.ledger[repo.Name] = make(chan struct{}, 1)
		d.forgeWake[repo.Name] = make(chan struct{}, 1)
		d.poke[repo.Name] = make(chan struct{}, 1)
		d.statuses[repo.Name] = &RepoStatus{Repo: repo.Name}
	}
	return d
}

// Statuses returns a snapshot of every repository's health.
func (d *Daemon) Statuses() []RepoStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]RepoStatus, 0, len(d.repos))
	for _, repo := range d.repos {
		s := *d.statuses[repo.Name]
		s.MissingBranches = slices.Clone(s.MissingBranches)
		out = append(out, s)
	}
	return out
}

func (d *Daemon) status(repo string, f func(*RepoStatus)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d.statuses[repo])
}

// Run runs the daemon until ctx is cancelled: it makes new run IDs
// continue above those of the plan store and the ledgers, recovers what a
// crash left behind, then polls, plans and records. On cancellation it stops
// polling and claiming, lets running terraform finish for the grace
// period, then interrupts it (the engine sends SIGINT so terraform releases
// its state lock) and records those runs interrupted; interrupted plans are
// queued again for the next start. Run returns nil after a clean stop.
func (d *Daemon) Run(ctx context.Context) error {
	if err := d.continueRunIDs(ctx); err != nil {
		return err
	}
	if err := d.recover(ctx); err != nil {
		return err
	}
	if err := d.joinReplicas(ctx); err != nil {
		return err
	}

	// Work outlives ctx by the grace period.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			d.logger.Info("stopping: no more polls or claims; waiting for running terraform", "grace", d.grace)
			graceOver, stop := d.after(d.grace)
			defer stop()
			select {
			case <-graceOver:
				d.logger.Warn("grace period over: interrupting running terraform")
				cancelWork()
			case <-stopped:
			}
		case <-stopped:
		}
	}()

	d.applies.start(workCtx)
	var workers, loops errgroup.Group
	for i := range d.parallel {
		workers.Go(func() error { return d.work(ctx, workCtx, fmt.Sprintf("%s/%d", d.owner, i)) })
	}
	if d.replicas != nil {
		loops.Go(func() error { d.replicate(ctx); return nil })
	} else {
		loops.Go(func() error { d.runPollerLoops(ctx); return nil })
	}
	werr := workers.Wait()
	d.applies.stop()
	close(stopped)
	_ = loops.Wait()

	// A last ledger flush for the runs that finished while stopping (a
	// replica's are written by the poller).
	if d.replicas != nil {
		return werr
	}
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	for _, repo := range d.repos {
		if repo.Ledger {
			if err := d.record(flushCtx, repo); err != nil {
				d.logger.Error("ledger: final flush failed; the runs stay in the outbox", "repo", repo.Name, "err", err)
			}
		}
		if repo.Forge != nil && d.forgeOutbox != nil {
			if err := d.deliverForge(flushCtx, repo); err != nil {
				d.logger.Warn("forge: final delivery failed; the messages stay in the outbox", "repo", repo.Name, "err", err)
			}
		}
	}
	return werr
}

// Poke makes the poll loop of the repository named repo poll now rather
// than at its next interval (a webhook said something changed); false for
// an unknown repository. Polling stays the source of truth: a lost poke
// costs only latency.
//
// On a replica that does not poll, the poke goes to the one that does.
func (d *Daemon) Poke(repo string) bool {
	if _, ok := d.repo(repo); !ok {
		return false
	}
	d.wakeLoop(LoopPoll, repo)
	return true
}

// recover handles what a crash left: running plans are re-queued, applies
// left applying are flagged for a person.
func (d *Daemon) recover(ctx context.Context) error {
	if d.replicas != nil {
		// Other replicas may be running runs: only those of replicas
		// gone are recovered, by the poller (replicate).
		return nil
	}
	requeued, flagged, err := d.store.RecoverRuns(ctx)
	if err != nil {
		return fmt.Errorf("recovering runs: %w", err)
	}
	d.recovered(ctx, requeued, flagged)
	return nil
}

// recovered reports the runs a recovery re-queued and flagged.
func (d *Daemon) recovered(ctx context.Context, requeued, flagged []*landform.Run) {
	for _, run := range requeued {
		d.logger.Warn("re-queued a run interrupted by a crash", "repo", run.Repo, "workspace", run.Workspace, "run", run.ID)
		d.emit(Event{Kind: EventRunQueued, Repo: run.Repo, Run: run})
	}
	for _, run := range flagged {
		d.logger.Error("an apply was interrupted by a crash: it is NOT retried; its workspace lock is kept; check the state lock of the backend and re-run by hand",
			"repo", run.Repo, "workspace", run.Workspace, "run", run.ID)
		// The ledger and the pull request say so too.
		if err := d.announce(ctx, run); err != nil {
			d.logger.Error("queueing the record of an interrupted apply failed", "run", run.ID, "err", err)
		}
	}
}

// notify wakes a sleeping waiter of ch without blocking.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// broadcast wakes every waiter at once. A waiter takes C before it looks
// for work and waits on it after, so a Notify in between is not lost; a
// Notify with nobody waiting wakes nobody later.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

// C returns the channel the next Notify closes.
func (b *broadcast) C() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

// Notify wakes everyone waiting on a channel C returned before.
func (b *broadcast) Notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.ch)
	b.ch = make(chan struct{})
}

// pollBackoff is the wait after failed polls: the poll interval doubled
// per failure, capped at ten minutes (or the interval, if longer).
func pollBackoff(interval time.Duration, failures int) time.Duration {
	return backoff.Policy{Base: interval, Cap: 10 * time.Minute}.Delay(failures)
}

// sleep waits dur on the daemon's timer, or until wake is closed (nil:
// never) or ctx is done; it reports whether ctx is still live.
func (d *Daemon) sleep(ctx context.Context, dur time.Duration, wake <-chan struct{}) bool {
	fired, stop := d.after(dur)
	defer stop()
	select {
	case <-ctx.Done():
		return false
	case <-wake:
		return true
	case <-fired:
		return true
	}
}
