package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/landform/landform/internal/backoff"
	"github.com/landform/landform/internal/runes"

	"github.com/landform/landform"
	"golang.org/x/sync/errgroup"
)

// Replicas: several daemons on one store (PostgreSQL) share the work.
// Every replica runs workers (the queue is the store's: each run is
// claimed once), answers the API, webhooks and chat-ops, and runs the
// applies it is asked for. One replica at a time — the holder of the
// lease "poll" — polls the repositories, schedules drift checks, writes
// the ledgers and talks to the forges; when it dies, another takes the
// lease once it expires. Each replica holds "replica/<owner>" while it
// lives; the poller recovers the runs of replicas whose lease expired
// (RecoverOrphans: plans re-queued, applies flagged for a person, as after
// a crash of a lone daemon).

// LeaseStore is what replicas need of a store.
type LeaseStore interface {
	// AcquireLease takes name for holder for ttl, or renews it when
	// holder has it: false when another holder has it unexpired. The
	// store's clock decides, so replicas' clocks need not agree.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
	// RecoverOrphans recovers the runs left running or applying by
	// owners that hold no unexpired lease prefix+owner, except self's.
	RecoverOrphans(ctx context.Context, prefix, self string) (requeued, flagged []*landform.Run, err error)
	// SaveRepoStatus and RepoStatuses share the poller's view of each
	// repository (RepoStatus as JSON) with the other replicas.
	SaveRepoStatus(ctx context.Context, repo string, status []byte) error
	RepoStatuses(ctx context.Context) (map[string][]byte, error)
}

// The leases.
const (
	pollLease     = "poll"
	replicaPrefix = "replica/"
)

// DefaultLeaseTTL is how long a replica's leases last unrenewed: the
// longest a dead poller's repositories go unpolled.
const DefaultLeaseTTL = 30 * time.Second

// WithReplicas makes the daemon one of several on the store s: see
// above. ttl is the leases' (DefaultLeaseTTL when 0); they are renewed
// every third of it. The daemon's owner (WithOwner) must be unique among
// replicas, and stable for the process's life.
func WithReplicas(s LeaseStore, ttl time.Duration) DaemonOption {
	return func(d *Daemon) {
		if ttl <= 0 {
			ttl = DefaultLeaseTTL
		}
		rc := &replicaConfig{leases: s, ttl: ttl}
		if sig, ok := s.(Signals); ok {
			rc.signals, rc.kick, rc.loops = sig, make(chan struct{}, 1), map[loopWake]bool{}
		}
		d.replicas = rc
	}
}

type replicaConfig struct {
	leases LeaseStore
	ttl    time.Duration
	// signals, when the store has them, wake the other replicas' workers
	// and the poller's loops. What is to be sent waits in queued and
	// loops (under mu) until signalLoop, woken by kick, sends it: many
	// wake-ups between two sends make one signal each.
	signals Signals
	kick    chan struct{}
	mu      sync.Mutex
	queued  bool
	loops   map[loopWake]bool
	events  [][]byte // payloads of shareEvent, at most maxPendingEvents
}

// loopWake names a loop of the poller's: Loop (LoopPoll, LoopForge,
// LoopLedger, LoopDrift) of the repository Repo.
type loopWake struct{ Loop, Repo string }

// IsPoller reports whether this daemon polls now: always for a lone
// daemon, for a replica while it holds the poll lease.
func (d *Daemon) IsPoller() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.replicas == nil || d.poller
}

// joinReplicas takes this replica's own lease before its workers claim
// anything: the poller recovers the runs of owners without one, and would
// take a run this replica claimed in the moment before its lease for a dead
// replica's.
func (d *Daemon) joinReplicas(ctx context.Context) error {
	rc := d.replicas
	if rc == nil {
		return nil
	}
	held, err := rc.leases.AcquireLease(ctx, replicaPrefix+d.owner, d.owner, rc.ttl)
	if err != nil {
		return fmt.Errorf("replicas: taking this replica's lease: %w", err)
	}
	if !held {
		return landform.Errorf(landform.ECONFLICT, "replicas: the lease %s%s is held by another holder", replicaPrefix, d.owner)
	}
	return nil
}

