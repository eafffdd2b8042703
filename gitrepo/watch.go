package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/landform/landform"
)

// watchSpecs are the refs a watcher cares about: branches and the heads of
// pull and merge requests. Tags are left out.
var watchSpecs = []config.RefSpec{
	"refs/heads/*:refs/heads/*",
	"refs/pull/*/head:refs/pull/*/head",
	"refs/merge-requests/*/head:refs/merge-requests/*/head",
}

func watched(name plumbing.ReferenceName) bool { return config.MatchAny(watchSpecs, name) }

// WithListTimeout bounds each ref listing (ListRemoteRefs, and the listing
// Open and Fetch start with) to d; 0 leaves only the context to bound it.
// The default is 30 seconds.
func WithListTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return landform.Errorf(landform.EINVALID, "negative list timeout %v", d)
		}
		o.listTimeout = d
		return nil
	}
}

// OpenRemote opens a repository to watch. For a URL it opens the bare clone
// kept in the data directory without contacting the remote; only when there
// is no clone yet does it clone (listing the remote's refs, then fetching
// branches, tags and pull/merge request heads). The daemon then polls with
// ListRemoteRefs and fetches what moved with Fetch. A local path is opened
// in place, as Open does.
//
// Errors: those of Open.
func OpenRemote(ctx context.Context, src string, opts ...Option) (*Repo, error) {
	return open(ctx, src, false, opts)
}

// Stats counts a Repo's round trips to its remote since it was opened, for
// metrics and tests. A local repository makes none.
type Stats struct {
	Lists   int64 // ref listings (ls-remote)
	Fetches int64 // fetches
	Pushes  int64 // push attempts (the ledger)
}

// Stats returns the counts of round trips so far.
func (r *Repo) Stats() Stats {
	return Stats{Lists: r.lists.Load(), Fetches: r.fetches.Load(), Pushes: r.pushes.Load()}
}

