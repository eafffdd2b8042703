package gitrepo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TreeFS is a read-only file system over the tree of one commit, read
// straight from git objects (no checkout). It implements fs.FS,
// fs.ReadDirFS, fs.ReadFileFS, fs.StatFS and fs.ReadLinkFS, and is safe for
// concurrent use.
//
// It behaves like os.DirFS over a checkout: the entries ReadDir returns show
// symbolic links as links (Type() is fs.ModeSymlink, Info() describes the
// link), while the paths given to Open, ReadFile, Stat, ReadDir and DirHash
// follow links, as long as they stay inside the tree; a link that leads
// outside fails with an error that is not fs.ErrNotExist. Lstat and ReadLink
// do not follow a link in the last element. Files have mode 0644 or 0755,
// directories fs.ModeDir|0755, and a submodule is an empty directory.
// Modification times are zero. Names a checkout could not hold ("..", names
// with a slash) are left out.
//
// Decoded trees are cached by hash and resolved directories by path for the
// life of the TreeFS, so walking a large tree reads each tree object once.
type TreeFS struct {
	r      *Repo
	commit plumbing.Hash

	trees *treeCache

	mu    sync.RWMutex
	dirs  map[string]dirRef // by the path asked for; "." is the root
	links map[plumbing.Hash]string
}

var (
	_ fs.ReadDirFS   = (*TreeFS)(nil)
	_ fs.ReadFileFS  = (*TreeFS)(nil)
	_ fs.StatFS      = (*TreeFS)(nil)
	_ fs.ReadLinkFS  = (*TreeFS)(nil)
	_ fs.ReadDirFile = (*dirFile)(nil)
)

// Errors in the *fs.PathError values TreeFS returns, besides fs.ErrNotExist
// and fs.ErrInvalid.
var (
	errNotDir = errors.New("not a directory")
	errIsDir  = errors.New("is a directory")
	errEscape = errors.New("symbolic link leads outside the repository")
	errLoop   = errors.New("too many levels of symbolic links")
)

// maxLinkDepth bounds the nesting of symbolic links followed in one lookup.
const maxLinkDepth = 40

// treeDir is a decoded tree object: immutable once built.
type treeDir struct {
	hash    plumbing.Hash
	entries []treeEntry // sorted by name, as fs.ReadDir wants
}

type treeEntry struct {
	name string
	mode filemode.FileMode
	hash plumbing.Hash
}

func (d *treeDir) find(name string) (treeEntry, bool) {
	i, ok := slices.BinarySearchFunc(d.entries, name, func(e treeEntry, name string) int {
		return strings.Compare(e.name, name)
	})
	if !ok {
		return treeEntry{}, false
	}
	return d.entries[i], true
}

// dirRef is a resolved directory.
type dirRef struct {
	path string // canonical: no symbolic link on the way
	dir  *treeDir
}

// node is a resolved entry of any kind.
type node struct {
	path  string // canonical
	entry treeEntry
	dir   *treeDir // set for directories and submodules
}

// FS returns a read-only file system over the tree of revision rev.
//
// Errors: those of Resolve.
func (r *Repo) FS(rev string) (*TreeFS, error) {
	c, err := r.commit(rev)
	if err != nil {
		return nil, err
	}
	t := &TreeFS{
		r:      r,
		commit: c.Hash,
		trees:  newTreeCache(r),
		dirs:   make(map[string]dirRef),
		links:  make(map[plumbing.Hash]string),
	}
	root, err := t.trees.get(c.TreeHash)
	if err != nil {
		return nil, err
	}
	t.dirs["."] = dirRef{path: ".", dir: root}
	return t, nil
}

// Commit returns the full SHA of the commit whose tree t shows.
func (t *TreeFS) Commit() string { return t.commit.String() }

// DirHash returns the git tree hash of directory dir, following symbolic
// links, and false when dir is not a directory of the tree. Two directories
// with the same hash have the same contents (the targets of symbolic links
// that lead out of them aside). A submodule's hash is its commit.
func (t *TreeFS) DirHash(dir string) (string, bool) {
	if !fs.ValidPath(dir) {
		return "", false
	}
	ref, err := t.dir(dir, 0)
	if err != nil {
		return "", false
	}
	return ref.dir.hash.String(), true
}

