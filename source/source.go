// Package source is a repository at a commit, as Landform reads it: the git
// clone, each commit's repo config and workspace index (a Snapshot, cached
// per commit), the change between two commits as targets and deleted
// workspaces, one target by name, and the ledger files of finished runs.
//
// It is the one place where "affected → targets" is decided: the one-shot
// CLI, the daemon and the benchmarks all call Repo.Changes. It joins
// gitrepo, config, modules and report for one repository; no other adapter
// imports another.
package source

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/modules"
)

// maxSnapshots bounds the parsed commits a Repo keeps.
const maxSnapshots = 16

// Repo is one repository. Its clone is opened on first use, so that an
// unreachable remote at start-up is a failed poll, retried, and not a
// failed daemon. A Repo is safe for concurrent use.
type Repo struct {
	name  string
	open  func(ctx context.Context) (*gitrepo.Repo, error)
	cache *modules.Cache
	// config is what the repo config of each commit may contain (the
	// operator's allow-list and limits).
	config config.RepoOptions
	// signer signs the ledger commits, nil for unsigned ones.
	signer gitrepo.Signer

	mu    sync.Mutex
	git   *gitrepo.Repo
	snaps map[string]*Snapshot // by commit, a few recent ones
	order []string
}

// New returns a Repo named name (its name in runs and the ledger) that
// opens its clone with open on first use. cache keeps parsed directories
// between the commits of this and other repositories; nil means a cache of
// its own.
func New(name string, open func(ctx context.Context) (*gitrepo.Repo, error), cache *modules.Cache) *Repo {
	if cache == nil {
		cache = modules.NewCache(0)
	}
	return &Repo{name: name, open: open, cache: cache}
}

// Open opens src at once — a local path read in place, or a URL cloned
// into the data directory given in opts — for one-shot commands. The
// repo's name is src as gitrepo spells it.
func Open(ctx context.Context, src string, cache *modules.Cache, opts ...gitrepo.Option) (*Repo, error) {
	g, err := gitrepo.Open(ctx, src, opts...)
	if err != nil {
		return nil, err
	}
	r := New(g.String(), nil, cache)
	r.git = g
	return r, nil
}

// Name is the repository's name in runs.
func (r *Repo) Name() string { return r.name }

// Git returns the clone, opening it on first use.
func (r *Repo) Git(ctx context.Context) (*gitrepo.Repo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.git != nil {
		return r.git, nil
	}
	if r.open == nil {
		return nil, fmt.Errorf("repository %s is closed", r.name)
	}
	g, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	r.git = g
	return g, nil
}

// Close closes the clone, if it was opened.
func (r *Repo) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.git == nil {
		return nil
	}
	err := r.git.Close()
	r.git = nil
	return err
}

// Resolve resolves a revision ("" means HEAD) to a commit.
func (r *Repo) Resolve(ctx context.Context, rev string) (string, error) {
	g, err := r.Git(ctx)
	if err != nil {
		return "", err
	}
	if rev == "" {
		rev = "HEAD"
	}
	return g.Resolve(rev)
}

// Snapshot is one commit's configuration: the repo config and the
// workspace index.
type Snapshot struct {
	Commit string
	Config *config.Repo
	Index  *modules.Index
}

// Snapshot returns the configuration of commit, parsed once and kept among
// the recent ones. It reads .landform.yaml and the Terraform configuration
// straight from git objects; directories already parsed at another commit
// (same git tree hash) are not parsed again.
//
// Errors: EINVALID for a broken .landform.yaml (file:line:column), those of
// gitrepo for an unknown commit.
func (r *Repo) Snapshot(ctx context.Context, commit string) (*Snapshot, error) {
	r.mu.Lock()
	snap := r.snaps[commit]
	r.mu.Unlock()
	if snap != nil {
		return snap, nil
	}
	g, err := r.Git(ctx)
	if err != nil {
		return nil, err
	}
	if snap, err = load(ctx, g, commit, r.cache, r.config); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.snaps == nil {
		r.snaps = map[string]*Snapshot{}
	}
	if old, ok := r.snaps[commit]; ok {
		return old, nil
	}
	r.snaps[commit] = snap
	r.order = append(r.order, commit)
	if len(r.order) > maxSnapshots {
		delete(r.snaps, r.order[0])
		r.order = r.order[1:]
	}
	return snap, nil
}

// WithConfig sets what the repo config of each commit may contain: the
// environment names the operator allows and the limits (the zero value
// means the defaults). Call it before the first Snapshot.
func (r *Repo) WithConfig(o config.RepoOptions) *Repo {
	r.config = o
	return r
}

// WithLedgerSigner makes Record sign every ledger commit with s (nil: no
// signature). Call it before the first Record.
func (r *Repo) WithLedgerSigner(s gitrepo.Signer) *Repo {
	r.signer = s
	return r
}

func load(ctx context.Context, g *gitrepo.Repo, commit string, cache *modules.Cache, opts config.RepoOptions) (*Snapshot, error) {
	fsys, err := g.FS(commit)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadRepo(fsys, opts)
	if err != nil {
		return nil, err
	}
	ix, err := modules.Load(ctx, fsys, modules.Options{
		Declared:      cfg.Workspaces,
		Autodiscover:  cfg.Autodiscover,
		Changes:       cfg.Changes,
		Cache:         cache,
		MaxWorkspaces: opts.MaxWorkspaces,
	})
	if err != nil {
		return nil, fmt.Errorf("reading configuration at %s: %w", landform.ShortSHA(commit), err)
	}
	return &Snapshot{Commit: commit, Config: cfg, Index: ix}, nil
}

// Remote returns a Repo for a watched repository of the server config: a
// clone of rs.URL in the cache under dataDir, opened on first use, with
// the credentials its auth names read now. Errors: EINVALID when a secret
// its auth names cannot be read.
func Remote(rs config.RepoSettings, dataDir string, cache *modules.Cache, log *slog.Logger) (*Repo, error) {
	opts := []gitrepo.Option{gitrepo.WithDataDir(dataDir), gitrepo.WithLogger(log.With("repo", rs.Name))}
	tok, err := rs.Auth.Token(nil, nil)
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "repo %s: %w", rs.Name, err)
	}
	if tok != "" {
		opts = append(opts, gitrepo.WithToken(tok))
		if rs.Auth.Username != "" {
			opts = append(opts, gitrepo.WithUsername(rs.Auth.Username))
		}
	}
	if rs.Auth.SSHKeyFile != "" {
		pass, err := rs.Auth.Passphrase(nil)
		if err != nil {
			return nil, landform.Errorf(landform.EINVALID, "repo %s: %w", rs.Name, err)
		}
		opts = append(opts, gitrepo.WithSSHKey(rs.Auth.SSHKeyFile, pass))
	}
	return New(rs.Name, func(ctx context.Context) (*gitrepo.Repo, error) {
		return gitrepo.OpenRemote(ctx, rs.URL, opts...)
	}, cache), nil
}
