package main

import (
	"context"
	"fmt"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/modules"
)

// snapshot is one commit's configuration: the repo config and the
// workspace index.
type snapshot struct {
	commit string
	cfg    *config.Repo
	index  *modules.Index
}

// loadSnapshot reads .landform.yaml and the Terraform configuration of
// commit straight from git objects. cache is shared between the commits of
// one command so the second load re-parses only what changed.
func loadSnapshot(ctx context.Context, repo *gitrepo.Repo, commit string, cache *modules.Cache) (*snapshot, error) {
	fsys, err := repo.FS(commit)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadRepo(fsys)
	if err != nil {
		return nil, err
	}
	ix, err := modules.Load(ctx, fsys, modules.Options{
		Declared:     cfg.Workspaces,
		Autodiscover: cfg.Autodiscover,
		Cache:        cache,
	})
	if err != nil {
		return nil, fmt.Errorf("reading configuration at %s: %w", shortSHA(commit), err)
	}
	return &snapshot{commit: commit, cfg: cfg, index: ix}, nil
}

// resolve resolves a revision, defaulting to HEAD.
func resolve(repo *gitrepo.Repo, rev string) (string, error) {
	if rev == "" {
		rev = "HEAD"
	}
	return repo.Resolve(rev)
}

// affected lists the workspaces the change base..head touches.
func affected(ctx context.Context, repo *gitrepo.Repo, baseRev, headRev string) (base, head *snapshot, aff []modules.Affected, err error) {
	baseSHA, err := resolve(repo, baseRev)
	if err != nil {
		return nil, nil, nil, err
	}
	headSHA, err := resolve(repo, headRev)
	if err != nil {
		return nil, nil, nil, err
	}
	changed, err := repo.ChangedPaths(baseSHA, headSHA)
	if err != nil {
		return nil, nil, nil, err
	}
	cache := modules.NewCache(0)
	if base, err = loadSnapshot(ctx, repo, baseSHA, cache); err != nil {
		return nil, nil, nil, err
	}
	if head, err = loadSnapshot(ctx, repo, headSHA, cache); err != nil {
		return nil, nil, nil, err
	}
	return base, head, modules.AffectedBy(base.index, head.index, changed), nil
}

// workspaceJSON is one entry of the workspaces/affected JSON documents.
type workspaceJSON struct {
	Name      string   `json:"name"`
	Dir       string   `json:"dir"`
	Workspace string   `json:"workspace,omitempty"`
	Reasons   []string `json:"reasons"`
	Error     string   `json:"error,omitempty"`
}

func newWorkspaceJSON(ws landform.Workspace, reasons []string, ix *modules.Index) workspaceJSON {
	if reasons == nil {
		reasons = []string{}
	}
	out := workspaceJSON{Name: ws.Name, Dir: ws.Dir, Reasons: reasons}
	if ws.TFWorkspace != "" && ws.TFWorkspace != landform.DefaultTFWorkspace {
		out.Workspace = ws.TFWorkspace
	}
	if ix != nil {
		if err := ix.Err(ws.Dir); err != nil {
			out.Error = err.Error()
		}
	}
	return out
}

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
