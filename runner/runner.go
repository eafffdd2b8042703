// Package runner is Landform's orchestration core: it turns "these
// workspaces at this commit" into stored runs, planning each workspace with a
// bounded pool of workers and recording every state transition.
//
// The runner imports only the root package. It declares the small interfaces
// it consumes (Store, PlanStore, Planner, Source); adapters in store/…,
// planstore/…, terraform and gitrepo implement them and cmd/landform wires
// them together.
package runner

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/redact"
)

// Store keeps run records.
type Store interface {
	// CreateRun stores r and assigns r.ID (and r.CreatedAt when zero).
	CreateRun(ctx context.Context, r *landform.Run) error
	// UpdateRun saves r's mutable fields. Returns ENOTFOUND for an unknown run.
	UpdateRun(ctx context.Context, r *landform.Run) error
	// GetRun returns ENOTFOUND for an unknown run.
	GetRun(ctx context.Context, id string) (*landform.Run, error)
	// ListRuns returns runs newest first.
	ListRuns(ctx context.Context, f landform.RunFilter) ([]*landform.Run, error)
}

// PlanStore keeps plan artifacts by run ID.
type PlanStore interface {
	// Put stores a, sets a.SHA256 and returns it.
	Put(ctx context.Context, runID string, a *landform.PlanArtifact) (string, error)
	// Get returns the artifact of run runID; ENOTFOUND when there is none.
	Get(ctx context.Context, runID string) (*landform.PlanArtifact, error)
	// HighestRunID returns the highest decimal run ID stored, 0 when
	// there is none.
	HighestRunID(ctx context.Context) (int64, error)
}

// Source is what the executor needs of a repository to prepare a run.
type Source interface {
	// Target returns the workspace named name at commit, with what its
	// configuration requires and reads. ENOTFOUND when there is none.
	Target(ctx context.Context, commit, name string) (landform.Target, error)
	// ExportPaths writes the given directories and files of commit's tree
	// (all of it when paths is nil) into dir.
	ExportPaths(ctx context.Context, commit, dir string, paths []string) error
}

// PlanJob is one workspace to plan in an exported tree.
type PlanJob struct {
	Workspace landform.Workspace
	// Root is the exported tree of the commit; the workspace's
	// configuration is Root/Workspace.Dir.
	Root string
	// ScratchDir is private to this job: terraform's data directory and the
	// plan file go there.
	ScratchDir string
	// RequiredVersions are the configuration's required_version strings.
	RequiredVersions []string
	// Env is environment of this run only (its cloud credentials, see
	// WithCredentials), over every other: terraform gets it on top of the
	// server's terraform env (EnvWith), and Workspace.Env holds none of
	// its names. Never stored or logged.
	Env map[string]string
}

// PlanOutput is what planning one workspace produced.
type PlanOutput struct {
	Artifact landform.PlanArtifact
	Summary  landform.PlanSummary
	// Changes says whether applying the plan would change anything:
	// resources, outputs or imports. It decides planned or no_changes.
	Changes bool
	// Drift is what a drift check found (nil for a plan): the resources
	// changed and deleted outside Terraform, and the code not applied.
	Drift *DriftFindings
}

// DriftFindings are what a drift check found beside its normal plan.
type DriftFindings struct {
	Resources []landform.DriftedResource
	// Drifted: something changed or was deleted outside Terraform.
	Drifted bool
}

// DriftChecker checks a workspace for drift: a refresh-only plan, then a
// normal plan (the PlanOutput's artifact), classified (Drift set).
type DriftChecker interface {
	Drift(ctx context.Context, job PlanJob) (*PlanOutput, error)
}

// Planner plans one workspace. Its error text is what users read for an
// errored run, so it should carry terraform's diagnostics (file:line).
type Planner interface {
	Plan(ctx context.Context, job PlanJob) (*PlanOutput, error)
}

// Policies judges a run's plan (OPA Rego over its JSON): deny, warn,
// require approvals. An error (a policy that does not compile or fails to
// evaluate) fails the run: policies fail closed.
type Policies interface {
	Evaluate(ctx context.Context, run *landform.Run, planJSON []byte) (*landform.PolicyResult, error)
}

// Runner executes runs and records them: the one executor of every run
// kind, used by the daemon's workers and by one-shot batches alike.
type Runner struct {
	store    Store
	plans    PlanStore
	planner  Planner
	logger   *slog.Logger
	now      func() time.Time
	parallel int
	workDir  string
	redactor *redact.Redactor
	policies Policies
	applier  Applier
	drifter  DriftChecker
	// credentials gives each run its own environment, nil for none.
	credentials Credentials
}

// Option configures a Runner.
type Option func(*Runner)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(r *Runner) { r.logger = l } }

// WithClock sets the clock used for run timestamps.
func WithClock(now func() time.Time) Option { return func(r *Runner) { r.now = now } }

// WithParallel bounds how many workspaces are planned at once (default: the
// number of CPUs).
func WithParallel(n int) Option {
	return func(r *Runner) {
		if n > 0 {
			r.parallel = min(n, MaxParallel)
		}
	}
}

// MaxParallel is the most runs a runner executes at once.
const MaxParallel = 256

// CheckParallel says why n is no parallelism a runner takes (at least 1,
// at most MaxParallel), nil when it is one.
func CheckParallel(n int) error {
	if n < 1 || n > MaxParallel {
		return fmt.Errorf("must be between 1 and %d, not %d", MaxParallel, n)
	}
	return nil
}

// WithWorkDir sets where exported trees and scratch directories are made
// (default: the system temporary directory).
func WithWorkDir(dir string) Option { return func(r *Runner) { r.workDir = dir } }

// WithRedactor sets the redaction of every text a run stores (its error,
// its plan's text) and of what the runner logs of it: red masks the values
// Landform hands to terraform (the server's terraform env, repository
// tokens); each run adds its workspace's env values and the values its
// plan marks sensitive. Default: mask nothing.
func WithRedactor(red *redact.Redactor) Option { return func(r *Runner) { r.redactor = red } }

// WithPolicies makes every plan with changes be judged by p: a deny puts
// the run in policy_failed, an evaluation error makes it errored. Default:
// no policies.
func WithPolicies(p Policies) Option { return func(r *Runner) { r.policies = p } }

// WithDriftChecker makes the runner execute drift runs with dc. Default:
// none (a drift run is errored).
func WithDriftChecker(dc DriftChecker) Option { return func(r *Runner) { r.drifter = dc } }

// New returns a Runner.
func New(store Store, plans PlanStore, planner Planner, opts ...Option) *Runner {
	r := &Runner{
		store:    store,
		plans:    plans,
		planner:  planner,
		logger:   slog.New(slog.DiscardHandler),
		now:      time.Now,
		parallel: runtime.NumCPU(),
	}
	for _, o := range opts {
		o(r)
	}
	return r
}
