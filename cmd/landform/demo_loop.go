package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/internal/demo"
	"github.com/landform/landform/internal/tokens"
	"github.com/landform/landform/report"
)

// How long the demo waits for each step of its daemon.
const (
	demoStartTimeout = time.Minute
	demoPlanTimeout  = 5 * time.Minute
)

// demoLoop is the whole demo: the example repository served on loopback,
// the daemon with its dashboard and API, a pushed commit planned, the
// plans applied once approved, and the daemon kept running for drift
// (with --yes: approved, applied and drifted without a person).
func (a *app) demoLoop(ctx context.Context, o demoOptions) error {
	l := demo.NewLayout(a.dataDir, o.ef.cliConfig, o.ef.env)
	listen, err := demo.FreeListen(o.listen)
	if err != nil {
		return err
	}
	if err := a.demoReset(l); err != nil {
		return err
	}
	dataDir, base := a.dataDir, demo.BaseURL(listen)

	a.say("Writing the example infrastructure repository to %s", l.RepoDir)
	if err := demo.WriteRepo(ctx, l.RepoDir, l.StateDir); err != nil {
		return err
	}
	remote, err := demo.Serve(ctx, l.RepoDir, l.RemotesDir)
	if err != nil {
		return err
	}
	defer remote.Close()
	a.say("Serving it at %s (git daemon on loopback): the daemon watches it like any remote", remote.URL)

	token, _ := tokens.New()
	if err := demo.WriteToken(l.TokenFile, token); err != nil {
		return err
	}
	cfg, err := demo.ServerConfig(l, demo.Settings{
		DataDir: dataDir, Listen: listen, RepoURL: remote.URL, DriftEvery: o.driftEvery, Sandbox: o.ef.sandbox,
		Terraform: config.TerraformSettings{CLIConfig: l.CLIConfig, Binaries: o.ef.binaries, PassEnv: o.ef.passEnv},
	})
	if err != nil {
		return err
	}
	a.say("Your API token (identity %q, role admin; also in %s):", demo.Identity, l.TokenFile)
	fmt.Fprintf(a.stderr, "    %s\n", token)

	logFile, err := os.OpenFile(l.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	if a.logger, err = demoLogger(logFile, a.stderr, a.logLevel, a.logFormat); err != nil {
		return err
	}
	// The database is made (migrated) before the daemon opens it: two
	// first opens at once race on the schema (SQLITE_BUSY).
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	db.Close()

	// From here on the daemon's goroutine owns a: this one uses none of
	// its fields but the output streams.
	self := a.demoSelf()
	a.say("Starting the daemon: dashboard and API on %s, drift checked every %s (its log: %s)", base, o.driftEvery, l.LogFile)
	serveCtx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	// served gets the daemon's end, once, then is closed: whoever
	// receives it first reports it, the others see nil.
	served := make(chan error, 1)
	go func() {
		served <- a.serve(serveCtx, cfg)
		close(served)
	}()
	stop := func() error {
		stopServe()
		if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
	err = a.demoSteps(ctx, demoRun{o: o, l: l, remote: remote, base: base, token: token, self: self, served: served})
	if ctx.Err() != nil { // Ctrl-C: a clean stop
		fmt.Fprintln(a.stderr, "\nStopping the demo.")
		return stop()
	}
	if err != nil {
		if serr := stop(); serr != nil {
			return fmt.Errorf("%w (and the daemon: %v)", err, serr)
		}
		return fmt.Errorf("%w (the daemon's log: %s)", err, l.LogFile)
	}
	return stop()
}

// demoLogger is the demo daemon's logger: everything at level to the log
// file, warnings and errors to the terminal too.
func demoLogger(file, stderr io.Writer, level, format string) (*slog.Logger, error) {
	toFile, err := newLogger(file, level, format)
	if err != nil {
		return nil, err
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, err
	}
	toTerminal, err := newLogger(stderr, max(lv, slog.LevelWarn).String(), format)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewMultiHandler(toFile.Handler(), toTerminal.Handler())), nil
}

// demoRun is a running demo.
type demoRun struct {
	o      demoOptions
	l      demo.Layout
	remote *demo.Remote
	// base is the daemon's URL, token the demo user's API token, self
	// the command that reaches the demo's data directory.
	base, token, self string
	// served gets the daemon's end.
	served <-chan error
}

// demoSteps is the demo once its daemon runs.
func (a *app) demoSteps(ctx context.Context, d demoRun) error {
	o, l, remote, base, token, self, served := d.o, d.l, d.remote, d.base, d.token, d.self, d.served
	c, err := demo.NewClient(base, token)
	if err != nil {
		return err
	}
	if _, err := demo.WaitForBaseline(ctx, c, served, demoStartTimeout); err != nil {
		return fmt.Errorf("waiting for the daemon's first poll: %w", err)
	}
	session := demo.Session{URL: base, TokenFile: l.TokenFile, PID: os.Getpid(), StartedAt: time.Now().UTC(), DriftEvery: o.driftEvery.String()}
	if err := demo.WriteSession(l.SessionFile, session); err != nil {
		return err
	}
	defer os.Remove(l.SessionFile)

	a.say("Pushing a commit to main: the shared module modules/network tags flow-log buckets with their retention")
	if err := demo.CommitChange(ctx, l.RepoDir); err != nil {
		return err
	}
	if err := remote.Push(ctx, l.RepoDir); err != nil {
		return err
	}
	commit, err := demo.Git(ctx, l.RepoDir, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	runs, err := demo.WaitForPlans(ctx, c, served, commit, demoPlanTimeout)
	if err != nil {
		return fmt.Errorf("waiting for the plans of %s: %w", landform.ShortSHA(commit), err)
	}
	toApprove, err := a.demoShowPlans(ctx, c, runs)
	if err != nil {
		return err
	}

	a.say("Approve the plans; the demo applies each one as soon as it is approved")
	fmt.Fprintf(a.stderr, "    On the dashboard: %s (runs, plans, drift), sign in at %s with the token above,\n", base, demo.SignInURL(base))
	fmt.Fprintf(a.stderr, "    open each run and click Approve:\n")
	for _, r := range toApprove {
		fmt.Fprintf(a.stderr, "      %s   %s\n", demo.RunURL(base, r.ID), r.Workspace)
	}
	fmt.Fprintf(a.stderr, "    Or, in another terminal:\n      export LANDFORM_TOKEN=%s\n", token)
	for _, r := range toApprove {
		fmt.Fprintf(a.stderr, "      %s approve %s --server %s --token-env LANDFORM_TOKEN\n", selfName(), r.ID, base)
	}
	fmt.Fprintf(a.stderr, "    (to apply by hand instead: %s apply RUN --server %s --token-env LANDFORM_TOKEN)\n", selfName(), base)
	if o.yes {
		a.say("--yes: approving as %q through the API, as the commands above would", demo.Identity)
		if err := demo.ApproveAll(ctx, c, toApprove); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stderr, "    Waiting for your approval (Ctrl-C stops the demo)…\n")
	}
	final, err := demo.ApplyWhenApproved(ctx, c, served, toApprove, demo.ApplyHooks{
		Approved: func(r *landform.Run) {
			a.say("Run %s (%s) is approved: applying it (POST %s/api/v1/runs/%s/apply)", r.ID, r.Workspace, base, r.ID)
		},
		Done: a.demoShowApplied,
	})
	if err != nil {
		return err
	}
	applied := 0
	for _, r := range final {
		if r.State == landform.StateApplied {
			applied++
		}
	}
	if applied == 0 {
		return fmt.Errorf("demo: no plan was applied")
	}
	a.say("What the test cloud holds now (%s):", l.CloudDir)
	if err := a.demoShowCloud(l.CloudDir); err != nil {
		return err
	}

	if !o.yes {
		a.say("Landform keeps running: the dashboard is at %s, drift is checked every %s", base, o.driftEvery)
		fmt.Fprintf(a.stderr, "    To see drift, run in another terminal:\n      %s demo drift\n", self)
		fmt.Fprintf(a.stderr, "    It edits the test cloud as someone in a cloud console would, and waits for the next\n")
		fmt.Fprintf(a.stderr, "    drift check to report it (%s). Ctrl-C stops the demo.\n", demo.DriftURL(base))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-served:
			return demo.DaemonStopped(err)
		}
	}

	a.say("--yes: making drift, as `%s demo drift` does", self)
	if err := a.demoDrift(ctx, c, l, served, o.driftEvery); err != nil {
		return err
	}
	a.say("Waiting for the drift report on the ledger branch %s", landform.DefaultLedgerBranch)
	line, err := demo.WaitForLedgerDrift(ctx, remote.Bare, served, demoStartTimeout)
	if err != nil {
		return fmt.Errorf("waiting for the ledger's drift report: %w", err)
	}
	fmt.Fprintf(a.stderr, "    %s\n", line)
	fmt.Fprintf(a.stdout, `
The demo's daemon planned the commit, the plans were approved and applied, and a drift check found
the bucket edited outside Terraform. Everything is recorded:
  %s runs    # the runs: plans, applies, drift checks
  git --git-dir %s log --stat %s    # the ledger
`, self, remote.Bare, landform.DefaultLedgerBranch)
	return nil
}

