package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/landform/landform"
)

// The executor: every run, whatever its kind and whoever queued it, goes
// claim → prepare (export the paths its target reads) → the steps of its
// kind → record. The daemon's workers claim from the store; a one-shot
// batch claims from its own in-process queue (RunBatch).

// kindSteps runs the steps of one run kind in a prepared job.
type kindSteps func(ctx context.Context, r *Runner, job PlanJob) (*PlanOutput, error)

// steps are the run kinds this version of Landform executes. A run of any
// other kind (queued by a newer version, or a kind not built yet) becomes
// errored without running terraform.
var steps = map[landform.RunKind]kindSteps{
	landform.RunPlan: func(ctx context.Context, r *Runner, job PlanJob) (*PlanOutput, error) {
		return r.planner.Plan(ctx, job)
	},
}

// execute runs a claimed run (already marked running) and records the
// outcome. Only a failure to record is returned: a failed step is an
// errored run.
func (r *Runner) execute(ctx context.Context, src Source, run *landform.Run) error {
	out, err := r.perform(ctx, src, run)
	if err == nil {
		if _, err = r.plans.Put(ctx, run.ID, &out.Artifact); err != nil {
			err = fmt.Errorf("storing plan: %w", err)
		}
	}
	if err != nil {
		r.logger.Debug("run failed", "repo", run.Repo, "workspace", run.Workspace, "run", run.ID, "err", err)
	}
	return r.finish(run, out, err)
}

// perform prepares run's job and runs the steps of its kind.
func (r *Runner) perform(ctx context.Context, src Source, run *landform.Run) (*PlanOutput, error) {
	step, ok := steps[run.Kind]
	if !ok {
		return nil, landform.Errorf(landform.EINVALID, "run %s is of kind %q, which this version of Landform does not run", run.ID, run.Kind)
	}
	target, err := src.Target(ctx, run.Commit, run.Workspace)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(r.workDir, "run-"+run.ID+"-")
	if err != nil {
		return nil, fmt.Errorf("making work directory: %w", err)
	}
	defer os.RemoveAll(work)
	root, scratch := filepath.Join(work, "tree"), filepath.Join(work, "scratch")
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return nil, fmt.Errorf("making scratch directory: %w", err)
	}
	if err := src.ExportPaths(ctx, run.Commit, root, target.Paths); err != nil {
		return nil, fmt.Errorf("exporting commit %s: %w", landform.ShortSHA(run.Commit), err)
	}
	r.logger.Debug("running", "kind", run.Kind, "repo", run.Repo, "workspace", run.Workspace, "run", run.ID, "commit", run.Commit)
	return step(ctx, r, PlanJob{
		Workspace: target.Workspace, Root: root, ScratchDir: scratch, RequiredVersions: target.RequiredVersions,
	})
}

// finish records the end of a run: planned, no_changes or errored (or
// interrupted when the context was cancelled).
func (r *Runner) finish(run *landform.Run, out *PlanOutput, runErr error) error {
	run.FinishedAt = r.now().UTC()
	switch {
	case runErr != nil && errors.Is(runErr, context.Canceled):
		run.State = landform.StateInterrupted
		run.Error = runErr.Error()
	case runErr != nil:
		run.State = landform.StateErrored
		run.Error = runErr.Error()
	case out.Changes:
		run.State = landform.StatePlanned
	default:
		run.State = landform.StateNoChanges
	}
	if runErr == nil {
		run.Summary = out.Summary
		run.PlanSHA256 = out.Artifact.SHA256
	}
	// Record the outcome even when the run's context is cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.store.UpdateRun(ctx, run); err != nil {
		return fmt.Errorf("recording run %s: %w", run.ID, err)
	}
	return nil
}
