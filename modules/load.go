package modules

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"

	"github.com/landform/landform"
	"golang.org/x/sync/errgroup"
)

// Options tell Load which workspaces a commit has and how to load it.
type Options struct {
	// Declared are the workspaces of the repo's .landform.yaml. Dir is
	// relative to the repo root; an empty Name defaults to
	// landform.WorkspaceName(Dir, TFWorkspace).
	Declared []landform.Workspace
	// Autodiscover adds a workspace for every directory with configuration
	// files that is not called as a local module by another configuration,
	// has no path segment named "modules", and is not the Dir of a declared
	// workspace.
	Autodiscover bool
	// Cache, when not nil, keeps parsed directories between loads.
	Cache *Cache
	// Parallelism bounds the directories parsed at once; 0 means
	// GOMAXPROCS. The fs.FS must be safe for concurrent use unless it is 1.
	Parallelism int
	// Changes is the change rule (landform.ChangesRead or
	// landform.ChangesDirectory) of the workspaces whose Changes is empty,
	// discovered ones included; "" means ChangesRead.
	Changes string
	// MaxWorkspaces caps the workspaces of the index, declared and
	// discovered together; 0 (or less) means DefaultMaxWorkspaces. A
	// repository's content is untrusted: it must not be able to make the
	// daemon queue an unbounded number of runs.
	MaxWorkspaces int
}

// DefaultMaxWorkspaces is the most workspaces an index may have unless
// Options say otherwise; the same as the most a repo config may list
// (config.DefaultMaxWorkspaces).
const DefaultMaxWorkspaces = 10_000

// skipDirs are never searched for configuration.
var skipDirs = map[string]bool{".git": true, ".terraform": true}

// Load reads the configuration of one commit from fsys, whose root is the
// repo root, and returns its index: the workspaces, the local module graph,
// the files each workspace reads and the parse errors.
//
// With opts.Cache, directories parsed by an earlier Load are not parsed
// again; when fsys also implements DirHasher, unchanged subtrees are not
// even listed or read.
//
// Invalid configuration does not fail Load; it is kept per directory (see
// Index.Err). Load returns an EINVALID error for invalid options (a declared
// workspace outside the repo, two workspaces with one name, a name
// landform.CheckWorkspaceName refuses, a malformed when_modified glob), for
// a discovered directory whose name CheckWorkspaceName refuses (the ledger
// could not record its runs), and for more workspaces than
// opts.MaxWorkspaces; the error of fsys when a directory or file cannot be
// read, and ctx.Err() when ctx is done.
func Load(ctx context.Context, fsys fs.FS, opts Options) (*Index, error) {
	if opts.Changes != "" && !slices.Contains(landform.ChangeRules, opts.Changes) {
		return nil, landform.Errorf(landform.EINVALID, "unknown change rule %q (want one of %s)", opts.Changes, strings.Join(landform.ChangeRules, ", "))
	}
	declared, err := normalizeDeclared(opts.Declared)
	if err != nil {
		return nil, err
	}
	maxWorkspaces := opts.MaxWorkspaces
	if maxWorkspaces <= 0 {
		maxWorkspaces = DefaultMaxWorkspaces
	}
	if len(declared) > maxWorkspaces {
		return nil, landform.Errorf(landform.EINVALID, "%d workspaces declared; at most %d are allowed", len(declared), maxWorkspaces)
	}
	l := &loader{fsys: fsys, cache: opts.Cache}
	l.hasher, _ = fsys.(DirHasher)
	root, err := l.walk(ctx, ".")
	if err != nil {
		return nil, err
	}
	if err := l.parse(ctx, opts.Parallelism); err != nil {
		return nil, err
	}
	infos := l.collect(root)
	wss := declared
	if opts.Autodiscover {
		if wss, err = discover(infos, declared, maxWorkspaces); err != nil {
			return nil, err
		}
	}
	for i := range wss {
		// "" is ChangesRead, so that a workspace compares equal whichever
		// way the rule was spelled.
		if wss[i].Changes == "" {
			wss[i].Changes = opts.Changes
		}
		if wss[i].Changes == landform.ChangesRead {
			wss[i].Changes = ""
		}
	}
	return buildIndex(infos, wss), nil
}