// runPollerLoops runs the loops only one daemon of a store runs — the
// polls, the ledger writers, the forge outboxes, the drift schedules —
// until ctx is done.
func (d *Daemon) runPollerLoops(ctx context.Context) {
	var loops errgroup.Group
	for _, repo := range d.repos {
		loops.Go(func() error { d.poll(ctx, repo); return nil })
		if repo.Ledger {
			loops.Go(func() error { d.recordLoop(ctx, repo); return nil })
		}
		if repo.Forge != nil && d.forgeOutbox != nil {
			loops.Go(func() error { d.forgeLoop(ctx, repo); return nil })
		}
		if d.drift != nil {
			loops.Go(func() error { d.driftLoop(ctx, repo); return nil })
		}
	}
	_ = loops.Wait()
}

// replicate holds this replica's leases until ctx is done: its own, and
// the poll lease whenever it can, running the poller's loops while it
// holds it (and recovering the runs of replicas gone). On return the
// leases are released, so another replica takes over at once.
func (d *Daemon) replicate(ctx context.Context) {
	rc := d.replicas
	if rc.signals != nil {
		go d.signalLoop(ctx)
		go d.watchLoop(ctx)
	}
	every := rc.ttl / 3
	self := replicaPrefix + d.owner
	// loops are the poller's loops while this replica runs them.
	type running struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	var loops *running
	stopLoops := func(why string) {
		if loops == nil {
			return
		}
		loops.cancel()
		<-loops.done
		loops = nil
		d.mu.Lock()
		d.poller = false
		d.mu.Unlock()
		d.logger.Warn("replicas: this replica stopped polling", "why", why)
		d.emit(Event{Kind: EventLease, Holder: d.owner, Count: 0})
	}
	defer func() {
		stopLoops("stopping")
		// Released with a context of their own: ctx is done.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = rc.leases.ReleaseLease(rctx, pollLease, d.owner)
		_ = rc.leases.ReleaseLease(rctx, self, d.owner)
	}()
	for {
		if _, err := rc.leases.AcquireLease(ctx, self, d.owner, rc.ttl); err != nil && ctx.Err() == nil {
			d.logger.Error("replicas: renewing this replica's lease failed", "err", err)
		}
		held, err := rc.leases.AcquireLease(ctx, pollLease, d.owner, rc.ttl)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// Unsure whether it still holds the lease: stop polling
			// rather than risk two pollers; retried next round.
			d.logger.Error("replicas: renewing the poll lease failed", "err", err)
			stopLoops("the poll lease could not be renewed: " + err.Error())
		case held && loops == nil:
			d.logger.Info("replicas: this replica polls now", "owner", d.owner, "ttl", rc.ttl)
			d.mu.Lock()
			d.poller = true
			d.mu.Unlock()
			lctx, cancel := context.WithCancel(ctx)
			loops = &running{cancel: cancel, done: make(chan struct{})}
			go func(done chan struct{}) { defer close(done); d.runPollerLoops(lctx) }(loops.done)
			d.emit(Event{Kind: EventLease, Holder: d.owner, Count: 1})
		case !held && loops != nil:
			stopLoops("another replica holds the poll lease")
		}
		if held {
			if err := d.recoverOrphans(ctx); err != nil && ctx.Err() == nil {
				d.logger.Error("replicas: recovering the runs of replicas gone failed", "err", err)
			}
		}
		if !d.sleep(ctx, every, nil) {
			return
		}
	}
}

// recoverOrphans recovers the runs of replicas gone, as a lone daemon's
// recover does at its start.
func (d *Daemon) recoverOrphans(ctx context.Context) error {
	requeued, flagged, err := d.replicas.leases.RecoverOrphans(ctx, replicaPrefix, d.owner)
	if err != nil {
		return fmt.Errorf("recovering runs: %w", err)
	}
	d.recovered(ctx, requeued, flagged)
	if len(requeued) > 0 {
		d.wakeWorkers()
	}
	return nil
}

// CommitResolver tells whether a repository's local copy has a commit
// (source.Repo).
type CommitResolver interface {
	Resolve(ctx context.Context, rev string) (string, error)
}

