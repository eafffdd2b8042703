package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
	planfs "github.com/landform/landform/planstore/fs"
	"github.com/landform/landform/store/sqlite"
)

// failsafe bounds every wait of a test for the daemon: it is never reached
// when the daemon works, and turns a hang into a failure.
const failsafe = 10 * time.Second

// fakeClock is the daemon's time in tests: now, and timers that fire only
// when the test advances the clock past their deadline.
type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	timers  map[*fakeTimer]bool
	armed   map[time.Duration]int // timers armed so far, by duration
	changed chan struct{}         // closed and replaced when a timer is armed or stopped
}

type fakeTimer struct {
	at time.Time
	d  time.Duration
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{
		t:       time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC),
		timers:  map[*fakeTimer]bool{},
		armed:   map[time.Duration]int{},
		changed: make(chan struct{}),
	}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// after is the daemon's timer (WithTimer).
func (c *fakeClock) after(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tm := &fakeTimer{at: c.t.Add(d), d: d, ch: make(chan time.Time, 1)}
	c.timers[tm] = true
	c.armed[d]++
	c.signal()
	return tm.ch, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		pending := c.timers[tm]
		delete(c.timers, tm)
		c.signal()
		return pending
	}
}

// signal wakes the waiters of c; c.mu is held.
func (c *fakeClock) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// advance moves the clock by d and fires the timers due by then. A timer
// armed afterwards counts from the new time.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	for tm := range c.timers {
		if !tm.at.After(c.t) {
			tm.ch <- c.t
			delete(c.timers, tm)
		}
	}
	c.signal()
}

// pending returns the durations of the timers armed and not yet fired nor
// stopped: one per daemon goroutine waiting on its timer.
func (c *fakeClock) pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for tm := range c.timers {
		out = append(out, tm.d)
	}
	slices.Sort(out)
	return out
}

// armedCount returns how many timers of duration d were armed so far.
func (c *fakeClock) armedCount(d time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.armed[d]
}

// waitUntil waits until cond (called with c.mu held) holds.
func (c *fakeClock) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(failsafe)
	for {
		c.mu.Lock()
		ok, changed := cond(), c.changed
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; timers pending: %v", what, c.pending())
		}
	}
}

// blockUntil waits until n daemon goroutines wait on their timers.
func (c *fakeClock) blockUntil(t *testing.T, n int) {
	t.Helper()
	c.waitUntil(t, fmt.Sprintf("%d goroutines waiting on the clock", n), func() bool { return len(c.timers) >= n })
}

// waitPending waits until n goroutines wait on a timer of duration d.
func (c *fakeClock) waitPending(t *testing.T, d time.Duration, n int) {
	t.Helper()
	c.waitUntil(t, fmt.Sprintf("%d goroutines waiting %s", n, d), func() bool {
		k := 0
		for tm := range c.timers {
			if tm.d == d {
				k++
			}
		}
		return k >= n
	})
}

// waitArmed waits until n timers of duration d have been armed in all.
func (c *fakeClock) waitArmed(t *testing.T, d time.Duration, n int) {
	t.Helper()
	c.waitUntil(t, fmt.Sprintf("%d timers of %s armed", n, d), func() bool { return c.armed[d] >= n })
}

// fakeSource is a watched repository whose refs the test sets. The
// workspaces a change affects are those the test names per head commit.
type fakeSource struct {
	mu            sync.Mutex
	refs          map[string]string
	defaultBranch string
	refsErr       error
	affects       map[string][]string // head commit → workspace names
	ancestors     map[string][]string // commit → commits it contains
	recorded      []*landform.Run

	listings, fetches, targetCalls, records int
	diffs                                   []string // "base..head" of each Targets call
}

func newFakeSource(refs map[string]string) *fakeSource {
	return &fakeSource{refs: maps.Clone(refs), defaultBranch: "main", affects: map[string][]string{}}
}

