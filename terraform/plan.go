package terraform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
}

// Timings are the durations of a plan's steps.
type Timings struct {
	// InitWait is the time spent waiting for the plugin cache lock.
	InitWait  time.Duration
	Init      time.Duration
	Workspace time.Duration
	Plan      time.Duration
	Show      time.Duration
	Total     time.Duration
}

// PlanResult is a finished plan.
type PlanResult struct {
	// Artifact holds the binary plan, its JSON and its text (the plan
	// command's own output, without colour).
	Artifact landform.PlanArtifact
	// PlanFile is the absolute path of the binary plan.
	PlanFile string
	Summary  landform.PlanSummary
	// Drift is what changed outside Terraform (from resource_drift).
	Drift []landform.DriftResource
	// Changes says whether applying the plan would change anything; for a
	// refresh-only plan, whether anything drifted.
	Changes bool
	// JSON is the parsed Artifact.JSON.
	JSON    *tfjson.Plan
	Binary  *Binary
	Timings Timings
}

// Plan runs `init`, selects the Terraform workspace when it is not the
// default, runs `plan -out`, then `show -json` of the plan file — three
// processes for the default workspace — and summarizes the JSON. Init is
// serialized per plugin cache (see lockInit).
//
// Errors: EINVALID for an invalid request, no suitable binary
// (ErrNoSuitableBinary) or a failed terraform step (a *StepError carrying
// terraform's diagnostics, e.g. "terraform plan in envs/prod: Error: ...
// on main.tf line 3"); a cancelled ctx interrupts terraform and the error
// matches ctx.Err() with errors.Is.
func (e *Engine) Plan(ctx context.Context, req PlanRequest) (*PlanResult, error) {
	start := time.Now()
	if req.Dir == "" {
		return nil, landform.Errorf(landform.EINVALID, "plan: no directory")
	}
	dir, err := filepath.Abs(req.Dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, landform.Errorf(landform.EINVALID, "plan: %s is not a directory", req.Dir)
	}
	name := req.Name
	if name == "" {
		name = req.Dir
	}
	tfws := req.TFWorkspace
	if tfws == landform.DefaultTFWorkspace {
		tfws = ""
	}
	planFile := req.PlanFile
	if planFile == "" {
		planFile = DefaultPlanFile
	}
	if !filepath.IsAbs(planFile) {
		planFile = filepath.Join(dir, planFile)
	}
	log := e.logger.With("workspace", name)

	bin, err := e.Binary(ctx, req.Constraints...)
	if err != nil {
		return nil, fmt.Errorf("plan of %s: %w", name, err)
	}
	env, err := e.Environ(req.Env)
	if err != nil {
		return nil, err
	}
	if req.DataDir != "" {
		env = append(env, "TF_DATA_DIR="+req.DataDir)
	}
	res := &PlanResult{Binary: bin, PlanFile: planFile}
	cmd := func(step string, args []string) command {
		return command{bin: bin, dir: dir, args: args, env: env, step: step, workspace: name}
	}

	// init, one at a time per plugin cache.
	t := time.Now()
	unlock, err := e.lockInit(ctx, e.initCacheDir(dir))
	if err != nil {
		return nil, fmt.Errorf("%s init in %s: waiting for the plugin cache: %w", bin.Kind, name, err)
	}
	res.Timings.InitWait = time.Since(t)
	t = time.Now()
	_, err = e.run(ctx, cmd("init", initArgs()))
	unlock()
	res.Timings.Init = time.Since(t)
	if err != nil {
		return nil, err
	}

	if tfws != "" {
		t = time.Now()
		if err := e.selectWorkspace(ctx, bin, cmd, tfws); err != nil {
			return nil, err
		}
		res.Timings.Workspace = time.Since(t)
	}

	// Never leave an older plan where the new one is expected.
	if err := os.Remove(planFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing old plan file: %w", err)
	}
	t = time.Now()
	out, err := e.run(ctx, cmd("plan", planArgs(planFile, req.RefreshOnly, req.VarFiles)))
	res.Timings.Plan = time.Since(t)
	if err != nil {
		return nil, err
	}
	res.Artifact.Text = cleanText(string(out.stdout))

	t = time.Now()
	shown, err := e.run(ctx, cmd("show", showArgs(planFile)))
	res.Timings.Show = time.Since(t)
	if err != nil {
		return nil, err
	}
	res.Artifact.JSON = shown.stdout

	if res.Artifact.Plan, err = os.ReadFile(planFile); err != nil {
		return nil, fmt.Errorf("reading plan of %s: %w", name, err)
	}
	sum := sha256.Sum256(res.Artifact.Plan)
	res.Artifact.SHA256 = hex.EncodeToString(sum[:])

	var p tfjson.Plan
	if err := json.Unmarshal(res.Artifact.JSON, &p); err != nil {
		return nil, fmt.Errorf("%s show -json in %s: reading plan JSON: %w", bin.Kind, name, err)
	}
	res.JSON = &p
	res.Summary = Summarize(&p)
	res.Drift = Drift(&p)
	res.Changes = hasChanges(&p, req.RefreshOnly)
	res.Timings.Total = time.Since(start)
	log.Debug("planned", "binary", bin.String(), "summary", res.Summary.String(), "drift", len(res.Drift),
		"init_wait", res.Timings.InitWait, "init", res.Timings.Init, "plan", res.Timings.Plan, "show", res.Timings.Show)
	return res, nil
}

// selectWorkspace selects tfws, creating it when it does not exist.
func (e *Engine) selectWorkspace(ctx context.Context, bin *Binary, cmd func(string, []string) command, tfws string) error {
	args := workspaceArgs(bin, tfws)
	_, err := e.run(ctx, cmd("workspace select", args))
	if err == nil || ctx.Err() != nil {
		return err
	}
	if bin.Kind == KindTofu || bin.Version.GreaterThanOrEqual(workspaceSelectOrCreate) {
		return err
	}
	_, err = e.run(ctx, cmd("workspace new", workspaceNewArgs(tfws)))
	return err
}

// cleanText strips colour codes, in case a provider wrote some.
func cleanText(s string) string {
	return ansiRe.ReplaceAllString(s, "")
}