// ensureCommit makes sure the local copy of repo has commit, the commit of
// a run of ref, before the run or its apply uses it. Only the poller
// fetches as it polls: a replica's workers and applies take runs the
// poller queued, at commits this replica may never have fetched. It
// fetches ref (where the commit was seen) when the commit is missing; a
// lone daemon, the poller itself, has what it polled.
func (d *Daemon) ensureCommit(ctx context.Context, repo WatchedRepo, commit, ref string) error {
	if d.replicas == nil || commit == "" {
		return nil
	}
	res, ok := repo.Source.(CommitResolver)
	if !ok {
		return nil
	}
	if _, err := res.Resolve(ctx, commit); err == nil {
		return nil
	}
	refs := []string{ref}
	if ref == "" {
		refs = nil
	}
	if err := repo.Source.Fetch(ctx, refs); err != nil {
		return fmt.Errorf("fetching %s for commit %s: %w", ref, landform.ShortSHA(commit), err)
	}
	if _, err := res.Resolve(ctx, commit); err != nil {
		return fmt.Errorf("commit %s is not on the remote's %s any more: %w", landform.ShortSHA(commit), ref, err)
	}
	return nil
}

// fetchFirst is an apply's source on a replica: the commit is fetched
// before it is exported, when this replica's copy lacks it (the apply then
// has not started, and the run goes back to approved if it cannot be).
type fetchFirst struct {
	ApplySource
	d    *Daemon
	repo WatchedRepo
	ref  string
}

func (f fetchFirst) ExportPaths(ctx context.Context, commit, dir string, paths []string) error {
	if err := f.d.ensureCommit(ctx, f.repo, commit, f.ref); err != nil {
		return err
	}
	return f.ApplySource.ExportPaths(ctx, commit, dir, paths)
}

// shareStatus records the poller's status of repo in the store, for the
// other replicas' dashboards and APIs (one write per poll round).
func (d *Daemon) shareStatus(ctx context.Context, repo string) {
	if d.replicas == nil {
		return
	}
	d.mu.Lock()
	st := *d.statuses[repo]
	d.mu.Unlock()
	b, err := json.Marshal(st)
	if err == nil {
		err = d.replicas.leases.SaveRepoStatus(ctx, repo, b)
	}
	if err != nil && ctx.Err() == nil {
		d.logger.Warn("replicas: sharing the poll status failed", "repo", repo, "err", err)
	}
}

// sharedStatuses returns every repository's status as the poller shared
// it; a repository it has not shared yet has only its name.
func (d *Daemon) sharedStatuses(ctx context.Context) ([]RepoStatus, error) {
	shared, err := d.replicas.leases.RepoStatuses(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]RepoStatus, 0, len(d.repos))
	for _, repo := range d.repos {
		st := RepoStatus{Repo: repo.Name}
		if b, ok := shared[repo.Name]; ok {
			if err := json.Unmarshal(b, &st); err != nil {
				return nil, fmt.Errorf("the shared status of %s: %w", repo.Name, err)
			}
			st.Repo = repo.Name
		}
		out = append(out, st)
	}
	return out, nil
}

// ViewStatuses returns the repositories' statuses as this daemon knows
// them: its own when it polls, else as the poller shared them.
func (d *Daemon) ViewStatuses(ctx context.Context) ([]RepoStatus, error) {
	if d.IsPoller() {
		return d.Statuses(), nil
	}
	return d.sharedStatuses(ctx)
}

// Signals carries wake-ups between replicas (a PostgreSQL store: NOTIFY
// and LISTEN): "runs may be claimable" from any replica to every
// replica's idle workers, and "there is work for this loop of yours" from
// a replica that does not poll to the poller's loops — a webhook's poke, a
// reply or a status in the forge outbox, a run in the ledger outbox, a
// drift check ended. A lost signal costs latency only: the workers look
// every claim interval, the poll and ledger loops run on their intervals,
// and a replica's forge loop looks every replicaForgeInterval.
type Signals interface {
	// SignalQueue tells every replica's watcher: queued.
	SignalQueue(ctx context.Context) error
	// SignalPoller tells every replica's watcher: poller(loop, repo).
	SignalPoller(ctx context.Context, loop, repo string) error
	// SignalEvent tells every replica's watcher: event(payload), a
	// payload of at most MaxEventPayload bytes.
	SignalEvent(ctx context.Context, payload []byte) error
	// WatchSignals calls queued, poller and event for each signal of
	// any replica (its own included) until ctx is done; it returns only
	// then, or when it cannot listen (and says why).
	WatchSignals(ctx context.Context, queued func(), poller func(loop, repo string), event func(payload []byte)) error
}

