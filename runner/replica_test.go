package runner

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/landform/landform"
	"github.com/landform/landform/store/sqlite"
)

// crashingLeases is the store of a replica that dies: once crashed, it
// gives no lease back (a killed process releases nothing).
type crashingLeases struct {
	*sqlite.DB
	crashed bool
}

func (c *crashingLeases) ReleaseLease(ctx context.Context, name, holder string) error {
	if c.crashed {
		return nil
	}
	return c.DB.ReleaseLease(ctx, name, holder)
}

// Two replicas on one store: one polls; the other takes over only once
// the first is gone and its lease expired, and recovers the run the first
// left running.
func TestReplicasOnePollerAndTakeover(t *testing.T) {
	// Longer than the poll interval: the test advances the clock a poll
	// interval at a time, and a lease lapses when the clock jumps past it.
	const ttl = 6 * interval
	src := newFakeSource(map[string]string{"HEAD": "c1", mainRef: "c1"})
	var aLeases *crashingLeases
	h := newHarnessWith(t, harnessConfig{dopts: []DaemonOption{WithOwner("a")}}, repo("infra", src))
	aLeases = &crashingLeases{DB: h.db}
	WithReplicas(aLeases, ttl)(h.d)
	h.start()
	h.next("a polls", func(e Event) bool { return e.Kind == EventLease && e.Holder == "a" && e.Count == 1 })
	base := h.polled("infra")

	// Replica b, on the same store, source and clock.
	b := NewDaemon(h.d.Runner, h.db, []WatchedRepo{repo("infra", src, func(r *landform.Repo) { r.PollInterval = interval })},
		WithTimer(h.clk.after), WithOwner("b"), WithEvents(h.record), WithReplicas(h.db, ttl))
	bctx, bcancel := context.WithCancel(context.Background())
	bdone := make(chan error, 1)
	go func() { bdone <- b.Run(bctx) }()
	t.Cleanup(func() { bcancel(); <-bdone })
	if b.IsPoller() {
		t.Fatal("b polls beside a")
	}
	// b polls nothing, yet it works: ready.
	if err := b.Ready(context.Background()); err != nil {
		t.Errorf("b (not polling) is not ready: %v", err)
	}

	// A pushed commit is polled once, by a, and planned once.
	src.affect("c2", "app")
	src.setRef(mainRef, "c2")
	ev := h.round(base)
	if ev.Err != nil {
		t.Fatal(ev.Err)
	}
	if run := h.finished("app"); run.State != landform.StatePlanned || run.Commit != "c2" {
		t.Fatalf("app: %+v", run)
	}
	if n := h.planner.callsOf("app"); n != 1 {
		t.Errorf("app planned %d times, want once", n)
	}
	if n := b.Statuses()[0].Polls; n != 0 {
		t.Errorf("b polled %d times beside a", n)
	}
	// b shows a's polling, as a shared it.
	if sts, err := b.ViewStatuses(context.Background()); err != nil || len(sts) != 1 || sts[0].Polls < 2 || sts[0].Repo != "infra" {
		t.Errorf("b's view of the polling: %+v, %v; want a's rounds", sts, err)
	}

	// a dies while it runs a plan: its lease stays until it expires.
	orphan := &landform.Run{Repo: "infra", Workspace: "db", Dir: "db", Commit: "c2", Ref: mainRef, Kind: landform.RunPlan,
		State: landform.StateRunning, Owner: "a", StartedAt: h.clk.now()}
	if err := h.db.CreateRun(context.Background(), orphan); err != nil {
		t.Fatal(err)
	}
	aLeases.crashed = true
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if holder, err := h.db.LeaseHolder(context.Background(), pollLease); err != nil || holder != "a" {
		t.Fatalf("after a's crash the poll lease is held by %q (%v), want a's, until it expires", holder, err)
	}
	// b asks every third of the ttl: not before the lease expires. (The
	// clock moves only while b waits on its timer, a stopped: a move
	// before b armed it again would fire nothing.)
	h.clk.waitPending(t, ttl/3, 1)
	armed := h.clk.armedCount(ttl / 3)
	h.clk.advance(ttl / 3)
	h.clk.waitArmed(t, ttl/3, armed+1)
	if b.IsPoller() {
		t.Fatal("b took the lease before it expired")
	}
	h.clk.waitPending(t, ttl/3, 1)
	h.mu.Lock()
	for i := range h.events { // a's, all of them
		h.consumed[i] = true
	}
	h.mu.Unlock()
	h.clk.advance(ttl)
	h.next("b polls", func(e Event) bool { return e.Kind == EventLease && e.Holder == "b" && e.Count == 1 })
	first := h.polled("infra") // b's first round, its next one armed
	requeued := h.next("the orphan re-queued", func(e Event) bool {
		return e.Kind == EventRunQueued && e.Run.Workspace == "db" && e.Run.ID != orphan.ID
	}).Run
	if got, err := h.db.GetRun(context.Background(), orphan.ID); err != nil || got.State != landform.StateInterrupted {
		t.Errorf("a's run after the takeover: %+v, %v", got, err)
	}
	if run := h.finished("db"); run.ID != requeued.ID || run.State != landform.StatePlanned {
		t.Errorf("the re-queued run: %+v", run)
	}
	// And b polls now.
	src.affect("c3", "app")
	src.setRef(mainRef, "c3")
	h.round(first)
	h.next("b's poll of c3", func(e Event) bool { return e.Kind == EventRunQueued && e.Run.Commit == "c3" })
	if !b.IsPoller() || b.Statuses()[0].Polls == 0 {
		t.Errorf("b is poller %v after %d polls", b.IsPoller(), b.Statuses()[0].Polls)
	}

	// A replica that stops gives its lease up at once.
	bcancel()
	if err := <-bdone; err != nil {
		t.Fatal(err)
	}
	bdone <- nil
	if holder, _ := h.db.LeaseHolder(context.Background(), pollLease); holder != "" {
		t.Errorf("after b stopped the poll lease is held by %q", holder)
	}
}

