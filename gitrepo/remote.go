package gitrepo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/landform/landform"
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

// remote is a parsed remote URL with what Open needs to reach it.
type remote struct {
	url     string // as given, credentials included: only for the transport
	display string // without credentials: for messages, logs and the clone's config
	dirName string // <sanitized-name>-<short hash>
	auth    transport.AuthMethod
	secrets []string // strings that must not appear in errors
}

func parseRemote(rawURL string, o *options) (*remote, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "invalid repository URL %s", redactURL(rawURL))
	}
	rm := &remote{url: rawURL}

	bare := *ep
	bare.User, bare.Password = "", ""
	rm.display = rawURL // scp-like: no password in it
	if strings.Contains(rawURL, "://") {
		// No user either: https://TOKEN@host/ is a common way to pass a token.
		rm.display = bare.String()
		if u, err := url.Parse(rawURL); err == nil {
			u.User = nil
			rm.display = u.String()
		}
	}
	sum := sha256.Sum256([]byte(bare.String()))
	rm.dirName = sanitizeName(ep.Path) + "-" + hex.EncodeToString(sum[:])[:12]

	secrets := []string{ep.Password, o.token}
	if (ep.Protocol == "http" || ep.Protocol == "https") && len(ep.User) >= 16 {
		secrets = append(secrets, ep.User) // long enough to be a token
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
		if ep.Protocol != "http" && ep.Protocol != "https" {
			return nil, landform.Errorf(landform.EINVALID, "token authentication needs an http(s) URL, not %s", rm.display)
		}
		rm.auth = &http.BasicAuth{Username: o.tokenUser, Password: o.token}
	case o.sshKey != "":
		if ep.Protocol != "ssh" {
			return nil, landform.Errorf(landform.EINVALID, "ssh key authentication needs an ssh URL, not %s", rm.display)
		}
		user := ep.User
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

func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
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

// openRemote opens the clone of rawURL in the data directory, cloning it
// when there is none. With update, an existing clone is first brought up to
// date (one listing, and a fetch when it is behind); without, it is opened
// without contacting the remote.
func openRemote(ctx context.Context, rawURL string, o *options, update bool) (*Repo, error) {
	rm, err := parseRemote(rawURL, o)
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