// MaxEventPayload bounds an event signal's payload (PostgreSQL's NOTIFY
// takes under 8000 bytes).
const MaxEventPayload = 4000

// The poller's loops another replica may wake.
const (
	LoopPoll   = "poll"
	LoopForge  = "forge"
	LoopLedger = "ledger"
	LoopDrift  = "drift"
)

// replicaForgeInterval is how often the forge loop of a replica that
// polls looks at its outbox when nothing woke it: the safety net for
// messages other replicas put there while their signal was lost.
const replicaForgeInterval = 15 * time.Second

// wakeWorkers wakes this daemon's idle workers, and, for a replica on a
// store that signals, every other replica's.
func (d *Daemon) wakeWorkers() {
	d.wake.Notify()
	if rc := d.replicas; rc != nil && rc.signals != nil {
		rc.mu.Lock()
		rc.queued = true
		rc.mu.Unlock()
		notify(rc.kick)
	}
}

// wakeLoop wakes loop (LoopPoll, …) of repo: this daemon's own, and, on a
// replica that does not poll (whose loops do not run), the poller's
// through the store's signals.
func (d *Daemon) wakeLoop(loop, repo string) {
	d.wakeOwnLoop(loop, repo)
	rc := d.replicas
	if rc == nil || rc.signals == nil || d.IsPoller() {
		return
	}
	rc.mu.Lock()
	rc.loops[loopWake{loop, repo}] = true
	rc.mu.Unlock()
	notify(rc.kick)
}

// wakeOwnLoop wakes this daemon's loop of repo, if it runs; a loop or
// repository it does not know is ignored.
func (d *Daemon) wakeOwnLoop(loop, repo string) {
	if _, ok := d.repo(repo); !ok {
		return
	}
	switch loop {
	case LoopPoll:
		notify(d.poke[repo])
	case LoopForge:
		notify(d.forgeWake[repo])
	case LoopLedger:
		notify(d.ledger[repo])
	case LoopDrift:
		notify(d.driftWake(repo))
	}
}

// signalLoop sends the signals wakeWorkers and wakeLoop ask for until ctx
// is done.
func (d *Daemon) signalLoop(ctx context.Context) {
	rc := d.replicas
	for {
		select {
		case <-ctx.Done():
			return
		case <-rc.kick:
		}
		rc.mu.Lock()
		queued, loops, events := rc.queued, rc.loops, rc.events
		rc.queued, rc.loops, rc.events = false, map[loopWake]bool{}, nil
		rc.mu.Unlock()
		for _, p := range events {
			if err := rc.signals.SignalEvent(ctx, p); err != nil && ctx.Err() == nil {
				d.logger.Debug("replicas: sharing an event failed; the other replicas' pages miss it", "err", err)
			}
		}
		if queued {
			if err := rc.signals.SignalQueue(ctx); err != nil && ctx.Err() == nil {
				d.logger.Warn("replicas: signalling the queue failed; the others' workers find the runs within their claim interval", "err", err)
			}
		}
		for w := range loops {
			if err := rc.signals.SignalPoller(ctx, w.Loop, w.Repo); err != nil && ctx.Err() == nil {
				d.logger.Warn("replicas: waking the poller failed; it does that work on its next round", "loop", w.Loop, "repo", w.Repo, "err", err)
			}
		}
	}
}

