package runner

import (
	"strings"
	"testing"

	"github.com/landform/landform"
)

// TestQueueLimitPerRepository: a commit whose plans would take its
// repository over the cap of queued runs queues none of them; one errored
// run says why, once, and later commits that fit are queued.
func TestQueueLimitPerRepository(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "a", "b", "c", "d")
	src.affect("c3", "x")
	src.affect("c4", "y", "z")
	src.affect("c5", "v", "w")
	src.affect("c6", "u")
	h := newHarness(t, repo("infra", src))
	WithMaxQueuedPerRepo(3)(h.d)
	h.planner.set("x", blocks)
	h.start()
	ev := h.polled("infra")

	// Four plans, the cap is three.
	src.setRef(mainRef, "c2")
	ev = h.round(ev)
	run := h.finished(ConfigWorkspace)
	if run.State != landform.StateErrored || run.Commit != "c2" ||
		!strings.Contains(run.Error, "would queue 4 plans, over the limit of 3 queued runs per repository") {
		t.Errorf("the commit over the cap: %s at %s: %q", run.State, run.Commit, run.Error)
	}
	for range 2 {
		ev = h.round(ev)
	}
	if _, _, targets, _ := src.counts(); targets != 1 {
		t.Errorf("%d Targets calls after more polls, want the one: the commit is not tried again", targets)
	}
	for _, ws := range []string{"a", "b", "c", "d"} {
		if runs := h.runs(ws); len(runs) != 0 {
			t.Errorf("runs of %s: %s, want none", ws, describeRuns(runs))
		}
	}

	// Runs queued already count: x runs (not queued), y and z wait for
	// the one worker, so v and w would make four.
	src.setRef(mainRef, "c3")
	ev = h.round(ev)
	h.planner.waitStarted(t, "x")
	src.setRef(mainRef, "c4")
	ev = h.round(ev)
	src.setRef(mainRef, "c5")
	ev = h.round(ev)
	run = h.finished(ConfigWorkspace)
	if run.Commit != "c5" || !strings.Contains(run.Error, "over the limit of 3 queued runs per repository") {
		t.Errorf("the commit over the cap: %s at %s: %q", run.State, run.Commit, run.Error)
	}
	// Once the queue drains, a commit that fits is queued.
	h.planner.releaseAll()
	for _, ws := range []string{"x", "y", "z"} {
		if run := h.finished(ws); run.State != landform.StatePlanned {
			t.Errorf("run of %s: %s", ws, run.State)
		}
	}
	src.setRef(mainRef, "c6")
	h.round(ev)
	if run := h.finished("u"); run.State != landform.StatePlanned {
		t.Errorf("run of u: %s", run.State)
	}
	for _, ws := range []string{"v", "w"} {
		if runs := h.runs(ws); len(runs) != 0 {
			t.Errorf("runs of %s: %s, want none", ws, describeRuns(runs))
		}
	}
}
