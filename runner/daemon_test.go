package runner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform"
)

// The daemon's schedule, on a fake clock with fake repositories: each test
// waits for the events the daemon reports, and moves the clock itself.

const mainRef = "refs/heads/main"

func isQueued(ref string) func(Event) bool {
	return func(e Event) bool { return e.Kind == EventRunQueued && e.Run.Ref == ref }
}

// within reports whether got is want ±10% (the jitter of every wait).
func within(got, want time.Duration) bool {
	return got >= want-want/10 && got <= want+want/10
}

func TestPollQueuesPlansForAMovedBranch(t *testing.T) {
	src := newFakeSource(map[string]string{"HEAD": "c1", mainRef: "c1", "refs/heads/other": "o1"})
	h := newHarness(t, repo("infra", src))
	h.start()

	// The first sight of the branch is its baseline: nothing is planned.
	ev := h.polled("infra")
	if ev.Err != nil {
		t.Fatal(ev.Err)
	}
	if _, _, targets, _ := src.counts(); targets != 0 || len(h.all(EventRunQueued)) != 0 {
		t.Fatalf("baseline: %d Targets calls, %d runs queued; want none", targets, len(h.all(EventRunQueued)))
	}

	src.affect("c2", "app", "db")
	src.setRef(mainRef, "c2")
	src.setRef("refs/heads/other", "o2") // not watched
	ev = h.round(ev)
	if ev.Err != nil {
		t.Fatal(ev.Err)
	}
	var queued []string
	for _, e := range h.all(EventRunQueued) {
		r := e.Run
		if r.Commit != "c2" || r.Ref != mainRef || r.Kind != landform.RunPlan || r.State != landform.StateQueued || r.BlockedBy != "" {
			t.Errorf("queued run %+v", r)
		}
		queued = append(queued, r.Workspace)
	}
	if !slices.Equal(queued, []string{"app", "db"}) {
		t.Errorf("queued %v, want app and db", queued)
	}
	if src.diffs[0] != "c1..c2" || len(src.diffs) != 1 {
		t.Errorf("Targets asked for %v, want c1..c2", src.diffs)
	}
	for _, ws := range []string{"app", "db"} {
		if run := h.finished(ws); run.State != landform.StatePlanned || run.Commit != "c2" {
			t.Errorf("%s: %s at %s, want planned at c2", ws, run.State, run.Commit)
		}
	}
	if st := h.d.Statuses()[0]; st.Polls != 2 || st.RunsQueued != 2 || st.Fetches != 2 {
		t.Errorf("status %+v, want 2 polls, 2 fetches, 2 runs queued", st)
	}
}

func TestPollUnchangedRefCostsOneListing(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	h := newHarness(t, repo("infra", src))
	h.start()
	ev := h.polled("infra")

	listings, fetches, targets, _ := src.counts()
	for range 3 {
		if ev = h.round(ev); ev.Err != nil {
			t.Fatal(ev.Err)
		}
	}
	l, f, tg, _ := src.counts()
	if l-listings != 3 || f != fetches || tg != targets {
		t.Errorf("3 rounds of an unchanged repo: %d listings, %d fetches, %d Targets calls; want 3, 0, 0",
			l-listings, f-fetches, tg-targets)
	}
	if n := len(h.all(EventRunQueued)); n != 0 {
		t.Errorf("%d runs queued", n)
	}
}

