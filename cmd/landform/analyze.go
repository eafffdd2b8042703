package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

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

// affected lists the workspaces the change base..head touches. cache may
// be nil.
func affected(ctx context.Context, repo *gitrepo.Repo, cache *modules.Cache, baseRev, headRev string) (base, head *snapshot, aff []modules.Affected, err error) {
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
	if cache == nil {
		cache = modules.NewCache(0)
	}
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

// parseCache returns the parse cache the one-shot commands keep for a
// repository in the data directory, and a function that saves it back when
// the command parsed something new. Parses are keyed by git tree hash, so a
// later command re-parses only directories that changed. A missing or
// unreadable cache file just means an empty cache.
func (a *app) parseCache(src string) (*modules.Cache, func()) {
	sum := sha256.Sum256([]byte(src))
	path := filepath.Join(a.dataDir, "cache", "modules-"+hex.EncodeToString(sum[:8])+".gob")
	cache := modules.NewCache(0)
	if f, err := os.Open(path); err == nil {
		if _, err := cache.ReadFrom(f); err != nil {
			a.logger.Warn("ignoring the parse cache", "file", path, "err", err)
			cache = modules.NewCache(0)
		}
		f.Close()
	}
	loaded := cache.Len()
	return cache, func() {
		if cache.Len() == loaded {
			return
		}
		if err := writeCacheFile(path, cache); err != nil {
			a.logger.Warn("saving the parse cache", "file", path, "err", err)
		}
	}
}

// writeCacheFile writes cache to path atomically.
func writeCacheFile(path string, cache *modules.Cache) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".modules-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := cache.WriteTo(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