// setRef points ref at sha; an empty sha deletes it.
func (s *fakeSource) setRef(ref, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sha == "" {
		delete(s.refs, ref)
		return
	}
	s.refs[ref] = sha
}

// affect makes a change whose head is commit affect workspaces.
func (s *fakeSource) affect(commit string, workspaces ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.affects[commit] = workspaces
}

func (s *fakeSource) failRefs(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refsErr = err
}

// counts returns listings, fetches, Targets calls and Record calls.
func (s *fakeSource) counts() (listings, fetches, targets, records int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listings, s.fetches, s.targetCalls, s.records
}

func (s *fakeSource) Target(_ context.Context, _, name string) (landform.Target, error) {
	return landform.Target{Workspace: landform.Workspace{Name: name, Dir: name}}, nil
}

func (s *fakeSource) ExportPaths(context.Context, string, string, []string) error { return nil }

func (s *fakeSource) Refs(context.Context) (map[string]string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listings++
	if s.refsErr != nil {
		return nil, "", s.refsErr
	}
	return maps.Clone(s.refs), s.defaultBranch, nil
}

func (s *fakeSource) Fetch(context.Context, []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	return nil
}

// MergeBase says every pull request forked at the default branch's head,
// unless a is an ancestor of b (see contains).
func (s *fakeSource) MergeBase(_ context.Context, a, b string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Contains(s.ancestors[b], a) {
		return a, nil
	}
	return b, nil
}

// contains makes commit contain the commits ancestors (a merge commit
// contains its pull request's head).
func (s *fakeSource) contains(commit string, ancestors ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ancestors == nil {
		s.ancestors = map[string][]string{}
	}
	s.ancestors[commit] = append(s.ancestors[commit], ancestors...)
}

func (s *fakeSource) Targets(_ context.Context, base, head string) ([]landform.Target, []string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.targetCalls++
	s.diffs = append(s.diffs, base+".."+head)
	ws, ok := s.affects[head]
	if !ok {
		return nil, nil, fmt.Errorf(".landform.yaml:1:1: no such commit %s in the fake", head)
	}
	var out []landform.Target
	for _, name := range ws {
		out = append(out, landform.Target{Workspace: landform.Workspace{Name: name, Dir: name}})
	}
	return out, nil, nil
}

func (s *fakeSource) Record(_ context.Context, _ string, runs []*landform.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records++
	s.recorded = append(s.recorded, runs...)
	return nil
}

var _ WatchedSource = (*fakeSource)(nil)

// outcome is what the fake planner makes of a workspace.
type outcome int

const (
	changes    outcome = iota // a resource changes
	outputOnly                // only an output changes: Changes, empty summary
	noChanges
	fails
	blocks // wait until released (or the context ends), then changes
)

// fakePlanner plans each workspace as the test says (changes by default).
type fakePlanner struct {
	mu       sync.Mutex
	outcomes map[string]outcome
	calls    map[string]int
	release  chan struct{}
	once     sync.Once
	started  chan string // the workspaces whose blocking plans started
	// json, when set, gives each plan's JSON (default "{}"); set before
	// the daemon starts.
	json func(workspace string) string
}

func newFakePlanner() *fakePlanner {
	return &fakePlanner{
		outcomes: map[string]outcome{}, calls: map[string]int{},
		release: make(chan struct{}), started: make(chan string, 100),
	}
}

func (p *fakePlanner) set(workspace string, o outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outcomes[workspace] = o
}

func (p *fakePlanner) callsOf(workspace string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[workspace]
}

// releaseAll lets every blocked plan finish.
func (p *fakePlanner) releaseAll() { p.once.Do(func() { close(p.release) }) }

// waitStarted waits until a blocking plan of workspace started.
func (p *fakePlanner) waitStarted(t *testing.T, workspace string) {
	t.Helper()
	select {
	case ws := <-p.started:
		if ws != workspace {
			t.Fatalf("plan of %s started, want %s", ws, workspace)
		}
	case <-time.After(failsafe):
		t.Fatalf("timed out waiting for the plan of %s to start", workspace)
	}
}

