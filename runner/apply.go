package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/redact"
)

// Applying a plan: an approved plan run goes applying → applied,
// apply_failed or stale, on the plan run itself (its ID is what people
// approve and apply). StartApply checks everything that can refuse an apply
// and moves the run to applying atomically, so that of any number of
// concurrent requests exactly one applies; FinishApply re-reads the plan
// artifact, checks its sha256 against the approved one and applies the
// saved plan file through the Applier. An apply cut off by a crash stays
// applying in the store, and the next start flags it for a person
// (RecoverRuns): it is never tried again.

// ApplyJob is one saved plan to apply in an exported tree.
type ApplyJob struct {
	PlanJob
	// PlanFile is the saved plan, in the job's scratch directory.
	PlanFile string
}

// ApplyOutput is what applying a saved plan produced.
type ApplyOutput struct {
	// Output is terraform apply's output, Summary its one-line summary
	// ("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.").
	Output, Summary string
}

// Applier applies a saved plan file, never anything else (no
// -auto-approve without a plan). When the state moved since the plan was
// made, its error matches landform.ErrStalePlan.
type Applier interface {
	Apply(ctx context.Context, job ApplyJob) (*ApplyOutput, error)
}

// WithApplier sets what applies saved plans. Default: none (an apply is
// refused).
func WithApplier(a Applier) Option { return func(r *Runner) { r.applier = a } }

// ApplyStore is what applying needs of a store.
type ApplyStore interface {
	ApprovalStore
	CreateRun(ctx context.Context, r *landform.Run) error
	UpdateRun(ctx context.Context, r *landform.Run) error
	AcquireLock(ctx context.Context, l landform.Lock) error
	ReleaseLock(ctx context.Context, repo, workspace, holder string) error
}

// ApplySource is what applying needs of a repository: the tree of the
// commit, and the remote's refs to check the plan's head has not moved.
type ApplySource interface {
	Source
	// Refs lists the remote's refs (name → commit) and names its default
	// branch.
	Refs(ctx context.Context) (refs map[string]string, defaultBranch string, err error)
	// Fetch brings refs into the local cache.
	Fetch(ctx context.Context, refs []string) error
	// MergeBase returns the best common ancestor of two commits.
	MergeBase(ctx context.Context, a, b string) (string, error)
}

// ApplyEnv is what an apply works with.
type ApplyEnv struct {
	Store  ApplyStore
	Policy ApprovalPolicy
	Source ApplySource
	// Forge is the repository's forge, nil for none (then an apply that
	// requires mergeable is refused).
	Forge Forge
	// LockPolicy is the repository's lock policy: under strict or apply,
	// the apply takes the workspace lock.
	LockPolicy landform.LockPolicy
	// Save records the finished apply; nil means once, in the runner's
	// store.
	Save func(ctx context.Context, run *landform.Run) error
	// Owner names who runs the apply (the daemon or replica; "" for a
	// one-shot CLI): a replica's crash is recovered by it.
	Owner string
}

// ApplyRequest is someone's request to apply a run's plan.
type ApplyRequest struct {
	RunID       string
	By, Channel string
	Now         time.Time
	// Auto is a drift remediation applied without a person (remediation:
	// auto with auto_apply): the approvals the rules require are not
	// asked for; every other check is made.
	Auto bool
}

// applyable are the states a plan may be applied from, approval aside.
var applyable = []landform.RunState{landform.StatePlanned, landform.StateAwaitingApproval, landform.StateApproved}