func TestPollBackoffDoublesCapsAndResets(t *testing.T) {
	bad := newFakeSource(map[string]string{mainRef: "b1"})
	bad.failRefs(errors.New("connection refused"))
	good := newFakeSource(map[string]string{mainRef: "g1"})
	h := newHarness(t, repo("bad", bad), repo("good", good))
	h.start()
	evB, evG := h.polled("bad"), h.polled("good")
	if evG.Err != nil || !within(evG.Wait, interval) {
		t.Fatalf("good repo: err %v, next poll in %s", evG.Err, evG.Wait)
	}

	// The poll interval doubled per failure, capped at ten minutes.
	for i, want := range []time.Duration{2, 4, 8, 10, 10} {
		want *= time.Minute
		if evB.Err == nil || evB.Count != i+1 {
			t.Fatalf("failure %d: err %v, count %d", i+1, evB.Err, evB.Count)
		}
		if !within(evB.Wait, want) {
			t.Errorf("after %d failures: next poll in %s, want %s ±10%%", i+1, evB.Wait, want)
		}
		if !slices.Contains(h.clk.pending(), evB.Wait) {
			t.Errorf("after %d failures: no timer of %s armed; pending %v", i+1, evB.Wait, h.clk.pending())
		}
		if i == 4 {
			break
		}
		evB = h.round(evB)
		evG = h.polled("good") // the same advance fired the good repo's poll once
	}

	// The failing repository's backoff does not delay the other: it polls
	// every interval, and plans what moved.
	good.affect("g2", "app")
	good.setRef(mainRef, "g2")
	evG = h.round(evG)
	if run := h.finished("app"); run.Repo != "good" || run.State != landform.StatePlanned {
		t.Errorf("good repo's run: %+v", run)
	}
	for range 3 {
		if evG = h.round(evG); evG.Err != nil || !within(evG.Wait, interval) {
			t.Fatalf("good repo: err %v, next poll in %s", evG.Err, evG.Wait)
		}
	}
	if n := len(slices.DeleteFunc(h.all(EventPolled), func(e Event) bool { return e.Repo != "bad" })); n != 5 {
		t.Errorf("the failing repo polled %d times, want 5: none while it backs off", n)
	}
	if st := h.d.Statuses()[0]; st.Failures != 5 || st.LastError == "" {
		t.Errorf("bad repo status %+v, want 5 failures", st)
	}

	// A success resets the backoff.
	bad.failRefs(nil)
	evB = h.round(evB)
	if evB.Err != nil || evB.Count != 0 || !within(evB.Wait, interval) {
		t.Errorf("after a success: err %v, failures %d, next poll in %s; want the interval", evB.Err, evB.Count, evB.Wait)
	}
	if st := h.d.Statuses()[0]; st.Failures != 0 || st.LastError != "" {
		t.Errorf("bad repo status %+v after a success", st)
	}
}

func TestNewerCommitSupersedesOlderPlan(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	src.affect("c3", "app")
	h := newHarness(t, repo("infra", src))
	h.start()
	ev := h.polled("infra")

	src.setRef(mainRef, "c2")
	ev = h.round(ev)
	first := h.finished("app")
	src.setRef(mainRef, "c3")
	h.round(ev)
	second := h.finished("app")

	runs := h.runs("app")
	if len(runs) != 2 || runs[0].ID != second.ID || runs[0].State != landform.StatePlanned ||
		runs[1].ID != first.ID || runs[1].State != landform.StateSuperseded {
		t.Errorf("runs of app: %s, want c3 planned and c2 superseded", describeRuns(runs))
	}
}

func TestNewerCommitSupersedesAPlanStillRunning(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	src.affect("c3", "app")
	h := newHarness(t, repo("infra", src))
	h.planner.set("app", blocks)
	h.start()
	ev := h.polled("infra")

	src.setRef(mainRef, "c2")
	ev = h.round(ev)
	h.planner.waitStarted(t, "app")
	h.planner.set("app", changes)
	src.setRef(mainRef, "c3")
	h.round(ev)
	h.next("c3 queued", func(e Event) bool { return e.Kind == EventRunQueued && e.Run.Commit == "c3" })

	h.planner.releaseAll()
	if old := h.finished("app"); old.Commit != "c2" || old.State != landform.StateSuperseded {
		t.Errorf("the plan running when c3 was queued: %s at %s, want superseded at c2", old.State, old.Commit)
	}
	if newer := h.finished("app"); newer.Commit != "c3" || newer.State != landform.StatePlanned {
		t.Errorf("the newer plan: %s at %s, want planned at c3", newer.State, newer.Commit)
	}
}

