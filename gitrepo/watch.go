package gitrepo

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/gitref"
)

// Watcher watches the remote of a Repo for the daemon: one ref listing per
// poll (ListRemoteRefs), a fetch of only the refs that moved (Fetch), and
// the remote's default branch (DefaultBranch). A local repository is
// watched in place: its own refs are listed, and nothing is fetched.
//
// A Watcher is safe for concurrent use.
type Watcher struct {
	r *Repo
}

// NewWatcher returns a Watcher of r's remote: for a clone, the remote it
// was cloned from (reached with the options r was opened with, its list
// timeout included); for a local repository, r itself. r must stay open
// while the Watcher is used.
//
// Errors: EINVALID for a nil Repo.
func NewWatcher(r *Repo) (*Watcher, error) {
	if r == nil {
		return nil, landform.Errorf(landform.EINVALID, "no repository to watch")
	}
	return &Watcher{r: r}, nil
}

// Stats counts the round trips to a remote, for metrics and tests.
type Stats struct {
	Lists   int64 // ref listings (ls-remote)
	Fetches int64 // fetches
	Pushes  int64 // push attempts (the ledger)
}

// Stats returns the round trips made to the remote through the Watcher's
// Repo since it was opened: by Open (the clone, or bringing it up to date),
// by Watchers and by Ledgers. A local repository makes none, but its
// listings are counted.
func (w *Watcher) Stats() Stats {
	r := w.r
	return Stats{Lists: r.lists.Load(), Fetches: r.fetches.Load(), Pushes: r.pushes.Load()}
}

// ListRemoteRefs lists the remote's branches (refs/heads/*) and pull and
// merge request heads (refs/pull/N/head, refs/merge-requests/N/head) in one
// round trip, as a map from ref name to commit SHA. When the remote's HEAD
// points to a branch, the map also has "HEAD" with that branch's SHA, and
// DefaultBranch answers without another round trip; HEAD itself is not a
// ref to Fetch (fetch the branch). Tags are left out; the ledger branch is
// a branch like any other. Nothing is fetched: compare the result with
// Repo.LocalRefs (or with the SHAs last acted on) and Fetch only what
// moved.
//
// For a local repository it returns Repo.LocalRefs, without any network.
//
// Errors: a *RemoteError naming the URL when the remote cannot be reached or
// the listing outlasts the list timeout (see WithListTimeout), wrapped in
// ENOTFOUND or EUNAUTHORIZED when the remote says so.
func (w *Watcher) ListRemoteRefs(ctx context.Context) (map[string]string, error) {
	r := w.r
	if r.rm == nil {
		refs, err := r.LocalRefs()
		if err != nil {
			return nil, err
		}
		r.lists.Add(1)
		return refs, nil
	}
	adv, err := r.listRemote(ctx)
	if err != nil {
		return nil, err
	}
	refs := make(map[string]string)
	var headHash string
	for _, ref := range adv {
		switch {
		case ref.Name() == plumbing.HEAD && ref.Type() == plumbing.HashReference:
			headHash = ref.Hash().String()
		case ref.Type() == plumbing.HashReference && watched(ref.Name()):
			refs[ref.Name().String()] = ref.Hash().String()
		}
	}
	if head := advertisedHead(adv); head != "" {
		if sha, ok := refs[head.String()]; ok {
			refs["HEAD"] = sha
		}
	} else if headHash != "" {
		refs["HEAD"] = headHash
	}
	return refs, nil
}

// Fetch brings refs from the remote into the clone: exactly the named refs
// ("refs/heads/main", "refs/pull/7/head", or a branch name such as "main"),
// each forced to the remote's value, in one fetch; or with no refs,
// everything the clone keeps (branches, tags, pull and merge request heads,
// pruning what the remote deleted), after one listing and only when the
// clone is behind. Commits fetched are visible to the Repo's Resolve, FS
// and the rest as soon as Fetch returns.
//
// For a local repository nothing is fetched: Fetch only rereads the pack
// list, so that objects other processes packed since Open are found, and
// checks that the named refs exist.
//
// Errors: EINVALID for a malformed ref name (gitref.Full: go-git's rules);
// ENOTFOUND naming the ref when the remote (or local repository) has no
// such ref; otherwise those of ListRemoteRefs.
func (w *Watcher) Fetch(ctx context.Context, refs ...string) error {
	r := w.r
	names := make([]plumbing.ReferenceName, len(refs))
	for i, s := range refs {
		n, err := gitref.Full(s)
		if err != nil {
			return err
		}
		names[i] = n
	}
	if r.rm == nil {
		return r.refreshLocal(names)
	}

	r.netMu.Lock()
	defer r.netMu.Unlock()
	side, err := r.openSide()
	if err != nil {
		return err
	}
	defer side.close()
	defer r.reindex()

	if len(names) == 0 {
		adv, err := r.listRemote(ctx)
		if err != nil {
			return err
		}
		fetched, err := fetchIfBehind(ctx, side.git, r.rm, adv, r.log)
		if fetched {
			r.fetches.Add(1)
		}
		if err != nil {
			return err
		}
		if err := setHead(side.git, adv); err != nil {
			return fmt.Errorf("updating HEAD of clone of %s: %w", r.src, err)
		}
		return nil
	}

	if err := r.fetchRefs(ctx, side, names); err != nil {
		return err
	}
	// Follow a change of the remote's default branch once it is here.
	if head := r.knownHead(); head != "" {
		if _, err := side.git.Storer.Reference(head); err == nil {
			if err := setHead(side.git, []*plumbing.Reference{plumbing.NewSymbolicReference(plumbing.HEAD, head)}); err != nil {
				return fmt.Errorf("updating HEAD of clone of %s: %w", r.src, err)
			}
		}
	}
	return nil
}

// refreshLocal is Fetch for a local repository.
func (r *Repo) refreshLocal(names []plumbing.ReferenceName) error {
	r.reindex()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		if _, err := r.git.Storer.Reference(n); err != nil {
			return &landform.Error{Code: landform.ENOTFOUND, Message: fmt.Sprintf("no ref %s in %s", n, r.src), Err: err}
		}
	}
	return nil
}

// DefaultBranch returns the short name of the branch the remote's HEAD
// points to ("main"): as the last listing through the Repo (Open,
// ListRemoteRefs, Fetch) saw it, else as recorded in the clone, else after
// one listing. For a local repository it is the branch its HEAD
// points to.
//
// Errors: ENOTFOUND when HEAD is detached or not advertised; those of
// ListRemoteRefs.
func (w *Watcher) DefaultBranch(ctx context.Context) (string, error) {
	r := w.r
	if head := r.knownHead(); head != "" && r.rm != nil {
		return head.Short(), nil
	}
	r.mu.Lock()
	ref, err := r.git.Storer.Reference(plumbing.HEAD)
	r.mu.Unlock()
	if err == nil && ref.Type() == plumbing.SymbolicReference && ref.Target().IsBranch() {
		return ref.Target().Short(), nil
	}
	if r.rm != nil {
		if _, err := w.ListRemoteRefs(ctx); err != nil {
			return "", err
		}
		if head := r.knownHead(); head != "" {
			return head.Short(), nil
		}
	}
	return "", landform.Errorf(landform.ENOTFOUND, "no default branch: HEAD of %s is not a branch", r.src)
}
