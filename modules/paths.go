package modules

import (
	"path"
	"slices"
	"strings"
)

// Paths returns what terraform reads to plan the configuration in dir,
// relative to the repo root and sorted: dir itself, the local module
// directories it calls (transitively), and the paths its configuration or
// its modules read (see AffectedBy) — a pattern as the literal directory it
// starts with. References that leave the repository are left out.
// Exporting just these paths is enough to plan dir, short of a path built
// at run time from no literal part (see Unresolved).
func (ix *Index) Paths(dir string) []string {
	dir = cleanDir(dir)
	out := []string{dir}
	ix.eachRef(dir, func(r fileRef, base string) {
		var p string
		switch r.kind {
		case refPath:
			p = path.Join(base, r.path)
		case refGlob:
			p = literalDir(path.Join(base, r.path))
		case refDynamic:
			var ok bool
			if p, _, ok = dynamicPrefix(base, r.path); !ok {
				return
			}
		}
		if _, ok := inRepo(p); ok {
			out = append(out, p)
		}
	})
	for _, d := range ix.reach[dir] {
		out = append(out, d)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// eachRef calls f with every reference of the configuration in dir and
// of the modules it calls, and the directory it is relative to.
func (ix *Index) eachRef(dir string, f func(r fileRef, base string)) {
	for _, d := range append([]string{dir}, ix.reach[dir]...) {
		in := ix.dirs[d]
		if in == nil {
			continue
		}
		for _, r := range in.refs {
			if base, ok := refDir(r, d, dir); ok {
				f(r, base)
			}
		}
	}
}

// refDir is the directory a reference of the configuration in d is
// relative to when the workspace in dir is planned; ok is false for a
// reference that does not count there.
func refDir(r fileRef, d, dir string) (string, bool) {
	switch r.base {
	case baseModule:
		return d, true
	case baseOwn:
		return dir, d == dir
	}
	return dir, true
}

// Unresolved is a file reference of a workspace's configuration with a
// part that could not be worked out without running terraform.
type Unresolved struct {
	// File and Line locate the expression, File relative to the repo root.
	File string `json:"file"`
	Line int    `json:"line"`
	// Expression is its source text, on one line, shortened.
	Expression string `json:"expression"`
	// CountedAs are the paths or patterns it counts as, relative to the
	// repo root: a "*" of a dynamic pattern stands for any characters,
	// "/" included; a fileset pattern is a glob. Empty when no part of it
	// is known (its changes are not detected: use when_modified).
	CountedAs []string `json:"counted_as"`
}

// Unresolved lists the file references of the configuration in dir and of
// the modules it calls that have a part Landform cannot work out, sorted
// by file and line.
func (ix *Index) Unresolved(dir string) []Unresolved {
	dir = cleanDir(dir)
	var out []Unresolved
	for _, d := range append([]string{dir}, ix.reach[dir]...) {
		in := ix.dirs[d]
		if in == nil {
			continue
		}
		for _, u := range in.unresolved {
			x := Unresolved{File: u.file, Line: u.line, Expression: u.expr, CountedAs: []string{}}
			for _, r := range u.refs {
				base, ok := refDir(r, d, dir)
				if !ok {
					continue
				}
				switch r.kind {
				case refPath, refGlob:
					if p, ok := inRepo(path.Join(base, r.path)); ok {
						x.CountedAs = append(x.CountedAs, p)
					}
				case refDynamic:
					if _, prefix, ok := dynamicPrefix(base, r.path); ok {
						x.CountedAs = append(x.CountedAs, prefix+"*"+r.suffix)
					}
				}
			}
			out = append(out, x)
		}
	}
	slices.SortStableFunc(out, func(a, b Unresolved) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		return a.Line - b.Line
	})
	return out
}
