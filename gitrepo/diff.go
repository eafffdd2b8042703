package gitrepo

import (
	"fmt"
	"slices"

	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// ChangedPaths returns the paths of the files that differ between the trees
// of revisions base and head: added, modified (content or mode) and deleted
// files; a rename yields both its old and its new path. Paths are relative to
// the repository root, '/'-separated, sorted and without duplicates. A file
// replaced by a directory of the same name (or the reverse) yields the file's
// path and the paths of the files under the directory. A symbolic link or a
// submodule counts as a file.
//
// Subtrees with the same hash on both sides are skipped without being read,
// so the cost follows the size of the change, not of the repository.
//
// Errors: those of Resolve.
func (r *Repo) ChangedPaths(base, head string) ([]string, error) {
	from, err := r.commit(base)
	if err != nil {
		return nil, err
	}
	to, err := r.commit(head)
	if err != nil {
		return nil, err
	}
	paths := []string{}
	if from.TreeHash == to.TreeHash {
		return paths, nil
	}
	d := differ{trees: newTreeCache(r), paths: paths}
	a, err := d.trees.get(from.TreeHash)
	if err != nil {
		return nil, err
	}
	b, err := d.trees.get(to.TreeHash)
	if err != nil {
		return nil, err
	}
	if err := d.diff(".", a, b); err != nil {
		return nil, fmt.Errorf("diffing %s and %s: %w", base, head, err)
	}
	slices.Sort(d.paths)
	return slices.Compact(d.paths), nil
}

// differ compares trees itself rather than with go-git's object.DiffTree:
// that one skips equal subtrees too, but first decodes each of them and
// every tree one level below (its merkletrie asks every node pair for its
// number of children), which for a monorepo is most of the trees.
type differ struct {
	trees *treeCache
	paths []string
}

// diff merges the entries of a and b, both sorted by name.
func (d *differ) diff(dir string, a, b *treeDir) error {
	i, j := 0, 0
	for i < len(a.entries) || j < len(b.entries) {
		var ea, eb *treeEntry
		switch {
		case j == len(b.entries) || i < len(a.entries) && a.entries[i].name < b.entries[j].name:
			ea = &a.entries[i]
			i++
		case i == len(a.entries) || b.entries[j].name < a.entries[i].name:
			eb = &b.entries[j]
			j++
		default:
			ea, eb = &a.entries[i], &b.entries[j]
			i++
			j++
		}
		if ea != nil && eb != nil {
			if ea.hash == eb.hash && ea.mode == eb.mode {
				continue
			}
			if ea.mode == filemode.Dir && eb.mode == filemode.Dir {
				ta, err := d.trees.get(ea.hash)
				if err != nil {
					return err
				}
				tb, err := d.trees.get(eb.hash)
				if err != nil {
					return err
				}
				if err := d.diff(join(dir, ea.name), ta, tb); err != nil {
					return err
				}
				continue
			}
		}
		for _, e := range []*treeEntry{ea, eb} {
			if e == nil {
				continue
			}
			if err := d.all(join(dir, e.name), e); err != nil {
				return err
			}
		}
	}
	return nil
}

// all adds p, or every file under p when it is a directory.
func (d *differ) all(p string, e *treeEntry) error {
	if e.mode != filemode.Dir {
		d.paths = append(d.paths, p)
		return nil
	}
	t, err := d.trees.get(e.hash)
	if err != nil {
		return err
	}
	for i := range t.entries {
		if err := d.all(join(p, t.entries[i].name), &t.entries[i]); err != nil {
			return err
		}
	}
	return nil
}
