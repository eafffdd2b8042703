package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"gopkg.in/yaml.v3"
)

// CheckPaths checks r's workspace directories and var files against fsys,
// the tree of one commit (the tree whose RepoFile r came from): a path that
// is a symbolic link, or goes through one, to somewhere outside the tree is
// an error, since terraform would read files from outside the repository.
// Links that stay inside the tree are fine.
//
// A directory or var file missing from fsys is not an error: a listed
// workspace may have been deleted in this commit, which the caller reports.
//
// Links are only seen when fsys implements fs.ReadLinkFS (os.DirFS,
// fstest.MapFS and the like); on other file systems CheckPaths finds no
// link problem. Problems are returned like ParseRepo's (EINVALID, a
// *ValidationError, file:line:column when r came from ParseRepo); any other
// error reading fsys is returned wrapped, with no code.
func CheckPaths(fsys fs.FS, r *Repo) error {
	errs, err := checkPaths(fsys, r)
	if err != nil {
		return err
	}
	return invalid(errs)
}

func checkPaths(fsys fs.FS, r *Repo) ([]*FieldError, error) {
	if _, ok := fsys.(fs.ReadLinkFS); !ok {
		return nil, nil
	}
	file := r.file
	if file == "" {
		file = RepoFile
	}
	var errs []*FieldError
	// check reports whether name has a problem.
	check := func(name string, at *yaml.Node, field string) (bool, error) {
		res, err := resolve(fsys, name)
		if err != nil {
			return false, fmt.Errorf("checking %s of %s: %w", field, file, err)
		}
		if res.problem == "" {
			return false, nil
		}
		errs = append(errs, newFieldError(file, at, field, fmt.Sprintf("%q %s", name, res.problem)))
		return true, nil
	}
	for i, w := range r.Workspaces {
		if w.Dir == "" {
			continue // invalid, already reported
		}
		var pos workspacePos
		if i < len(r.pos) {
			pos = r.pos[i]
		}
		p := indexPath("workspaces", i)
		bad, err := check(w.Dir, pos.dir, joinPath(p, "dir"))
		if err != nil {
			return nil, err
		}
		if bad {
			continue // its var files would only repeat the problem
		}
		for j, f := range w.VarFiles {
			if f == "" {
				continue
			}
			var at *yaml.Node
			if j < len(pos.varFiles) {
				at = pos.varFiles[j]
			}
			if _, err := check(path.Join(w.Dir, f), at, indexPath(joinPath(p, "var_files"), j)); err != nil {
				return nil, err
			}
		}
	}
	return errs, nil
}

// maxLinks bounds the links followed while resolving one path, like the
// operating system's ELOOP limit.
const maxLinks = 40

// resolution is where a path leads in a tree.
type resolution struct {
	// path is the path with every link resolved, when it exists.
	path string
	// missing is set when some element of the path does not exist (or is a
	// file where a directory is needed).
	missing bool
	// links counts the symbolic links followed.
	links int
	// problem, when not empty, says how the path leaves the tree: it ends
	// a message about the path ("\"a/b\" " + problem).
	problem string
}

// element is one path element still to resolve, with the link whose target
// it comes from ("" for the original path).
type element struct {
	name, link, target string
}

// resolve follows name, a clean path relative to the root of fsys, element
// by element the way the operating system would, and reports whether a
// symbolic link on the way leaves the tree. It only sees links when fsys
// implements fs.ReadLinkFS. Missing elements end the walk without error.
func resolve(fsys fs.FS, name string) (resolution, error) {
	var res resolution
	var todo []element
	for el := range strings.SplitSeq(name, "/") {
		todo = append(todo, element{name: el})
	}
	var cur []string // resolved elements: real directories
	for len(todo) > 0 {
		el := todo[0]
		todo = todo[1:]
		switch el.name {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				res.problem = leaves(name, el)
				return res, nil
			}
			cur = cur[:len(cur)-1]
			continue
		}
		p := path.Join(append(cur, el.name)...)
		fi, err := fs.Lstat(fsys, p)
		if errors.Is(err, fs.ErrNotExist) {
			res.missing = true
			return res, nil
		}
		if err != nil {
			return res, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if !fi.IsDir() && len(todo) > 0 {
				res.missing = true // a file where a directory is needed
				return res, nil
			}
			cur = append(cur, el.name)
			continue
		}
		res.links++
		if res.links > maxLinks {
			res.problem = "goes through too many levels of symbolic links"
			return res, nil
		}
		target, err := fs.ReadLink(fsys, p)
		if err != nil {
			return res, err
		}
		if path.IsAbs(target) {
			res.problem = leaves(name, element{link: p, target: target})
			return res, nil
		}
		var expanded []element
		for t := range strings.SplitSeq(target, "/") {
			expanded = append(expanded, element{name: t, link: p, target: target})
		}
		todo = append(expanded, todo...)
	}
	res.path = path.Join(cur...)
	if res.path == "" {
		res.path = "."
	}
	return res, nil
}

// leaves describes how the path name leaves the tree through el's link.
func leaves(name string, el element) string {
	if el.link == name {
		return fmt.Sprintf("is a symbolic link to %q, outside the repository", el.target)
	}
	return fmt.Sprintf("goes through symbolic link %q -> %q, outside the repository", el.link, el.target)
}