// StartApply checks that the plan of run req.RunID may be applied now and
// moves it to applying: it is a plan; the approvals it needs (bound to its
// commit and plan sha256) are there when the rules require approved; the
// apply mode is before_merge for a pull request's plan; its policies did
// not deny it; its ref's head is still its commit (else the run becomes
// superseded); with undiverged, its pull request contains its base
// branch's head; with mergeable, the forge says it can merge. Of
// concurrent requests exactly one moves the run; the others get ECONFLICT
// naming who asked first. Then it takes the workspace lock (the lock
// policy's holder: the pull request, or the branch); when another holder
// has it, the run goes back to its state and the error says who holds it.
//
// Errors: ENOTFOUND for an unknown run; ECONFLICT when the run is not in a
// state to apply (not approved enough, superseded, applying or applied
// already) or the workspace is locked; EINVALID when the rules refuse it
// (apply on merge, diverged, not mergeable, policy denied). Refusals wrap a
// *RefusedError.
func (r *Runner) StartApply(ctx context.Context, env ApplyEnv, req ApplyRequest) (*landform.Run, error) {
	s := env.Store
	if r.applier == nil {
		return nil, landform.Errorf(landform.EINVALID, "this Landform cannot apply (no terraform engine)")
	}
	run, err := s.GetRun(ctx, req.RunID)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.By) == "" {
		return nil, landform.Errorf(landform.EINVALID, "an apply needs who asks for it")
	}
	if run.Kind != landform.RunPlan {
		return nil, refuse(landform.EINVALID, run, "is a %s run: only plans are applied", run.Kind)
	}
	switch run.State {
	case landform.StateApplying:
		return run, refuse(landform.ECONFLICT, run, "is applying already (asked by %s via %s)", run.Apply.By, run.Apply.Channel)
	case landform.StateApplied:
		return run, refuse(landform.ECONFLICT, run, "was applied already (%s)", run.Apply.Summary)
	}
	if !slices.Contains(applyable, run.State) {
		return run, refuse(landform.ECONFLICT, run, "is %s: %s", run.State, whyNotApprovable(run))
	}
	rules, err := env.Policy.Rules(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("reading the approval rules of %s: %w", run.Workspace, err)
	}
	_, isPR := pullRequest(run.Ref)
	if isPR && rules.Mode == landform.ApplyOnMerge {
		return run, refuse(landform.EINVALID, run, "%s applies on merge: merge the pull request, and Landform plans the merge commit and applies it when its changes equal this approved plan's", run.Workspace)
	}
	if rules.Requires(landform.RequireApproved) && !req.Auto {
		approvals, err := s.ListApprovals(ctx, run.ID)
		if err != nil {
			return nil, err
		}
		tally, err := TallyApprovals(ctx, env.Policy, run, approvals, rules)
		if err != nil {
			return nil, err
		}
		if run.State != landform.StateApproved || !tally.Satisfied() {
			return run, refuse(landform.ECONFLICT, run, "is not approved: %s (landform approve %s)", cmpOr(tally.Missing, "approvals missing"), run.ID)
		}
	}
	if run.Policy.Denied() {
		return run, refuse(landform.EINVALID, run, "its policies denied it")
	}
	if err := r.checkHead(ctx, env, run, rules, isPR); err != nil {
		return run, err
	}
	now := req.Now.UTC()
	run, err = s.TransitionRun(ctx, run.ID, applyable, func(x *landform.Run) error {
		if x.Commit != run.Commit || x.PlanSHA256 != run.PlanSHA256 {
			return refuse(landform.ECONFLICT, x, "changed while its apply was checked")
		}
		x.State = landform.StateApplying
		x.Apply = &landform.ApplyResult{By: req.By, Channel: req.Channel, RequestedAt: now}
		x.Owner = env.Owner
		return nil
	})
	if errors.Is(err, landform.ErrWorkspaceBusy) {
		return run, err
	}
	if landform.ErrorCode(err) == landform.ECONFLICT && run != nil {
		// Another request moved it first.
		if run.State == landform.StateApplying && run.Apply != nil {
			return run, refuse(landform.ECONFLICT, run, "is applying already (asked by %s via %s)", run.Apply.By, run.Apply.Channel)
		}
		return run, refuse(landform.ECONFLICT, run, "is %s: %s", run.State, whyNotApprovable(run))
	}
	if err != nil {
		return run, err
	}
	if env.LockPolicy == landform.LockStrict || env.LockPolicy == landform.LockApply {
		err := s.AcquireLock(ctx, landform.Lock{Repo: run.Repo, Workspace: run.Workspace, Holder: lockHolder(run), RunID: run.ID,
			Reason: "apply of run " + run.ID, CreatedAt: now})
		if err != nil {
			back, berr := s.TransitionRun(ctx, run.ID, []landform.RunState{landform.StateApplying}, func(x *landform.Run) error {
				x.State, x.Apply = landform.StateApproved, nil
				return nil
			})
			if berr != nil {
				return back, fmt.Errorf("%w (and putting the run back to approved failed: %v)", err, berr)
			}
			return back, fmt.Errorf("taking the workspace lock: %w", err)
		}
	}
	return run, nil
}

