package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/gitremote"
)

// Repo is an opened repository, for reading: a local one in place, or the
// cached clone of a remote. Watcher and Ledger are made from a Repo.
type Repo struct {
	git *git.Repository
	// src names the repository in messages: the path, or the URL without
	// credentials.
	src string
	// clone is true for a cached clone of a remote, whose branches are
	// refs/heads/* (so "origin/main" means refs/heads/main).
	clone bool
	// rm is the remote of a clone; nil for a local repository.
	rm *remote
	// dir is the git directory: the clone's, or for a local repository the
	// common one, where its refs and objects are.
	dir string
	log *slog.Logger
	// store is the object storage, closed by Close.
	store *filesystem.Storage

	// listTimeout bounds each ref listing of the remote; 0 means only the
	// context does.
	listTimeout time.Duration

	// mu serializes access to the object storage, which is not safe for
	// concurrent use.
	mu sync.Mutex
	// netMu serializes fetches and pushes into the clone, whoever makes
	// them (Watchers, Ledgers). Lock order: a Ledger's mu, then netMu, then
	// mu.
	netMu sync.Mutex

	// head is the branch the remote's HEAD pointed to at the last listing
	// through this Repo (Open's, a Watcher's).
	headMu sync.Mutex
	head   plumbing.ReferenceName

	// The round trips to the remote made through this Repo (Watcher.Stats).
	lists, fetches, pushes atomic.Int64
}

// Option configures Open.
type Option func(*options) error

type options struct {
	dataDir   string
	token     string
	tokenUser string
	sshKey    string
	sshPass   string
	log       *slog.Logger
	// listTimeout bounds each ref listing; 0 means only ctx does.
	listTimeout time.Duration
}

// defaultListTimeout bounds a ref listing unless WithListTimeout says
// otherwise.
const defaultListTimeout = 30 * time.Second

func newOptions(opts []Option) (*options, error) {
	o := &options{
		tokenUser:   "x-access-token",
		log:         slog.New(slog.DiscardHandler),
		listTimeout: defaultListTimeout,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithDataDir sets Landform's data directory. Clones of remote repositories
// are kept in its "repos" subdirectory. Open needs it for a URL.
func WithDataDir(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return landform.Errorf(landform.EINVALID, "empty data directory")
		}
		o.dataDir = dir
		return nil
	}
}

// WithToken authenticates to an http(s) remote with HTTP basic auth, the
// token as password. The username is "x-access-token" unless WithUsername
// sets another. The token never appears in errors or logs.
func WithToken(token string) Option {
	return func(o *options) error {
		if token == "" {
			return landform.Errorf(landform.EINVALID, "empty token")
		}
		o.token = token
		return nil
	}
}

// WithUsername sets the username that goes with WithToken (GitLab wants
// "oauth2", Bitbucket the account name; GitHub and Gitea accept anything).
func WithUsername(user string) Option {
	return func(o *options) error {
		o.tokenUser = user
		return nil
	}
}

// WithSSHKey authenticates to an ssh remote with the private key in file,
// decrypted with passphrase when it is not empty. The user is the URL's, or
// "git". Host keys are checked against the usual known_hosts files.
func WithSSHKey(file, passphrase string) Option {
	return func(o *options) error {
		if file == "" {
			return landform.Errorf(landform.EINVALID, "empty ssh key file name")
		}
		o.sshKey, o.sshPass = file, passphrase
		return nil
	}
}

// WithLogger sets the logger for clones, fetches and pushes (default:
// none).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l != nil {
			o.log = l
		}
		return nil
	}
}

// WithListTimeout bounds each listing of the remote's refs (the one Open
// starts with, and a Watcher's) to d; 0 leaves only the context to bound
// it. The default is 30 seconds.
func WithListTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return landform.Errorf(landform.EINVALID, "negative list timeout %v", d)
		}
		o.listTimeout = d
		return nil
	}
}

