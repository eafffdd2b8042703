package modules

import (
	"path"
	"slices"
	"strings"
)

// Paths returns what terraform reads to plan the configuration in dir,
// relative to the repo root and sorted: dir itself, the local module
// directories it calls (transitively), and the files its configuration or
// its modules read through file(), templatefile(), fileset() and friends —
// a pattern as the literal directory it starts with. References that leave
// the repository are left out. Exporting just these paths is enough to plan
// dir, short of a file path built at run time from no literal directory.
func (ix *Index) Paths(dir string) []string {
	dir = cleanDir(dir)
	out := []string{dir}
	for _, d := range append([]string{dir}, ix.reach[dir]...) {
		if d != dir {
			out = append(out, d)
		}
		in := ix.dirs[d]
		if in == nil {
			continue
		}
		for _, r := range in.refs {
			base := d
			if r.base == baseRoot {
				base = dir
			}
			p := path.Join(base, r.path)
			if r.isGlob {
				p = literalDir(p)
			}
			if p == ".." || strings.HasPrefix(p, "../") || path.IsAbs(p) {
				continue
			}
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
