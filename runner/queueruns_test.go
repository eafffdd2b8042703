package runner

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/store/sqlite"
)

// failingQueue is the SQLite store whose next QueueRuns with runs fails
// part way: after the runs went in, a run the store refuses, so the
// transaction rolls back — as it would if the poll-state write at its end
// failed.
type failingQueue struct {
	DaemonStore
	mu    sync.Mutex
	fails int
}

func (s *failingQueue) QueueRuns(ctx context.Context, repo, ref, commit string, runs []*landform.Run) ([]*landform.Run, error) {
	s.mu.Lock()
	fail := s.fails > 0 && len(runs) > 0
	if fail {
		s.fails--
	}
	s.mu.Unlock()
	if fail {
		refused := &landform.Run{Repo: repo, Ref: ref, Kind: landform.RunPlan, State: landform.StateQueued} // no workspace
		return s.DaemonStore.QueueRuns(ctx, repo, ref, commit, append(slices.Clone(runs), refused))
	}
	return s.DaemonStore.QueueRuns(ctx, repo, ref, commit, runs)
}

// TestFailedPollWriteQueuesNoDuplicate: the write that records a poll's
// runs fails at its end. Nothing of it stays, so the poll fails, and the
// next one queues the commit's plans once — not once per attempt.
func TestFailedPollWriteQueuesNoDuplicate(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app", "db")
	h := newHarnessWith(t, harnessConfig{store: func(db *sqlite.DB) DaemonStore {
		return &failingQueue{DaemonStore: db, fails: 1}
	}}, repo("infra", src))
	h.start()
	ev := h.polled("infra")

	src.setRef(mainRef, "c2")
	if ev = h.round(ev); ev.Err == nil {
		t.Fatal("the poll whose write failed reported no error")
	}
	if runs := h.runs(""); len(runs) != 0 {
		t.Fatalf("runs after the failed write: %s, want none", describeRuns(runs))
	}
	if sha, err := h.db.LastProcessed(context.Background(), "infra", mainRef); err != nil || sha != "c1" {
		t.Fatalf("last processed commit after the failed write: %q, %v; want c1", sha, err)
	}

	ev = h.round(ev) // the backoff's round
	if ev.Err != nil {
		t.Fatalf("the next poll: %v", ev.Err)
	}
	h.finished("app")
	h.finished("db")
	for range 2 {
		ev = h.round(ev)
	}
	for _, ws := range []string{"app", "db"} {
		if runs := h.runs(ws); len(runs) != 1 || runs[0].Commit != "c2" || runs[0].State != landform.StatePlanned {
			t.Errorf("runs of %s: %s, want one planned at c2", ws, describeRuns(runs))
		}
	}
	if n := len(h.all(EventRunQueued)); n != 2 {
		t.Errorf("%d runs queued, want 2", n)
	}
}