func normalizeDeclared(decl []landform.Workspace) ([]landform.Workspace, error) {
	out := make([]landform.Workspace, 0, len(decl))
	names := map[string]bool{}
	for _, w := range decl {
		dir := strings.TrimPrefix(path.Clean(strings.TrimPrefix(w.Dir, "./")), "./")
		if w.Dir == "" {
			dir = "."
		}
		if _, ok := inRepo(dir); !ok {
			return nil, landform.Errorf(landform.EINVALID, "workspace %q: dir %q is outside the repository", w.Name, w.Dir)
		}
		w.Dir = dir
		if w.Name == "" {
			w.Name = landform.WorkspaceName(dir, w.TFWorkspace)
		}
		if err := landform.CheckWorkspaceName(w.Name); err != nil {
			return nil, landform.Errorf(landform.EINVALID, "workspace in %s: %w", w.Dir, err)
		}
		if names[w.Name] {
			return nil, landform.Errorf(landform.EINVALID, "workspace %q is declared twice", w.Name)
		}
		names[w.Name] = true
		if w.Changes != "" && !slices.Contains(landform.ChangeRules, w.Changes) {
			return nil, landform.Errorf(landform.EINVALID, "workspace %q: unknown change rule %q (want one of %s)", w.Name, w.Changes, strings.Join(landform.ChangeRules, ", "))
		}
		for _, g := range w.WhenModified {
			if _, err := compileGlob(g); err != nil {
				return nil, landform.Errorf(landform.EINVALID, "workspace %q: when_modified: %w", w.Name, err)
			}
		}
		out = append(out, w)
	}
	return out, nil
}

// loader walks one commit's tree. The walk is sequential (it is cheap with
// a DirHasher and a warm Cache); parsing is parallel.
type loader struct {
	fsys   fs.FS
	hasher DirHasher
	cache  *Cache
	jobs   []*walkNode // nodes whose directory has configuration files
}

// walkNode is one directory visited by the walk.
type walkNode struct {
	dir      string
	hash     string // tree hash, "" when unknown
	files    []string
	children []*walkNode
	// cached is set when the whole subtree came from the cache.
	cached  bool
	subtree []*dirInfo
	// info is the parse of files, set by parse.
	info *dirInfo
}

func (l *loader) walk(ctx context.Context, dir string) (*walkNode, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := &walkNode{dir: dir}
	if l.hasher != nil {
		if h, ok := l.hasher.DirHash(dir); ok {
			n.hash = h
			if e, ok := l.cache.get(cacheKey{kindSubtree, dir, h}); ok {
				n.cached, n.subtree = true, e.subtree
				return n, nil
			}
		}
	}
	entries, err := fs.ReadDir(l.fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading directory %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir():
			if skipDirs[name] {
				continue
			}
			c, err := l.walk(ctx, path.Join(dir, name))
			if err != nil {
				return nil, err
			}
			n.children = append(n.children, c)
		case isConfigFile(name):
			n.files = append(n.files, name)
		}
	}
	if len(n.files) > 0 {
		slices.Sort(n.files)
		l.jobs = append(l.jobs, n)
	}
	return n, nil
}

// parse parses every directory found by walk, from the cache when it can.
func (l *loader) parse(ctx context.Context, parallelism int) error {
	if parallelism <= 0 {
		parallelism = runtime.GOMAXPROCS(0)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelism)
	for _, n := range l.jobs {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			info, err := l.parseNode(n)
			n.info = info // each goroutine writes its own node
			return err
		})
	}
	return g.Wait()
}

func (l *loader) parseNode(n *walkNode) (*dirInfo, error) {
	var key cacheKey
	if n.hash != "" {
		key = cacheKey{kindDirTree, n.dir, n.hash}
		if e, ok := l.cache.get(key); ok {
			return e.info, nil
		}
	}
	srcs := make([][]byte, len(n.files))
	for i, name := range n.files {
		b, err := fs.ReadFile(l.fsys, path.Join(n.dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path.Join(n.dir, name), err)
		}
		srcs[i] = b
	}
	if n.hash == "" && l.cache != nil {
		key = cacheKey{kindDirContent, n.dir, contentHash(n.files, srcs)}
		if e, ok := l.cache.get(key); ok {
			return e.info, nil
		}
	}
	info := parseDir(l.fsys, n.dir, n.files, srcs)
	if l.cache != nil {
		l.cache.put(key, cacheEntry{info: info})
	}
	return info, nil
}

// collect returns the parsed directories below n, and caches the subtree
// of every node with a tree hash on the way up.
func (l *loader) collect(n *walkNode) []*dirInfo {
	if n.cached {
		return n.subtree
	}
	var out []*dirInfo
	if n.info != nil {
		out = append(out, n.info)
	}
	for _, c := range n.children {
		out = append(out, l.collect(c)...)
	}
	if n.hash != "" && l.cache != nil {
		l.cache.put(cacheKey{kindSubtree, n.dir, n.hash}, cacheEntry{subtree: slices.Clip(out)})
	}
	return out
}