// Open opens the repository src.
//
// A local path (a working copy, a linked worktree or a bare repository) is
// opened in place, read-only (but see Ledger). A URL (file://, git://,
// http(s)://, ssh:// or scp-like user@host:path, as gitremote.Parse reads
// it; a local path that exists wins over an scp-like reading) is cloned
// bare into DATA_DIR/repos/<name>-<hash of the URL>, and on later calls
// that clone is brought up to date: all branches and tags, plus
// refs/pull/*/head and refs/merge-requests/*/head where the remote has
// them; refs the remote no longer has are pruned. The remote's refs are
// listed first (bounded by WithListTimeout), and the fetch is skipped when
// the clone already has them all. OpenRemote is the variant that skips the
// listing when a clone exists.
//
// The Repo keeps packfiles open until Close.
//
// Errors: EINVALID "not a git repository: PATH" for a local path that is not
// a repository, EINVALID for an invalid URL (saying why, without its
// credentials), bad options or a URL without WithDataDir, and
// ENOTFOUND or EUNAUTHORIZED when the remote says so. Any other failure to
// reach the remote is a *RemoteError naming the URL (credentials removed).
func Open(ctx context.Context, src string, opts ...Option) (*Repo, error) {
	return open(ctx, src, true, opts)
}

// OpenRemote opens a repository to watch. For a URL it opens the bare clone
// kept in the data directory without contacting the remote; only when there
// is no clone yet does it clone (listing the remote's refs, then fetching
// branches, tags and pull/merge request heads). The daemon then polls with a
// Watcher: ListRemoteRefs, and Fetch for what moved. A local path is opened
// in place, as Open does.
//
// Errors: those of Open.
func OpenRemote(ctx context.Context, src string, opts ...Option) (*Repo, error) {
	return open(ctx, src, false, opts)
}

// open opens src; update says whether an existing clone is brought up to
// date first.
func open(ctx context.Context, src string, update bool, opts []Option) (*Repo, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if src == "" {
		return nil, landform.Errorf(landform.EINVALID, "empty repository path or URL")
	}
	addr, err := gitremote.Parse(src)
	if !strings.Contains(src, "://") && (err != nil || addr.SCP) {
		// An existing directory named like an address (host:path) is a path.
		if _, statErr := os.Stat(src); statErr == nil {
			return openLocal(src, o)
		}
	}
	if err != nil {
		return nil, err
	}
	if !addr.IsURL() {
		return openLocal(src, o)
	}
	return openRemote(ctx, addr, o, update)
}

func openLocal(path string, o *options) (*Repo, error) {
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		return nil, landform.Errorf(landform.EINVALID, "not a git repository: %s", path)
	}
	g, err := git.PlainOpenWithOptions(path, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, landform.Errorf(landform.EINVALID, "not a git repository: %s", path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening git repository %s: %w", path, err)
	}
	r, err := newRepo(g, path, o)
	if err != nil {
		return nil, err
	}
	if r.dir, err = gitDir(g); err != nil {
		r.Close()
		return nil, fmt.Errorf("opening git repository %s: %w", path, err)
	}
	return r, nil
}

// gitDir returns the absolute path of the directory holding g's refs and
// objects: the .git directory, a bare repository itself, or for a linked
// worktree the main repository's git directory.
func gitDir(g *git.Repository) (string, error) {
	st, ok := g.Storer.(*filesystem.Storage)
	if !ok {
		return "", errors.New("not stored on disk")
	}
	dir, err := filepath.Abs(st.Filesystem().Root())
	if err != nil {
		return "", err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "commondir")); err == nil {
		common := strings.TrimSpace(string(b))
		if !filepath.IsAbs(common) {
			common = filepath.Join(dir, common)
		}
		return filepath.Clean(common), nil
	}
	return dir, nil
}

// newRepo wraps g, opened by go-git's PlainOpen, with a storage that keeps
// its packfiles open: by default go-git opens and closes the packfile for
// every object it reads, which made reading trees several times slower.
func newRepo(g *git.Repository, src string, o *options) (*Repo, error) {
	r := &Repo{git: g, src: src, log: o.log, listTimeout: o.listTimeout}
	plain, ok := g.Storer.(*filesystem.Storage)
	if !ok {
		return r, nil
	}
	store := filesystem.NewStorageWithOptions(plain.Filesystem(), cache.NewObjectLRUDefault(),
		filesystem.Options{KeepDescriptors: true})
	kept, err := git.Open(store, nil)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("opening git repository %s: %w", src, err)
	}
	r.git, r.store = kept, store
	return r, nil
}

