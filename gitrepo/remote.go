package gitrepo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/gitremote"
)

// remote is a remote repository with what Open needs to reach it.
type remote struct {
	url     string // as given, credentials included: only for the transport
	display string // without credentials: for messages, logs and the clone's config
	dirName string // <sanitized-name>-<short hash>
	auth    transport.AuthMethod
	secrets []string // strings that must not appear in errors
}

// newRemote prepares addr, a URL as gitremote.Parse read it, for the
// transport, with the authentication o asks for.
func newRemote(addr gitremote.Remote, o *options) (*remote, error) {
	rm := &remote{url: addr.Raw, display: addr.String()}
	// The clone's directory is named after go-git's endpoint without
	// credentials, as it always was: existing clones are found again.
	ep, err := transport.NewEndpoint(addr.Raw)
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "invalid repository URL %s", rm.display)
	}
	bare := *ep
	bare.User, bare.Password = "", ""
	sum := sha256.Sum256([]byte(bare.String()))
	rm.dirName = sanitizeName(ep.Path) + "-" + hex.EncodeToString(sum[:])[:12]

	secrets := []string{addr.Password(), o.token}
	if addr.Kind == gitremote.HTTP && len(addr.Username()) >= 16 {
		secrets = append(secrets, addr.Username()) // long enough to be a token
	}
	for _, s := range secrets {
		if s != "" {
			rm.secrets = append(rm.secrets, s, url.PathEscape(s), url.QueryEscape(s))
		}
	}

	switch {
	case o.token != "" && o.sshKey != "":
		return nil, landform.Errorf(landform.EINVALID, "both a token and an ssh key given for %s", rm.display)
	case o.token != "":
		if addr.Kind != gitremote.HTTP {
			return nil, landform.Errorf(landform.EINVALID, "token authentication needs an http(s) URL, not %s", rm.display)
		}
		rm.auth = &http.BasicAuth{Username: o.tokenUser, Password: o.token}
	case o.sshKey != "":
		if addr.Kind != gitremote.SSH {
			return nil, landform.Errorf(landform.EINVALID, "ssh key authentication needs an ssh URL, not %s", rm.display)
		}
		user := addr.Username()
		if user == "" {
			user = "git"
		}
		keys, err := ssh.NewPublicKeysFromFile(user, o.sshKey, o.sshPass)
		if err != nil {
			return nil, landform.Errorf(landform.EINVALID, "reading ssh key %s: %w", o.sshKey, err)
		}
		rm.auth = keys
	}
	return rm, nil
}

// sanitizeName turns the last element of a URL path into a directory name.
func sanitizeName(p string) string {
	name := strings.TrimSuffix(path.Base(strings.TrimRight(p, "/")), ".git")
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '-'
	}, name)
	name = strings.Trim(name, ".-")
	if len(name) > 40 {
		name = name[:40]
	}
	if name == "" {
		name = "repo"
	}
	return name
}

// redactedError hides secrets in the text of an error from the transport.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	s := e.err.Error()
	for _, x := range e.secrets {
		s = strings.ReplaceAll(s, x, "REDACTED")
	}
	return s
}

func (e *redactedError) Unwrap() error { return e.err }

// RemoteError is a failure to reach or talk to a remote: the remote is
// down, the network failed, a timeout expired, or the remote answered with
// an error. Callers polling a remote back off when errors.As finds one.
// Its text names the URL, never credentials. When the remote said that the
// repository does not exist or that access is denied, the error returned is
// a *landform.Error with code ENOTFOUND or EUNAUTHORIZED wrapping the
// RemoteError; otherwise it is the RemoteError itself (code EINTERNAL).
type RemoteError struct {
	Op  string // what was being done: "listing refs of", "fetching", "pushing to"
	URL string // the remote, without credentials
	Err error  // the cause, secrets removed
}

func (e *RemoteError) Error() string { return e.Op + " " + e.URL + ": " + e.Err.Error() }

func (e *RemoteError) Unwrap() error { return e.Err }

