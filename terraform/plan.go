package terraform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/landform/landform"
)

// DefaultPlanFile is where Plan writes the plan, relative to the workspace
// directory, unless told otherwise.
const DefaultPlanFile = "landform.tfplan"

// PlanRequest describes one plan of one workspace.
type PlanRequest struct {
	// Dir is the configuration directory, in a clean exported tree.
	Dir string
	// Name labels the workspace in errors and logs, e.g. "envs/prod";
	// default Dir.
	Name string
	// TFWorkspace is the Terraform workspace; "" or "default" for the
	// default one. Another is selected, and created when missing.
	TFWorkspace string
	// VarFiles are passed as -var-file, relative to Dir.
	VarFiles []string
	// Env is extra environment for the child processes (see Environ).
	Env map[string]string
	// Constraints choose the binary (see Binary): the configuration's
	// required_version strings and the workspace's terraform_version.
	Constraints []string
	// RefreshOnly makes a refresh-only plan: the drift check.
	RefreshOnly bool
	// PlanFile is where the binary plan is written, relative to Dir unless
	// absolute; default DefaultPlanFile.
	PlanFile string
	// DataDir, when set, is terraform's data directory (TF_DATA_DIR)
	// instead of Dir/.terraform, so that plans of one directory in
	// different Terraform workspaces never share it.
	DataDir string
	// Root and Scratch are the job's tree and scratch directory (see
	// JobRequest).
	Root, Scratch string
	// Log, when set, receives the run log (see JobRequest.Log).
	Log io.Writer
}

func (r PlanRequest) job() JobRequest {
	return JobRequest{Dir: r.Dir, Name: r.Name, TFWorkspace: r.TFWorkspace, VarFiles: r.VarFiles, Env: r.Env,
		Constraints: r.Constraints, PlanFile: r.PlanFile, DataDir: r.DataDir, Root: r.Root, Scratch: r.Scratch, Log: r.Log}
}

// Timings are the durations of a job's steps.
type Timings struct {
	// Version is terraform-exec's `terraform version -json` probe, run
	// once per job and answered by the job's wrapper script without
	// terraform.
	Version time.Duration
	// InitWait is the time spent waiting for the plugin cache lock.
	InitWait  time.Duration
	Init      time.Duration
	Workspace time.Duration
	Plan      time.Duration
	Show      time.Duration
	Apply     time.Duration
	// Total is the whole of Engine.Plan, binary choice included.
	Total time.Duration
}

// PlanResult is a finished plan.
type PlanResult struct {
	// Artifact holds the binary plan, its JSON and its text (the plan
	// command's own output, without colour).
	Artifact landform.PlanArtifact
	// PlanFile is the absolute path of the binary plan.
	PlanFile string
	Summary  landform.PlanSummary
	// Drift is what changed outside Terraform (see DriftedResources).
	Drift []landform.DriftedResource
	// Changes says whether applying the plan would change anything
	// (resources, imports, outputs); for a refresh-only plan, whether
	// anything drifted.
	Changes bool
	// JSON is the parsed Artifact.JSON.
	JSON    *tfjson.Plan
	Binary  *Binary
	Timings Timings
}

// Plan makes a plan of one workspace with a Job: Init (terraform-exec's
// version probe, `init`, and the Terraform workspace's selection when it is
// not the default), Plan (`plan -out`), ShowPlanFile (`show -json`), and
// summarizes the JSON. Init is serialized per plugin cache (see lockInit).
//
// Errors: EINVALID for an invalid request, no suitable binary
// (ErrNoSuitableBinary) or a failed terraform step (a *StepError carrying
// terraform's diagnostics, e.g. "terraform plan in envs/prod: Error: ...
// on main.tf line 3"); a cancelled ctx interrupts terraform and the error
// matches ctx.Err() with errors.Is.
func (e *Engine) Plan(ctx context.Context, req PlanRequest) (*PlanResult, error) {
	start := time.Now()
	j, err := e.initJob(ctx, req)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	res, err := j.plan(ctx, j.PlanFile(), req.RefreshOnly)
	if err != nil {
		return nil, err
	}
	res.Timings.Total = time.Since(start)
	e.logger.Debug("planned", "workspace", j.name, "binary", res.Binary.String(), "summary", res.Summary.String(),
		"drift", len(res.Drift), "version", res.Timings.Version, "init_wait", res.Timings.InitWait,
		"init", res.Timings.Init, "plan", res.Timings.Plan, "show", res.Timings.Show)
	return res, nil
}

// plan runs Plan into planFile (absolute) and ShowPlanFile of it, and
// reads the result: the artifact, the summary, the drift, whether it
// changes anything, and the job's timings so far (Total left zero).
func (j *Job) plan(ctx context.Context, planFile string, refreshOnly bool) (*PlanResult, error) {
	res := &PlanResult{Binary: j.Binary(), PlanFile: planFile}
	var err error
	if res.Artifact.Text, err = j.planTo(ctx, planFile, refreshOnly); err != nil {
		return nil, err
	}
	p, raw, err := j.showPlan(ctx, planFile)
	if err != nil {
		return nil, err
	}
	res.JSON, res.Artifact.JSON = p, raw
	if res.Artifact.Plan, err = os.ReadFile(planFile); err != nil {
		return nil, fmt.Errorf("reading plan of %s: %w", j.name, err)
	}
	sum := sha256.Sum256(res.Artifact.Plan)
	res.Artifact.SHA256 = hex.EncodeToString(sum[:])
	res.Summary = Summarize(p)
	res.Drift = DriftedResources(p)
	res.Changes = hasChanges(p, refreshOnly)
	res.Timings = j.Timings()
	return res, nil
}

// initJob makes the job of req and runs its Init; the caller closes it.
func (e *Engine) initJob(ctx context.Context, req PlanRequest) (*Job, error) {
	j, err := e.NewJob(ctx, req.job())
	if err != nil {
		return nil, err
	}
	if err := j.Init(ctx); err != nil {
		j.Close()
		return nil, err
	}
	return j, nil
}
