package terraform

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
	"github.com/landform/landform"
)

// jobMarkerEnv is the variable, unique per job, by which an interrupted job
// finds its processes (see interrupt).
const jobMarkerEnv = "LANDFORM_JOB"

// JobRequest describes a job: terraform commands run in one workspace
// directory, in one Terraform workspace, with one binary.
type JobRequest struct {
	// Dir is the configuration directory.
	Dir string
	// Name labels the workspace in errors and logs, e.g. "envs/prod";
	// default Dir.
	Name string
	// TFWorkspace is the Terraform workspace; "" or "default" for the
	// default one. Another is selected by Init, and created when missing.
	TFWorkspace string
	// VarFiles are passed to plan as -var-file, relative to Dir.
	VarFiles []string
	// Env is extra environment for the child processes (see Environ).
	Env map[string]string
	// Constraints choose the binary (see Engine.Binary).
	Constraints []string
	// PlanFile is where Plan writes the binary plan and ShowPlanFile reads
	// it, relative to Dir unless absolute; default DefaultPlanFile.
	PlanFile string
	// DataDir, when set, is terraform's data directory (TF_DATA_DIR)
	// instead of Dir/.terraform.
	DataDir string
	// Log, when set, receives the run log: what init, workspace
	// selection, plan and apply print on stdout and stderr, line by line
	// as terraform writes them (show's JSON is left out).
	Log io.Writer
}

// Job runs terraform for one workspace through one tfexec.Terraform. Its
// steps are separate methods so that plans, applies and drift checks
// compose them: Init, then Plan and ShowPlanFile, or Apply. A Job is not
// safe for concurrent use (tfexec.Terraform holds per-command settings);
// make one per run.
//
// terraform-exec runs `terraform version -json` once per Job, before the
// first command (Init runs it first, outside the plugin cache lock).
type Job struct {
	engine   *Engine
	tf       *tfexec.Terraform
	bin      *Binary
	dir      string
	name     string
	tfws     string // "" for the default workspace
	varFiles []string
	planFile string
	marker   string
	log      io.Writer
	timings  Timings
}

// NewJob chooses the binary for req and prepares the job; it runs no
// terraform command besides the binary's version probe (see Binary), which
// is cached. Returns EINVALID for an invalid request (no directory, an
// owned variable in Env, an invalid constraint) and an error matching
// ErrNoSuitableBinary when no binary fits.
func (e *Engine) NewJob(ctx context.Context, req JobRequest) (*Job, error) {
	if req.Dir == "" {
		return nil, landform.Errorf(landform.EINVALID, "terraform job: no directory")
	}
	dir, err := filepath.Abs(req.Dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, landform.Errorf(landform.EINVALID, "terraform job: %s is not a directory", req.Dir)
	}
	j := &Job{engine: e, dir: dir, name: req.Name, tfws: req.TFWorkspace, varFiles: req.VarFiles,
		planFile: req.PlanFile, marker: rand.Text(), log: &lockedWriter{w: io.Discard}}
	if j.name == "" {
		j.name = req.Dir
	}
	if j.tfws == landform.DefaultTFWorkspace {
		j.tfws = ""
	}
	if j.planFile == "" {
		j.planFile = DefaultPlanFile
	}
	if !filepath.IsAbs(j.planFile) {
		j.planFile = filepath.Join(dir, j.planFile)
	}
	if req.Log != nil {
		j.log = &lockedWriter{w: req.Log}
	}
	environ, err := e.Environ(req.Env)
	if err != nil {
		return nil, err
	}
	env := envMap(environ)
	if req.DataDir != "" {
		env["TF_DATA_DIR"] = req.DataDir
	}
	env[jobMarkerEnv] = j.marker
	for k := range req.Env {
		if strings.HasPrefix(k, "TF_LOG") {
			e.logger.Warn("ignoring workspace env: terraform-exec empties TF_LOG*", "workspace", j.name, "var", k)
		}
	}

	if j.bin, err = e.Binary(ctx, req.Constraints...); err != nil {
		return nil, fmt.Errorf("terraform job of %s: %w", j.name, err)
	}
	if j.tf, err = tfexec.NewTerraform(dir, j.bin.Path); err != nil {
		return nil, fmt.Errorf("terraform job of %s: %w", j.name, err)
	}
	if err := setTFEnv(j.tf, env); err != nil {
		return nil, fmt.Errorf("terraform job of %s: %w", j.name, err)
	}
	if err := j.tf.SetWaitDelay(e.grace); err != nil {
		return nil, fmt.Errorf("terraform job of %s: %w", j.name, err)
	}
	j.tf.SetLogger(tfexecLogger{e, j.name})
	return j, nil
}

// setTFEnv gives tf exactly env. tfexec's SetEnv refuses variables it
// manages itself, among them TF_VAR_*, TF_INPUT and TF_IN_AUTOMATION
// (hashicorp/terraform-exec#584), but keeps the map it is given and copies
// it into every command: the refused variables are added to that map after
// the call. tfexec still overrides TF_IN_AUTOMATION (1), TF_LOG* (empty)
// and TF_APPEND_USER_AGENT, and drops TF_WORKSPACE. TestJobCommands checks
// the environment terraform gets.
func setTFEnv(tf *tfexec.Terraform, env map[string]string) error {
	m := tfexec.CleanEnv(maps.Clone(env))
	if err := tf.SetEnv(m); err != nil {
		return err
	}
	maps.Copy(m, env)
	return nil
}

