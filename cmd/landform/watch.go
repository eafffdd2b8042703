package main

import (
	"log/slog"

	"github.com/landform/landform"
	"github.com/landform/landform/chatops"
	"github.com/landform/landform/config"
	"github.com/landform/landform/gate"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/modules"
	"github.com/landform/landform/publish"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/server"
	"github.com/landform/landform/source"
)

// watched are the server config's repositories, opened: what serve polls,
// and what the local approve and apply read and check.
type watched struct {
	repos   []runner.WatchedRepo
	hooks   []server.WebhookRepo
	sources map[string]*source.Repo
	forges  map[string]*publish.Forge
	closers []func() error
}

func (w *watched) close() {
	for _, c := range w.closers {
		_ = c()
	}
}

// gateSources are the repositories' default branches, for the policy gate.
func (w *watched) gateSources() map[string]gate.DefaultBranch {
	out := make(map[string]gate.DefaultBranch, len(w.sources))
	for name, s := range w.sources {
		out[name] = s
	}
	return out
}

// authority is who may approve what, from cfg and each repository's
// default branch, with forge teams where a repository has a forge.
func (w *watched) authority(cfg *config.Server) *chatops.Authority {
	branches := make(map[string]chatops.DefaultBranch, len(w.sources))
	for name, s := range w.sources {
		branches[name] = s
	}
	return chatops.NewAuthority(cfg, branches, func(repo string) chatops.TeamChecker {
		if f, ok := w.forges[repo]; ok {
			return f
		}
		return nil
	})
}

// repo returns the watched repository named name.
func (w *watched) repo(name string) (runner.WatchedRepo, bool) {
	for _, r := range w.repos {
		if r.Name == name {
			return r, true
		}
	}
	return runner.WatchedRepo{}, false
}

// watchRepos opens every repository of cfg through the clone cache in the
// data directory, with its forge when it has one.
func (a *app) watchRepos(cfg *config.Server, plans publish.PlanReader, signer gitrepo.Signer, log *slog.Logger) (*watched, error) {
	cache := modules.NewCache(0)
	w := &watched{sources: map[string]*source.Repo{}, forges: map[string]*publish.Forge{}}
	for _, rs := range cfg.Repos {
		src, err := source.Remote(rs, a.dataDir, cache, a.logger)
		if err != nil {
			w.close()
			return nil, err
		}
		src.WithConfig(cfg.RepoOptions()).WithLedgerSigner(signer)
		w.closers = append(w.closers, src.Close)
		wr := runner.WatchedRepo{Repo: rs.Repo, Source: src}
		w.sources[rs.Name] = src
		if !rs.Forge.IsZero() {
			client, err := publish.Dial(rs.Forge)
			if err != nil {
				w.close()
				return nil, landform.Errorf(landform.EINVALID, "repo %s: %w", rs.Name, err)
			}
			f := publish.New(client, plans, cfg.ExternalURL, publish.WithLogger(log.With("repo", rs.Name)))
			wr.Forge, w.forges[rs.Name] = f, f
			secret, err := rs.Forge.WebhookSecret(nil, nil)
			if err != nil {
				w.close()
				return nil, landform.Errorf(landform.EINVALID, "repo %s: %w", rs.Name, err)
			}
			wr.PollComments = rs.Forge.PollsComments()
			w.hooks = append(w.hooks, server.WebhookRepo{Name: rs.Name, Kind: rs.Forge.Kind, Project: rs.Forge.Project, Secret: secret})
		}
		w.repos = append(w.repos, wr)
	}
	return w, nil
}