// ListRemoteRefs lists the remote's branches (refs/heads/*) and pull and
// merge request heads (refs/pull/N/head, refs/merge-requests/N/head) in one
// round trip, as a map from ref name to commit SHA. When the remote's HEAD
// points to a branch, the map also has "HEAD" with that branch's SHA, and
// DefaultBranch answers without another round trip; HEAD itself is not a
// ref to Fetch (fetch the branch). Tags are left out; the ledger branch is
// a branch like any other. Nothing is fetched: compare the result with
// LocalRefs (or with the SHAs last acted on) and Fetch only what moved.
//
// For a local repository it returns LocalRefs, without any network.
//
// Errors: a *RemoteError naming the URL when the remote cannot be reached or
// the listing outlasts the list timeout (see WithListTimeout), wrapped in
// ENOTFOUND or EUNAUTHORIZED when the remote says so.
func (r *Repo) ListRemoteRefs(ctx context.Context) (map[string]string, error) {
	if r.rm == nil {
		refs, err := r.LocalRefs()
		if err != nil {
			return nil, err
		}
		r.lists.Add(1)
		return refs, nil
	}
	r.lists.Add(1)
	adv, err := r.rm.list(ctx, r.listTimeout)
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
		r.setKnownHead(head)
		if sha, ok := refs[head.String()]; ok {
			refs["HEAD"] = sha
		}
	} else if headHash != "" {
		refs["HEAD"] = headHash
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

func (r *Repo) setKnownHead(head plumbing.ReferenceName) {
	r.headMu.Lock()
	r.head = head
	r.headMu.Unlock()
}

func (r *Repo) knownHead() plumbing.ReferenceName {
	r.headMu.Lock()
	defer r.headMu.Unlock()
	return r.head
}

// LocalRefs returns the refs the repository has, in the shape of
// ListRemoteRefs: branches, pull and merge request heads, and "HEAD" when it
// resolves. For a clone these are the remote's as of the last fetch, so the
// refs whose SHA differs from ListRemoteRefs' are those to Fetch.
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

// refName turns a ref given to Fetch into a full ref name: "main" means
// refs/heads/main; full names (refs/...) are kept.
func refName(s string) (plumbing.ReferenceName, error) {
	name := plumbing.ReferenceName(s)
	if !strings.HasPrefix(s, "refs/") {
		name = plumbing.NewBranchReferenceName(s)
	}
	if s == "" || name.Validate() != nil {
		return "", landform.Errorf(landform.EINVALID, "invalid ref name %q", s)
	}
	return name, nil
}

// Fetch brings refs from the remote into the clone: exactly the named refs
// ("refs/heads/main", "refs/pull/7/head", or a branch name such as "main"),
// each forced to the remote's value, in one fetch; or with no refs,
// everything the clone keeps (branches, tags, pull and merge request heads,
// pruning what the remote deleted), after one listing and only when the
// clone is behind. Commits fetched are visible to Resolve, TreeFS and the
// rest as soon as Fetch returns.
//
// For a local repository nothing is fetched: Fetch only rereads the pack
// list, so that objects other processes packed since Open are found, and
// checks that the named refs exist.
//
// Errors: EINVALID for a malformed ref name; ENOTFOUND naming the ref when
// the remote (or local repository) has no such ref; otherwise those of
// ListRemoteRefs.
func (r *Repo) Fetch(ctx context.Context, refs ...string) error {
	names := make([]plumbing.ReferenceName, len(refs))
	for i, s := range refs {
		n, err := refName(s)
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
		r.lists.Add(1)
		adv, err := r.rm.list(ctx, r.listTimeout)
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
		if head := advertisedHead(adv); head != "" {
			r.setKnownHead(head)
		}
		if err := setHead(side.git, adv); err != nil {
			return fmt.Errorf("updating HEAD of clone of %s: %w", r.src, err)
		}
		return nil
	}

	specs := make([]config.RefSpec, len(names))
	for i, n := range names {
		specs[i] = config.RefSpec("+" + n.String() + ":" + n.String())
	}
	r.fetches.Add(1)
	r.log.Debug("fetching", "repo", r.src, "refs", refs)
	err = fetch(ctx, side.git, r.rm, specs, false)
	var missing git.NoMatchingRefSpecError
	if errors.As(err, &missing) {
		return &landform.Error{Code: landform.ENOTFOUND, Message: fmt.Sprintf("fetching %s: %v", r.src, missing), Err: err}
	}
	if err != nil {
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

// reindex makes the object storage reread the list of packs, after a fetch
// added one.
func (r *Repo) reindex() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.store != nil {
		r.store.Reindex()
	}
}

// sideRepo is a second view of the repository on disk, with a storage of
// its own, for network operations: they write packs and refs to disk
// without holding r.mu, and readers see the new objects after reindex.
type sideRepo struct {
	git   *git.Repository
	store *filesystem.Storage
}

func (s *sideRepo) close() { s.store.Close() }

func (r *Repo) openSide() (*sideRepo, error) {
	g, err := git.PlainOpen(r.dir)
	if err != nil {
		return nil, fmt.Errorf("opening clone of %s: %w", r.src, err)
	}
	st, ok := g.Storer.(*filesystem.Storage)
	if !ok {
		return nil, fmt.Errorf("opening clone of %s: not stored on disk", r.src)
	}
	return &sideRepo{git: g, store: st}, nil
}

// DefaultBranch returns the short name of the branch the remote's HEAD
// points to ("main"): as the last listing (ListRemoteRefs, Open, Fetch) saw
// it, else as recorded in the clone, else after one listing. For a local
// repository it is the branch its HEAD points to.
//
// Errors: ENOTFOUND when HEAD is detached or not advertised; those of
// ListRemoteRefs.
func (r *Repo) DefaultBranch(ctx context.Context) (string, error) {
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
		if _, err := r.ListRemoteRefs(ctx); err != nil {
			return "", err
		}
		if head := r.knownHead(); head != "" {
			return head.Short(), nil
		}
	}
	return "", landform.Errorf(landform.ENOTFOUND, "no default branch: HEAD of %s is not a branch", r.src)
}
