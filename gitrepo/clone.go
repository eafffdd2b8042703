package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/gitremote"
)

// fetchSpecs is what a clone keeps of its remote: the branches under their
// own names (a mirror, not refs/remotes/origin/*), the tags, and the heads of
// GitHub/Gitea pull requests and GitLab merge requests. Wildcards that match
// nothing are not an error.
var fetchSpecs = []config.RefSpec{
	"+refs/heads/*:refs/heads/*",
	"+refs/tags/*:refs/tags/*",
	"+refs/pull/*/head:refs/pull/*/head",
	"+refs/merge-requests/*/head:refs/merge-requests/*/head",
}

// openRemote opens the clone of addr in the data directory, cloning it
// when there is none. With update, an existing clone is first brought up to
// date (one listing, and a fetch when it is behind); without, it is opened
// without contacting the remote. The clone's HEAD is where the remote's
// was at the listing.
func openRemote(ctx context.Context, addr gitremote.Remote, o *options, update bool) (*Repo, error) {
	rm, err := newRemote(addr, o)
	if err != nil {
		return nil, err
	}
	if o.dataDir == "" {
		return nil, landform.Errorf(landform.EINVALID, "a data directory is needed to clone %s", rm.display)
	}
	log := o.log.With("repo", rm.display)

	reposDir := filepath.Join(o.dataDir, "repos")
	dir := filepath.Join(reposDir, rm.dirName)
	var (
		refs           []*plumbing.Reference
		lists, fetches int64
	)
	g, err := git.PlainOpen(dir)
	switch {
	case err == nil:
		if !update {
			break
		}
		// One round trip tells whether there is anything to fetch.
		lists++
		if refs, err = rm.list(ctx, o.listTimeout); err != nil {
			return nil, err
		}
		fetched, err := fetchIfBehind(ctx, g, rm, refs, log)
		if fetched {
			fetches++
		}
		if err != nil {
			return nil, err
		}
	case errors.Is(err, git.ErrRepositoryNotExists):
		// The listing fails fast on a bad URL or credentials, and gives HEAD.
		lists++
		if refs, err = rm.list(ctx, o.listTimeout); err != nil {
			return nil, err
		}
		if _, statErr := os.Stat(dir); statErr == nil {
			log.Warn("replacing a cache directory that holds no repository", "dir", dir)
			if err := os.RemoveAll(dir); err != nil {
				return nil, fmt.Errorf("removing broken clone of %s: %w", rm.display, err)
			}
		}
		fetches++
		if g, err = clone(ctx, reposDir, dir, rm, log); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("opening clone of %s in %s: %w", rm.display, dir, err)
	}
	if err := setHead(g, refs); err != nil {
		return nil, fmt.Errorf("updating HEAD of clone of %s: %w", rm.display, err)
	}
	r, err := newRepo(g, rm.display, o)
	if err != nil {
		return nil, err
	}
	r.clone, r.rm, r.dir = true, rm, dir
	r.lists.Add(lists)
	r.fetches.Add(fetches)
	if head := advertisedHead(refs); head != "" {
		r.setKnownHead(head)
	}
	return r, nil
}

// clone makes a bare clone in a temporary directory next to dir and renames
// it into place, so that an interrupted clone never looks like a cache.
func clone(ctx context.Context, reposDir, dir string, rm *remote, log *slog.Logger) (*git.Repository, error) {
	if err := os.MkdirAll(reposDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating clone directory: %w", err)
	}
	tmp, err := os.MkdirTemp(reposDir, "."+rm.dirName+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("creating clone directory: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed

	log.Info("cloning", "dir", dir)
	g, err := git.PlainInit(tmp, true)
	if err != nil {
		return nil, fmt.Errorf("initializing clone of %s: %w", rm.display, err)
	}
	if _, err := g.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{rm.display}, Fetch: fetchSpecs}); err != nil {
		return nil, fmt.Errorf("initializing clone of %s: %w", rm.display, err)
	}
	if err := fetch(ctx, g, rm, fetchSpecs, true); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process may have finished the same clone first; use it.
		if g, err2 := git.PlainOpen(dir); err2 == nil {
			return g, nil
		}
		return nil, fmt.Errorf("moving clone of %s into place: %w", rm.display, err)
	}
	g, err = git.PlainOpen(dir)
	if err != nil {
		return nil, fmt.Errorf("opening clone of %s: %w", rm.display, err)
	}
	return g, nil
}

// fetchIfBehind fetches unless every ref the remote advertised (of those the
// clone keeps) is already there with the same hash, and the clone has no
// extra ref to prune. It reports whether it fetched.
func fetchIfBehind(ctx context.Context, g *git.Repository, rm *remote, advertised []*plumbing.Reference, log *slog.Logger) (bool, error) {
	wanted := 0
	upToDate := true
	for _, ref := range advertised {
		if ref.Type() != plumbing.HashReference || !config.MatchAny(fetchSpecs, ref.Name()) {
			continue
		}
		wanted++
		local, err := g.Storer.Reference(ref.Name())
		if err != nil || local.Hash() != ref.Hash() {
			upToDate = false
			break
		}
	}
	if upToDate {
		have := 0
		iter, err := g.Storer.IterReferences()
		if err != nil {
			return false, fmt.Errorf("reading refs of clone of %s: %w", rm.display, err)
		}
		err = iter.ForEach(func(ref *plumbing.Reference) error {
			if ref.Type() == plumbing.HashReference && config.MatchAny(fetchSpecs, ref.Name()) {
				have++
			}
			return nil
		})
		if err != nil {
			return false, fmt.Errorf("reading refs of clone of %s: %w", rm.display, err)
		}
		if have == wanted {
			log.Debug("clone is up to date")
			return false, nil
		}
	}
	log.Debug("fetching")
	return true, fetch(ctx, g, rm, fetchSpecs, true)
}

// setHead points the clone's HEAD where the remote's points.
func setHead(g *git.Repository, advertised []*plumbing.Reference) error {
	for _, ref := range advertised {
		if ref.Name() != plumbing.HEAD {
			continue
		}
		cur, err := g.Storer.Reference(plumbing.HEAD)
		if err == nil && cur.Type() == ref.Type() && cur.Target() == ref.Target() && cur.Hash() == ref.Hash() {
			return nil
		}
		return g.Storer.SetReference(ref)
	}
	return nil
}