// signalBus is Signals within one process: what PostgreSQL's NOTIFY and
// LISTEN carry between replicas (store/postgres's TestSignals checks
// those).
type signalBus struct {
	mu       sync.Mutex
	watchers map[int]busWatcher
	next     int
	changed  chan struct{} // closed and replaced when a watcher comes or goes
}

type busWatcher struct {
	queued func()
	poller func(loop, repo string)
	event  func(payload []byte)
}

func newSignalBus() *signalBus {
	return &signalBus{watchers: map[int]busWatcher{}, changed: make(chan struct{})}
}

func (b *signalBus) each(f func(busWatcher)) {
	b.mu.Lock()
	ws := slices.Collect(maps.Values(b.watchers))
	b.mu.Unlock()
	for _, w := range ws {
		f(w)
	}
}

func (b *signalBus) SignalQueue(context.Context) error {
	b.each(func(w busWatcher) { w.queued() })
	return nil
}

func (b *signalBus) SignalPoller(_ context.Context, loop, repo string) error {
	b.each(func(w busWatcher) { w.poller(loop, repo) })
	return nil
}

func (b *signalBus) SignalEvent(_ context.Context, payload []byte) error {
	b.each(func(w busWatcher) { w.event(slices.Clone(payload)) })
	return nil
}

func (b *signalBus) WatchSignals(ctx context.Context, queued func(), poller func(loop, repo string), event func([]byte)) error {
	b.mu.Lock()
	id := b.next
	b.next++
	b.watchers[id] = busWatcher{queued, poller, event}
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
	<-ctx.Done()
	b.mu.Lock()
	delete(b.watchers, id)
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
	return nil
}

// waitWatchers waits until n replicas listen.
func (b *signalBus) waitWatchers(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(failsafe)
	for {
		b.mu.Lock()
		got, changed := len(b.watchers), b.changed
		b.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%d replicas listen, want %d", got, n)
		}
	}
}

// signallingStore is a store whose replicas signal each other.
type signallingStore struct {
	*sqlite.DB
	*signalBus
}

