package modules

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"

	"github.com/landform/landform"
)

// cacheFileVersion changes whenever what a parse records changes, so an
// old file is ignored rather than trusted.
const cacheFileVersion = 2

// cacheFile is the persistent form of a Cache: every parsed directory once,
// and subtree entries as indexes into Dirs.
type cacheFile struct {
	Version  int
	Dirs     []fileDir
	Entries  []fileEntry
	Subtrees [][]int
}

type fileDir struct {
	Dir        string
	Files      []string
	Modules    []string
	Required   []string
	Refs       []fileRefRecord
	Unresolved []unresolvedRecord
	Diags      []Diagnostic
}

type fileRefRecord struct {
	Base   uint8
	Kind   uint8
	Path   string
	Suffix string
}

type unresolvedRecord struct {
	File string
	Line int
	Expr string
	Refs []fileRefRecord
}

func refRecords(refs []fileRef) []fileRefRecord {
	var out []fileRefRecord
	for _, r := range refs {
		out = append(out, fileRefRecord{Base: uint8(r.base), Kind: uint8(r.kind), Path: r.path, Suffix: r.suffix})
	}
	return out
}

func refsOf(recs []fileRefRecord) []fileRef {
	var out []fileRef
	for _, r := range recs {
		out = append(out, fileRef{base: refBase(r.Base), kind: refKind(r.Kind), path: r.Path, suffix: r.Suffix})
	}
	return out
}

type fileEntry struct {
	Kind cacheKind
	Dir  string
	Hash string
	// Info is an index into Dirs, or -1; Subtree an index into Subtrees,
	// or -1.
	Info, Subtree int
}

// WriteTo saves the cache's entries to w, so that a later process (a
// one-shot CLI command) starts with the parses this one made. It writes the
// current generation only.
func (c *Cache) WriteTo(w io.Writer) (int64, error) {
	c.mu.Lock()
	var f cacheFile
	f.Version = cacheFileVersion
	index := map[*dirInfo]int{}
	add := func(d *dirInfo) int {
		if i, ok := index[d]; ok {
			return i
		}
		fd := fileDir{Dir: d.dir, Files: d.files, Modules: d.modules, Required: d.required, Refs: refRecords(d.refs)}
		for _, u := range d.unresolved {
			fd.Unresolved = append(fd.Unresolved, unresolvedRecord{File: u.file, Line: u.line, Expr: u.expr, Refs: refRecords(u.refs)})
		}
		if ce := configError(d.err); ce != nil {
			fd.Diags = ce.Diagnostics
		}
		index[d] = len(f.Dirs)
		f.Dirs = append(f.Dirs, fd)
		return index[d]
	}
	for k, e := range c.cur {
		fe := fileEntry{Kind: k.kind, Dir: k.dir, Hash: k.hash, Info: -1, Subtree: -1}
		if e.info != nil {
			fe.Info = add(e.info)
		}
		if e.subtree != nil {
			ids := make([]int, len(e.subtree))
			for i, d := range e.subtree {
				ids[i] = add(d)
			}
			fe.Subtree = len(f.Subtrees)
			f.Subtrees = append(f.Subtrees, ids)
		}
		f.Entries = append(f.Entries, fe)
	}
	c.mu.Unlock()

	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	if err := gob.NewEncoder(bw).Encode(&f); err != nil {
		return cw.n, fmt.Errorf("writing the parse cache: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("writing the parse cache: %w", err)
	}
	return cw.n, nil
}

// ReadFrom adds the entries saved by WriteTo to the cache. A file written
// by another version of this package is ignored (no error, nothing added);
// a damaged one is an error and adds nothing.
func (c *Cache) ReadFrom(r io.Reader) (int64, error) {
	cr := &countReader{r: r}
	var f cacheFile
	if err := gob.NewDecoder(bufio.NewReader(cr)).Decode(&f); err != nil {
		return cr.n, fmt.Errorf("reading the parse cache: %w", err)
	}
	if f.Version != cacheFileVersion {
		return cr.n, nil
	}
	dirs := make([]*dirInfo, len(f.Dirs))
	for i, fd := range f.Dirs {
		d := &dirInfo{dir: fd.Dir, files: fd.Files, modules: fd.Modules, required: fd.Required, refs: refsOf(fd.Refs)}
		for _, u := range fd.Unresolved {
			d.unresolved = append(d.unresolved, unresolvedRef{file: u.File, line: u.Line, expr: u.Expr, refs: refsOf(u.Refs)})
		}
		if len(fd.Diags) > 0 {
			d.err = landform.Errorf(landform.EINVALID, "invalid configuration in %s: %w", fd.Dir,
				&ConfigError{Dir: fd.Dir, Diagnostics: fd.Diags})
		}
		dirs[i] = d
	}
	entries := make(map[cacheKey]cacheEntry, len(f.Entries))
	for _, fe := range f.Entries {
		var e cacheEntry
		if fe.Info >= 0 {
			if fe.Info >= len(dirs) {
				return cr.n, fmt.Errorf("reading the parse cache: entry %s points past the directories", fe.Dir)
			}
			e.info = dirs[fe.Info]
		}
		if fe.Subtree >= 0 {
			if fe.Subtree >= len(f.Subtrees) {
				return cr.n, fmt.Errorf("reading the parse cache: entry %s points past the subtrees", fe.Dir)
			}
			ids := f.Subtrees[fe.Subtree]
			e.subtree = make([]*dirInfo, len(ids))
			for i, id := range ids {
				if id < 0 || id >= len(dirs) {
					return cr.n, fmt.Errorf("reading the parse cache: subtree %s points past the directories", fe.Dir)
				}
				e.subtree[i] = dirs[id]
			}
		}
		entries[cacheKey{fe.Kind, fe.Dir, fe.Hash}] = e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range entries {
		c.putLocked(k, e)
	}
	return cr.n, nil
}

// configError returns the *ConfigError inside err, or nil.
func configError(err error) *ConfigError {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
