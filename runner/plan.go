package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/landform/landform"
)

// Target is a workspace to plan, with what its configuration requires of
// the engine and reads from the tree.
type Target struct {
	Workspace        landform.Workspace
	RequiredVersions []string
	// Paths are the directories and files the plan reads (the workspace's
	// dir, its local modules, the files its configuration reads); only they
	// are exported. nil means the whole tree.
	Paths []string
}

// exportPaths is what a set of targets needs from the tree: the union of
// their paths, or nil (everything) when one of them needs everything.
func exportPaths(targets []Target) []string {
	var out []string
	for _, t := range targets {
		if t.Paths == nil {
			return nil
		}
		out = append(out, t.Paths...)
	}
	return out
}

// Batch is a set of workspaces of one repo to plan at one commit.
type Batch struct {
	Repo    string
	Commit  string
	Ref     string
	Kind    landform.RunKind // RunPlan (default) or RunDrift
	Targets []Target
}

// Progress reports one finished run of a batch.
type Progress struct {
	Done, Total int
	Run         *landform.Run
}

// PlanBatch records one queued run per target, exports the commit once, and
// plans the targets with at most the runner's parallelism. It returns the
// runs in the targets' order. A workspace that fails to plan becomes an
// errored run and does not stop the others; the returned error is for
// failures of the batch itself (the store, the export, a cancelled ctx).
// progress, when not nil, is called once per finished run, never
// concurrently.
func (r *Runner) PlanBatch(ctx context.Context, src Checkout, b Batch, progress func(Progress)) ([]*landform.Run, error) {
	kind := b.Kind
	if kind == "" {
		kind = landform.RunPlan
	}
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
	if len(runs) == 0 {
		return runs, nil
	}

	work, err := os.MkdirTemp(r.workDir, "batch-")
	if err != nil {
		return runs, fmt.Errorf("making work directory: %w", err)
	}
	defer os.RemoveAll(work)
	root := filepath.Join(work, "tree")
	if err := src.ExportPaths(ctx, b.Commit, root, exportPaths(b.Targets)); err != nil {
		err = fmt.Errorf("exporting commit %s: %w", shortSHA(b.Commit), err)
		r.failAll(runs, err)
		return runs, err
	}

	var (
		mu   sync.Mutex
		done int
	)
	// Targets sharing a directory (Terraform workspaces of one
	// configuration) run one at a time: init writes the directory's
	// dependency lock file.
	dirLocks := map[string]*sync.Mutex{}
	for _, t := range b.Targets {
		if dirLocks[t.Workspace.Dir] == nil {
			dirLocks[t.Workspace.Dir] = new(sync.Mutex)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.parallel)
	for i, t := range b.Targets {
		g.Go(func() error {
			dirLock := dirLocks[t.Workspace.Dir]
			dirLock.Lock()
			defer dirLock.Unlock()
			scratch := filepath.Join(work, "runs", runs[i].ID)
			err := r.planOne(gctx, runs[i], PlanJob{
				Workspace: t.Workspace, Root: root, ScratchDir: scratch,
				RequiredVersions: t.RequiredVersions, RefreshOnly: kind == landform.RunDrift,
			})
			if progress != nil {
				mu.Lock()
				done++
				progress(Progress{Done: done, Total: len(runs), Run: runs[i]})
				mu.Unlock()
			}
			return err
		})
	}
	return runs, g.Wait()
}

// planOne marks run running, runs its job and records the outcome. Only
// failures to record are returned: a failed plan is an errored run.
func (r *Runner) planOne(ctx context.Context, run *landform.Run, job PlanJob) error {
	run.State = landform.StateRunning
	run.StartedAt = r.now().UTC()
	if err := r.store.UpdateRun(ctx, run); err != nil {
		return fmt.Errorf("marking run %s running: %w", run.ID, err)
	}
	return r.execute(ctx, run, job)
}

// execute runs the job of a run already marked running and records the
// outcome.
func (r *Runner) execute(ctx context.Context, run *landform.Run, job PlanJob) error {
	log := r.logger.With("repo", run.Repo, "workspace", run.Workspace, "run", run.ID)
	if err := os.MkdirAll(job.ScratchDir, 0o755); err != nil {
		return r.finish(run, nil, fmt.Errorf("making scratch directory: %w", err))
	}
	log.Debug("planning", "dir", run.Dir, "commit", run.Commit)
	out, err := r.planner.Plan(ctx, job)
	if err == nil {
		_, err = r.plans.Put(ctx, run.ID, &out.Artifact)
		if err != nil {
			err = fmt.Errorf("storing plan: %w", err)
		}
	}
	if err != nil {
		log.Debug("plan failed", "err", err)
	}
	return r.finish(run, out, err)
}

// finish records the end of a run: planned, no_changes or errored (or
// interrupted when the context was cancelled).
func (r *Runner) finish(run *landform.Run, out *PlanOutput, planErr error) error {
	run.FinishedAt = r.now().UTC()
	switch {
	case planErr != nil && errors.Is(planErr, context.Canceled):
		run.State = landform.StateInterrupted
		run.Error = planErr.Error()
	case planErr != nil:
		run.State = landform.StateErrored
		run.Error = planErr.Error()
	case out.Summary.HasChanges() || len(out.Drift) > 0:
		run.State = landform.StatePlanned
	default:
		run.State = landform.StateNoChanges
	}
	if planErr == nil {
		run.Summary = out.Summary
		run.PlanSHA256 = out.Artifact.SHA256
	}
	// Record the outcome even when the batch's context is cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.store.UpdateRun(ctx, run); err != nil {
		return fmt.Errorf("recording run %s: %w", run.ID, err)
	}
	return nil
}

// failAll marks every run of a batch errored with err.
func (r *Runner) failAll(runs []*landform.Run, err error) {
	for _, run := range runs {
		if ferr := r.finish(run, nil, err); ferr != nil {
			r.logger.Error("recording failed run", "run", run.ID, "err", ferr)
		}
	}
}

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