// cmpOr returns s, or def when s is empty.
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// checkHead refuses the apply of run when its ref moved (then run is
// marked superseded), and, as rules require, when its pull request
// diverged from its base branch or cannot merge.
func (r *Runner) checkHead(ctx context.Context, env ApplyEnv, run *landform.Run, rules landform.ApprovalRules, isPR bool) error {
	if run.Ref == "" {
		return refuse(landform.EINVALID, run, "has no ref (a one-shot plan): Landform cannot check that its head has not moved, so it does not apply it")
	}
	refs, defaultBranch, err := env.Source.Refs(ctx)
	if err != nil {
		return fmt.Errorf("listing refs to check the head of %s: %w", run.Ref, err)
	}
	head, ok := refs[run.Ref]
	if !ok {
		return refuse(landform.ECONFLICT, run, "%s is gone from the remote (closed or deleted): nothing is applied", run.Ref)
	}
	if head != run.Commit {
		superseded, err := env.Store.TransitionRun(ctx, run.ID, applyable, func(x *landform.Run) error {
			x.State = landform.StateSuperseded
			return nil
		})
		if err == nil {
			*run = *superseded
		}
		return refuse(landform.ECONFLICT, run, "%s moved to %s since this plan of %s: superseded, nothing is applied; approve the plan of the new head",
			run.Ref, landform.ShortSHA(head), landform.ShortSHA(run.Commit))
	}
	if !isPR {
		return nil
	}
	if rules.Requires(landform.RequireUndiverged) {
		base := branchPrefix + cmpOr(run.PR.BaseBranch, defaultBranch)
		baseHead, ok := refs[base]
		if !ok {
			return refuse(landform.EINVALID, run, "its base branch %s is not on the remote: cannot check it has not diverged", base)
		}
		if err := env.Source.Fetch(ctx, []string{run.Ref, base}); err != nil {
			return fmt.Errorf("fetching %s and %s: %w", run.Ref, base, err)
		}
		mb, err := env.Source.MergeBase(ctx, run.Commit, baseHead)
		if err != nil {
			return fmt.Errorf("merge base of %s and %s: %w", run.Ref, base, err)
		}
		if mb != baseHead {
			return refuse(landform.EINVALID, run, "the pull request diverged from %s (it does not contain %s): merge or rebase it, and approve the new plan",
				strings.TrimPrefix(base, branchPrefix), landform.ShortSHA(baseHead))
		}
	}
	if rules.Requires(landform.RequireMergeable) {
		if env.Forge == nil {
			return refuse(landform.EINVALID, run, "mergeable is required but the repository has no forge to ask")
		}
		prs, err := env.Forge.PullRequests(ctx)
		if err != nil {
			return fmt.Errorf("asking the forge whether pull request %d can merge: %w", run.PR.Number, err)
		}
		n, _ := prNumber(run.Ref)
		i := slices.IndexFunc(prs, func(p landform.PullRequest) bool { return p.Number == n })
		if i < 0 {
			return refuse(landform.ECONFLICT, run, "pull request %d is not open", n)
		}
		if prs[i].Mergeable != landform.MergeableYes {
			return refuse(landform.EINVALID, run, "pull request %d is not mergeable (%s)", n, prs[i].Mergeable)
		}
	}
	return nil
}

// maxApplyOutput bounds the apply output a run keeps.
const maxApplyOutput = 64 << 10

// FinishApply applies the plan of run, which StartApply moved to applying,
// and records the outcome: applied; stale (the state moved: a fresh plan is
// queued, which needs a new approval, and Apply.Replan names it);
// apply_failed; interrupted when ctx was cancelled (never retried). The
// plan artifact is re-read and its sha256 checked against the approved
// one first: a mismatch applies nothing. When terraform did not start (the
// commit could not be exported), the run goes back to approved with the
// reason in Apply.Error, so the apply can be asked for again. The run
// returned is as recorded, or as it should have been when recording
// failed (the error says so).
func (r *Runner) FinishApply(ctx context.Context, env ApplyEnv, run *landform.Run) (*landform.Run, error) {
	red := r.redactor
	res := *run.Apply
	run.Apply = &res
	res.StartedAt = r.now().UTC()
	out, started, err := r.applyPlan(ctx, env.Source, run, &red)
	res.FinishedAt = r.now().UTC()
	var replan *landform.Run
	switch {
	case err == nil:
		run.State = landform.StateApplied
		res.Summary = red.String(out.Summary)
		res.Output = redact.Bound(red.String(out.Output), maxApplyOutput)
	case errors.As(err, new(*tamperedError)):
		run.State = landform.StateApplyFailed
		res.Error = errorText(red, err)
	case !started:
		run.State = landform.StateApproved
		res.Error = "not applied: " + errorText(red, err)
	case errors.Is(err, context.Canceled):
		run.State = landform.StateInterrupted
		res.Error = errorText(red, err)
		run.Error = "interrupted while applying: not retried; check the state and the backend's lock, then plan again"
	case errors.Is(err, landform.ErrStalePlan):
		run.State = landform.StateStale
		res.Error = errorText(red, err)
		replan = &landform.Run{
			Repo: run.Repo, Workspace: run.Workspace, Dir: run.Dir, Commit: run.Commit, Ref: run.Ref,
			Kind: landform.RunPlan, State: landform.StateQueued, PR: run.PR, CommitAuthor: run.CommitAuthor,
			CreatedAt: r.now().UTC(),
		}
	default:
		run.State = landform.StateApplyFailed
		res.Error = errorText(red, err)
	}
	if replan != nil {
		if cerr := env.Store.CreateRun(ctx, replan); cerr != nil {
			res.Error += fmt.Sprintf("; queueing a fresh plan failed: %v", cerr)
			replan = nil
		} else {
			res.Replan = replan.ID
		}
	}
	save := env.Save
	if save == nil {
		save = r.saveOnce
	}
	if err := save(ctx, run); err != nil {
		return run, err
	}
	_, isPR := pullRequest(run.Ref)
	if !isPR && !stateMayHaveMoved(run, started, err) {
		// A branch's plan holds no lock once applied, or once its apply
		// changed nothing (stale, tampered, not started); a pull request
		// keeps its own until it merges or closes, and an apply that
		// failed or was cut off in terraform keeps it for a person.
		if err := env.Store.ReleaseLock(ctx, run.Repo, run.Workspace, lockHolder(run)); err != nil {
			return run, fmt.Errorf("releasing the lock of %s: %w", run.Workspace, err)
		}
	}
	return run, nil
}

