package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
	"github.com/landform/landform/awscreds"
	"github.com/landform/landform/chatops"
	"github.com/landform/landform/config"
	"github.com/landform/landform/forge"
	"github.com/landform/landform/gate"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/internal/datadir"
	"github.com/landform/landform/internal/redact"
	"github.com/landform/landform/internal/storage"
	"github.com/landform/landform/internal/tokens"
	"github.com/landform/landform/metrics"
	"github.com/landform/landform/publish"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/server"
	"github.com/landform/landform/store"
	"github.com/landform/landform/terraform"
)

func newServeCmd(a *app) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "serve --config landform.yaml",
		Short: "Run the daemon: poll repositories, plan what changes, record the ledger",
		Long: `Serve watches the repositories of the config: it lists each remote's refs every
poll interval, and when a watched branch or pull request head moved, it fetches,
works out the affected workspaces and plans them with a pool of workers. Runs,
locks and the queue live in the data directory's database, so a restart loses
nothing; finished runs are committed to each repo's ledger branch.

SIGTERM or SIGINT stops polling and lets running terraform finish for
shutdown_grace, then interrupts it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadServerConfig(cfgPath)
			if err != nil {
				return err
			}
			return a.serve(cmd.Context(), cfg)
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "landform.yaml", "the server config file")
	return cmd
}

func (a *app) serve(ctx context.Context, cfg *config.Server) error {
	if a.dataDir != cfg.DataDir { // the config's data_dir wins over --data-dir
		a.dataDir = cfg.DataDir
	}
	// Every path derived from the data directory is absolute from here
	// on: terraform resolves relative ones against its workspace.
	dataDir, err := filepath.Abs(a.dataDir)
	if err != nil {
		return err
	}
	if a.dataDir != dataDir { // no write when unchanged: the demo reads it meanwhile
		a.dataDir = dataDir
	}
	log := a.logger
	// One daemon per data directory, and no one-shot plan beside it:
	// before crash recovery touches anything.
	lock, err := datadir.Acquire(a.dataDir, "landform serve")
	if err != nil {
		return err
	}
	defer lock.Release()
	a.useStores(cfg)
	// The daemon's own context: stores and the ledger outlive a signal
	// until the daemon has finished stopping.
	bg := context.WithoutCancel(ctx)
	db, err := a.openStore(bg)
	if err != nil {
		return err
	}
	defer db.Close()
	sv, err := a.openServed(ctx, cfg)
	if err != nil {
		return err
	}
	defer sv.repos.close()
	log = a.logger
	engine, red, watched := sv.engine, sv.red, sv.repos
	repos, hooks, sources := watched.repos, watched.hooks, watched.gateSources()
	policyGate, err := gate.New(cfg.Policies, sources)
	if err != nil {
		return err
	}
	ropts := []runner.Option{runner.WithCredentials(sv.creds)}
	if !policyGate.Empty() {
		ropts = append(ropts, runner.WithPolicies(policyGate))
	}
	r, err := a.newRunner(db, engine, cfg.Terraform.Env, red, cfg.Parallel, true, ropts...)
	if err != nil {
		return err
	}
	// Chat-ops: who may approve, and what commands do, whichever channel
	// they come through.
	authority := watched.authority(cfg)
	actions := &runner.ChatActions{IsOwner: cfg.Policies.IsOwner}
	var d *runner.Daemon
	reply := func(ctx context.Context, repo string, pr int, key, body string) error {
		return d.Reply(ctx, repo, pr, key, body)
	}
	// The dashboard's pages update live from the daemon's events.
	live := server.NewLiveUpdates()
	// The metrics read the daemon when scraped, once d is made.
	m := metrics.New(metrics.Sources{
		Runs:     db,
		Statuses: func() []runner.RepoStatus { return d.Statuses() },
		Drift: metrics.DriftFunc(func(ctx context.Context, repo string) (*landform.DriftReport, error) {
			return (&runner.Views{D: d}).DriftReport(ctx, repo)
		}),
		Logger: log,
	})
	dopts := []runner.DaemonOption{runner.WithOwner(hostname())}
	if storage.Shared(cfg.Store) {
		// One of several replicas on the store: a name of its own, the
		// poll lease, and the other replicas' events on this one's pages
		// (not in its metrics: each replica counts its own).
		dopts = []runner.DaemonOption{runner.WithOwner(replicaName()), runner.WithReplicas(db, cfg.Store.LeaseTTL),
			runner.WithReplicaEvents(live.Publish)}
	}
	d = runner.NewDaemon(r, db, repos, append(dopts, runner.WithShutdownGrace(cfg.ShutdownGrace),
		runner.WithEvents(func(e runner.Event) { m.Observe(e); live.Publish(e) }),
		runner.WithMaxQueuedPerRepo(cfg.Limits.QueuedRunsPerRepo), runner.WithApprovalPolicy(authority),
		runner.WithCommentHandler(chatops.OnComment(actions, reply, log.Warn)), runner.WithDrift(driftConfig(cfg, watched)))...)
	actions.D = d
	serverOpts, err := chatServer(cfg, d, actions, authority, reply, log)
	if err != nil {
		return err
	}
	serverOpts = append(serverOpts, webServer(cfg, d, db, live)...)
	serverOpts = append(serverOpts, server.WithMetrics(m.Handler()), server.WithReady(d.Ready), server.WithWebhookObserver(m.WebhookDelivered))

	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return landform.Errorf(landform.EINVALID, "listen %s: %w", cfg.Listen, err)
	}
	// A verified webhook makes its repository poll now: polling stays the
	// source of truth, so a lost delivery costs only latency.
	handler := server.New(d.Health, log, append(serverOpts, server.WithWebhooks(hooks, func(repo string, _ forge.WebhookEvent) { d.Poke(repo) }))...)
	httpSrv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	httpSrv.RegisterOnShutdown(live.Close) // the dashboard's event streams never go idle by themselves
	httpDone := make(chan error, 1)
	go func() { httpDone <- httpSrv.Serve(l) }()
	log.Info("landform serving", "repos", len(repos), "parallel", cfg.Parallel, "data_dir", cfg.DataDir, "listen", l.Addr().String())

	err = d.Run(ctx)
	shutCtx, cancel := context.WithTimeout(bg, 5*time.Second)
	defer cancel()
	if serr := httpSrv.Shutdown(shutCtx); serr != nil {
		log.Warn("stopping the HTTP server", "err", serr)
	}
	if herr := <-httpDone; herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		log.Error("HTTP server", "err", herr)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("landform stopped")
	return nil
}

// replicaName names this process among replicas: host, pid and a random
// suffix (two replicas may share a host, and a restarted one is another).
func replicaName() string {
	b := make([]byte, 3)
	rand.Read(b)
	return fmt.Sprintf("%s-%d-%x", hostname(), os.Getpid(), b)
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "landform"
	}
	return h
}

// chatServer returns the HTTP endpoints of chat-ops: pull request comments
// from webhooks, Slack's slash command (with a signing secret configured)
// and the REST API (with API tokens configured).
func chatServer(cfg *config.Server, d *runner.Daemon, actions *runner.ChatActions, authority *chatops.Authority, reply chatops.Replier, log *slog.Logger) ([]server.Option, error) {
	opts := []server.Option{server.WithComments(func(ctx context.Context, repo string, pr int, c landform.Comment) {
		if _, err := d.HandleComment(ctx, repo, pr, c); err != nil {
			log.Error("chat-ops: handling a comment failed", "repo", repo, "pr", pr, "comment", c.ID, "err", err)
		}
	})}
	if !cfg.Slack.IsZero() {
		secret, err := cfg.Slack.SigningSecret(nil, nil)
		if err != nil {
			return nil, err
		}
		opts = append(opts, server.WithSlack(server.Slack{
			Secret: secret, Identity: authority.SlackIdentity, Repo: authority.SlackRepo,
			Dispatch: func(ctx context.Context, req chatops.Request) chatops.Reply {
				return chatops.Dispatch(ctx, actions, req)
			},
			Reply: reply,
		}))
	}
	return opts, nil
}

// webServer returns the HTTP endpoints people and monitoring use: the REST
// API and the dashboard (signed in with the config's tokens or those of
// `landform token create`), /metrics and /readyz.
func webServer(cfg *config.Server, d *runner.Daemon, db store.Store, live *server.LiveUpdates) []server.Option {
	views := &runner.Views{D: d}
	ledgers := map[string]server.Ledger{}
	for _, rs := range cfg.Repos {
		ledgers[rs.Name] = server.Ledger{Off: !rs.Ledger, Branch: rs.LedgerBranch, Forge: rs.Forge.Kind, ForgeURL: rs.Forge.URL, Project: rs.Forge.Project}
	}
	resolver := tokens.Resolver{Config: cfg.API, Store: db}
	return []server.Option{
		server.WithAuth(server.Auth{
			Token: resolver.Principal, Sessions: db, Anonymous: cfg.Web.Anonymous, SessionTTL: cfg.Web.SessionTTL,
			SecureCookies: strings.HasPrefix(cfg.ExternalURL, "https://"),
		}),
		server.WithAPI(server.API{Reader: views, Actions: views}),
		server.WithDashboard(server.Dashboard{Reader: views, Actions: views, Live: live, Ledgers: ledgers}),
	}
}

// served is what the daemon, and a local apply, run terraform with.
type served struct {
	engine *terraform.Engine
	red    *redact.Redactor
	repos  *watched
	// creds gives each run its AWS credentials, nil for none.
	creds runner.Credentials
}

// openServed builds, from cfg, the terraform engine and the redaction
// (through which the app's logger goes from here on), opens the plan store
// and the watched repositories (their ledgers signed when a key is
// configured). Close repos when done.
func (a *app) openServed(ctx context.Context, cfg *config.Server) (*served, error) {
	signer, err := ledgerSigner(cfg)
	if err != nil {
		return nil, err
	}
	creds, err := a.awsCredentials(ctx, cfg)
	if err != nil {
		return nil, err
	}
	engine, red, err := a.serverEngine(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Sandbox == string(terraform.SandboxOff) {
		a.logger.Warn("sandbox: off — terraform and its providers run as the daemon's children and can read the data directory and the daemon's files (see docs/security.md)")
	}
	plans, err := a.openPlans(context.Background())
	if err != nil {
		return nil, err
	}
	w, err := a.watchRepos(cfg, plans, signer, a.logger)
	if err != nil {
		return nil, err
	}
	return &served{engine: engine, red: red, repos: w, creds: creds}, nil
}

// awsCredentials gives each run of cfg's workspaces with an AWS role
// short-lived credentials of its own (nil when no aws section is
// written), and makes the app's logger mask them while they are valid.
func (a *app) awsCredentials(ctx context.Context, cfg *config.Server) (runner.Credentials, error) {
	if !cfg.UsesAWS() {
		return nil, nil
	}
	p, err := awscreds.New(ctx, func(repo, workspace string) awscreds.Settings {
		return awscreds.Settings(cfg.AWSSettings(repo, workspace))
	})
	if err != nil {
		return nil, err
	}
	a.logger = slog.New(p.LogHandler(a.logger.Handler()))
	return p.Credentials, nil
}

// ledgerSigner loads the ledger signing key of cfg, nil when none.
func ledgerSigner(cfg *config.Server) (gitrepo.Signer, error) {
	if cfg.LedgerSigningKeyFile == "" {
		return nil, nil
	}
	var passphrase []byte
	if cfg.LedgerSigningPassphraseEnv != "" {
		passphrase = []byte(os.Getenv(cfg.LedgerSigningPassphraseEnv))
	}
	return gitrepo.LoadSigner(cfg.LedgerSigningKeyFile, passphrase)
}

// serverEngine builds the terraform engine of cfg and the redaction of
// everything a run's text reaches (the values Landform hands terraform,
// every secret the config names, the operator's patterns), and makes the
// app's logger go through it.
func (a *app) serverEngine(cfg *config.Server) (*terraform.Engine, *redact.Redactor, error) {
	var secrets []string
	for _, rs := range cfg.Repos {
		secrets = append(secrets, rs.Auth.Secrets()...)
		secrets = append(secrets, rs.Forge.Secrets()...)
	}
	secrets = append(secrets, cfg.API.Secrets()...)
	if cfg.LedgerSigningPassphraseEnv != "" {
		secrets = append(secrets, os.Getenv(cfg.LedgerSigningPassphraseEnv))
	}
	secrets = append(secrets, cfg.Slack.Secrets()...)
	secrets = append(secrets, cfg.Drift.Secrets()...)
	for _, rs := range cfg.Repos {
		secrets = append(secrets, rs.Drift.Secrets()...)
	}
	red := redactor(cfg.Terraform.Env, cfg.Terraform.PassEnv, secrets, cfg.Redact)
	a.logger = slog.New(redact.Handler(a.logger.Handler(), red))
	engine, err := a.newEngine(engineFlags{
		cliConfig: cfg.Terraform.CLIConfig, binaries: cfg.Terraform.Binaries, passEnv: cfg.Terraform.PassEnv,
		sandbox: cfg.Sandbox, pluginCache: cfg.Terraform.PluginCacheDir,
		sandboxRO: cfg.Terraform.SandboxReadOnly, sandboxRW: cfg.Terraform.SandboxReadWrite,
	})
	if err != nil {
		return nil, nil, err
	}
	return engine, red, nil
}

// driftConfig is how the daemon sweeps cfg's repositories for drift: each
// workspace's schedule and remediation, and where reports go (the ledger,
// the forge's issue, Slack).
func driftConfig(cfg *config.Server, w *watched) runner.DriftConfig {
	return runner.DriftConfig{
		Rules: func(repo, workspace string) runner.DriftRules {
			s := cfg.DriftSettings(repo, workspace)
			sched, err := runner.ParseDriftSchedule(s.Schedule, s.Location, s.Jitter)
			if err != nil { // validated with the config: cannot happen
				sched = runner.DriftSchedule{}
			}
			return runner.DriftRules{Schedule: sched, Remediation: s.Remediation, AutoApply: s.AutoApply}
		},
		MaxParallel: func(repo string) int { return cfg.DriftRepo(repo).MaxParallel },
		Ledger:      func(repo string) bool { return cfg.DriftRepo(repo).Ledger },
		Outlets: func(repo string) []runner.DriftOutlet {
			rs := cfg.DriftRepo(repo)
			var out []runner.DriftOutlet
			if f, ok := w.forges[repo]; ok && rs.Issue {
				out = append(out, f)
			}
			if url, err := rs.SlackWebhook(nil, nil); err == nil && url != "" {
				out = append(out, publish.NewSlack(url, cfg.ExternalURL))
			}
			return out
		},
	}
}