// error turns an error from the transport during op into one for the
// caller (see RemoteError).
func (rm *remote) error(op string, err error) error {
	if len(rm.secrets) > 0 {
		err = &redactedError{err: err, secrets: rm.secrets}
	}
	re := &RemoteError{Op: op, URL: rm.display, Err: err}
	switch {
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return &landform.Error{Code: landform.ENOTFOUND, Message: "repository not found: " + rm.display, Err: re}
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return &landform.Error{Code: landform.EUNAUTHORIZED, Message: fmt.Sprintf("access to %s denied: %v", rm.display, err), Err: re}
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return &landform.Error{Code: landform.EINVALID, Message: "remote repository is empty: " + rm.display, Err: re}
	}
	return re
}

// list lists the remote's refs in one round trip, within timeout when it
// is positive.
func (rm *remote) list(ctx context.Context, timeout time.Duration) ([]*plumbing.Reference, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	type result struct {
		refs []*plumbing.Reference
		err  error
	}
	// go-git dials git:// addresses without the context, so an unanswered
	// dial would outlast it; the listing runs on its own and is abandoned at
	// the deadline. It writes to memory only and ends at the latest when the
	// system gives up on the connection.
	done := make(chan result, 1)
	go func() {
		lister := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{rm.url}})
		refs, err := lister.ListContext(ctx, &git.ListOptions{Auth: rm.auth, PeelingOption: git.IgnorePeeled})
		done <- result{refs, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		res.err = ctx.Err()
	}
	if res.err != nil {
		if ctx.Err() != nil && !errors.Is(res.err, ctx.Err()) {
			res.err = fmt.Errorf("%w: %w", ctx.Err(), res.err)
		}
		return nil, rm.error("listing refs of", res.err)
	}
	return res.refs, nil
}

// fetch fetches specs from the remote into g; with prune, refs the specs
// match that the remote no longer has are deleted.
func fetch(ctx context.Context, g *git.Repository, rm *remote, specs []config.RefSpec, prune bool) error {
	err := g.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RemoteURL:  rm.url,
		RefSpecs:   specs,
		Auth:       rm.auth,
		Tags:       git.NoTags, // the refspecs say which tags
		Force:      true,
		Prune:      prune,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return rm.error("fetching", err)
	}
	return nil
}

// listRemote lists the remote's refs in one round trip, bounded by the
// list timeout, counts it, and notes where the remote's HEAD points.
func (r *Repo) listRemote(ctx context.Context) ([]*plumbing.Reference, error) {
	r.lists.Add(1)
	adv, err := r.rm.list(ctx, r.listTimeout)
	if err != nil {
		return nil, err
	}
	if head := advertisedHead(adv); head != "" {
		r.setKnownHead(head)
	}
	return adv, nil
}

func (r *Repo) setKnownHead(head plumbing.ReferenceName) {
	r.headMu.Lock()
	r.head = head
	r.headMu.Unlock()
}

// knownHead is the branch the remote's HEAD pointed to at the last listing,
// "" before any.
func (r *Repo) knownHead() plumbing.ReferenceName {
	r.headMu.Lock()
	defer r.headMu.Unlock()
	return r.head
}

// fetchRefs fetches exactly names from the remote into the clone, each
// forced to the remote's value, in one fetch. The caller holds r.netMu and
// gives the side view to fetch into.
//
// Errors: ENOTFOUND naming the ref when the remote has no such ref (with
// git.NoMatchingRefSpecError in its chain); those of the remote.
func (r *Repo) fetchRefs(ctx context.Context, side *sideRepo, names []plumbing.ReferenceName) error {
	specs := make([]config.RefSpec, len(names))
	for i, n := range names {
		specs[i] = config.RefSpec("+" + n.String() + ":" + n.String())
	}
	r.fetches.Add(1)
	r.log.Debug("fetching", "repo", r.src, "refs", names)
	err := fetch(ctx, side.git, r.rm, specs, false)
	var missing git.NoMatchingRefSpecError
	if errors.As(err, &missing) {
		return &landform.Error{Code: landform.ENOTFOUND, Message: fmt.Sprintf("fetching %s: %v", r.src, missing), Err: err}
	}
	return err
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

// reindex makes the object storage reread the list of packs, after a fetch
// added one.
func (r *Repo) reindex() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.store != nil {
		r.store.Reindex()
	}
}
