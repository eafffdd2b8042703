package sqlite_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/store/sqlite"
	"github.com/landform/landform/store/storetest"
)

var _ storetest.Store = (*sqlite.DB)(nil)

// TestRestartLosesNothing stops a daemon mid-work without any cleanup (as a
// kill -9 would) and starts another on the same file: the queue, the locks,
// the poll state and the ledger outbox are all there, and recovery turns the
// cut-off runs into interrupted ones.
func TestRestartLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "landform.db")
	ctx := t.Context()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	dead := db
	t.Cleanup(func() { dead.Close() })
	var runs []*landform.Run
	for _, ws := range []string{"net", "app", "net"} {
		r := storetest.NewRun("infra", ws)
		if err := db.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	planning, err := db.ClaimRun(ctx, "worker-1")
	if err != nil || planning == nil || planning.ID != runs[0].ID {
		t.Fatalf("ClaimRun = %v, %v; want run %s", planning, err, runs[0].ID)
	}
	applying := runs[1]
	applying.State = landform.StateApplying
	if err := db.UpdateRun(ctx, applying); err != nil {
		t.Fatal(err)
	}
	lock := landform.Lock{Repo: "infra", Workspace: "net", Holder: "pr/12", RunID: planning.ID}
	if err := db.AcquireLock(ctx, lock); err != nil {
		t.Fatal(err)
	}
	if err := db.SetLastProcessed(ctx, "infra", "refs/heads/main", "abc"); err != nil {
		t.Fatal(err)
	}
	if err := db.EnqueueLedger(ctx, "infra", runs[1].ID); err != nil {
		t.Fatal(err)
	}
	// No Close: the process dies. The next one opens the same file.

	db = open(t, path)
	requeued, flagged, err := db.RecoverRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(requeued) != 1 || requeued[0].Workspace != "net" || len(flagged) != 1 || flagged[0].ID != applying.ID {
		t.Fatalf("RecoverRuns = %v, %v; want net re-queued and run %s flagged", requeued, flagged, applying.ID)
	}
	if got, _ := db.GetRun(ctx, planning.ID); got.State != landform.StateInterrupted {
		t.Errorf("run %s is %s, want interrupted", planning.ID, got.State)
	}
	if locks, err := db.ListLocks(ctx, ""); err != nil || len(locks) != 1 || locks[0].Holder != "pr/12" {
		t.Errorf("locks after restart = %v, %v", locks, err)
	}
	if sha, err := db.LastProcessed(ctx, "infra", "refs/heads/main"); err != nil || sha != "abc" {
		t.Errorf("LastProcessed after restart = %q, %v", sha, err)
	}
	if ids, err := db.PendingLedger(ctx, "infra", 0); err != nil || len(ids) != 1 || ids[0] != runs[1].ID {
		t.Errorf("PendingLedger after restart = %v, %v", ids, err)
	}
	// The re-queued copy comes first, then the net run queued after it.
	for _, want := range []string{requeued[0].ID, ""} {
		got, err := db.ClaimRun(ctx, "worker-2")
		if err != nil {
			t.Fatal(err)
		}
		if id := idOf(got); id != want {
			t.Errorf("ClaimRun = %q, want %q", id, want)
		}
	}
}

func idOf(r *landform.Run) string {
	if r == nil {
		return ""
	}
	return r.ID
}

// TestClockStampsQueue checks which times the DB's clock stamps.
func TestClockStampsQueue(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 42, time.FixedZone("X", -7200))
	db := open(t, filepath.Join(t.TempDir(), "landform.db"), sqlite.WithClock(func() time.Time { return now }))
	ctx := t.Context()
	for _, ws := range []string{"net", "app"} {
		if err := db.CreateRun(ctx, storetest.NewRun("infra", ws)); err != nil {
			t.Fatal(err)
		}
	}
	claimed, err := db.ClaimRun(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	if !claimed.StartedAt.Equal(now) {
		t.Errorf("StartedAt = %v, want %v", claimed.StartedAt, now)
	}
	if err := db.AcquireLock(ctx, landform.Lock{Repo: "infra", Workspace: "net", Holder: "pr/1"}); err != nil {
		t.Fatal(err)
	}
	locks, err := db.ListLocks(ctx, "infra")
	if err != nil || len(locks) != 1 || !locks[0].CreatedAt.Equal(now) {
		t.Errorf("locks = %v, %v; want one created %v", locks, err, now)
	}
	now = now.Add(time.Minute)
	_, _, err = db.RecoverRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GetRun(ctx, claimed.ID); !got.FinishedAt.Equal(now) {
		t.Errorf("interrupted run FinishedAt = %v, want %v", got.FinishedAt, now)
	}
}

// TestClaimsThroughTwoHandles claims one queue from two handles on one
// file, as two processes would: no run twice, every run once.
func TestClaimsThroughTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "landform.db")
	dbs := []*sqlite.DB{open(t, path), open(t, path)}
	const n = 40
	for i := range n {
		if err := dbs[0].CreateRun(t.Context(), storetest.NewRun("infra", fmt.Sprint("ws", i))); err != nil {
			t.Fatal(err)
		}
	}
	claimed := make([][]string, 8)
	errs := make([]error, len(claimed))
	var wg sync.WaitGroup
	for g := range claimed {
		wg.Go(func() {
			for {
				r, err := dbs[g%2].ClaimRun(t.Context(), fmt.Sprint("w", g))
				if err != nil || r == nil {
					errs[g] = err
					return
				}
				claimed[g] = append(claimed[g], r.ID)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for g, ids := range claimed {
		if errs[g] != nil {
			t.Errorf("claimer %d: %v", g, errs[g])
		}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("run %s claimed twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != n {
		t.Errorf("%d runs claimed, want %d", len(seen), n)
	}
}
