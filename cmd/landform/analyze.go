package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/internal/analysis"
	"github.com/landform/landform/modules"
)

// snapshot is one commit's configuration.
type snapshot = analysis.Snapshot

// loadSnapshot reads one commit's configuration (see analysis.Load).
func loadSnapshot(ctx context.Context, repo *gitrepo.Repo, commit string, cache *modules.Cache) (*snapshot, error) {
	return analysis.Load(ctx, repo, commit, cache)
}

// resolve resolves a revision, defaulting to HEAD.
func resolve(repo *gitrepo.Repo, rev string) (string, error) { return analysis.Resolve(repo, rev) }

// affected lists the workspaces the change base..head touches (see
// analysis.Affected); cache may be nil.
func affected(ctx context.Context, repo *gitrepo.Repo, cache *modules.Cache, baseRev, headRev string) (base, head *snapshot, aff []modules.Affected, err error) {
	return analysis.Affected(ctx, repo, cache, baseRev, headRev)
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
