package source

import (
	"context"
	"io/fs"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
)

// Refs lists the remote's refs (name → commit) in one round trip, and
// names its default branch ("" when the remote has no HEAD: then only
// configured branches are watched).
func (r *Repo) Refs(ctx context.Context) (map[string]string, string, error) {
	g, err := r.Git(ctx)
	if err != nil {
		return nil, "", err
	}
	w, err := gitrepo.NewWatcher(g)
	if err != nil {
		return nil, "", err
	}
	refs, err := w.ListRemoteRefs(ctx)
	if err != nil {
		return nil, "", err
	}
	def, err := w.DefaultBranch(ctx)
	if err != nil && landform.ErrorCode(err) != landform.ENOTFOUND {
		return nil, "", err
	}
	return refs, def, nil
}

// Fetch brings refs into the local clone.
func (r *Repo) Fetch(ctx context.Context, refs []string) error {
	g, err := r.Git(ctx)
	if err != nil {
		return err
	}
	w, err := gitrepo.NewWatcher(g)
	if err != nil {
		return err
	}
	return w.Fetch(ctx, refs...)
}

// MergeBase returns the best common ancestor of two commits.
func (r *Repo) MergeBase(ctx context.Context, a, b string) (string, error) {
	g, err := r.Git(ctx)
	if err != nil {
		return "", err
	}
	return g.MergeBase(a, b)
}

// ExportPaths writes the given directories and files of commit's tree (all
// of it when paths is nil) into dir.
func (r *Repo) ExportPaths(ctx context.Context, commit, dir string, paths []string) error {
	g, err := r.Git(ctx)
	if err != nil {
		return err
	}
	return g.ExportPaths(ctx, commit, dir, paths)
}

// Targets is Changes for the daemon: the targets at head that base..head
// affects and the workspaces it deleted.
func (r *Repo) Targets(ctx context.Context, base, head string) ([]landform.Target, []string, error) {
	c, err := r.Changes(ctx, base, head)
	if err != nil {
		return nil, nil, err
	}
	return c.Targets, c.Deleted, nil
}

// DefaultBranchFS returns the head commit of the remote's default branch,
// as the remote has it now (one ref listing, and a fetch when the clone
// lacks it), and that commit's tree: what the repository says on the
// branch a pull request cannot change, such as its policies.
func (r *Repo) DefaultBranchFS(ctx context.Context) (string, fs.FS, error) {
	refs, def, err := r.Refs(ctx)
	if err != nil {
		return "", nil, err
	}
	if def == "" {
		return "", nil, landform.Errorf(landform.ENOTFOUND, "the remote of %s names no default branch", r.name)
	}
	ref := "refs/heads/" + def
	sha, ok := refs[ref]
	if !ok {
		return "", nil, landform.Errorf(landform.ENOTFOUND, "the default branch %s of %s is not on the remote", def, r.name)
	}
	g, err := r.Git(ctx)
	if err != nil {
		return "", nil, err
	}
	if _, err := g.Resolve(sha); err != nil {
		if err := r.Fetch(ctx, []string{ref}); err != nil {
			return "", nil, err
		}
	}
	fsys, err := g.FS(sha)
	if err != nil {
		return "", nil, err
	}
	return sha, fsys, nil
}

// CommitAuthor returns the email of the author of commit (fetched).
func (r *Repo) CommitAuthor(ctx context.Context, commit string) (string, error) {
	g, err := r.Git(ctx)
	if err != nil {
		return "", err
	}
	return g.CommitAuthor(commit)
}

// AllTargets returns every workspace at commit (fetched) as targets: what
// a drift sweep checks.
func (r *Repo) AllTargets(ctx context.Context, commit string) ([]landform.Target, error) {
	c, err := r.All(ctx, commit)
	if err != nil {
		return nil, err
	}
	return c.Targets, nil
}