// A replica that does not poll hands the poller what only the poller's
// loops do: a webhook's poke polls at once, and a chat-ops reply it put in
// the forge outbox is delivered at once — not at the next poll, nor never
// (an idle forge loop waits to be woken).
func TestReplicasWakeThePoller(t *testing.T) {
	const ttl = 6 * interval
	src := newFakeSource(map[string]string{mainRef: "m1"})
	f := newFakeForge(landform.PullRequest{Number: 7, Author: "alice", BaseBranch: "main", HeadSHA: "p1"})
	bus := newSignalBus()
	h := newHarnessWith(t, harnessConfig{dopts: []DaemonOption{WithOwner("a")}}, forgeRepo(src, f))
	WithReplicas(signallingStore{h.db, bus}, ttl)(h.d)
	h.start()
	h.next("a polls", func(e Event) bool { return e.Kind == EventLease && e.Holder == "a" && e.Count == 1 })
	h.polled("infra")

	b := NewDaemon(h.d.Runner, h.db, []WatchedRepo{forgeRepo(src, f)},
		WithTimer(h.clk.after), WithOwner("b"), WithEvents(h.record), WithReplicas(signallingStore{h.db, bus}, ttl))
	bctx, bcancel := context.WithCancel(context.Background())
	bdone := make(chan error, 1)
	go func() { bdone <- b.Run(bctx) }()
	t.Cleanup(func() { bcancel(); <-bdone })
	bus.waitWatchers(t, 2)
	if b.IsPoller() {
		t.Fatal("b polls beside a")
	}

	// A webhook reaches b: a polls now, not at its interval (the clock
	// does not move).
	if !b.Poke("infra") {
		t.Fatal("b does not know infra")
	}
	if ev := h.polled("infra"); ev.Err != nil {
		t.Fatalf("a's poll after b's poke: %v", ev.Err)
	}

	// A chat-ops reply b queued: a's forge loop wakes and says it.
	if err := b.Reply(context.Background(), "infra", 7, "hello", "a reply queued by b"); err != nil {
		t.Fatal(err)
	}
	if e := h.flushForge("comment/7/hello"); e.Err != nil {
		t.Fatalf("the reply: %v", e.Err)
	}
	f.mu.Lock()
	replies := slices.Clone(f.replies)
	f.mu.Unlock()
	if len(replies) != 1 || !strings.HasPrefix(replies[0], "#7: ") || !strings.Contains(replies[0], "a reply queued by b") {
		t.Errorf("replies: %q", replies)
	}
}

// The events pages show reach the other replicas' pages (WithReplicaEvents),
// with what a page needs of the run; a replica is not told its own, and
// what pages do not show is not shared.
func TestReplicasShareEvents(t *testing.T) {
	const ttl = 6 * interval
	src := newFakeSource(map[string]string{mainRef: "m1"})
	bus := newSignalBus()
	fromOthers := func() (func(Event), <-chan Event) {
		ch := make(chan Event, 16)
		return func(e Event) { ch <- e }, ch
	}
	toA, heardByA := fromOthers()
	h := newHarnessWith(t, harnessConfig{dopts: []DaemonOption{WithOwner("a"), WithReplicaEvents(toA)}}, repo("infra", src))
	WithReplicas(signallingStore{h.db, bus}, ttl)(h.d)
	h.start()
	toB, heardByB := fromOthers()
	b := NewDaemon(h.d.Runner, h.db, []WatchedRepo{repo("infra", src, func(r *landform.Repo) { r.PollInterval = interval })},
		WithTimer(h.clk.after), WithOwner("b"), WithReplicas(signallingStore{h.db, bus}, ttl), WithReplicaEvents(toB))
	bctx, bcancel := context.WithCancel(context.Background())
	bdone := make(chan error, 1)
	go func() { bdone <- b.Run(bctx) }()
	t.Cleanup(func() { bcancel(); <-bdone })
	bus.waitWatchers(t, 2)

	run := &landform.Run{ID: "42", Repo: "infra", Workspace: "app", Dir: "app", Commit: "m1", Kind: landform.RunPlan,
		State: landform.StateApplied, Error: "what the page reads from the store, not from the signal"}
	b.emit(Event{Kind: EventPolled, Repo: "infra"}) // not shared
	b.emit(Event{Kind: EventApplyFinished, Repo: "infra", Run: run, Holder: "alice", Err: errors.New("terraform: boom")})
	select {
	case e := <-heardByA:
		want := Event{Kind: EventApplyFinished, Repo: "infra", Holder: "alice", Err: errOnAnotherReplica,
			Run: &landform.Run{ID: "42", Repo: "infra", Workspace: "app", Kind: landform.RunPlan, State: landform.StateApplied}}
		if e.Kind != want.Kind || e.Repo != want.Repo || e.Holder != want.Holder || e.Err != want.Err || !reflect.DeepEqual(e.Run, want.Run) {
			t.Errorf("a heard %+v (run %+v), want %+v (run %+v)", e, e.Run, want, want.Run)
		}
	case <-time.After(failsafe):
		t.Fatal("a did not hear b's event")
	}
	// a drift report's summary, long and not ASCII, is cut on a rune.
	long := strings.Repeat("é", 150)
	h.d.emit(Event{Kind: EventDriftReported, Repo: "infra", Holder: long, Count: 3})
	select {
	case e := <-heardByB:
		if e.Kind != EventDriftReported || e.Count != 3 || !utf8.ValidString(e.Holder) || !strings.HasSuffix(e.Holder, "…") || len(e.Holder) > 210 {
			t.Errorf("b heard %+v", e)
		}
	case <-time.After(failsafe):
		t.Fatal("b did not hear a's event")
	}
	if len(heardByA) != 0 || len(heardByB) != 0 {
		t.Errorf("more was shared than the two events: a %d, b %d (the poll round, or a replica's own events)", len(heardByA), len(heardByB))
	}
}

