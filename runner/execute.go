package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/backoff"
	"github.com/landform/landform/internal/redact"
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
	landform.RunDrift: func(ctx context.Context, r *Runner, job PlanJob) (*PlanOutput, error) {
		if r.drifter == nil {
			return nil, landform.Errorf(landform.EINVALID, "this Landform cannot check drift (no terraform engine)")
		}
		return r.drifter.Drift(ctx, job)
	},
}

// Environment faults. A prepare that fails for the environment's sake
// (making the work directory, exporting the commit, reading the clone) and
// not the commit's is tried again by the daemon's workers, envAttempts
// times in all, waiting envBackoff between attempts: a full disk or a
// clone being repaired is not the commit's fault and must not leave an
// errored run blamed on it.
const envAttempts = 4

var envBackoff = backoff.Policy{Base: time.Second, Cap: time.Minute}

// recordTimeout bounds one attempt to record a run in the store.
const recordTimeout = 10 * time.Second

// envFault is a failure of the environment, not of the commit.
type envFault struct{ err error }

func (e *envFault) Error() string { return e.err.Error() }
func (e *envFault) Unwrap() error { return e.err }

// commitFault reports whether err, from reading the commit (its target,
// its export), is the commit's own fault: no such workspace there, or a
// configuration or tree Landform refuses.
func commitFault(err error) bool {
	switch landform.ErrorCode(err) {
	case landform.ENOTFOUND, landform.EINVALID:
		return true
	}
	return false
}

// execPolicy is what the caller of the executor decides: the daemon's
// workers retry environment faults and recording, a one-shot batch does
// neither.
type execPolicy struct {
	// attempts bounds the attempts of a run whose prepare fails for an
	// environment fault (below 2: no retry).
	attempts int
	// wait waits before attempt+1 of run after err (already redacted); it
	// returns false when ctx ended first.
	wait func(ctx context.Context, run *landform.Run, attempt int, err error) bool
	// save records the finished run.
	save func(ctx context.Context, run *landform.Run) error
}

// oneShot is the policy of a one-shot batch: one attempt, one save.
func (r *Runner) oneShot() execPolicy {
	return execPolicy{attempts: 1, save: r.saveOnce}
}

// execute runs a claimed run (already marked running) and records the
// outcome with p.save. Only a failure to record is returned: a failed step
// is an errored run.
func (r *Runner) execute(ctx context.Context, src Source, run *landform.Run, p execPolicy) error {
	red := r.redactor
	out, err := r.attempt(ctx, src, run, p, &red)
	if out != nil {
		// Values the plan marks sensitive, also when a later step failed.
		red = red.With(redact.SensitiveValues(out.Artifact.JSON)...)
	}
	if err == nil {
		out.Artifact.Text = red.String(out.Artifact.Text)
		if _, err = r.plans.Put(ctx, run.ID, &out.Artifact); err != nil {
			err = fmt.Errorf("storing plan: %w", err)
		}
	}
	var verdict *landform.PolicyResult
	if err == nil && out.Changes && r.policies != nil && run.Kind == landform.RunPlan {
		// Fail closed: a policy that cannot be evaluated fails the run.
		if verdict, err = r.policies.Evaluate(ctx, run, out.Artifact.JSON); err != nil {
			err = fmt.Errorf("policies: %w", err)
		}
	}
	r.conclude(run, out, err, red)
	if err == nil && verdict != nil {
		run.Policy = redactVerdict(verdict, red)
		if run.Policy.Denied() {
			run.State = landform.StatePolicyFailed
		}
	}
	if err != nil {
		r.logger.Debug("run failed", "repo", run.Repo, "workspace", run.Workspace, "run", run.ID, "err", run.Error)
	}
	return p.save(ctx, run)
}

// attempt runs run's steps, trying a prepare that failed for an
// environment fault again as p allows. *red gains the run's workspace env
// values once its target is known.
func (r *Runner) attempt(ctx context.Context, src Source, run *landform.Run, p execPolicy, red **redact.Redactor) (*PlanOutput, error) {
	step, ok := steps[run.Kind]
	if !ok {
		return nil, landform.Errorf(landform.EINVALID, "run %s is of kind %q, which this version of Landform does not run", run.ID, run.Kind)
	}
	for attempt := 1; ; attempt++ {
		out, err := r.perform(ctx, src, run, step, red)
		var env *envFault
		if err == nil || !errors.As(err, &env) || ctx.Err() != nil {
			return out, err
		}
		if attempt >= p.attempts {
			if attempt == 1 {
				return nil, fmt.Errorf("environment fault, not the commit's: %w", err)
			}
			return nil, fmt.Errorf("environment fault, not the commit's, after %d attempts: %w", attempt, err)
		}
		if !p.wait(ctx, run, attempt, errors.New((*red).String(err.Error()))) {
			return nil, fmt.Errorf("%w while waiting to try again after: %w", context.Cause(ctx), err)
		}
	}
}

