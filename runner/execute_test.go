package runner

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landform/landform"
	planfs "github.com/landform/landform/planstore/fs"
	"github.com/landform/landform/store/sqlite"
)

// countingSource counts what the executor asks of a repository.
type countingSource struct {
	targets, exports int
}

func (s *countingSource) Target(_ context.Context, _, name string) (landform.Target, error) {
	s.targets++
	return landform.Target{Workspace: landform.Workspace{Name: name, Dir: name}}, nil
}

func (s *countingSource) ExportPaths(context.Context, string, string, []string) error {
	s.exports++
	return nil
}

type plannerFunc func(ctx context.Context, job PlanJob) (*PlanOutput, error)

func (f plannerFunc) Plan(ctx context.Context, job PlanJob) (*PlanOutput, error) { return f(ctx, job) }

func TestUnknownRunKindErrorsWithoutRunningTerraform(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "landform.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plans, err := planfs.New(filepath.Join(t.TempDir(), "plans"))
	if err != nil {
		t.Fatal(err)
	}
	planned := false
	r := New(db, plans, plannerFunc(func(context.Context, PlanJob) (*PlanOutput, error) {
		planned = true
		return &PlanOutput{}, nil
	}), WithWorkDir(t.TempDir()))

	// A run of a kind this version does not know, left queued (by a newer
	// version, say), is claimed like any other.
	run := &landform.Run{Repo: "infra", Workspace: "app", Dir: "app", Commit: "c1", Kind: "teleport", State: landform.StateQueued}
	if err := db.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	claimed, err := db.ClaimRun(ctx, "test")
	if err != nil || claimed == nil || claimed.ID != run.ID {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	src := &countingSource{}
	if err := r.execute(ctx, src, claimed, r.oneShot()); err != nil {
		t.Fatal(err)
	}
	stored, err := db.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != landform.StateErrored || !strings.Contains(stored.Error, `kind "teleport"`) {
		t.Errorf("run of an unknown kind: %s %q, want errored naming the kind", stored.State, stored.Error)
	}
	if planned || src.exports > 0 || src.targets > 0 {
		t.Errorf("an unknown kind ran steps: planned %v, exports %d, target lookups %d", planned, src.exports, src.targets)
	}
}