// prRepo is a repository with pull requests and strict locks.
func prRepo(src *fakeSource) WatchedRepo {
	return repo("infra", src, func(r *landform.Repo) { r.PullRequests, r.LockPolicy = true, landform.LockStrict })
}

func TestStrictLockBlocksAnotherPullRequestUntilTheHolderCloses(t *testing.T) {
	const pr1, pr2 = "refs/pull/1/head", "refs/pull/2/head"
	src := newFakeSource(map[string]string{mainRef: "m1"})
	src.affect("p1", "app")
	src.affect("p2", "app")
	h := newHarness(t, prRepo(src))
	h.start()
	ev := h.polled("infra")

	src.setRef(pr1, "p1")
	ev = h.round(ev)
	if run := h.finished("app"); run.Ref != pr1 || run.State != landform.StatePlanned {
		t.Fatalf("pull request 1: %+v", run)
	}
	if got := h.locks("infra"); !slices.Equal(got, []string{"app=pr/1"}) {
		t.Fatalf("locks %v, want app held by pr/1", got)
	}

	// Pull request 2's plan of the same workspace waits for the lock.
	src.setRef(pr2, "p2")
	ev = h.round(ev)
	blocked := h.next("pull request 2 queued", isQueued(pr2)).Run
	if blocked.BlockedBy != "pr/1" || !strings.Contains(blocked.Error, "locked by pr/1") {
		t.Fatalf("pull request 2's run: blocked by %q, error %q; want pr/1", blocked.BlockedBy, blocked.Error)
	}
	ev = h.round(ev) // pull request 1 is still open
	h.idleWorkers()  // and the workers have looked since
	if run, err := h.db.GetRun(context.Background(), blocked.ID); err != nil || run.State != landform.StateQueued || run.BlockedBy != "pr/1" {
		t.Fatalf("pull request 2's run after more polls: %+v, %v; want queued, blocked by pr/1", run, err)
	}
	if n := h.planner.callsOf("app"); n != 1 {
		t.Fatalf("app planned %d times, want once (pull request 1)", n)
	}

	// Pull request 1 closes: its head ref disappears, its lock goes, and
	// pull request 2 is planned and takes the lock.
	src.setRef(pr1, "")
	h.round(ev)
	if rel := h.next("pr/1's locks released", func(e Event) bool { return e.Kind == EventLocksReleased }); rel.Holder != "pr/1" || rel.Count != 1 {
		t.Errorf("released %d locks of %s, want pr/1's one", rel.Count, rel.Holder)
	}
	if run := h.finished("app"); run.ID != blocked.ID || run.State != landform.StatePlanned || run.BlockedBy != "" {
		t.Errorf("pull request 2's run once unblocked: %+v", run)
	}
	if got := h.locks("infra"); !slices.Equal(got, []string{"app=pr/2"}) {
		t.Errorf("locks %v, want app held by pr/2", got)
	}
}

func TestOutputOnlyPlanKeepsTheLockAndNoChangePlanReleasesIt(t *testing.T) {
	const pr1 = "refs/pull/1/head"
	src := newFakeSource(map[string]string{mainRef: "m1"})
	src.affect("p1", "app")
	src.affect("p1b", "app")
	h := newHarness(t, prRepo(src))
	h.planner.set("app", outputOnly)
	h.start()
	ev := h.polled("infra")

	src.setRef(pr1, "p1")
	ev = h.round(ev)
	run := h.finished("app")
	if run.State != landform.StatePlanned || run.Summary != (landform.PlanSummary{}) {
		t.Fatalf("an output-only plan: %s, summary %+v; want planned with an empty summary", run.State, run.Summary)
	}
	if got := h.locks("infra"); !slices.Equal(got, []string{"app=pr/1"}) {
		t.Fatalf("locks %v, want app kept by pr/1", got)
	}

	h.planner.set("app", noChanges)
	src.setRef(pr1, "p1b")
	h.round(ev)
	if run := h.finished("app"); run.State != landform.StateNoChanges {
		t.Fatalf("the newer plan: %s, want no_changes", run.State)
	}
	if rel := h.next("the lock released", func(e Event) bool { return e.Kind == EventLocksReleased }); rel.Holder != "pr/1" {
		t.Errorf("released the locks of %s, want pr/1", rel.Holder)
	}
	if got := h.locks("infra"); len(got) != 0 {
		t.Errorf("locks %v after a plan that changes nothing, want none", got)
	}
}

