package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/internal/datadir"
	"github.com/landform/landform/internal/redact"
	"github.com/landform/landform/internal/storage"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/source"
	"github.com/landform/landform/store"
	"github.com/landform/landform/terraform"
)

// The data directory's layout.
func (a *app) dbPath() string    { return filepath.Join(a.dataDir, storage.SQLiteFile) }
func (a *app) plansDir() string  { return filepath.Join(a.dataDir, storage.PlansDir) }
func (a *app) reposDir() string  { return filepath.Join(a.dataDir, "repos") }
func (a *app) engineDir() string { return filepath.Join(a.dataDir, "terraform") }

// makeWorkRoot creates the runs' work root (see datadir.MakeWorkRoot);
// when the command ends, it is removed if empty.
func (a *app) makeWorkRoot(clean bool) (string, error) {
	dir, remove, err := datadir.MakeWorkRoot(a.dataDir, clean)
	if err != nil {
		return "", err
	}
	a.atExit = append(a.atExit, remove)
	return dir, nil
}

// openStore opens the run store: the server config's (a.storeCfg), by
// default the SQLite database in the data directory.
func (a *app) openStore(ctx context.Context) (store.Store, error) {
	if err := datadir.Ensure(a.dataDir); err != nil {
		return nil, err
	}
	return storage.OpenStore(ctx, a.storeCfg, a.dataDir)
}

// useStores makes the commands use the stores cfg names.
func (a *app) useStores(cfg *config.Server) {
	a.storeCfg, a.plansCfg = cfg.Store, cfg.Plans
}

// openSource opens --repo: a local path in place, or a URL through the
// clone cache in the data directory, with the parse cache one-shot commands
// keep in the data directory; allowEnv are the names its repo config's env
// may set besides TF_VAR_*. Call done when finished: it saves the parse
// cache and closes the repository.
func (a *app) openSource(ctx context.Context, src string, allowEnv []string) (repo *source.Repo, done func(), err error) {
	if err := datadir.Ensure(a.dataDir); err != nil {
		return nil, nil, err
	}
	cache, save := source.CacheFile(filepath.Join(a.dataDir, "cache"), src, a.logger)
	repo, err = source.Open(ctx, src, cache, gitrepo.WithDataDir(a.dataDir), gitrepo.WithLogger(a.logger))
	if err != nil {
		return nil, nil, err
	}
	repo.WithConfig(config.RepoOptions{AllowedEnv: allowEnv})
	return repo, func() { save(); repo.Close() }, nil
}

// engineFlags are the flags of commands that run terraform (the server
// config's terraform settings, for serve).
type engineFlags struct {
	cliConfig   string
	binaries    []string
	env         map[string]string
	passEnv     []string
	sandbox     string
	pluginCache string
	// sandboxRO and sandboxRW are the operator's sandbox paths.
	sandboxRO, sandboxRW []string
}

// newEngine builds the terraform engine from the flags.
func (a *app) newEngine(f engineFlags) (*terraform.Engine, error) {
	sandbox, err := terraform.ParseSandboxMode(f.sandbox)
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "--sandbox: %w", err)
	}
	opts := []terraform.Option{
		terraform.WithWorkDir(a.engineDir()),
		terraform.WithLogger(a.logger),
		terraform.WithBinaries(f.binaries...),
		terraform.WithSandbox(sandbox),
		terraform.WithPassEnv(f.passEnv...),
		terraform.WithSandboxPaths(f.sandboxRO, f.sandboxRW),
	}
	if f.cliConfig != "" {
		opts = append(opts, terraform.WithCLIConfig(f.cliConfig))
	}
	if f.pluginCache != "" {
		opts = append(opts, terraform.WithPluginCacheDir(f.pluginCache))
	}
	return terraform.New(opts...)
}

// redactor masks the values Landform hands terraform (env values,
// repository secrets) and the operator's patterns, in everything a run's
// text reaches.
func redactor(env map[string]string, passEnv, secrets []string, patterns []*regexp.Regexp) *redact.Redactor {
	values := slices.Collect(maps.Values(env))
	// What terraform gets of Landform's own environment is masked as what
	// the config gives it.
	for _, name := range passEnv {
		if v, ok := os.LookupEnv(name); ok {
			values = append(values, v)
		}
	}
	return redact.New(append(values, secrets...), patterns...)
}

// openPlans opens the plan artifact store in the data directory.
func (a *app) openPlans(ctx context.Context) (runner.PlanStore, error) {
	return storage.OpenPlans(ctx, a.plansCfg, a.dataDir)
}

// newRunner wires the runner to the store, the plan store and terraform;
// cleanWork removes what a crash left in the work root first.
func (a *app) newRunner(db store.Store, engine *terraform.Engine, env map[string]string, red *redact.Redactor, parallel int, cleanWork bool, opts ...runner.Option) (*runner.Runner, error) {
	plans, err := a.openPlans(context.Background())
	if err != nil {
		return nil, err
	}
	work, err := a.makeWorkRoot(cleanWork)
	if err != nil {
		return nil, err
	}
	tf := &tfPlanner{engine: engine, env: env}
	return runner.New(db, plans, tf, append([]runner.Option{
		runner.WithApplier(tf),
		runner.WithDriftChecker(tf),
		runner.WithLogger(a.logger),
		runner.WithParallel(parallel),
		runner.WithWorkDir(work),
		runner.WithRedactor(red),
	}, opts...)...), nil
}

// tfPlanner adapts the terraform engine to runner.Planner.
type tfPlanner struct {
	engine *terraform.Engine
	// env is added to every workspace's own environment, and each job's
	// own (its cloud credentials) over it.
	env map[string]string
}

func (p *tfPlanner) Plan(ctx context.Context, job runner.PlanJob) (*runner.PlanOutput, error) {
	res, err := p.engine.Plan(ctx, terraform.WorkspacePlan(job.Workspace, job.Root, job.ScratchDir, job.RequiredVersions, job.EnvWith(p.env)))
	if err != nil {
		return nil, err
	}
	return &runner.PlanOutput{Artifact: res.Artifact, Summary: res.Summary, Changes: res.Changes}, nil
}

// Apply applies a saved plan through the terraform engine.
func (p *tfPlanner) Apply(ctx context.Context, job runner.ApplyJob) (*runner.ApplyOutput, error) {
	req := terraform.WorkspacePlan(job.Workspace, job.Root, job.ScratchDir, job.RequiredVersions, job.EnvWith(p.env))
	res, err := p.engine.Apply(ctx, req, job.PlanFile)
	if err != nil {
		return nil, err
	}
	return &runner.ApplyOutput{Output: res.Output, Summary: res.Summary}, nil
}

// Drift checks a workspace for drift through the terraform engine: the
// normal plan is the run's artifact, the classification its findings.
func (p *tfPlanner) Drift(ctx context.Context, job runner.PlanJob) (*runner.PlanOutput, error) {
	res, err := p.engine.Drift(ctx, terraform.WorkspacePlan(job.Workspace, job.Root, job.ScratchDir, job.RequiredVersions, job.EnvWith(p.env)))
	if err != nil {
		return nil, err
	}
	unapplied := false
	for _, r := range res.Resources {
		if r.Kind == landform.DriftUnapplied {
			unapplied = true
		}
	}
	return &runner.PlanOutput{
		Artifact: res.Plan.Artifact, Summary: res.Plan.Summary, Changes: res.Drifted || unapplied,
		Drift: &runner.DriftFindings{Resources: res.Resources, Drifted: res.Drifted},
	}, nil
}
