package modules_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing/fstest"
	"time"
)

// memFS is an in-memory commit tree like the one gitrepo hands over: it
// lists a directory without scanning every file (unlike fstest.MapFS) and
// records which files were read.
type memFS struct {
	files fstest.MapFS
	dirs  map[string][]fs.DirEntry

	mu    sync.Mutex
	reads []string
}

func newMemFS(files fstest.MapFS) *memFS {
	m := &memFS{files: files, dirs: map[string][]fs.DirEntry{".": nil}}
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		child, isDir := name, false
		for {
			dir := path.Dir(child)
			key := dir + "\x00" + child
			if !seen[key] {
				seen[key] = true
				m.dirs[dir] = append(m.dirs[dir], dirEntry{name: path.Base(child), dir: isDir})
			}
			if dir == "." {
				break
			}
			child, isDir = dir, true
		}
	}
	for _, es := range m.dirs {
		sort.Slice(es, func(i, j int) bool { return es[i].Name() < es[j].Name() })
	}
	return m
}

func (m *memFS) Open(name string) (fs.File, error) { return m.files.Open(name) }

func (m *memFS) ReadDir(name string) ([]fs.DirEntry, error) {
	es, ok := m.dirs[name]
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(es), nil
}

func (m *memFS) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	m.reads = append(m.reads, name)
	m.mu.Unlock()
	f, ok := m.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(f.Data), nil
}

func (m *memFS) takeReads() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reads
	m.reads = nil
	slices.Sort(r)
	return r
}

type dirEntry struct {
	name string
	dir  bool
}

func (e dirEntry) Name() string { return e.name }
func (e dirEntry) IsDir() bool  { return e.dir }
func (e dirEntry) Type() fs.FileMode {
	if e.dir {
		return fs.ModeDir
	}
	return 0
}
func (e dirEntry) Info() (fs.FileInfo, error) { return e, nil }
func (e dirEntry) Size() int64                { return 0 }
func (e dirEntry) Mode() fs.FileMode          { return e.Type() | 0o644 }
func (e dirEntry) ModTime() time.Time         { return time.Time{} }
func (e dirEntry) Sys() any                   { return nil }

// hashedFS is a memFS that also names each directory by a Merkle hash of
// its content, the way a git tree hash does.
type hashedFS struct {
	*memFS
	hashes map[string]string
}

func newHashedFS(files fstest.MapFS) hashedFS {
	h := hashedFS{memFS: newMemFS(files), hashes: map[string]string{}}
	h.hash(".")
	return h
}

func (h hashedFS) hash(dir string) string {
	s := sha256.New()
	for _, e := range h.dirs[dir] {
		p := path.Join(dir, e.Name())
		s.Write([]byte(e.Name() + "\x00"))
		if e.IsDir() {
			s.Write([]byte(h.hash(p)))
		} else {
			sum := sha256.Sum256(h.files[p].Data)
			s.Write(sum[:])
		}
	}
	sum := hex.EncodeToString(s.Sum(nil))
	h.hashes[dir] = sum
	return sum
}

func (h hashedFS) DirHash(dir string) (string, bool) {
	v, ok := h.hashes[dir]
	return v, ok
}

// withChanges returns a copy of files with the given files set (nil data
// deletes).
func withChanges(files fstest.MapFS, set map[string]*string) fstest.MapFS {
	out := maps.Clone(files)
	for name, data := range set {
		if data == nil {
			for k := range out {
				if k == name || strings.HasPrefix(k, name+"/") {
					delete(out, k)
				}
			}
			continue
		}
		out[name] = &fstest.MapFile{Data: []byte(*data)}
	}
	return out
}

func ptr(s string) *string { return &s }