func (p *fakePlanner) Plan(ctx context.Context, job PlanJob) (*PlanOutput, error) {
	name := job.Workspace.Name
	p.mu.Lock()
	p.calls[name]++
	o := p.outcomes[name]
	p.mu.Unlock()
	planJSON := "{}"
	if p.json != nil {
		planJSON = p.json(name)
	}
	art := landform.PlanArtifact{Plan: []byte("plan of " + name), JSON: []byte(planJSON)}
	switch o {
	case outputOnly:
		return &PlanOutput{Artifact: art, Changes: true}, nil
	case noChanges:
		return &PlanOutput{Artifact: art}, nil
	case fails:
		return nil, errors.New("Error: Unsupported argument\n\n  on main.tf line 3")
	case blocks:
		p.started <- name
		select {
		case <-p.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &PlanOutput{Artifact: art, Summary: landform.PlanSummary{Add: 1}, Changes: true}, nil
}

// harness is a daemon on a fake clock with fake repositories and a fake
// planner, and the events it reports.
type harness struct {
	t       *testing.T
	clk     *fakeClock
	db      *sqlite.DB
	planner *fakePlanner
	d       *Daemon
	// plansDir is the plan store's directory.
	plansDir string

	mu       sync.Mutex
	events   []Event
	consumed map[int]bool // events returned by next
	more     chan struct{}

	cancel context.CancelFunc
	done   chan error
}

const (
	interval = time.Minute // every test repository's poll interval
	workers  = 1
)

// newHarness makes a daemon of repos (each with its source set), not yet
// started: the test may put runs in the store first.
func newHarness(t *testing.T, repos ...WatchedRepo) *harness {
	t.Helper()
	return newHarnessWith(t, harnessConfig{}, repos...)
}

// harnessConfig changes what newHarnessWith makes.
type harnessConfig struct {
	// store, when set, wraps the store the daemon and its runner use.
	store func(*sqlite.DB) DaemonStore
	// opts are more runner options, dopts more daemon options.
	opts  []Option
	dopts []DaemonOption
}

// newHarnessWith is newHarness with cfg.
func newHarnessWith(t *testing.T, cfg harnessConfig, repos ...WatchedRepo) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, clk: newFakeClock(), planner: newFakePlanner(), consumed: map[int]bool{}, more: make(chan struct{})}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "landform.db"), sqlite.WithClock(h.clk.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	h.plansDir = filepath.Join(t.TempDir(), "plans")
	plans, err := planfs.New(h.plansDir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range repos {
		if repos[i].PollInterval == 0 {
			repos[i].PollInterval = interval
		}
	}
	var store DaemonStore = db
	if cfg.store != nil {
		store = cfg.store(db)
	}
	opts := append([]Option{WithClock(h.clk.now), WithParallel(workers), WithWorkDir(t.TempDir())}, cfg.opts...)
	r := New(store, plans, h.planner, opts...)
	h.d = NewDaemon(r, store, repos, append([]DaemonOption{WithTimer(h.clk.after), WithOwner("test"), WithEvents(h.record)}, cfg.dopts...)...)
	return h
}

// repo is a watched repository named name on src.
func repo(name string, src WatchedSource, edit ...func(*landform.Repo)) WatchedRepo {
	r := WatchedRepo{Repo: landform.Repo{Name: name, LockPolicy: landform.LockStrict}, Source: src}
	for _, e := range edit {
		e(&r.Repo)
	}
	return r
}

func (h *harness) record(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
	close(h.more)
	h.more = make(chan struct{})
}

// start runs the daemon until the test ends.
func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.d.Run(ctx) }()
	h.t.Cleanup(func() {
		h.planner.releaseAll()
		h.stop()
	})
}

// stop cancels the daemon and returns what Run returned; a second call
// returns nil.
func (h *harness) stop() error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		return err
	case <-time.After(failsafe):
		h.t.Fatal("the daemon did not stop")
		return nil
	}
}