// watchLoop wakes this replica's workers on the others' signals until ctx
// is done, listening again after a failure.
func (d *Daemon) watchLoop(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		err := d.replicas.signals.WatchSignals(ctx, d.wake.Notify, d.wakeOwnLoop, d.sharedEvent)
		if ctx.Err() != nil {
			return
		}
		failures++
		wait := backoff.Policy{Base: time.Second, Cap: time.Minute}.Delay(failures)
		d.logger.Warn("replicas: listening for queued runs failed; workers look every claim interval meanwhile", "err", err, "retry_in", wait)
		if !d.sleep(ctx, wait, nil) {
			return
		}
	}
}

// Events shared among replicas, for what each replica's dashboard shows
// live: a page open on one replica hears of a run another replica
// finished. Poll rounds are not shared (one per repository and interval;
// the poller's status is shared through the store instead).

// WithReplicaEvents makes a replica call f for the events of the other
// replicas that pages show: runs queued, finished, approved, applying and
// applied, drift reports, locks released. Their Run carries only its ID,
// repository, workspace, kind and state; Err, when set, says only that
// it failed. Best effort: a lost event costs a page a refresh. Without
// WithReplicas (or a store that signals) f is never called. Like
// WithEvents, f must return quickly and must not call the daemon.
func WithReplicaEvents(f func(Event)) DaemonOption {
	return func(d *Daemon) { d.replicaEvents = f }
}

// maxPendingEvents bounds the events waiting for signalLoop; more are
// dropped (pages then miss them).
const maxPendingEvents = 256

// sharedEventWire is an event as replicas share it.
type sharedEventWire struct {
	Owner     string            `json:"o"`
	Kind      EventKind         `json:"k"`
	Repo      string            `json:"r"`
	Holder    string            `json:"h,omitempty"`
	Count     int               `json:"c,omitempty"`
	Failed    bool              `json:"f,omitempty"`
	Run       string            `json:"id,omitempty"`
	Workspace string            `json:"w,omitempty"`
	RunKind   landform.RunKind  `json:"rk,omitempty"`
	State     landform.RunState `json:"s,omitempty"`
}

// shared reports whether events of kind are shared with the other
// replicas.
func shared(kind EventKind) bool {
	switch kind {
	case EventRunQueued, EventRunFinished, EventApproval, EventApplyStarted, EventApplyFinished,
		EventDriftReported, EventLocksReleased:
		return true
	}
	return false
}

// shareEvent hands e to signalLoop for the other replicas, when it is
// shared and this daemon is a replica on a store that signals.
func (d *Daemon) shareEvent(e Event) {
	rc := d.replicas
	if rc == nil || rc.signals == nil || !shared(e.Kind) {
		return
	}
	w := sharedEventWire{Owner: d.owner, Kind: e.Kind, Repo: e.Repo, Holder: e.Holder, Count: e.Count, Failed: e.Err != nil}
	if r := e.Run; r != nil {
		w.Run, w.Workspace, w.RunKind, w.State = r.ID, r.Workspace, r.Kind, r.State
	}
	if len(w.Holder) > 200 { // a drift report's summary line: cut
		w.Holder = runes.Prefix(w.Holder, 200) + "…"
	}
	p, err := json.Marshal(w)
	if err != nil || len(p) > MaxEventPayload {
		return
	}
	rc.mu.Lock()
	if len(rc.events) < maxPendingEvents {
		rc.events = append(rc.events, p)
	}
	rc.mu.Unlock()
	notify(rc.kick)
}

// errOnAnotherReplica is the Err of a shared event that had one.
var errOnAnotherReplica = errors.New("failed on another replica")

// sharedEvent gives an event another replica shared to WithReplicaEvents'
// function; this replica's own, and what cannot be read, are ignored.
func (d *Daemon) sharedEvent(payload []byte) {
	if d.replicaEvents == nil {
		return
	}
	var w sharedEventWire
	if err := json.Unmarshal(payload, &w); err != nil || w.Owner == d.owner || !shared(w.Kind) {
		return
	}
	e := Event{Kind: w.Kind, Repo: w.Repo, Holder: w.Holder, Count: w.Count}
	if w.Failed {
		e.Err = errOnAnotherReplica
	}
	if w.Run != "" {
		e.Run = &landform.Run{ID: w.Run, Repo: w.Repo, Workspace: w.Workspace, Kind: w.RunKind, State: w.State}
	}
	d.replicaEvents(e)
}
