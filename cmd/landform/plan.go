package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/datadir"
	"github.com/landform/landform/internal/redact"
	"github.com/landform/landform/report"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/source"
	"github.com/landform/landform/store"
	"github.com/landform/landform/terraform"
)

func newPlanCmd(a *app) *cobra.Command {
	var (
		repoSrc, base, head string
		all, asJSON         bool
		names, allowEnv     []string
		parallel            int
		ef                  engineFlags
	)
	cmd := &cobra.Command{
		Use:   "plan --repo DIR_OR_URL [--base REV --head REV | --all] [--workspace NAME]...",
		Short: "Plan the workspaces a change affects (or all of them) and store the runs",
		Long: `Plan runs terraform init and plan for each selected workspace, in a clean
export of the commit, and stores the run and its plan artifact.

With --base and --head, the workspaces the change affects are planned; with
--all (or only --workspace), the workspaces at --head. Progress goes to stderr,
one line per finished workspace; --json prints the runs on stdout. The exit
code is 1 when any workspace errored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if all && base != "" {
				return landform.Errorf(landform.EINVALID, "--all and --base exclude each other")
			}
			if !all && base == "" && len(names) == 0 {
				return landform.Errorf(landform.EINVALID, "say what to plan: --base REV (with --head), --all, or --workspace NAME")
			}
			if err := runner.CheckParallel(parallel); cmd.Flags().Changed("parallel") && err != nil {
				return landform.Errorf(landform.EINVALID, "--parallel: %w", err)
			}
			res, err := a.plan(ctx, planOptions{
				repo: repoSrc, base: base, head: head, names: names, allowEnv: allowEnv, parallel: parallel, engine: ef,
			})
			if err != nil {
				return err
			}
			if asJSON {
				doc := map[string]any{"runs": report.RunRecords(res.runs)}
				if len(res.deleted) > 0 {
					doc["deleted"] = res.deleted
				}
				if err := writeJSON(a.stdout, doc); err != nil {
					return err
				}
			} else {
				for _, run := range res.runs {
					if run.Error != "" {
						fmt.Fprintf(a.stderr, "\n%s (run %s):\n%s\n", run.Workspace, run.ID, report.Indent(run.Error))
					}
				}
			}
			if n := res.failed(); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d workspaces failed to plan", n, len(res.runs))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&repoSrc, "repo", "", "repository: a local path or a URL (required)")
	f.StringVar(&base, "base", "", "base revision: plan what base..head affects")
	f.StringVar(&head, "head", "HEAD", "head revision")
	f.BoolVar(&all, "all", false, "plan every workspace at --head")
	f.StringArrayVar(&names, "workspace", nil, "plan only this workspace (repeatable)")
	f.IntVar(&parallel, "parallel", 0, "workspaces planned at once (default: the repo's parallel setting, else the number of CPUs)")
	f.BoolVar(&asJSON, "json", false, "print the runs as one JSON document")
	addEngineFlags(cmd, &ef)
	addAllowEnvFlag(cmd, &allowEnv)
	_ = cmd.MarkFlagRequired("repo")
	return cmd
}

// addAllowEnvFlag adds --allow-env to a command that reads repo configs.
func addAllowEnvFlag(cmd *cobra.Command, names *[]string) {
	cmd.Flags().StringArrayVar(names, "allow-env", nil, "a variable the repo config's env may set besides TF_VAR_* (repeatable; the server config's terraform.allowed_env)")
}

// planOptions select what a.plan plans: with base, what base..head affects;
// otherwise every workspace at head; names narrow either.
type planOptions struct {
	repo, base, head string
	names            []string
	allowEnv         []string
	parallel         int
	engine           engineFlags
	// drift makes drift checks instead of plans.
	drift bool
}

// planResult is what a.plan did.
type planResult struct {
	runs    []*landform.Run
	deleted []string // workspaces the change deleted: reported, not planned
	// drift is the report of drift checks.
	drift *landform.DriftReport
}

// failed counts the runs that errored or were interrupted.
func (r *planResult) failed() int {
	n := 0
	for _, run := range r.runs {
		if run.State == landform.StateErrored || run.State == landform.StateInterrupted {
			n++
		}
	}
	return n
}

// plan selects workspaces, plans them and stores the runs, printing one
// progress line per finished workspace to stderr.
func (a *app) plan(ctx context.Context, o planOptions) (*planResult, error) {
	// Its in-process queue must not mix with a daemon's (whose workers
	// would claim its runs), nor with another one-shot plan's.
	what := "landform plan"
	if o.drift {
		what = "landform drift"
	}
	lock, err := datadir.Acquire(a.dataDir, what)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	repo, done, err := a.openSource(ctx, o.repo, o.allowEnv)
	if err != nil {
		return nil, err
	}
	defer done()
	change, err := repo.Select(ctx, o.base, o.head, o.names)
	if err != nil {
		return nil, err
	}
	res := planResult{deleted: change.Deleted}
	for _, name := range res.deleted {
		fmt.Fprintf(a.stderr, "%s  deleted in this change: not planned\n", name)
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	red := redactor(o.engine.env, o.engine.passEnv, nil, nil)
	a.logger = slog.New(redact.Handler(a.logger.Handler(), red)) // the engine logs terraform's errors
	engine, err := a.newEngine(o.engine)
	if err != nil {
		return nil, err
	}
	r, err := a.newRunner(db, engine, o.engine.env, red, cmp.Or(o.parallel, change.Head.Config.Parallel), false)
	if err != nil {
		return nil, err
	}
	if err := a.continueRunIDs(ctx, db, repo); err != nil {
		return nil, err
	}
	if len(change.Targets) == 0 {
		fmt.Fprintln(a.stderr, "nothing to check")
	}
	batch := r.PlanBatch
	if o.drift {
		batch = r.DriftBatch
	}
	res.runs, err = batch(ctx, repo, runner.Batch{
		Repo: repo.Name(), Commit: change.Head.Commit, Ref: o.head, Targets: change.Targets,
	}, func(p runner.Progress) { fmt.Fprintln(a.stderr, report.ProgressLine(p.Done, p.Total, p.Run)) })
	if err == nil && o.drift {
		res.drift, err = runner.DriftReportOf(ctx, db, repo.Name(), res.runs, time.Now())
	}
	return &res, err
}

// continueRunIDs makes the runs of a one-shot plan get IDs above every
// run ID of the plan store and of the repository's ledger branch, so that
// a lost database does not hand one out again. A ledger that cannot be
// read is a warning.
func (a *app) continueRunIDs(ctx context.Context, db store.Store, repo *source.Repo) error {
	plans, err := a.openPlans(ctx)
	if err != nil {
		return err
	}
	ledger, err := repo.HighestLedgerRunID(ctx, landform.DefaultLedgerBranch)
	if err != nil {
		a.logger.Warn("cannot read the ledger branch: run IDs continue above the plan store's only", "repo", repo.Name(), "err", err)
	}
	_, err = runner.ContinueRunIDs(ctx, db, plans, ledger)
	return err
}

func addEngineFlags(cmd *cobra.Command, ef *engineFlags) {
	f := cmd.Flags()
	f.StringVar(&ef.cliConfig, "terraform-cli-config", "", "the Terraform CLI config to honour (default: TF_CLI_CONFIG_FILE when it exists, else ~/.terraformrc)")
	f.StringArrayVar(&ef.binaries, "terraform-binary", nil, "an extra terraform or tofu binary to choose from (repeatable)")
	f.StringToStringVar(&ef.env, "env", nil, "extra environment for terraform, KEY=VALUE (repeatable)")
	f.StringArrayVar(&ef.passEnv, "pass-env", nil, "pass this variable of Landform's environment to terraform (repeatable; nothing else of it is passed but PATH, LANG, LC_ALL, TZ, SSL_CERT_FILE, SSL_CERT_DIR)")
	f.StringVar(&ef.sandbox, "sandbox", string(terraform.SandboxRequired), "run terraform in a bubblewrap sandbox that sees only its run's files: required or off")
}
