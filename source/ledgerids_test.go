package source_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/source"
	"github.com/landform/landform/test/tftest"
)

// TestLedgerRecordsAreNeverOverwrittenByAnotherRun: the database was lost
// and run 2 handed out again. The ledger's highest run ID says where IDs
// continue; a record of the new run 2 is refused (RecordError, so the
// daemon sets it aside) and the first run 2's record stays; a run's own
// record is updated.
func TestLedgerRecordsAreNeverOverwrittenByAnotherRun(t *testing.T) {
	ctx := context.Background()
	g := tftest.NewGitRepo(t).Write(map[string]string{"envs/a/main.tf": "# a\n"})
	g.Commit("first")
	r := open(t, g.Dir)
	const branch = landform.DefaultLedgerBranch

	if n, err := r.HighestLedgerRunID(ctx, branch); err != nil || n != 0 {
		t.Fatalf("HighestLedgerRunID without a ledger branch = %d, %v; want 0", n, err)
	}
	created := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	run := func(id, ws string, state landform.RunState, created time.Time) *landform.Run {
		return &landform.Run{ID: id, Repo: r.Name(), Workspace: ws, Dir: ws, Commit: "0123456789abcdef0123456789abcdef01234567",
			Ref: "refs/heads/main", Kind: landform.RunPlan, State: state, CreatedAt: created}
	}
	first, other := run("2", "envs/a", landform.StatePlanned, created), run("10", "envs/b", landform.StateNoChanges, created)
	if err := r.Record(ctx, branch, []*landform.Run{first, other}); err != nil {
		t.Fatal(err)
	}
	if n, err := r.HighestLedgerRunID(ctx, branch); err != nil || n != 10 {
		t.Errorf("HighestLedgerRunID = %d, %v; want 10", n, err)
	}

	// The same run, superseded since: its record is updated.
	first.State = landform.StateSuperseded
	if err := r.Record(ctx, branch, []*landform.Run{first}); err != nil {
		t.Fatalf("recording run 2 again, superseded: %v", err)
	}
	// Another run 2, after the database was lost.
	again := run("2", "envs/a", landform.StatePlanned, created.Add(time.Hour))
	err := r.Record(ctx, branch, []*landform.Run{run("11", "envs/b", landform.StatePlanned, created), again})
	var rec *source.RecordError
	if !errors.As(err, &rec) || rec.RunID != "2" || landform.ErrorCode(err) != landform.ECONFLICT {
		t.Fatalf("Record of another run 2 = %v, want a RecordError (ECONFLICT) naming run 2", err)
	}
	if got := g.Git("show", branch+":runs/envs/a/2.json"); !strings.Contains(got, `"state": "superseded"`) || !strings.Contains(got, "2026-01-01T12:00:00Z") {
		t.Errorf("run 2's record after the refused write:\n%s", got)
	}
}
