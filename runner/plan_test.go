package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landform/landform"
	planfs "github.com/landform/landform/planstore/fs"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/store/sqlite"
)

// fakeSource is a runner.Source: its targets are directories named like
// their workspaces, and export writes one main.tf per target directory.
type fakeSource struct {
	targets []landform.Target
	// exportErr, when set, makes every export fail.
	exportErr error
}

func source(ts ...landform.Target) *fakeSource { return &fakeSource{targets: ts} }

func (s *fakeSource) Target(_ context.Context, commit, name string) (landform.Target, error) {
	for _, t := range s.targets {
		if t.Workspace.Name == name {
			return t, nil
		}
	}
	return landform.Target{}, landform.Errorf(landform.ENOTFOUND, "no workspace %q at %s", name, commit)
}

func (s *fakeSource) ExportPaths(_ context.Context, _, root string, paths []string) error {
	if s.exportErr != nil {
		return s.exportErr
	}
	for _, t := range s.targets {
		d := t.Workspace.Dir
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, d, "main.tf"), []byte("# "+d), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// planFunc adapts a function to runner.Planner: the fake stands where the
// terraform process would (the real one is driven in test/ and terraform/).
type planFunc func(ctx context.Context, job runner.PlanJob) (*runner.PlanOutput, error)

func (f planFunc) Plan(ctx context.Context, job runner.PlanJob) (*runner.PlanOutput, error) {
	return f(ctx, job)
}

func newRunner(t *testing.T, p runner.Planner, opts ...runner.Option) (*runner.Runner, *sqlite.DB, *planfs.Store) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "landform.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	plans, err := planfs.New(filepath.Join(t.TempDir(), "plans"))
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]runner.Option{runner.WithWorkDir(t.TempDir())}, opts...)
	return runner.New(db, plans, p, opts...), db, plans
}

func targets(names ...string) []landform.Target {
	var out []landform.Target
	for _, n := range names {
		out = append(out, landform.Target{Workspace: landform.Workspace{Name: n, Dir: n}})
	}
	return out
}

func TestPlanBatchRecordsEachOutcome(t *testing.T) {
	planner := planFunc(func(_ context.Context, job runner.PlanJob) (*runner.PlanOutput, error) {
		if _, err := os.Stat(filepath.Join(job.Root, job.Workspace.Dir, "main.tf")); err != nil {
			return nil, err
		}
		if fi, err := os.Stat(job.ScratchDir); err != nil || !fi.IsDir() {
			return nil, errors.New("no scratch directory")
		}
		switch job.Workspace.Name {
		case "broken":
			return nil, errors.New("Error: Unsupported argument\n\n  on main.tf line 3")
		case "quiet":
			return &runner.PlanOutput{Artifact: landform.PlanArtifact{Plan: []byte("p0"), JSON: []byte("{}")}}, nil
		case "output-only":
			// Only an output changes: no resource, but a plan to apply.
			return &runner.PlanOutput{Artifact: landform.PlanArtifact{Plan: []byte("p1"), JSON: []byte("{}")}, Changes: true}, nil
		}
		return &runner.PlanOutput{
			Artifact: landform.PlanArtifact{Plan: []byte("plan of " + job.Workspace.Name), JSON: []byte("{}"), Text: "Plan: 2 to add"},
			Summary:  landform.PlanSummary{Add: 2},
			Changes:  true,
		}, nil
	})
	r, db, plans := newRunner(t, planner, runner.WithParallel(2))
	ctx := context.Background()

	var progress []runner.Progress
	ts := targets("app", "broken", "quiet", "output-only")
	runs, err := r.PlanBatch(ctx, source(ts...), runner.Batch{
		Repo: "infra", Commit: "abc123", Ref: "main", Targets: ts,
	}, func(p runner.Progress) { progress = append(progress, p) })
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]landform.RunState{
		"app": landform.StatePlanned, "broken": landform.StateErrored, "quiet": landform.StateNoChanges,
		"output-only": landform.StatePlanned,
	}
	for _, run := range runs {
		stored, err := db.GetRun(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.State != want[run.Workspace] {
			t.Errorf("%s: stored state %s, want %s", run.Workspace, stored.State, want[run.Workspace])
		}
		if stored.StartedAt.IsZero() || stored.FinishedAt.IsZero() || stored.Commit != "abc123" || stored.Kind != landform.RunPlan {
			t.Errorf("%s: stored run %+v", run.Workspace, stored)
		}
		switch run.Workspace {
		case "broken":
			if stored.Error == "" || stored.PlanSHA256 != "" {
				t.Errorf("errored run: error %q, sha %q", stored.Error, stored.PlanSHA256)
			}
			if _, err := plans.Get(ctx, run.ID); landform.ErrorCode(err) != landform.ENOTFOUND {
				t.Errorf("errored run has an artifact: %v", err)
			}
		default:
			art, err := plans.Get(ctx, run.ID)
			if err != nil {
				t.Fatalf("%s: artifact: %v", run.Workspace, err)
			}
			if art.SHA256 != stored.PlanSHA256 || art.SHA256 == "" {
				t.Errorf("%s: artifact sha %s, run sha %s", run.Workspace, art.SHA256, stored.PlanSHA256)
			}
		}
	}
	if runs[0].Summary.Add != 2 {
		t.Errorf("summary not recorded: %+v", runs[0].Summary)
	}
	if len(progress) != 4 {
		t.Fatalf("%d progress calls, want 4", len(progress))
	}
	for i, p := range progress {
		if p.Done != i+1 || p.Total != 4 {
			t.Errorf("progress %d: %d/%d", i, p.Done, p.Total)
		}
	}
}