// demoShowPlans prints the commit's plan runs and each plan's text, and
// returns the runs that wait for an approval. None waiting is an error.
func (a *app) demoShowPlans(ctx context.Context, c *demo.Client, runs []*landform.Run) ([]*landform.Run, error) {
	a.say("The daemon planned the workspaces the commit touches (through modules/network; global/dns is left alone):")
	var toApprove []*landform.Run
	for _, r := range runs {
		fmt.Fprintf(a.stderr, "    run %-4s %-14s %-18s %s  %s\n", r.ID, r.Workspace, r.State, r.Summary, report.FirstLine(r.Error))
		if demo.NeedsApproval(r) {
			toApprove = append(toApprove, r)
		}
	}
	fmt.Fprintf(a.stderr, "    Nothing of the example is applied yet, so each plan creates its workspace's resources,\n    the new retention tag included.\n")
	for _, r := range toApprove {
		text, err := c.PlanText(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		a.say("Plan of run %s (%s):", r.ID, r.Workspace)
		fmt.Fprintf(a.stderr, "%s\n", report.Indent(report.Indent(strings.TrimSpace(text))))
	}
	if len(toApprove) == 0 {
		for _, r := range runs {
			if r.Error != "" {
				fmt.Fprintf(a.stderr, "\n%s (run %s):\n%s\n", r.Workspace, r.ID, report.Indent(r.Error))
			}
		}
		return nil, &exitError{code: 1, err: errors.New("demo: no plan to approve (did scripts/setup run?)")}
	}
	return toApprove, nil
}

// demoShowApplied prints what became of a run the demo applied or
// watched.
func (a *app) demoShowApplied(r *landform.Run) {
	switch {
	case r.State == landform.StateApplied && r.Apply != nil:
		a.say("Run %s (%s) applied (asked by %s via %s): %s", r.ID, r.Workspace, r.Apply.By, r.Apply.Channel, r.Apply.Summary)
		if out := strings.TrimSpace(r.Apply.Output); out != "" {
			fmt.Fprintf(a.stderr, "%s\n", report.Indent(report.Indent(out)))
		}
	case r.Apply != nil && r.Apply.Error != "":
		a.say("Run %s (%s) is %s: %s", r.ID, r.Workspace, r.State, r.Apply.Error)
	default:
		a.say("Run %s (%s) is %s %s", r.ID, r.Workspace, r.State, report.FirstLine(r.Error))
	}
}

// demoShowCloud prints the objects of the test cloud.
func (a *app) demoShowCloud(dir string) error {
	objs, err := demo.Objects(dir)
	if err != nil {
		return err
	}
	for _, o := range objs {
		fmt.Fprintf(a.stderr, "    %-9s %-20s %s\n", o.Kind, o.ID, strings.Join(o.Attributes, " "))
	}
	return nil
}

// demoDrift edits the test cloud outside Terraform and waits for the
// daemon's next drift check to report it, then prints the report.
func (a *app) demoDrift(ctx context.Context, c *demo.Client, l demo.Layout, served <-chan error, every time.Duration) error {
	since := time.Now()
	e, err := demo.MakeDrift(l.CloudDir)
	if err != nil {
		return err
	}
	before := e.Before
	if before == "" {
		before = "(none)"
	}
	a.say("Edited the test cloud outside Terraform: %s of %s, %s → %s", e.Attribute, e.Object, before, e.After)
	fmt.Fprintf(a.stderr, "    (%s in %s)\n", e.Address, e.Workspace)
	a.say("Waiting for the next drift check to report it")
	timeout := 3*every + 2*time.Minute
	if every <= 0 {
		timeout = 10 * time.Minute
	}
	rep, _, err := demo.WaitForDrift(ctx, c, served, e, since, timeout)
	if err != nil {
		return fmt.Errorf("waiting for the drift check: %w", err)
	}
	a.say("The drift check reports:")
	fmt.Fprintf(a.stderr, "%s\n\n", report.Indent(report.Indent(report.DriftText(rep))))
	for _, w := range rep.Workspaces {
		if w.Status() == "unapplied" {
			fmt.Fprintf(a.stderr, "    (%s is \"unapplied\": the demo's commit did not touch it, so nothing applied its code.)\n", w.Workspace)
		}
	}
	fmt.Fprintf(a.stderr, "    The dashboard's drift page: %s\n", demo.DriftURL(c.Base()))
	return nil
}
