// Package analysis composes gitrepo, config and modules into what the CLI,
// the daemon's wiring and the benchmarks all need: one commit's
// configuration (a Snapshot) and the workspaces a change affects. It is
// wiring, shared so that the benchmarks time the code the CLI runs.
package analysis

import (
	"context"
	"fmt"

	"github.com/landform/landform/config"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/modules"
)

// Snapshot is one commit's configuration: the repo config and the
// workspace index.
type Snapshot struct {
	Commit string
	Config *config.Repo
	Index  *modules.Index
}

// Load reads .landform.yaml and the Terraform configuration of commit
// straight from git objects. cache (nil for none) is shared between the
// loads of one repository so that a commit after a known one re-parses only
// what changed.
//
// Errors: EINVALID for a broken .landform.yaml (with file:line:column);
// those of gitrepo for an unknown commit.
func Load(ctx context.Context, repo *gitrepo.Repo, commit string, cache *modules.Cache) (*Snapshot, error) {
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
		return nil, fmt.Errorf("reading configuration at %s: %w", short(commit), err)
	}
	return &Snapshot{Commit: commit, Config: cfg, Index: ix}, nil
}

// Resolve resolves a revision, defaulting to HEAD.
func Resolve(repo *gitrepo.Repo, rev string) (string, error) {
	if rev == "" {
		rev = "HEAD"
	}
	return repo.Resolve(rev)
}

// Affected lists the workspaces the change baseRev..headRev touches:
// resolve both revisions, list the changed paths, load base and then head
// with one cache (a new one when cache is nil), compare them.
func Affected(ctx context.Context, repo *gitrepo.Repo, cache *modules.Cache, baseRev, headRev string) (base, head *Snapshot, aff []modules.Affected, err error) {
	baseSHA, err := Resolve(repo, baseRev)
	if err != nil {
		return nil, nil, nil, err
	}
	headSHA, err := Resolve(repo, headRev)
	if err != nil {
		return nil, nil, nil, err
	}
	changed, err := repo.ChangedPaths(baseSHA, headSHA)
	if err != nil {
		return nil, nil, nil, err
	}
	if cache == nil {
		cache = modules.NewCache(0)
	}
	if base, err = Load(ctx, repo, baseSHA, cache); err != nil {
		return nil, nil, nil, err
	}
	if head, err = Load(ctx, repo, headSHA, cache); err != nil {
		return nil, nil, nil, err
	}
	return base, head, modules.AffectedBy(base.Index, head.Index, changed), nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