func TestPlanBatchBoundsParallelism(t *testing.T) {
	var (
		running, peak atomic.Int32
		mu            sync.Mutex
		roots         = map[string]bool{}
		sharedRoot    atomic.Bool
		// full closes when three plans run at once: the first three wait
		// for it, so the peak is reached whatever the scheduling.
		full      = make(chan struct{})
		closeFull sync.Once
	)
	planner := planFunc(func(_ context.Context, job runner.PlanJob) (*runner.PlanOutput, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n >= 3 {
			closeFull.Do(func() { close(full) })
		}
		mu.Lock()
		if roots[job.Root] {
			sharedRoot.Store(true)
		}
		roots[job.Root] = true
		mu.Unlock()
		select {
		case <-full:
		case <-time.After(10 * time.Second):
			return nil, errors.New("three plans never ran at once")
		}
		return &runner.PlanOutput{Artifact: landform.PlanArtifact{Plan: []byte(job.ScratchDir)}}, nil
	})
	r, _, _ := newRunner(t, planner, runner.WithParallel(3))
	ts := targets("a", "b", "c", "d", "e", "f", "g", "h")
	// Two Terraform workspaces of one directory: each run has its own
	// export, so they may run at once.
	ts = append(ts,
		landform.Target{Workspace: landform.Workspace{Name: "a@blue", Dir: "a", TFWorkspace: "blue"}},
		landform.Target{Workspace: landform.Workspace{Name: "a@green", Dir: "a", TFWorkspace: "green"}})
	runs, err := r.PlanBatch(context.Background(), source(ts...), runner.Batch{Repo: "infra", Commit: "c1", Targets: ts}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 10 {
		t.Fatalf("%d runs", len(runs))
	}
	for _, run := range runs {
		if run.State != landform.StateNoChanges {
			t.Errorf("%s: %s %s", run.Workspace, run.State, run.Error)
		}
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("peak concurrency %d, want 3", p)
	}
	if sharedRoot.Load() {
		t.Error("two runs shared an exported tree")
	}
}

func TestPlanBatchExportFailureErrorsEveryRun(t *testing.T) {
	planner := planFunc(func(context.Context, runner.PlanJob) (*runner.PlanOutput, error) {
		t.Error("planner called after a failed export")
		return nil, nil
	})
	r, db, _ := newRunner(t, planner)
	failing := source(targets("a", "b")...)
	failing.exportErr = errors.New("object not found")
	runs, err := r.PlanBatch(context.Background(), failing, runner.Batch{Repo: "infra", Commit: "deadbeef", Targets: targets("a", "b")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range runs {
		stored, _ := db.GetRun(context.Background(), run.ID)
		if stored.State != landform.StateErrored || stored.Error == "" {
			t.Errorf("%s: %s %q", run.Workspace, stored.State, stored.Error)
		}
	}
}

func TestPlanBatchCancelledRunIsInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	planner := planFunc(func(ctx context.Context, _ runner.PlanJob) (*runner.PlanOutput, error) {
		cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	})
	r, db, _ := newRunner(t, planner, runner.WithParallel(1))
	runs, _ := r.PlanBatch(ctx, source(targets("a")...), runner.Batch{Repo: "infra", Commit: "c", Targets: targets("a")}, nil)
	stored, err := db.GetRun(context.Background(), runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != landform.StateInterrupted {
		t.Errorf("state %s, want interrupted", stored.State)
	}
}