// stateMayHaveMoved reports whether run's apply may have left its state
// half changed: terraform started, and ended neither applied nor refusing
// a stale plan (which it does before changing anything).
func stateMayHaveMoved(run *landform.Run, started bool, err error) bool {
	return started && run.State != landform.StateApplied && !errors.Is(err, landform.ErrStalePlan)
}

// lockHolder is the holder of the locks run's ref takes: its pull request,
// or its branch.
func lockHolder(run *landform.Run) string {
	if h, ok := pullRequest(run.Ref); ok {
		return h
	}
	return "branch/" + strings.TrimPrefix(run.Ref, branchPrefix)
}

// applyPlan prepares run's tree and cloud credentials and applies its
// stored plan; started says whether terraform was started.
func (r *Runner) applyPlan(ctx context.Context, src Source, run *landform.Run, red **redact.Redactor) (*ApplyOutput, bool, error) {
	art, err := r.plans.Get(ctx, run.ID)
	if err != nil {
		return nil, false, fmt.Errorf("reading the approved plan: %w", err)
	}
	sum := sha256.Sum256(art.Plan)
	if got := hex.EncodeToString(sum[:]); got != run.PlanSHA256 {
		return nil, false, &tamperedError{got: got, want: run.PlanSHA256}
	}
	*red = (*red).With(redact.SensitiveValues(art.JSON)...)
	target, err := src.Target(ctx, run.Commit, run.Workspace)
	if err != nil {
		return nil, false, fmt.Errorf("reading workspace %s at %s: %w", run.Workspace, landform.ShortSHA(run.Commit), err)
	}
	*red = (*red).With(slices.Sorted(maps.Values(target.Workspace.Env))...)
	work, err := os.MkdirTemp(r.workDir, "apply-"+run.ID+"-")
	if err != nil {
		return nil, false, fmt.Errorf("making work directory: %w", err)
	}
	defer os.RemoveAll(work)
	root, scratch := filepath.Join(work, "tree"), filepath.Join(work, "scratch")
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return nil, false, fmt.Errorf("making scratch directory: %w", err)
	}
	if err := src.ExportPaths(ctx, run.Commit, root, target.Paths); err != nil {
		return nil, false, fmt.Errorf("exporting commit %s: %w", landform.ShortSHA(run.Commit), err)
	}
	planFile := filepath.Join(scratch, "approved.tfplan")
	if err := os.WriteFile(planFile, art.Plan, 0o600); err != nil {
		return nil, false, fmt.Errorf("writing the plan file: %w", err)
	}
	job := PlanJob{Workspace: target.Workspace, Root: root, ScratchDir: scratch, RequiredVersions: target.RequiredVersions}
	if err := r.credentialsFor(ctx, run, &job, red); err != nil {
		return nil, false, err
	}
	r.logger.Info("applying", "repo", run.Repo, "workspace", run.Workspace, "run", run.ID, "commit", landform.ShortSHA(run.Commit), "plan_sha256", run.PlanSHA256)
	out, err := r.applier.Apply(ctx, ApplyJob{PlanJob: job, PlanFile: planFile})
	return out, true, err
}

// tamperedError is the error of a stored plan that is not the approved
// one: nothing is applied, and the run fails for a person to look at.
type tamperedError struct{ got, want string }

func (e *tamperedError) Error() string {
	return fmt.Sprintf("the stored plan's sha256 is %s, not the approved %s: refusing to apply it (tampered or corrupted); nothing was applied", e.got, e.want)
}
