package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/forge"
	"github.com/landform/landform/gate"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/internal/datadir"
	"github.com/landform/landform/internal/redact"
	"github.com/landform/landform/modules"
	"github.com/landform/landform/publish"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/server"
	"github.com/landform/landform/source"
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
	if a.dataDir != dataDir { // no write when unchanged: demo --serve reads it meanwhile
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
	// The daemon's own context: stores and the ledger outlive a signal
	// until the daemon has finished stopping.
	bg := context.WithoutCancel(ctx)
	db, err := a.openStore(bg)
	if err != nil {
		return err
	}
	defer db.Close()
	// Everything made from here on logs through the redaction, the
	// engine (which logs terraform's errors) included.
	var secrets []string
	for _, rs := range cfg.Repos {
		secrets = append(secrets, rs.Auth.Secrets()...)
		secrets = append(secrets, rs.Forge.Secrets()...)
	}
	var (
		signer     gitrepo.Signer
		passphrase []byte
	)
	if cfg.LedgerSigningPassphraseEnv != "" {
		passphrase = []byte(os.Getenv(cfg.LedgerSigningPassphraseEnv))
		secrets = append(secrets, string(passphrase))
	}
	if cfg.LedgerSigningKeyFile != "" {
		if signer, err = gitrepo.LoadSigner(cfg.LedgerSigningKeyFile, passphrase); err != nil {
			return err
		}
	}
	red := redactor(cfg.Terraform.Env, cfg.Terraform.PassEnv, secrets, cfg.Redact)
	log = slog.New(redact.Handler(log.Handler(), red))
	a.logger = log
	engine, err := a.newEngine(engineFlags{
		cliConfig: cfg.Terraform.CLIConfig, binaries: cfg.Terraform.Binaries, passEnv: cfg.Terraform.PassEnv,
		sandbox: cfg.Sandbox, pluginCache: cfg.Terraform.PluginCacheDir,
		sandboxRO: cfg.Terraform.SandboxReadOnly, sandboxRW: cfg.Terraform.SandboxReadWrite,
	})
	if err != nil {
		return err
	}
	if cfg.Sandbox == string(terraform.SandboxOff) {
		log.Warn("sandbox: off — terraform and its providers run as the daemon's children and can read the data directory and the daemon's files (see docs/security.md)")
	}

	plans, err := a.openPlans()
	if err != nil {
		return err
	}
	cache := modules.NewCache(0)
	var (
		repos   []runner.WatchedRepo
		hooks   []server.WebhookRepo
		sources = map[string]gate.DefaultBranch{}
	)
	for _, rs := range cfg.Repos {
		src, err := source.Remote(rs, a.dataDir, cache, a.logger)
		if err != nil {
			return err
		}
		src.WithConfig(cfg.RepoOptions()).WithLedgerSigner(signer)
		defer src.Close()
		wr := runner.WatchedRepo{Repo: rs.Repo, Source: src}
		sources[rs.Name] = src
		if !rs.Forge.IsZero() {
			client, err := publish.Dial(rs.Forge)
			if err != nil {
				return landform.Errorf(landform.EINVALID, "repo %s: %w", rs.Name, err)
			}
			wr.Forge = publish.New(client, plans, cfg.ExternalURL, publish.WithLogger(log.With("repo", rs.Name)))
			secret, err := rs.Forge.WebhookSecret(nil, nil)
			if err != nil {
				return landform.Errorf(landform.EINVALID, "repo %s: %w", rs.Name, err)
			}
			hooks = append(hooks, server.WebhookRepo{Name: rs.Name, Kind: rs.Forge.Kind, Project: rs.Forge.Project, Secret: secret})
		}
		repos = append(repos, wr)
	}
	policyGate, err := gate.New(cfg.Policies, sources)
	if err != nil {
		return err
	}
	var ropts []runner.Option
	if !policyGate.Empty() {
		ropts = append(ropts, runner.WithPolicies(policyGate))
	}
	r, err := a.newRunner(db, engine, cfg.Terraform.Env, red, cfg.Parallel, true, ropts...)
	if err != nil {
		return err
	}
	d := runner.NewDaemon(r, db, repos, runner.WithShutdownGrace(cfg.ShutdownGrace), runner.WithOwner(hostname()),
		runner.WithMaxQueuedPerRepo(cfg.Limits.QueuedRunsPerRepo))

	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return landform.Errorf(landform.EINVALID, "listen %s: %w", cfg.Listen, err)
	}
	// A verified webhook makes its repository poll now: polling stays the
	// source of truth, so a lost delivery costs only latency.
	handler := server.New(d.Health, log, server.WithWebhooks(hooks, func(repo string, _ forge.WebhookEvent) { d.Poke(repo) }))
	httpSrv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
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

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "landform"
	}
	return h
}
