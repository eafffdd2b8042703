package gitrepo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/landform/landform"
)

// Export writes a clean copy of the tree of revision rev into dir, which is
// created if missing and must otherwise be empty. Regular files get mode
// 0644, or 0755 when executable in git (less the umask); submodules become
// empty directories. A symbolic link is recreated as a link when it resolves
// inside the tree (or names a missing path that would be inside it); one
// that leads outside is left out and logged. The repository itself, its
// working copy and index are not touched.
//
// On error dir may hold a partial copy; the caller removes it.
//
// Errors: those of Resolve; EINVALID when dir is not empty or the tree has
// an entry named .git.
func (r *Repo) Export(ctx context.Context, rev, dir string) error {
	return r.ExportPaths(ctx, rev, dir, nil)
}

type exporter struct {
	t     *TreeFS
	root  string
	links []pendingLink
}

// pendingLink is a symbolic link, made once every file is in place.
type pendingLink struct {
	dir, name string // dir is the canonical directory holding the link
	entry     treeEntry
}

func (x *exporter) dir(ctx context.Context, dir string) error {
	ref, err := x.t.dir(dir, 0)
	if err != nil {
		return err
	}
	for _, e := range ref.dir.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := join(dir, e.name)
		if strings.EqualFold(e.name, ".git") {
			return landform.Errorf(landform.EINVALID, "the tree has an entry named %s; refusing to write it", p)
		}
		dst := filepath.Join(x.root, filepath.FromSlash(p))
		switch e.mode {
		case filemode.Dir:
			if err := os.Mkdir(dst, 0o755); err != nil {
				return err
			}
			if err := x.dir(ctx, p); err != nil {
				return err
			}
		case filemode.Submodule:
			if err := os.Mkdir(dst, 0o755); err != nil {
				return err
			}
		case filemode.Symlink:
			x.links = append(x.links, pendingLink{dir: dir, name: e.name, entry: e})
		default:
			if err := x.file(dst, e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *exporter) file(dst string, e treeEntry) error {
	data, err := x.t.r.readBlob(e.hash)
	if err != nil {
		return fmt.Errorf("reading %s: %w", dst, err)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode(e.mode).Perm())
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (x *exporter) link(l pendingLink) error {
	p := join(l.dir, l.name)
	target, err := x.t.readLink(l.entry.hash)
	if err != nil {
		return err
	}
	_, err = x.t.walk(l.dir, target, 1)
	if errors.Is(err, errEscape) {
		x.t.r.log.Warn("leaving out a symbolic link that leads outside the repository", "path", p, "target", target)
		return nil
	}
	// Missing targets and loops are harmless: the kernel stops there too.
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errLoop) {
		return err
	}
	return os.Symlink(target, filepath.Join(x.root, filepath.FromSlash(p)))
}

// ExportPaths is Export limited to paths: each names a directory (written
// with everything below it) or a file of the tree, relative to its root.
// Paths missing from the tree are skipped; overlapping paths are written
// once. It lets a plan write only the directories its configuration reads,
// which in a big monorepo is a small part of the tree. nil paths means the
// whole tree.
//
// Errors: those of Export; EINVALID for a path that is not relative and
// clean.
func (r *Repo) ExportPaths(ctx context.Context, rev, dir string, paths []string) error {
	t, err := r.FS(rev)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("exporting %s: %w", rev, err)
	}
	if entries, err := os.ReadDir(dir); err != nil {
		return fmt.Errorf("exporting %s: %w", rev, err)
	} else if len(entries) > 0 {
		return landform.Errorf(landform.EINVALID, "export directory is not empty: %s", dir)
	}
	if paths == nil {
		paths = []string{"."}
	}
	x := exporter{t: t, root: dir}
	for _, p := range coverPaths(paths) {
		if err := x.path(ctx, p); err != nil {
			return fmt.Errorf("exporting %s to %s: %w", rev, dir, err)
		}
	}
	for _, l := range x.links {
		if err := x.link(l); err != nil {
			return fmt.Errorf("exporting %s to %s: %w", rev, dir, err)
		}
	}
	return nil
}

// path writes one directory (recursively) or file of the tree; a path
// missing from the tree is skipped.
func (x *exporter) path(ctx context.Context, p string) error {
	if p == "." {
		return x.dir(ctx, ".")
	}
	if !fs.ValidPath(p) {
		return landform.Errorf(landform.EINVALID, "export path %q is not relative and clean", p)
	}
	if strings.EqualFold(path.Base(p), ".git") {
		return landform.Errorf(landform.EINVALID, "the tree has an entry named %s; refusing to write it", p)
	}
	n, err := x.t.lookup("export", p, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	dst := filepath.Join(x.root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	switch n.entry.mode {
	case filemode.Dir:
		if err := os.Mkdir(dst, 0o755); err != nil {
			return err
		}
		return x.dir(ctx, p)
	case filemode.Submodule:
		return os.Mkdir(dst, 0o755)
	case filemode.Symlink:
		x.links = append(x.links, pendingLink{dir: path.Dir(p), name: path.Base(p), entry: n.entry})
		return nil
	}
	return x.file(dst, n.entry)
}

// coverPaths cleans paths, sorts them and drops those inside another.
func coverPaths(paths []string) []string {
	clean := make([]string, 0, len(paths))
	for _, p := range paths {
		clean = append(clean, path.Clean(strings.TrimPrefix(p, "/")))
	}
	// Shorter paths first, so a directory is kept before what it holds.
	slices.SortFunc(clean, func(a, b string) int {
		return cmp.Or(cmp.Compare(strings.Count(a, "/"), strings.Count(b, "/")), strings.Compare(a, b))
	})
	kept := map[string]bool{}
	var out []string
	for _, p := range clean {
		covered := kept["."]
		for q := p; !covered && q != "." && q != "/"; q = path.Dir(q) {
			covered = kept[q]
		}
		if !covered {
			kept[p] = true
			out = append(out, p)
		}
	}
	return out
}