// A drift sweep whose checks the replicas share ends in one report, said
// by the poller's drift loop: the check the other replica ran wakes it
// through the signals, and it sees the check ended in the store.
func TestReplicasShareADriftSweep(t *testing.T) {
	const ttl = 6 * interval
	fd := &fakeDrift{drifted: map[string]bool{"db": true}, checks: map[string]int{}, release: make(chan struct{}), started: make(chan string, 10)}
	out := &fakeOutlet{}
	drift := DriftConfig{
		Rules: func(string, string) DriftRules {
			return DriftRules{Schedule: everyMinute(t), Remediation: landform.RemediationNone}
		},
		MaxParallel: func(string) int { return 2 },
		Outlets:     func(string) []DriftOutlet { return []DriftOutlet{out} },
	}
	src := &driftSource{fakeSource: newFakeSource(map[string]string{mainRef: "m1"}), ws: []string{"app", "db"}}
	bus := newSignalBus()
	h := newHarnessWith(t, harnessConfig{
		opts:  []Option{WithDriftChecker(fd), WithApplier(newFakeApplier())},
		dopts: []DaemonOption{WithOwner("a"), WithApprovalPolicy(newFakePolicy()), WithDrift(drift)},
	}, repo("infra", src))
	WithReplicas(signallingStore{h.db, bus}, ttl)(h.d)
	h.start()
	h.next("a polls", func(e Event) bool { return e.Kind == EventLease && e.Holder == "a" && e.Count == 1 })
	b := NewDaemon(h.d.Runner, h.db, []WatchedRepo{repo("infra", src, func(r *landform.Repo) { r.PollInterval = interval })},
		WithTimer(h.clk.after), WithOwner("b"), WithEvents(h.record), WithReplicas(signallingStore{h.db, bus}, ttl),
		WithApprovalPolicy(newFakePolicy()), WithDrift(drift))
	bctx, bcancel := context.WithCancel(context.Background())
	bdone := make(chan error, 1)
	go func() { bdone <- b.Run(bctx) }()
	t.Cleanup(func() { bcancel(); <-bdone })
	bus.waitWatchers(t, 2)
	sweepDue(h)
	// Each replica's one worker holds a check until both are held: the
	// second was claimed by the replica that did not take the first.
	for range 2 {
		select {
		case <-fd.started:
		case <-time.After(failsafe):
			t.Fatalf("two checks did not start; events:%s", h.describe())
		}
	}
	close(fd.release)
	report := h.next("the sweep's report", func(e Event) bool { return e.Kind == EventDriftReported })
	if report.Count != 2 {
		t.Errorf("report of %d workspaces (%q), want 2", report.Count, report.Holder)
	}
	runs, err := h.db.ListRuns(context.Background(), landform.RunFilter{Kind: landform.RunDrift})
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]bool{}
	for _, r := range runs {
		owners[r.Owner] = true
	}
	if len(runs) != 2 || !owners["a"] || !owners["b"] {
		t.Errorf("drift runs %s, want one run by each replica", storedText(runs))
	}
}