// perform prepares run's job (its tree, its cloud credentials) and runs
// the steps of its kind. A failure to prepare that is not the commit's
// fault, nor a refusal of its credentials, is an *envFault.
func (r *Runner) perform(ctx context.Context, src Source, run *landform.Run, step kindSteps, red **redact.Redactor) (*PlanOutput, error) {
	target, err := src.Target(ctx, run.Commit, run.Workspace)
	if err != nil {
		if commitFault(err) || ctx.Err() != nil {
			return nil, err
		}
		return nil, &envFault{fmt.Errorf("reading workspace %s at %s: %w", run.Workspace, landform.ShortSHA(run.Commit), err)}
	}
	*red = (*red).With(slices.Sorted(maps.Values(target.Workspace.Env))...)
	work, err := os.MkdirTemp(r.workDir, "run-"+run.ID+"-")
	if err != nil {
		return nil, &envFault{fmt.Errorf("making work directory: %w", err)}
	}
	defer os.RemoveAll(work)
	root, scratch := filepath.Join(work, "tree"), filepath.Join(work, "scratch")
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return nil, &envFault{fmt.Errorf("making scratch directory: %w", err)}
	}
	if err := src.ExportPaths(ctx, run.Commit, root, target.Paths); err != nil {
		err = fmt.Errorf("exporting commit %s: %w", landform.ShortSHA(run.Commit), err)
		if commitFault(err) || ctx.Err() != nil {
			return nil, err
		}
		return nil, &envFault{err}
	}
	job := PlanJob{Workspace: target.Workspace, Root: root, ScratchDir: scratch, RequiredVersions: target.RequiredVersions}
	if err := r.credentialsFor(ctx, run, &job, red); err != nil {
		if credentialsRefused(err) || ctx.Err() != nil {
			return nil, err
		}
		return nil, &envFault{err}
	}
	r.logger.Debug("running", "kind", run.Kind, "repo", run.Repo, "workspace", run.Workspace, "run", run.ID, "commit", run.Commit)
	return step(ctx, r, job)
}

// conclude sets the end of a run: planned, no_changes or errored (or
// interrupted when the context was cancelled). The error text stored is
// redacted with red and bounded.
func (r *Runner) conclude(run *landform.Run, out *PlanOutput, runErr error, red *redact.Redactor) {
	run.FinishedAt = r.now().UTC()
	switch {
	case runErr != nil && errors.Is(runErr, context.Canceled):
		run.State = landform.StateInterrupted
	case runErr != nil:
		run.State = landform.StateErrored
	case out.Changes:
		run.State = landform.StatePlanned
	default:
		run.State = landform.StateNoChanges
	}
	if runErr != nil {
		run.Error = errorText(red, runErr)
		return
	}
	run.Summary = out.Summary
	run.PlanSHA256 = out.Artifact.SHA256
	if out.Drift != nil {
		run.Drift = driftOf(run, out.Drift, red)
	}
}

// driftOf is the drift record of run, a drift check that found f: string
// values of the attributes that moved pass red (the plan's sensitive
// values are masked already).
func driftOf(run *landform.Run, f *DriftFindings, red *redact.Redactor) *landform.WorkspaceDrift {
	w := &landform.WorkspaceDrift{
		Repo: run.Repo, Workspace: run.Workspace, Dir: run.Dir, Commit: run.Commit, RunID: run.ID,
		Drifted: f.Drifted, Resources: slices.Clone(f.Resources), CheckedAt: run.FinishedAt,
	}
	for i := range w.Resources {
		attrs := slices.Clone(w.Resources[i].Attributes)
		for j := range attrs {
			if s, ok := attrs[j].Before.(string); ok {
				attrs[j].Before = red.String(s)
			}
			if s, ok := attrs[j].After.(string); ok {
				attrs[j].After = red.String(s)
			}
		}
		w.Resources[i].Attributes = attrs
	}
	if w.Resources == nil {
		w.Resources = []landform.DriftedResource{}
	}
	return w
}

// redactVerdict masks the messages of a policy result: a rule may quote
// the plan's values.
func redactVerdict(v *landform.PolicyResult, red *redact.Redactor) *landform.PolicyResult {
	out := *v
	mask := func(ms []landform.PolicyMessage) []landform.PolicyMessage {
		ms = slices.Clone(ms)
		for i := range ms {
			ms[i].Message = red.String(ms[i].Message)
		}
		return ms
	}
	out.Deny, out.Warn = mask(v.Deny), mask(v.Warn)
	return &out
}

// errorText is the text of err as a run stores it: redacted with red and
// bounded to redact.MaxError.
func errorText(red *redact.Redactor, err error) string {
	return redact.Bound(red.String(err.Error()), redact.MaxError)
}

// fail ends run as errored (or interrupted) by err without running it,
// and records it with p.save.
func (r *Runner) fail(ctx context.Context, run *landform.Run, err error, p execPolicy) error {
	r.conclude(run, nil, err, r.redactor)
	return p.save(ctx, run)
}

// saveOnce records run in the store, once, even when ctx is cancelled
// (the outcome of an interrupted run is recorded too).
func (r *Runner) saveOnce(ctx context.Context, run *landform.Run) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := r.store.UpdateRun(ctx, run); err != nil {
		return fmt.Errorf("recording run %s: %w", run.ID, err)
	}
	return nil
}
