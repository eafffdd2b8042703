package gitrepo

import (
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/landform/landform"
)

// refuseOverwrites checks the entries against the ledger tree base (zero:
// the branch's first commit): an entry that would overwrite a file base
// holds with other content is refused unless its Replaces allows it. A
// path where base has a directory is left to tree, which reports it. The
// caller holds r.mu.
func (w *ledgerWrite) refuseOverwrites(base plumbing.Hash) error {
	if base.IsZero() {
		return nil
	}
	root, err := object.GetTree(w.r.storer(), base)
	if err != nil {
		return fmt.Errorf("reading ledger tree %s in %s: %w", base, w.r.src, err)
	}
	for i, e := range w.entries {
		held := map[string]*object.TreeEntry{}
		var changed string
		for _, f := range e.Files {
			te, err := root.FindEntry(f.Path)
			if err != nil || te.Mode == filemode.Dir {
				continue // not there (or not a file: tree says so)
			}
			held[f.Path] = te
			if changed == "" && te.Hash != plumbing.ComputeHash(plumbing.BlobObject, f.Data) {
				changed = f.Path
			}
		}
		if changed == "" {
			continue
		}
		if e.Replaces != nil {
			existing := make(map[string][]byte, len(held))
			for path, te := range held {
				if existing[path], err = w.readBlob(te.Hash); err != nil {
					return fmt.Errorf("reading ledger file %s in %s: %w", path, w.r.src, err)
				}
			}
			if e.Replaces(existing) {
				continue
			}
		}
		return &EntryError{Index: i, Err: landform.Errorf(landform.ECONFLICT,
			"ledger file %s on branch %s holds another record: not overwritten", changed, w.ref.Short())}
	}
	return nil
}

// readBlob returns the content of a blob. The caller holds r.mu.
func (w *ledgerWrite) readBlob(h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(w.r.storer(), h)
	if err != nil {
		return nil, err
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}