func TestCrashRecoveryRequeuesPlansAndFlagsApplies(t *testing.T) {
	ctx := context.Background()
	src := newFakeSource(map[string]string{mainRef: "c1"})
	h := newHarness(t, repo("infra", src))
	// What a killed daemon left: a plan running, an apply applying.
	plan := &landform.Run{Repo: "infra", Workspace: "app", Dir: "app", Commit: "c1", Ref: mainRef, Kind: landform.RunPlan, State: landform.StateQueued}
	if err := h.db.CreateRun(ctx, plan); err != nil {
		t.Fatal(err)
	}
	if claimed, err := h.db.ClaimRun(ctx, "killed"); err != nil || claimed == nil || claimed.ID != plan.ID {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	apply := &landform.Run{Repo: "infra", Workspace: "db", Dir: "db", Commit: "c1", Ref: mainRef, Kind: landform.RunApply,
		State: landform.StateApplying, StartedAt: h.clk.now()}
	if err := h.db.CreateRun(ctx, apply); err != nil {
		t.Fatal(err)
	}

	h.start()
	again := h.next("the plan re-queued", isQueued(mainRef)).Run
	if again.ID == plan.ID || again.Workspace != "app" || again.Commit != "c1" {
		t.Fatalf("re-queued %+v, want a new run of app at c1", again)
	}
	if run := h.finished("app"); run.ID != again.ID || run.State != landform.StatePlanned {
		t.Errorf("the re-queued run: %+v, want it planned", run)
	}
	if old, _ := h.db.GetRun(ctx, plan.ID); old.State != landform.StateInterrupted {
		t.Errorf("the plan left running: %s, want interrupted", old.State)
	}
	applies, err := h.db.ListRuns(ctx, landform.RunFilter{Kind: landform.RunApply})
	if err != nil {
		t.Fatal(err)
	}
	if len(applies) != 1 || applies[0].State != landform.StateInterrupted || applies[0].Error == "" {
		t.Errorf("applies: %s, want the one, interrupted and flagged", describeRuns(applies))
	}
	flagged, err := h.db.ListAttention(ctx)
	if err != nil || len(flagged) != 1 || flagged[0].ID != apply.ID {
		t.Errorf("needing attention: %s (%v), want the apply", describeRuns(flagged), err)
	}
	if n := h.planner.callsOf("db"); n != 0 {
		t.Errorf("the interrupted apply's workspace was planned %d times", n)
	}
}

func TestQueuedRunOfUnknownKindErrors(t *testing.T) {
	h := newHarness(t, repo("infra", newFakeSource(map[string]string{mainRef: "c1"})))
	run := &landform.Run{Repo: "infra", Workspace: "app", Dir: "app", Commit: "c1", Kind: "teleport", State: landform.StateQueued}
	if err := h.db.CreateRun(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	h.start()
	if got := h.finished("app"); got.State != landform.StateErrored || !strings.Contains(got.Error, `kind "teleport"`) {
		t.Errorf("run of an unknown kind: %s %q, want errored naming the kind", got.State, got.Error)
	}
	if n := h.planner.callsOf("app"); n != 0 {
		t.Errorf("planned %d times", n)
	}
}

func TestBrokenCommitIsReportedOnce(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	h := newHarness(t, repo("infra", src))
	h.start()
	ev := h.polled("infra")

	src.setRef(mainRef, "broken") // the fake's Targets fails for it
	ev = h.round(ev)
	if run := h.finished(ConfigWorkspace); run.State != landform.StateErrored || !strings.Contains(run.Error, ".landform.yaml:1:1") {
		t.Errorf("broken commit: %+v", run)
	}
	for range 2 {
		ev = h.round(ev)
	}
	if _, _, targets, _ := src.counts(); targets != 1 || len(h.all(EventRunFinished)) != 1 {
		t.Errorf("%d Targets calls, %d finished runs after more polls; want the one report", targets, len(h.all(EventRunFinished)))
	}
}

func TestLedgerGathersRunsOnTheClock(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app", "db")
	h := newHarness(t, repo("infra", src, func(r *landform.Repo) { r.Ledger, r.LedgerBranch = true, landform.DefaultLedgerBranch }))
	h.planner.set("app", blocks)
	h.start()
	ev := h.polled("infra")

	// The poll round's advance fires the loop's periodic timer too: the
	// plans wait until the loop has found nothing and waits again.
	h.clk.waitPending(t, ledgerInterval, 1)
	n := h.clk.armedCount(ledgerInterval)
	src.setRef(mainRef, "c2")
	h.round(ev)
	h.clk.waitArmed(t, ledgerInterval, n+1)
	h.planner.releaseAll()
	h.finished("app")
	h.finished("db")
	// The loop woke with the first run and lets the others gather for a
	// moment of the daemon's clock, then writes them in one commit.
	h.clk.waitPending(t, ledgerGather, 1)
	if _, _, _, records := src.counts(); records != 0 {
		t.Fatalf("%d ledger writes before the gathering wait ended", records)
	}
	h.clk.advance(ledgerGather)
	if w := h.next("the ledger written", func(e Event) bool { return e.Kind == EventLedgerWritten }); w.Err != nil || w.Count != 2 {
		t.Errorf("ledger write: %d runs, %v; want both runs in one commit", w.Count, w.Err)
	}
	if _, _, _, records := src.counts(); records != 1 {
		t.Errorf("%d ledger writes, want 1", records)
	}
}

func TestStopLetsTerraformFinishForTheGracePeriod(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	h := newHarness(t, repo("infra", src))
	h.planner.set("app", blocks)
	h.start()
	ev := h.polled("infra")
	src.setRef(mainRef, "c2")
	h.round(ev)
	h.planner.waitStarted(t, "app")

	h.cancel()
	h.clk.waitPending(t, h.d.grace, 1)
	select {
	case err := <-h.done:
		t.Fatalf("the daemon stopped (%v) before the grace period ended", err)
	default:
	}
	h.clk.advance(h.d.grace)
	if run := h.finished("app"); run.State != landform.StateInterrupted {
		t.Errorf("the plan cut off by the stop: %s, want interrupted", run.State)
	}
	again := h.next("the interrupted plan queued again", isQueued(mainRef)).Run
	if again.Commit != "c2" || again.Workspace != "app" {
		t.Errorf("queued again: %+v", again)
	}
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(failsafe):
		t.Fatal("the daemon did not stop after the grace period")
	}
	h.cancel = nil
}

func TestIdleWorkersWaitForWork(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	h := newHarness(t, repo("infra", src))
	h.start()
	ev := h.polled("infra")
	src.setRef(mainRef, "c2")
	ev = h.round(ev)
	h.finished("app")

	// Woken once by the queued run, the worker waits again (as does the
	// poll loop): the next claims come from its timer, one per interval.
	h.clk.blockUntil(t, workers+1)
	n := h.clk.armedCount(claimInterval)
	h.round(ev) // fires the claim timer once, too
	h.clk.waitArmed(t, claimInterval, n+workers)
	h.clk.waitPending(t, claimInterval, workers)
	if got := h.clk.armedCount(claimInterval) - n; got != workers {
		t.Errorf("the idle worker waited %d times during one poll interval, want once per worker (%d)", got, workers)
	}
}

func describeRuns(runs []*landform.Run) string {
	var parts []string
	for _, r := range runs {
		parts = append(parts, r.ID+":"+r.Workspace+"@"+r.Commit+"="+string(r.State))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
