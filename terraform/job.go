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
	"slices"
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
	// Root is the tree Dir belongs to, e.g. the exported commit: the
	// sandbox lets terraform read and write it (a configuration may read
	// files of its repository outside Dir, ../modules). Default Dir.
	Root string
	// Scratch is a directory of the job's own, outside Root, for what
	// terraform writes besides the tree: HOME of the child processes is
	// Scratch/home, and the sandbox lets terraform read and write it. A
	// caller puts the plan file and DataDir there. Default: a new temporary
	// directory, removed by Job.Close.
	Scratch string
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
// first command (Init runs it first, outside the plugin cache lock); the
// job's wrapper script answers it without starting terraform (see the
// package documentation, "Version probe").
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

	root       string            // see JobRequest.Root
	scratch    string            // see JobRequest.Scratch
	ownScratch bool              // scratch was made by NewJob: Close removes it
	dataDir    string            // TF_DATA_DIR, "" for Dir/.terraform
	binReal    string            // the binary with symlinks resolved: what the sandbox runs
	env        map[string]string // the environment terraform-exec gives every command
}

// NewJob chooses the binary for req and prepares the job; it runs no
// terraform command besides the engine's probe of the binary's version
// (see Binary), which is cached. Call Close when done with the job.
// Returns EINVALID for an invalid request (no directory, Dir outside Root,
// an owned variable in Env, an invalid constraint) and an error matching
// ErrNoSuitableBinary when no binary fits.
func (e *Engine) NewJob(ctx context.Context, req JobRequest) (_ *Job, err error) {
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
		planFile: req.PlanFile, marker: rand.Text(), log: &lockedWriter{w: io.Discard}, root: dir}
	if j.name == "" {
		j.name = req.Dir
	}
	if req.Root != "" {
		if j.root, err = filepath.Abs(req.Root); err != nil {
			return nil, err
		}
		if !within(dir, j.root) {
			return nil, landform.Errorf(landform.EINVALID, "terraform job: %s is not inside its root %s", req.Dir, req.Root)
		}
	}
	if req.DataDir != "" {
		if j.dataDir, err = filepath.Abs(req.DataDir); err != nil {
			return nil, err
		}
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
	if req.Scratch != "" {
		if j.scratch, err = filepath.Abs(req.Scratch); err != nil {
			return nil, err
		}
	} else {
		if j.scratch, err = os.MkdirTemp("", "landform-job-"); err != nil {
			return nil, fmt.Errorf("terraform job of %s: making a scratch directory: %w", j.name, err)
		}
		j.ownScratch = true
	}
	defer func() {
		if err != nil {
			j.Close()
		}
	}()
	home := filepath.Join(j.scratch, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("terraform job of %s: %w", j.name, err)
	}
	env := envMap(environ)
	if _, ok := env["HOME"]; !ok {
		env["HOME"] = home
	}
	if j.dataDir != "" {
		env["TF_DATA_DIR"] = j.dataDir
	}
	if e.sandbox == SandboxOff {
		env[jobMarkerEnv] = j.marker
	}
	j.env = env
	for k := range req.Env {
		if strings.HasPrefix(k, "TF_LOG") {
			e.logger.Warn("ignoring workspace env: terraform-exec empties TF_LOG*", "workspace", j.name, "var", k)
		}
	}

	if j.bin, err = e.Binary(ctx, req.Constraints...); err != nil {
		return nil, fmt.Errorf("terraform job of %s: %w", j.name, err)
	}
	// terraform-exec runs the wrapper, which answers its version probe
	// from the binary's known version and runs terraform for anything else:
	// without the sandbox itself, with it through bwrap (see useSandbox).
	exe := j.bin.Path // without a wrapper (Windows)
	if e.wrapper != "" {
		exe = e.wrapper
		env[versionEnv] = versionJSON(j.bin)
		if e.sandbox == SandboxOff {
			env[terraformEnv] = j.bin.Path
		}
	}
	if e.sandbox != SandboxOff {
		if j.binReal, err = filepath.EvalSymlinks(j.bin.Path); err != nil {
			return nil, fmt.Errorf("terraform job of %s: %w", j.name, err)
		}
		if err := j.prepareSandboxDirs(); err != nil {
			return nil, err
		}
	}
	if j.tf, err = tfexec.NewTerraform(dir, exe); err != nil {
		return nil, fmt.Errorf("terraform job of %s: %w", j.name, err)
	}
	if err := setTFEnv(j.tf, env); err != nil {
		return nil, fmt.Errorf("terraform job of %s: %w", j.name, err)
	}
	if err := j.useSandbox(); err != nil {
		return nil, err
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

// Close removes the scratch directory NewJob made when the request named
// none. The job must not be used afterwards.
func (j *Job) Close() error {
	if !j.ownScratch {
		return nil
	}
	j.ownScratch = false
	return os.RemoveAll(j.scratch)
}

// Binary is the binary the job runs.
func (j *Job) Binary() *Binary { return j.bin }

// PlanFile is the absolute path of the job's plan file.
func (j *Job) PlanFile() string { return j.planFile }

// Timings are the durations of the steps run so far.
func (j *Job) Timings() Timings { return j.timings }

// Init runs `init` and selects the job's Terraform workspace, creating it
// when missing. Before init it runs terraform-exec's version probe, which
// the wrapper script answers without terraform, outside the plugin cache
// lock; init itself is serialized per plugin cache (see lockInit).
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
	// init, which installs providers but starts none, is the one step
	// that may write to the plugin cache.
	if err = j.useSandbox(j.cacheMount()...); err == nil {
		_, err = j.run(ctx, "init", toLog, func(ctx context.Context) error {
			return j.tf.Init(ctx, initOptions()...)
		})
		if serr := j.useSandbox(); err == nil {
			err = serr
		}
	}
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
	return j.planTo(ctx, j.planFile, refreshOnly)
}

// planTo is Plan into planFile, an absolute path: a drift check makes two
// plans in one job.
func (j *Job) planTo(ctx context.Context, planFile string, refreshOnly bool) (string, error) {
	if err := os.Remove(planFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("removing old plan file: %w", err)
	}
	t := time.Now()
	out, err := j.run(ctx, "plan", toLog, func(ctx context.Context) error {
		_, err := j.tf.Plan(ctx, planOptions(planFile, refreshOnly, j.varFiles)...)
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
	return j.showPlan(ctx, j.planFile)
}

// showPlan is ShowPlanFile of planFile, an absolute path.
func (j *Job) showPlan(ctx context.Context, planFile string) (*tfjson.Plan, []byte, error) {
	var plan *tfjson.Plan
	t := time.Now()
	out, err := j.run(ctx, "show", notLog, func(ctx context.Context) error {
		var err error
		plan, err = j.tf.ShowPlanFile(ctx, planFile)
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
	if j.engine.sandbox != SandboxOff && !covered(slices.Concat(j.engine.sandboxMounts, j.jobMounts()), planFile) {
		// A plan file from elsewhere is visible to this command only.
		if err := j.useSandbox(mount{path: filepath.Dir(planFile), kind: mountRO}); err != nil {
			return "", err
		}
		defer j.useSandbox()
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
