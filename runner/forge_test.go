package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
)

// fakeForge records what the daemon says; while down, every call fails.
type fakeForge struct {
	mu       sync.Mutex
	down     bool
	prs      []landform.PullRequest
	previews []landform.PullRequestPlans
	statuses map[string]landform.RunState // commit/workspace → the run's state when said
	comments map[int][]landform.Comment
	replies  []string // "#pr: body" of each comment Landform posted
}

func newFakeForge(prs ...landform.PullRequest) *fakeForge {
	return &fakeForge{prs: prs, statuses: map[string]landform.RunState{}}
}

var errForgeDown = errors.New("forge: 503 Service Unavailable")

func (f *fakeForge) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *fakeForge) PullRequests(context.Context) ([]landform.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errForgeDown
	}
	return slices.Clone(f.prs), nil
}

func (f *fakeForge) Preview(_ context.Context, p landform.PullRequestPlans) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errForgeDown
	}
	f.previews = append(f.previews, p)
	return nil
}

func (f *fakeForge) Status(_ context.Context, run *landform.Run) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errForgeDown
	}
	f.statuses[run.Commit+"/"+run.Workspace] = run.State
	return nil
}

func (f *fakeForge) Comments(_ context.Context, number int, since time.Time) ([]landform.Comment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errForgeDown
	}
	var out []landform.Comment
	for _, c := range f.comments[number] {
		if !c.CreatedAt.Before(since) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeForge) Comment(_ context.Context, number int, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errForgeDown
	}
	f.replies = append(f.replies, fmt.Sprintf("#%d: %s", number, body))
	return nil
}

// addComment makes a comment appear on pull request number.
func (f *fakeForge) addComment(number int, c landform.Comment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.comments == nil {
		f.comments = map[int][]landform.Comment{}
	}
	f.comments[number] = append(f.comments[number], c)
}

func (f *fakeForge) lastPreview() (landform.PullRequestPlans, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.previews) == 0 {
		return landform.PullRequestPlans{}, 0
	}
	return f.previews[len(f.previews)-1], len(f.previews)
}

func (f *fakeForge) status(key string) landform.RunState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statuses[key]
}

// flushForge has infra's forge loop deliver what its outbox holds under
// key, and returns the delivery event of that message's newest version:
// it moves the clock past the loop's gather wait, as often as it takes,
// until no version of key is pending (or the pending one failed), and a
// delivery of key was reported since the call (or, when nothing of key
// was pending at the call, one was reported at all). Every delivery event
// of key so far is consumed.
func (h *harness) flushForge(key string) Event {
	h.t.Helper()
	ctx := context.Background()
	deliveries := func() []int {
		h.mu.Lock()
		defer h.mu.Unlock()
		var out []int
		for i, e := range h.events {
			if e.Kind == EventForgeDelivered && e.Holder == key {
				out = append(out, i)
			}
		}
		return out
	}
	pendingOf := func() *landform.OutboxMessage {
		msgs, err := h.db.PendingForge(ctx, "infra", 1000)
		if err != nil {
			h.t.Fatalf("the forge outbox: %v", err)
		}
		for i := range msgs {
			if msgs[i].Key == key {
				return &msgs[i]
			}
		}
		return nil
	}
	seen := 0
	if pendingOf() != nil {
		seen = len(deliveries())
	}
	deadline := time.After(failsafe)
	for {
		more, changed := h.changes()
		if p := pendingOf(); p == nil || p.Attempts > 0 {
			if d := deliveries(); len(d) > seen {
				h.mu.Lock()
				for _, i := range d {
					h.consumed[i] = true
				}
				e := h.events[d[len(d)-1]]
				h.mu.Unlock()
				return e
			}
		}
		if slices.Contains(h.clk.pending(), forgeGather) {
			h.clk.advance(forgeGather)
			continue
		}
		h.waitChange(more, changed, deadline, func() string {
			return fmt.Sprintf("timed out delivering %s; pending %+v; events (✓ returned):%s", key, pendingOf(), h.describe())
		})
	}
}

func forgeRepo(src *fakeSource, f *fakeForge) WatchedRepo {
	r := prRepo(src)
	r.Forge = f
	return r
}

