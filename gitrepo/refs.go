package gitrepo

import (
	"fmt"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// watchSpecs are the refs a watcher cares about: branches and the heads of
// pull and merge requests. Tags are left out.
var watchSpecs = []config.RefSpec{
	"refs/heads/*:refs/heads/*",
	"refs/pull/*/head:refs/pull/*/head",
	"refs/merge-requests/*/head:refs/merge-requests/*/head",
}

func watched(name plumbing.ReferenceName) bool { return config.MatchAny(watchSpecs, name) }

// LocalRefs returns the refs the repository has, in the shape of
// Watcher.ListRemoteRefs: branches, pull and merge request heads, and
// "HEAD" when it resolves. For a clone these are the remote's as of the
// last fetch, so the refs whose SHA differs from ListRemoteRefs' are those
// to Fetch.
func (r *Repo) LocalRefs() (map[string]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	iter, err := r.git.Storer.IterReferences()
	if err != nil {
		return nil, fmt.Errorf("reading refs of %s: %w", r.src, err)
	}
	refs := make(map[string]string)
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.HashReference && watched(ref.Name()) {
			refs[ref.Name().String()] = ref.Hash().String()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading refs of %s: %w", r.src, err)
	}
	if head, err := r.git.Storer.Reference(plumbing.HEAD); err == nil {
		switch head.Type() {
		case plumbing.HashReference:
			refs["HEAD"] = head.Hash().String()
		case plumbing.SymbolicReference:
			if sha, ok := refs[head.Target().String()]; ok {
				refs["HEAD"] = sha
			}
		}
	}
	return refs, nil
}

// advertisedHead returns the branch an advertised symbolic HEAD points to,
// or "".
func advertisedHead(adv []*plumbing.Reference) plumbing.ReferenceName {
	for _, ref := range adv {
		if ref.Name() == plumbing.HEAD && ref.Type() == plumbing.SymbolicReference && ref.Target().IsBranch() {
			return ref.Target()
		}
	}
	return ""
}
