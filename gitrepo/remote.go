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

// remoteError turns an error from the transport into one for the caller.
func (rm *remote) error(err error) error {
	if len(rm.secrets) > 0 {
		err = &redactedError{err: err, secrets: rm.secrets}
	}
	switch {
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return &landform.Error{Code: landform.ENOTFOUND, Message: "repository not found: " + rm.display, Err: err}
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return landform.Errorf(landform.EUNAUTHORIZED, "access to %s denied: %w", rm.display, err)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return &landform.Error{Code: landform.EINVALID, Message: "remote repository is empty: " + rm.display, Err: err}
	}
	return fmt.Errorf("fetching %s: %w", rm.display, err)
}

func openRemote(ctx context.Context, rawURL string, o *options) (*Repo, error) {
	rm, err := parseRemote(rawURL, o)
	if err != nil {
		return nil, err
	}
	if o.dataDir == "" {
		return nil, landform.Errorf(landform.EINVALID, "a data directory is needed to clone %s", rm.display)
	}
	log := o.log.With("repo", rm.display)

	// One round trip tells whether there is anything to fetch.
	lister := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{rm.url}})
	refs, err := lister.ListContext(ctx, &git.ListOptions{Auth: rm.auth, PeelingOption: git.IgnorePeeled})
	if err != nil {
		return nil, rm.error(err)
	}

	reposDir := filepath.Join(o.dataDir, "repos")
	dir := filepath.Join(reposDir, rm.dirName)
	g, err := git.PlainOpen(dir)
	switch {
	case err == nil:
		if err := fetchIfBehind(ctx, g, rm, refs, log); err != nil {
			return nil, err
		}
	case errors.Is(err, git.ErrRepositoryNotExists):
		if _, statErr := os.Stat(dir); statErr == nil {
			log.Warn("replacing a cache directory that holds no repository", "dir", dir)
			if err := os.RemoveAll(dir); err != nil {
				return nil, fmt.Errorf("removing broken clone of %s: %w", rm.display, err)
			}
		}
		if g, err = clone(ctx, reposDir, dir, rm, log); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("opening clone of %s in %s: %w", rm.display, dir, err)
	}
	if err := setHead(g, refs); err != nil {
		return nil, fmt.Errorf("updating HEAD of clone of %s: %w", rm.display, err)
	}
	return newRepo(g, rm.display, true, o.log)
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
	if err := fetch(ctx, g, rm); err != nil {
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

func fetch(ctx context.Context, g *git.Repository, rm *remote) error {
	err := g.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RemoteURL:  rm.url,
		RefSpecs:   fetchSpecs,
		Auth:       rm.auth,
		Tags:       git.NoTags, // the refspecs take them all
		Force:      true,
		Prune:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return rm.error(err)
	}
	return nil
}

// fetchIfBehind fetches unless every ref the remote advertised (of those the
// clone keeps) is already there with the same hash, and the clone has no
// extra ref to prune.
func fetchIfBehind(ctx context.Context, g *git.Repository, rm *remote, advertised []*plumbing.Reference, log *slog.Logger) error {
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
			return fmt.Errorf("reading refs of clone of %s: %w", rm.display, err)
		}
		err = iter.ForEach(func(ref *plumbing.Reference) error {
			if ref.Type() == plumbing.HashReference && config.MatchAny(fetchSpecs, ref.Name()) {
				have++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading refs of clone of %s: %w", rm.display, err)
		}
		if have == wanted {
			log.Debug("clone is up to date")
			return nil
		}
	}
	log.Debug("fetching")
	return fetch(ctx, g, rm)
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
