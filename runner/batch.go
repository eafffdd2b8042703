package runner

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/landform/landform"
)

// Batch is a set of workspaces of one repo to plan at one commit: what a
// one-shot `landform plan` runs.
type Batch struct {
	Repo    string
	Commit  string
	Ref     string
	Targets []landform.Target
}

// Progress reports one finished run of a batch.
type Progress struct {
	Done, Total int
	Run         *landform.Run
}

// PlanBatch records one queued plan run per target, then executes them from
// an in-process queue with at most the runner's parallelism, through the
// same executor as the daemon's workers. It returns the runs in the
// targets' order. A workspace that fails becomes an errored run and does
// not stop the others; the returned error is for failures to record.
// progress, when not nil, is called once per finished run, never
// concurrently.
func (r *Runner) PlanBatch(ctx context.Context, src Source, b Batch, progress func(Progress)) ([]*landform.Run, error) {
	return r.batch(ctx, src, b, landform.RunPlan, progress)
}

// DriftBatch is PlanBatch for drift checks: one drift run per target (a
// refresh-only plan, then a normal plan, classified: see DriftChecker).
func (r *Runner) DriftBatch(ctx context.Context, src Source, b Batch, progress func(Progress)) ([]*landform.Run, error) {
	return r.batch(ctx, src, b, landform.RunDrift, progress)
}

// batch runs b's targets as runs of kind.
func (r *Runner) batch(ctx context.Context, src Source, b Batch, kind landform.RunKind, progress func(Progress)) ([]*landform.Run, error) {
	runs := make([]*landform.Run, len(b.Targets))
	for i, t := range b.Targets {
		run := &landform.Run{
			Repo: b.Repo, Workspace: t.Workspace.Name, Dir: t.Workspace.Dir,
			Commit: b.Commit, Ref: b.Ref, Kind: kind, State: landform.StateQueued,
			CreatedAt: r.now().UTC(),
		}
		if err := r.store.CreateRun(ctx, run); err != nil {
			return runs[:i], fmt.Errorf("recording run of %s: %w", t.Workspace.Name, err)
		}
		runs[i] = run
	}
	var (
		mu   sync.Mutex
		done int
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.parallel)
	for _, run := range runs {
		g.Go(func() error {
			err := r.claimAndExecute(gctx, src, run)
			if progress != nil {
				mu.Lock()
				done++
				progress(Progress{Done: done, Total: len(runs), Run: run})
				mu.Unlock()
			}
			return err
		})
	}
	return runs, g.Wait()
}

// claimAndExecute claims a run of the in-process queue (marks it running)
// and executes it.
func (r *Runner) claimAndExecute(ctx context.Context, src Source, run *landform.Run) error {
	run.State = landform.StateRunning
	run.StartedAt = r.now().UTC()
	if err := r.store.UpdateRun(ctx, run); err != nil {
		return fmt.Errorf("marking run %s running: %w", run.ID, err)
	}
	return r.execute(ctx, src, run, r.oneShot())
}