// tfexecLogger sends terraform-exec's log lines (the commands it runs) to
// the engine's logger at debug level.
type tfexecLogger struct {
	e    *Engine
	name string
}

func (l tfexecLogger) Printf(format string, v ...any) {
	l.e.logger.Debug(fmt.Sprintf(format, v...), "workspace", l.name)
}

// Binary is the binary the job runs.
func (j *Job) Binary() *Binary { return j.bin }

// PlanFile is the absolute path of the job's plan file.
func (j *Job) PlanFile() string { return j.planFile }

// Timings are the durations of the steps run so far.
func (j *Job) Timings() Timings { return j.timings }

// Init runs `init` and selects the job's Terraform workspace, creating it
// when missing. Before init it runs terraform-exec's version probe, outside
// the plugin cache lock, so that parallel jobs do not queue for it; init
// itself is serialized per plugin cache (see lockInit).
//
// Errors: a failed step is a *StepError inside a *landform.Error with code
// EINVALID, carrying terraform's diagnostics; a cancelled ctx interrupts
// terraform and the error matches ctx.Err() with errors.Is.
func (j *Job) Init(ctx context.Context) error {
	t := time.Now()
	if _, err := j.run(ctx, "version", notLog, func(ctx context.Context) error {
		_, _, err := j.tf.Version(ctx, false)
		return err
	}); err != nil {
		return err
	}
	j.timings.Version = time.Since(t)

	t = time.Now()
	unlock, err := j.engine.lockInit(ctx, j.engine.initCacheDir(j.dir))
	if err != nil {
		return fmt.Errorf("%s init in %s: waiting for the plugin cache: %w", j.bin.Kind, j.name, err)
	}
	j.timings.InitWait = time.Since(t)
	t = time.Now()
	_, err = j.run(ctx, "init", toLog, func(ctx context.Context) error {
		return j.tf.Init(ctx, initOptions()...)
	})
	unlock()
	j.timings.Init = time.Since(t)
	if err != nil {
		return err
	}

	if j.tfws != "" {
		t = time.Now()
		if err := j.selectWorkspace(ctx); err != nil {
			return err
		}
		j.timings.Workspace = time.Since(t)
	}
	return nil
}

// selectWorkspace selects the job's workspace, creating it when select
// fails. terraform-exec has no `select -or-create`: a new workspace costs a
// failed select and a `workspace new`.
func (j *Job) selectWorkspace(ctx context.Context) error {
	_, err := j.run(ctx, "workspace select", toLog, func(ctx context.Context) error {
		return j.tf.WorkspaceSelect(ctx, j.tfws)
	})
	var serr *StepError
	if err == nil || ctx.Err() != nil || !errors.As(err, &serr) {
		return err
	}
	j.engine.logger.Debug("creating terraform workspace", "workspace", j.name, "tf_workspace", j.tfws)
	_, err = j.run(ctx, "workspace new", toLog, func(ctx context.Context) error {
		return j.tf.WorkspaceNew(ctx, j.tfws)
	})
	return err
}

// Plan runs `plan -out` into the job's plan file (an older file there is
// removed first) and returns the plan's human output without colour.
// refreshOnly makes a refresh-only plan: the drift check. Whether the plan
// changes anything is read from its JSON (ShowPlanFile), never from the
// exit code. Errors as for Init.
func (j *Job) Plan(ctx context.Context, refreshOnly bool) (string, error) {
	if err := os.Remove(j.planFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("removing old plan file: %w", err)
	}
	t := time.Now()
	out, err := j.run(ctx, "plan", toLog, func(ctx context.Context) error {
		_, err := j.tf.Plan(ctx, planOptions(j.planFile, refreshOnly, j.varFiles)...)
		return err
	})
	j.timings.Plan = time.Since(t)
	if err != nil {
		return "", err
	}
	return cleanText(string(out)), nil
}

// ShowPlanFile runs `show -json` of the job's plan file and returns the
// plan, parsed, and the JSON as terraform printed it. Errors as for Init,
// and an error naming the step when the JSON is not a plan terraform-json
// understands.
func (j *Job) ShowPlanFile(ctx context.Context) (*tfjson.Plan, []byte, error) {
	var plan *tfjson.Plan
	t := time.Now()
	out, err := j.run(ctx, "show", notLog, func(ctx context.Context) error {
		var err error
		plan, err = j.tf.ShowPlanFile(ctx, j.planFile)
		return err
	})
	j.timings.Show = time.Since(t)
	if err != nil {
		return nil, nil, err
	}
	return plan, out, nil
}

// Apply applies the saved plan planFile (relative to the job's directory
// unless absolute; "" for the job's plan file) and returns apply's human
// output without colour. Init must have run in this job's data directory.
// Errors as for Init; when the state changed since the plan was made,
// terraform refuses the plan and the error matches ErrStalePlan.
func (j *Job) Apply(ctx context.Context, planFile string) (string, error) {
	if planFile == "" {
		planFile = j.planFile
	}
	if !filepath.IsAbs(planFile) {
		planFile = filepath.Join(j.dir, planFile)
	}
	t := time.Now()
	out, err := j.run(ctx, "apply", toLog, func(ctx context.Context) error {
		return j.tf.Apply(ctx, applyOptions(planFile)...)
	})
	j.timings.Apply = time.Since(t)
	if err != nil {
		return "", err
	}
	return cleanText(string(out)), nil
}

// cleanText strips colour codes, in case a provider wrote some.
func cleanText(s string) string {
	return ansiRe.ReplaceAllString(s, "")
}
