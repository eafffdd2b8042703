package gitrepo

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/landform/landform"
)

// ledgerMessage is the commit message for entries.
func ledgerMessage(entries []LedgerEntry) string {
	summary := func(e LedgerEntry) string {
		first, _, _ := strings.Cut(strings.TrimSpace(e.Message), "\n")
		if first = strings.TrimSpace(first); first == "" {
			first = "Record " + e.Files[0].Path
		}
		return first
	}
	if len(entries) == 1 {
		if m := strings.TrimSpace(entries[0].Message); m != "" {
			return m + "\n"
		}
		return summary(entries[0]) + "\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Record %d ledger entries\n\n", len(entries))
	for _, e := range entries {
		fmt.Fprintf(&b, "- %s\n", summary(e))
	}
	return b.String()
}

// ledgerDir is what to write under one directory of the ledger.
type ledgerDir struct {
	files map[string]*ledgerBlob
	dirs  map[string]*ledgerDir
}

type ledgerBlob struct {
	data []byte
	hash plumbing.Hash // set by writeBlobs
}

func newLedgerDir() *ledgerDir {
	return &ledgerDir{files: map[string]*ledgerBlob{}, dirs: map[string]*ledgerDir{}}
}

// ledgerTree validates entries and arranges their files by directory; a
// later file with the same path wins.
func ledgerTree(entries []LedgerEntry) (*ledgerDir, error) {
	if len(entries) == 0 {
		return nil, landform.Errorf(landform.EINVALID, "no ledger entries to write")
	}
	root := newLedgerDir()
	for i, e := range entries {
		if len(e.Files) == 0 {
			return nil, landform.Errorf(landform.EINVALID, "ledger entry %d has no files", i+1)
		}
		for _, f := range e.Files {
			if err := validLedgerPath(f.Path); err != nil {
				return nil, err
			}
			d := root
			elems := strings.Split(f.Path, "/")
			for j, name := range elems[:len(elems)-1] {
				if _, ok := d.files[name]; ok {
					return nil, landform.Errorf(landform.EINVALID, "ledger path %s: %s is also a file", f.Path, strings.Join(elems[:j+1], "/"))
				}
				sub, ok := d.dirs[name]
				if !ok {
					sub = newLedgerDir()
					d.dirs[name] = sub
				}
				d = sub
			}
			name := elems[len(elems)-1]
			if _, ok := d.dirs[name]; ok {
				return nil, landform.Errorf(landform.EINVALID, "ledger path %s is also a directory", f.Path)
			}
			d.files[name] = &ledgerBlob{data: f.Data}
		}
	}
	return root, nil
}

// validLedgerPath accepts the paths landform.CheckTreePath accepts:
// relative, clean, '/'-separated, without a .git element in any spelling
// a checkout or git fsck would take for one, a backslash or a control
// character. It is the same rule landform.CheckWorkspaceName builds on, so
// the ledger files of a run (runs/<workspace>/<run-id>.md) of any valid
// workspace pass.
func validLedgerPath(p string) error {
	if err := landform.CheckTreePath(p); err != nil {
		return landform.Errorf(landform.EINVALID, "ledger: %w", err)
	}
	return nil
}

// writeBlobs stores the files' contents; they stay valid across attempts.
func (w *ledgerWrite) writeBlobs(d *ledgerDir) error {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	var walk func(d *ledgerDir) error
	walk = func(d *ledgerDir) error {
		for _, b := range d.files {
			obj := w.r.storer().NewEncodedObject()
			obj.SetType(plumbing.BlobObject)
			obj.SetSize(int64(len(b.data)))
			wr, err := obj.Writer()
			if err != nil {
				return err
			}
			if _, err := wr.Write(b.data); err != nil {
				return err
			}
			if err := wr.Close(); err != nil {
				return err
			}
			if b.hash, err = w.r.storer().SetEncodedObject(obj); err != nil {
				return err
			}
		}
		for _, sub := range d.dirs {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(d); err != nil {
		return fmt.Errorf("writing ledger objects in %s: %w", w.r.src, err)
	}
	return nil
}

// commit makes the commit that adds the files on top of parent (zero for
// the branch's first commit). It returns parent and false when the files
// are all there already.
func (w *ledgerWrite) commit(parent plumbing.Hash) (plumbing.Hash, bool, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	var base plumbing.Hash
	if !parent.IsZero() {
		c, err := object.GetCommit(w.r.storer(), parent)
		if errors.Is(err, plumbing.ErrObjectNotFound) && w.r.store != nil {
			// Packed by another process since the pack list was read.
			w.r.store.Reindex()
			c, err = object.GetCommit(w.r.storer(), parent)
		}
		if err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("reading ledger commit %s in %s: %w", parent, w.r.src, err)
		}
		base = c.TreeHash
	}
	if err := w.refuseOverwrites(base); err != nil {
		return plumbing.ZeroHash, false, err
	}
	tree, err := w.tree(base, w.root, ".")
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	if tree == base {
		return parent, false, nil
	}
	when := w.l.now()
	c := &object.Commit{
		Author:    object.Signature{Name: w.sig.Name, Email: w.sig.Email, When: when},
		Committer: object.Signature{Name: w.sig.Name, Email: w.sig.Email, When: when},
		Message:   w.msg,
		TreeHash:  tree,
	}
	if !parent.IsZero() {
		c.ParentHashes = []plumbing.Hash{parent}
	}
	if err := w.signCommit(c); err != nil {
		return plumbing.ZeroHash, false, err
	}
	obj := w.r.storer().NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, false, err
	}
	h, err := w.r.storer().SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("writing ledger commit in %s: %w", w.r.src, err)
	}
	return h, true, nil
}

// tree returns the hash of tree base (zero: empty) with d's files written
// into it. The caller holds r.mu.
func (w *ledgerWrite) tree(base plumbing.Hash, d *ledgerDir, dir string) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	if !base.IsZero() {
		t, err := object.GetTree(w.r.storer(), base)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading ledger tree %s in %s: %w", base, w.r.src, err)
		}
		entries = append(entries, t.Entries...)
	}
	index := make(map[string]int, len(entries))
	for i, e := range entries {
		index[e.Name] = i
	}
	set := func(e object.TreeEntry) {
		if i, ok := index[e.Name]; ok {
			entries[i] = e
			return
		}
		index[e.Name] = len(entries)
		entries = append(entries, e)
	}
	for name, b := range d.files {
		if i, ok := index[name]; ok && entries[i].Mode == filemode.Dir {
			return plumbing.ZeroHash, landform.Errorf(landform.ECONFLICT, "ledger path %s is a directory in branch %s", join(dir, name), w.ref.Short())
		}
		set(object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: b.hash})
	}
	for name, sub := range d.dirs {
		var subBase plumbing.Hash
		if i, ok := index[name]; ok {
			if entries[i].Mode != filemode.Dir {
				return plumbing.ZeroHash, landform.Errorf(landform.ECONFLICT, "ledger path %s is a file in branch %s", join(dir, name), w.ref.Short())
			}
			subBase = entries[i].Hash
		}
		h, err := w.tree(subBase, sub, join(dir, name))
		if err != nil {
			return plumbing.ZeroHash, err
		}
		set(object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
	}
	sort.Sort(object.TreeEntrySorter(entries))
	obj := w.r.storer().NewEncodedObject()
	if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := w.r.storer().SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing ledger tree in %s: %w", w.r.src, err)
	}
	return h, nil
}
