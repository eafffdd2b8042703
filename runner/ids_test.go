package runner

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/landform/landform"
)

// HighestLedgerRunID is the fake's ledger: the runs Record wrote (a test
// may put runs there first: a ledger older than the database). While the
// remote is down (failRefs) the ledger cannot be read either.
func (s *fakeSource) HighestLedgerRunID(context.Context, string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refsErr != nil {
		return 0, s.refsErr
	}
	var highest int64
	for _, r := range s.recorded {
		if n, err := strconv.ParseInt(r.ID, 10, 64); err == nil {
			highest = max(highest, n)
		}
	}
	return highest, nil
}

// withLedger turns a test repository's ledger on.
func withLedger(r *landform.Repo) { r.Ledger, r.LedgerBranch = true, landform.DefaultLedgerBranch }

// putPlan stores an artifact of run id in the daemon's plan store: one
// left from before the database was lost.
func putPlan(t *testing.T, h *harness, id string) {
	t.Helper()
	if _, err := h.d.plans.Put(context.Background(), id, &landform.PlanArtifact{Plan: []byte("plan " + id)}); err != nil {
		t.Fatal(err)
	}
}

// TestRunIDsContinueAboveThePlanStoreAndTheLedger: the database is new
// (lost, or restored from an old backup), but the plan store has run 40
// and the ledger run 500. The runs of this start — the plan a crash left
// running, re-queued, and the plan of a new commit — get IDs above both.
func TestRunIDsContinueAboveThePlanStoreAndTheLedger(t *testing.T) {
	ctx := context.Background()
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	src.recorded = []*landform.Run{{ID: "500", Repo: "infra", Workspace: "db"}}
	h := newHarness(t, repo("infra", src, withLedger))
	putPlan(t, h, "40")
	cut := &landform.Run{Repo: "infra", Workspace: "net", Dir: "net", Commit: "c1", Ref: mainRef, Kind: landform.RunPlan, State: landform.StateQueued}
	if err := h.db.CreateRun(ctx, cut); err != nil {
		t.Fatal(err)
	}
	if claimed, err := h.db.ClaimRun(ctx, "killed"); err != nil || claimed.ID != cut.ID {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	h.start()
	again := h.next("the cut-off plan re-queued", isQueued(mainRef)).Run
	ev := h.polled("infra")
	src.setRef(mainRef, "c2")
	h.round(ev)
	app := h.finished("app")
	for _, r := range []*landform.Run{again, app} {
		if n, _ := strconv.ParseInt(r.ID, 10, 64); n <= 500 {
			t.Errorf("run of %s got ID %s, want above the ledger's 500", r.Workspace, r.ID)
		}
	}
}

// TestRunIDsContinueWhenTheLedgerCannotBeRead: the remote is down at
// start. The daemon starts anyway, and IDs continue above the plan
// store's (the ledger writer refuses to overwrite a record of another
// run, should one be handed out again).
func TestRunIDsContinueWhenTheLedgerCannotBeRead(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	src.recorded = []*landform.Run{{ID: "500", Repo: "infra", Workspace: "db"}}
	src.failRefs(errors.New("connection refused"))
	h := newHarness(t, repo("infra", src, withLedger))
	putPlan(t, h, "40")
	h.start()
	ev := h.polled("infra")
	if ev.Err == nil {
		t.Fatal("the first poll of a remote that is down succeeded")
	}
	src.failRefs(nil)
	ev = h.round(ev) // the baseline
	src.setRef(mainRef, "c2")
	h.round(ev)
	if run := h.finished("app"); run.ID != "41" {
		t.Errorf("run of app got ID %s, want 41: above the plan store's 40", run.ID)
	}
}