// next waits for the first event that matches and that next has not
// returned yet, and returns it.
func (h *harness) next(what string, match func(Event) bool) Event {
	h.t.Helper()
	deadline := time.After(failsafe)
	for {
		h.mu.Lock()
		for i, e := range h.events {
			if !h.consumed[i] && match(e) {
				h.consumed[i] = true
				h.mu.Unlock()
				return e
			}
		}
		more := h.more
		h.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s; events (✓ returned):%s", what, h.describe())
		}
	}
}

// changes returns channels closed at the next event (more) and at the
// next timer armed, stopped or fired (changed). Take them before looking
// at the state, then wait on them (waitChange): nothing is missed between.
func (h *harness) changes() (more, changed <-chan struct{}) {
	h.mu.Lock()
	more = h.more
	h.mu.Unlock()
	h.clk.mu.Lock()
	changed = h.clk.changed
	h.clk.mu.Unlock()
	return more, changed
}

// waitChange waits until more or changed (from changes) is closed, or
// fails the test with what once deadline fires.
func (h *harness) waitChange(more, changed <-chan struct{}, deadline <-chan time.Time, what func() string) {
	h.t.Helper()
	select {
	case <-more:
	case <-changed:
	case <-deadline:
		h.t.Fatal(what())
	}
}

// polled returns repo's next ended poll round.
func (h *harness) polled(repo string) Event {
	h.t.Helper()
	return h.next("a poll round of "+repo, func(e Event) bool { return e.Kind == EventPolled && e.Repo == repo })
}

// round advances the clock to repo's next poll (after the round ev
// reported) and returns the event of the round that ends.
func (h *harness) round(ev Event) Event {
	h.t.Helper()
	h.clk.advance(ev.Wait)
	return h.polled(ev.Repo)
}

// finished returns the next finished run of workspace.
func (h *harness) finished(workspace string) *landform.Run {
	h.t.Helper()
	return h.next("a finished run of "+workspace, func(e Event) bool {
		return e.Kind == EventRunFinished && e.Run.Workspace == workspace
	}).Run
}

// all returns every event of kind so far (consumed or not).
func (h *harness) all(kind EventKind) []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Event
	for _, e := range h.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// idleWorkers makes sure every worker looked for a claimable run after
// this call: it fires their claim interval and waits until each has armed
// it again (which it does only after a claim that found nothing).
func (h *harness) idleWorkers() {
	h.t.Helper()
	n := h.clk.armedCount(claimInterval)
	h.clk.waitPending(h.t, claimInterval, workers)
	h.clk.advance(claimInterval)
	h.clk.waitArmed(h.t, claimInterval, n+workers)
}

func (h *harness) describe() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var s string
	for i, e := range h.events {
		mark := " "
		if h.consumed[i] {
			mark = "✓"
		}
		s += fmt.Sprintf("\n  %s %s %s", mark, e.Kind, e.Repo)
		if e.Run != nil {
			s += fmt.Sprintf(" run %s %s@%s %s blocked_by=%q", e.Run.ID, e.Run.Workspace, e.Run.Commit, e.Run.State, e.Run.BlockedBy)
		}
		if e.Err != nil {
			s += fmt.Sprintf(" err=%v", e.Err)
		}
		if e.Holder != "" {
			s += " holder=" + e.Holder
		}
	}
	return s
}

// runs returns the stored runs of workspace, newest first.
func (h *harness) runs(workspace string) []*landform.Run {
	h.t.Helper()
	runs, err := h.db.ListRuns(context.Background(), landform.RunFilter{Workspace: workspace})
	if err != nil {
		h.t.Fatal(err)
	}
	return runs
}

// locks returns the holders of repo's workspace locks, as "workspace=holder".
func (h *harness) locks(repo string) []string {
	h.t.Helper()
	ls, err := h.db.ListLocks(context.Background(), repo)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		out = append(out, l.Workspace+"="+l.Holder)
	}
	slices.Sort(out)
	return out
}