func TestPullRequestPreviewAndStatusesReachTheForge(t *testing.T) {
	const pr7 = "refs/pull/7/head"
	src := newFakeSource(map[string]string{mainRef: "m1"})
	src.affect("p1", "app", "db")
	src.affect("p2", "app")
	f := newFakeForge(landform.PullRequest{Number: 7, Author: "alice", BaseBranch: "main", HeadSHA: "p1"})
	h := newHarness(t, forgeRepo(src, f))
	h.start()
	ev := h.polled("infra")

	src.setRef(pr7, "p1")
	ev = h.round(ev)
	for _, ws := range []string{"app", "db"} {
		run := h.finished(ws)
		if run.PR != (landform.RunPR{Number: 7, Author: "alice", BaseBranch: "main"}) {
			t.Errorf("%s: pull request %+v, want 7 by alice onto main", ws, run.PR)
		}
	}
	// The runs finished together: their statuses and one preview go out.
	if e := h.flushForge("preview/7"); e.Err != nil {
		t.Fatalf("preview: %v", e.Err)
	}
	p, _ := f.lastPreview()
	if p.PR.Number != 7 || p.PR.Author != "alice" || p.Commit != "p1" || len(p.Runs) != 2 || p.PreviousCommit != "" {
		t.Fatalf("preview: %+v", p)
	}
	for _, r := range p.Runs {
		if r.State != landform.StatePlanned {
			t.Errorf("preview shows %s %s, want planned; events:%s", r.Workspace, r.State, h.describe())
		}
	}
	for _, key := range []string{"p1/app", "p1/db"} {
		h.flushForge("status/" + key) // it may be in the loop's next batch
		if got := f.status(key); got != landform.StatePlanned {
			t.Errorf("status of %s: %q, want the planned run's", key, got)
		}
	}

	// The forge goes down while the next push is planned: nothing is lost,
	// the run's outcome does not depend on it, and once it is back the
	// preview says what the push changed.
	f.setDown(true)
	src.setRef(pr7, "p2")
	h.round(ev)
	if run := h.finished("app"); run.Commit != "p2" || run.State != landform.StatePlanned {
		t.Fatalf("app at p2: %+v", run)
	}
	h.clk.waitPending(t, forgeGather, 1)
	h.clk.advance(forgeGather)
	failed := h.next("a failed delivery", func(e Event) bool { return e.Kind == EventForgeDelivered && e.Err != nil })
	if !errors.Is(failed.Err, errForgeDown) {
		t.Fatalf("failed delivery: %v", failed.Err)
	}
	pending, err := h.db.PendingForge(context.Background(), "infra", 0)
	if err != nil || len(pending) == 0 {
		t.Fatalf("outbox while the forge is down: %v, %v", pending, err)
	}

	// The forge loop reports the failure, then waits on a timer: its retry
	// (the first backoff: 2 s ± 10 %), or, woken by a message queued
	// meanwhile, its gathering wait — which it may arm only after it
	// stopped the retry, so a clock moved in between fires neither. So
	// the clock moves past both (3 s) whenever one is armed, until the
	// preview is delivered.
	previews := func() int {
		return len(slices.DeleteFunc(h.all(EventForgeDelivered), func(e Event) bool { return e.Holder != "preview/7" || e.Err != nil }))
	}
	before := previews()
	f.setDown(false)
	forgeTimer := func() bool {
		return slices.ContainsFunc(h.clk.pending(), func(d time.Duration) bool { return d >= forgeGather && d < 3*time.Second })
	}
	deadline := time.After(failsafe)
	for previews() == before {
		more, changed := h.changes()
		if forgeTimer() {
			h.clk.advance(3 * time.Second)
			continue
		}
		h.waitChange(more, changed, deadline, func() string {
			return fmt.Sprintf("the preview was not delivered once the forge was back; timers %v; events:%s", h.clk.pending(), h.describe())
		})
	}
	p, _ = f.lastPreview()
	if p.Commit != "p2" || p.PreviousCommit != "p1" || len(p.Runs) != 1 || len(p.Previous) != 2 {
		t.Fatalf("preview after the push: commit %s (previous %s), %d runs, %d previous", p.Commit, p.PreviousCommit, len(p.Runs), len(p.Previous))
	}
	h.flushForge("status/p2/app") // in the preview's batch, maybe after it
	if got := f.status("p2/app"); got != landform.StatePlanned {
		t.Errorf("status of p2/app: %q", got)
	}
}

func TestBranchRunsAndReposWithoutForgeSayNothing(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "m1"})
	src.affect("m2", "app")
	src.affect("p1", "app")
	h := newHarness(t, prRepo(src)) // no forge
	h.start()
	ev := h.polled("infra")
	src.setRef(mainRef, "m2")
	ev = h.round(ev)
	h.finished("app")
	src.setRef("refs/pull/3/head", "p1")
	h.round(ev)
	if run := h.finished("app"); run.PR.Number != 3 || run.PR.Author != "" {
		t.Errorf("pull request of a run without a forge: %+v, want the number alone", run.PR)
	}
	if pending, err := h.db.PendingForge(context.Background(), "infra", 0); err != nil || len(pending) != 0 {
		t.Errorf("outbox without a forge: %v, %v", pending, err)
	}
}

func TestPokePollsNow(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "m1"})
	h := newHarness(t, prRepo(src))
	h.start()
	h.polled("infra")
	src.setRef(mainRef, "m2")
	if !h.d.Poke("infra") || h.d.Poke("nope") {
		t.Fatal("Poke: want true for a watched repo, false for another")
	}
	// No clock advance: the poke alone starts the next round, which sees
	// the new commit (the failsafe turns a round that never comes into a
	// failure).
	h.polled("infra")
	if listings, _, _, _ := src.counts(); listings != 2 {
		t.Errorf("%d ref listings, want 2", listings)
	}
}
