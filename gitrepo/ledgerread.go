package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Files returns the paths of the files under dir ("" for all) on the
// ledger branch, '/'-separated and sorted, as the branch is now: for a
// clone, the remote's branch is fetched first (the clone's ref follows
// it); for a local repository, the local branch is read. A branch that
// does not exist, or has no such directory, has no files: an empty list.
//
// Errors: for the remote, those of a fetch (*RemoteError, ENOTFOUND,
// EUNAUTHORIZED); the context's.
func (l *Ledger) Files(ctx context.Context, dir string) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := &ledgerWrite{l: l, r: l.r, ref: l.ref}
	var tip plumbing.Hash
	var err error
	if l.r.rm != nil {
		tip, err = w.fetchTip(ctx)
	} else {
		tip, err = readRef(l.r.dir, l.ref)
	}
	if err != nil {
		return nil, fmt.Errorf("reading ledger branch %s of %s: %w", l.ref.Short(), l.r.src, err)
	}
	files := []string{}
	if tip.IsZero() {
		return files, nil
	}
	l.r.mu.Lock()
	defer l.r.mu.Unlock()
	c, err := object.GetCommit(l.r.storer(), tip)
	if err != nil {
		return nil, fmt.Errorf("reading ledger commit %s in %s: %w", tip, l.r.src, err)
	}
	tree, err := c.Tree()
	if err == nil && dir != "" {
		tree, err = tree.Tree(dir)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			return files, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading ledger tree of %s in %s: %w", tip, l.r.src, err)
	}
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		name, e, err := walker.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading ledger tree of %s in %s: %w", tip, l.r.src, err)
		}
		if e.Mode != filemode.Dir {
			files = append(files, path.Join(dir, name))
		}
	}
	sort.Strings(files)
	return files, nil
}