// Open opens the named file or directory, following symbolic links.
func (t *TreeFS) Open(name string) (fs.File, error) {
	n, err := t.lookup("open", name, true)
	if err != nil {
		return nil, err
	}
	if n.dir != nil {
		return &dirFile{t: t, info: dirInfo(path.Base(name)), entries: n.dir.entries}, nil
	}
	data, err := t.r.readBlob(n.entry.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	info := fileInfo{name: path.Base(name), mode: fileMode(n.entry.mode), size: int64(len(data))}
	return &file{Reader: bytes.NewReader(data), info: info}, nil
}

// ReadFile returns the content of the named file, following symbolic links.
// The caller owns the returned slice.
func (t *TreeFS) ReadFile(name string) ([]byte, error) {
	n, err := t.lookup("read", name, true)
	if err != nil {
		return nil, err
	}
	if n.dir != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errIsDir}
	}
	data, err := t.r.readBlob(n.entry.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// ReadDir returns the entries of the named directory sorted by name.
// Symbolic links are listed as links, not followed.
func (t *TreeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	ref, err := t.dir(name, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return t.dirEntries(ref.dir.entries), nil
}

// Stat describes the named file, following symbolic links.
func (t *TreeFS) Stat(name string) (fs.FileInfo, error) {
	n, err := t.lookup("stat", name, true)
	if err != nil {
		return nil, err
	}
	return t.info(path.Base(name), n)
}

// Lstat describes the named file without following a symbolic link in its
// last element.
func (t *TreeFS) Lstat(name string) (fs.FileInfo, error) {
	n, err := t.lookup("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return t.info(path.Base(name), n)
}

// ReadLink returns the target of the named symbolic link.
func (t *TreeFS) ReadLink(name string) (string, error) {
	n, err := t.lookup("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.entry.mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	target, err := t.readLink(n.entry.hash)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return target, nil
}

func (t *TreeFS) lookup(op, name string, follow bool) (node, error) {
	if !fs.ValidPath(name) {
		return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n, err := t.entry(name, follow, 0)
	if err != nil {
		return node{}, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return n, nil
}

// dir resolves the directory at name, a valid path, following symbolic
// links; depth counts the links being followed around this lookup.
func (t *TreeFS) dir(name string, depth int) (dirRef, error) {
	t.mu.RLock()
	ref, ok := t.dirs[name]
	t.mu.RUnlock()
	if ok {
		return ref, nil
	}
	n, err := t.entry(name, true, depth)
	if err != nil {
		return dirRef{}, err
	}
	if n.dir == nil {
		return dirRef{}, errNotDir
	}
	ref = dirRef{path: n.path, dir: n.dir}
	t.mu.Lock()
	t.dirs[name] = ref
	t.mu.Unlock()
	return ref, nil
}

// entry resolves name, a valid path, following symbolic links in its
// directories and, if follow, in its last element.
func (t *TreeFS) entry(name string, follow bool, depth int) (node, error) {
	if name == "." {
		ref, err := t.dir(".", depth)
		return node{path: ".", entry: treeEntry{name: ".", mode: filemode.Dir, hash: ref.dir.hash}, dir: ref.dir}, err
	}
	parentName, base := ".", name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		parentName, base = name[:i], name[i+1:]
	}
	parent, err := t.dir(parentName, depth)
	if errors.Is(err, errNotDir) {
		return node{}, fs.ErrNotExist
	}
	if err != nil {
		return node{}, err
	}
	e, ok := parent.dir.find(base)
	if !ok {
		return node{}, fs.ErrNotExist
	}
	p := join(parent.path, base)
	switch e.mode {
	case filemode.Symlink:
		if !follow {
			break
		}
		target, err := t.readLink(e.hash)
		if err != nil {
			return node{}, err
		}
		return t.walk(parent.path, target, depth+1)
	case filemode.Dir:
		d, err := t.trees.get(e.hash)
		if err != nil {
			return node{}, err
		}
		return node{path: p, entry: e, dir: d}, nil
	case filemode.Submodule:
		return node{path: p, entry: e, dir: &treeDir{hash: e.hash}}, nil
	}
	return node{path: p, entry: e}, nil
}

// walk resolves target, the text of a symbolic link in the canonical
// directory dir, the way the kernel would in a checkout: component by
// component, following links, ".." going to the parent of where a link led.
// It returns errEscape when the path leaves the tree at any point, and
// fs.ErrNotExist when a component is missing (after checking that the rest
// of the path would not leave the tree either, should it be created).
func (t *TreeFS) walk(dir, target string, depth int) (node, error) {
	if depth > maxLinkDepth {
		return node{}, errLoop
	}
	if target == "" {
		return node{}, fs.ErrNotExist
	}
	if strings.HasPrefix(target, "/") {
		return node{}, errEscape
	}
	cur := dir
	var n node
	resolved, missing := false, false // resolved: n describes cur
	for c := range strings.SplitSeq(target, "/") {
		switch {
		case c == "" || c == ".":
			continue
		case c == "..":
			if cur == "." {
				return node{}, errEscape
			}
			cur, resolved = path.Dir(cur), false
			continue
		case missing:
			cur = join(cur, c)
			continue
		}
		m, err := t.entry(join(cur, c), true, depth)
		if errors.Is(err, fs.ErrNotExist) {
			cur, missing = join(cur, c), true
			continue
		}
		if err != nil {
			return node{}, err
		}
		n, cur, resolved = m, m.path, true
	}
	if missing {
		return node{}, fs.ErrNotExist
	}
	if !resolved {
		ref, err := t.dir(cur, depth)
		if err != nil {
			return node{}, err
		}
		return node{path: cur, entry: treeEntry{name: path.Base(cur), mode: filemode.Dir, hash: ref.dir.hash}, dir: ref.dir}, nil
	}
	return n, nil
}

func join(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// treeCache decodes tree objects and keeps them by hash.
type treeCache struct {
	r  *Repo
	mu sync.RWMutex
	m  map[plumbing.Hash]*treeDir
}

func newTreeCache(r *Repo) *treeCache {
	return &treeCache{r: r, m: make(map[plumbing.Hash]*treeDir)}
}

// get returns the decoded tree h.
func (c *treeCache) get(h plumbing.Hash) (*treeDir, error) {
	c.mu.RLock()
	d := c.m[h]
	c.mu.RUnlock()
	if d != nil {
		return d, nil
	}

	var tree object.Tree
	c.r.mu.Lock()
	obj, err := c.r.storer().EncodedObject(plumbing.TreeObject, h)
	if err == nil {
		err = tree.Decode(obj)
	}
	c.r.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("reading tree %s: %w", h, err)
	}

	d = &treeDir{hash: h, entries: make([]treeEntry, 0, len(tree.Entries))}
	for _, e := range tree.Entries {
		// Names no checkout could hold (git fsck rejects them too).
		if e.Name == "" || e.Name == "." || e.Name == ".." || strings.ContainsAny(e.Name, "/\x00") {
			continue
		}
		d.entries = append(d.entries, treeEntry{name: e.Name, mode: e.Mode, hash: e.Hash})
	}
	// Git sorts a directory "a" as "a/", so "a-b" comes before it; fs wants
	// plain name order.
	cmp := func(a, b treeEntry) int { return strings.Compare(a.name, b.name) }
	if !slices.IsSortedFunc(d.entries, cmp) {
		slices.SortFunc(d.entries, cmp)
	}

	c.mu.Lock()
	c.m[h] = d
	c.mu.Unlock()
	return d, nil
}

// readLink returns the target stored in symbolic link blob h.
func (t *TreeFS) readLink(h plumbing.Hash) (string, error) {
	t.mu.RLock()
	target, ok := t.links[h]
	t.mu.RUnlock()
	if ok {
		return target, nil
	}
	data, err := t.r.readBlob(h)
	if err != nil {
		return "", fmt.Errorf("reading symbolic link %s: %w", h, err)
	}
	target = string(data)
	t.mu.Lock()
	t.links[h] = target
	t.mu.Unlock()
	return target, nil
}

func (t *TreeFS) info(name string, n node) (fs.FileInfo, error) {
	if n.dir != nil || fileMode(n.entry.mode).IsDir() {
		return dirInfo(name), nil
	}
	size, err := t.r.blobSize(n.entry.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return fileInfo{name: name, mode: fileMode(n.entry.mode), size: size}, nil
}

func (t *TreeFS) dirEntries(entries []treeEntry) []fs.DirEntry {
	out := make([]fs.DirEntry, len(entries))
	for i, e := range entries {
		out[i] = dirEntry{t: t, e: e}
	}
	return out
}

func fileMode(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Dir, filemode.Submodule:
		return fs.ModeDir | 0o755
	case filemode.Executable:
		return 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	}
	return 0o644
}

type fileInfo struct {
	name string
	mode fs.FileMode
	size int64
}

func dirInfo(name string) fileInfo { return fileInfo{name: name, mode: fs.ModeDir | 0o755} }

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi fileInfo) ModTime() time.Time { return time.Time{} }
func (fi fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi fileInfo) Sys() any           { return nil }

// dirEntry is an entry as ReadDir lists it: a symbolic link is not followed.
type dirEntry struct {
	t *TreeFS
	e treeEntry
}

func (d dirEntry) Name() string      { return d.e.name }
func (d dirEntry) IsDir() bool       { return fileMode(d.e.mode).IsDir() }
func (d dirEntry) Type() fs.FileMode { return fileMode(d.e.mode).Type() }
func (d dirEntry) String() string    { return fs.FormatDirEntry(d) }
func (d dirEntry) Info() (fs.FileInfo, error) {
	return d.t.info(d.e.name, node{entry: d.e})
}

// file is an open regular file, read into memory.
type file struct {
	*bytes.Reader
	info fileInfo
}

func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *file) Close() error               { return nil }

// dirFile is an open directory.
type dirFile struct {
	t       *TreeFS
	info    fileInfo
	entries []treeEntry
	off     int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Close() error               { return nil }

func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errIsDir}
}

func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && n < len(rest) {
		rest = rest[:n]
	}
	d.off += len(rest)
	return d.t.dirEntries(rest), nil
}