// Close releases the files the repository keeps open. TreeFS values made
// from it must not be used afterwards.
func (r *Repo) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.store == nil {
		return nil
	}
	err := r.store.Close()
	r.store = nil
	return err
}

func (r *Repo) String() string { return r.src }

// Resolve returns the full SHA of the commit rev names: a branch, a tag
// (annotated or lightweight), a full or abbreviated SHA, HEAD, a ref name
// (refs/...), and suffixes such as ~N and ^N. In a clone of a remote,
// "origin/BRANCH" names the remote's branch BRANCH.
//
// Errors: ENOTFOUND "unknown revision REV" when rev names no commit,
// EINVALID for an empty rev.
func (r *Repo) Resolve(rev string) (string, error) {
	h, err := r.resolve(rev)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

func (r *Repo) resolve(rev string) (plumbing.Hash, error) {
	if rev == "" {
		return plumbing.ZeroHash, landform.Errorf(landform.EINVALID, "empty revision")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.git.ResolveRevision(plumbing.Revision(rev))
	if err != nil && r.clone && strings.HasPrefix(rev, "origin/") {
		// Branches of a clone are refs/heads/*; accept the name they have in a
		// working copy too.
		if h2, err2 := r.git.ResolveRevision(plumbing.Revision("refs/heads/" + strings.TrimPrefix(rev, "origin/"))); err2 == nil {
			h, err = h2, nil
		}
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist) {
			return plumbing.ZeroHash, fmt.Errorf("resolving %s in %s: %w", rev, r.src, err)
		}
		// Not found, past the first commit, or unparsable.
		return plumbing.ZeroHash, &landform.Error{Code: landform.ENOTFOUND, Message: "unknown revision " + rev, Err: err}
	}
	return *h, nil
}

// commit resolves rev and returns its commit object. The caller holds no lock.
func (r *Repo) commit(rev string) (*object.Commit, error) {
	h, err := r.resolve(rev)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.git.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", h, err)
	}
	return c, nil
}

// MergeBase returns the SHA of the best common ancestor of revisions a and b,
// as `git merge-base` does (one of them when there are several).
//
// Errors: those of Resolve, and ENOTFOUND when a and b share no history.
func (r *Repo) MergeBase(a, b string) (string, error) {
	ca, err := r.commit(a)
	if err != nil {
		return "", err
	}
	cb, err := r.commit(b)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	bases, err := ca.MergeBase(cb)
	if err != nil {
		return "", fmt.Errorf("merge base of %s and %s: %w", a, b, err)
	}
	if len(bases) == 0 {
		return "", landform.Errorf(landform.ENOTFOUND, "no merge base between %s and %s", a, b)
	}
	return bases[0].Hash.String(), nil
}

// storer is the repository's storage; callers hold r.mu while they use it.
func (r *Repo) storer() storage.Storer { return r.git.Storer }

// readBlob returns the content of blob h.
func (r *Repo) readBlob(h plumbing.Hash) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	obj, err := r.storer().EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, err
	}
	rd, err := obj.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var b bytes.Buffer
	b.Grow(int(obj.Size()) + bytes.MinRead) // ReadFrom wants MinRead spare bytes
	if _, err := b.ReadFrom(rd); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// blobSize returns the size of blob h without reading it when the storage
// can tell.
func (r *Repo) blobSize(h plumbing.Hash) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	type sizer interface {
		EncodedObjectSize(plumbing.Hash) (int64, error)
	}
	if s, ok := r.storer().(sizer); ok {
		return s.EncodedObjectSize(h)
	}
	obj, err := r.storer().EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return 0, err
	}
	return obj.Size(), nil
}

// CommitAuthor returns the email of rev's commit author.
func (r *Repo) CommitAuthor(rev string) (string, error) {
	c, err := r.commit(rev)
	if err != nil {
		return "", err
	}
	return c.Author.Email, nil
}
