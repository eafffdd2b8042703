package modules

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/landform/landform"
)

// Reasons a workspace is affected. Reasons that name a path or glob are the
// prefix followed by it, e.g. "changed: envs/prod/main.tf".
const (
	// ReasonAdded: the workspace is not in the base commit (or there is no
	// base commit).
	ReasonAdded = "added"
	// ReasonDeleted: the workspace is in the base commit but not in the
	// head commit, or its directory no longer holds configuration files.
	ReasonDeleted = "deleted"
	// ReasonChanged: a changed path inside the workspace's directory (and
	// not inside a nested workspace or module directory).
	ReasonChanged = "changed: "
	// ReasonModule: a changed path inside the directory of a local module
	// the workspace calls, transitively; the reason names the module dir.
	ReasonModule = "module: "
	// ReasonFile: a changed file the configuration (or one of its modules)
	// reads with file(), templatefile(), fileset()… or that the workspace
	// names in VarFiles.
	ReasonFile = "file: "
	// ReasonWhenModified: a changed path matching one of the workspace's
	// WhenModified globs; the reason names the glob.
	ReasonWhenModified = "when_modified: "
)

// MaxPathReasons caps the "changed: " and "file: " reasons of one
// workspace; the rest are summed up in one "… and N more" reason.
const MaxPathReasons = 20

// Affected is a workspace touched by a change, with why.
type Affected struct {
	Workspace landform.Workspace
	// Reasons are sorted and deduplicated; see the Reason constants.
	Reasons []string
}

// AffectedBy returns the workspaces that the change from base to head
// affects, sorted by name. changed lists the paths that differ between the
// two commits, relative to the repo root: both sides of a rename, and
// deleted files too. base is nil for a first commit, in which case every
// workspace of head is "added".
//
// A workspace of head is affected by a changed path when
//   - the path is inside its Dir, and no nested unit claims it: a unit is a
//     directory with configuration files, a workspace dir or a local module
//     dir, in head or in base ("changed: <path>");
//   - the path's unit is a local module dir the workspace calls,
//     transitively ("module: <module dir>");
//   - its configuration or one of its modules reads the path with file()
//     and friends, fileset() included, or names it in VarFiles
//     ("file: <path>", only when the path did not already count as
//     changed or module for it);
//   - the path matches one of its WhenModified globs
//     ("when_modified: <glob>").
//
// A workspace of base that head lacks, or whose directory lost its
// configuration files, is reported with the reason "deleted" alone.
func AffectedBy(base, head *Index, changed []string) []Affected {
	if head == nil {
		head = buildIndex(nil, nil)
	}
	reasons := make([]map[string]bool, len(head.workspaces))
	add := func(i int, r string) {
		if reasons[i] == nil {
			reasons[i] = map[string]bool{}
		}
		reasons[i][r] = true
	}
	// covered[i] == stamp: the current path already counts as changed or
	// module for workspace i.
	covered := make([]int, len(head.workspaces))
	for k, raw := range changed {
		p := cleanDir(raw)
		if _, ok := inRepo(p); !ok || p == "." {
			continue
		}
		stamp := k + 1
		for d := path.Dir(p); ; d = path.Dir(d) {
			if u := head.units[d]; u != nil {
				for _, i := range u.workspaces {
					add(i, ReasonChanged+p)
					covered[i] = stamp
				}
				for _, i := range u.users {
					add(i, ReasonModule+d)
					covered[i] = stamp
				}
				break
			}
			if d == "." || base != nil && base.units[d] != nil {
				break
			}
		}
		for _, t := range head.exact[p] {
			head.eachWorkspace(t, func(i int) {
				if covered[i] != stamp {
					add(i, ReasonFile+p)
				}
			})
		}
		for d := p; ; d = path.Dir(d) {
			for _, gd := range head.globs[d] {
				if !gd.g.match(p) {
					continue
				}
				for _, t := range gd.targets {
					head.eachWorkspace(t, func(i int) {
						if gd.whenModified != "" {
							add(i, ReasonWhenModified+gd.whenModified)
						} else if covered[i] != stamp {
							add(i, ReasonFile+p)
						}
					})
				}
			}
			if d == "." {
				break
			}
		}
	}

	var out []Affected
	for i, w := range head.workspaces {
		switch {
		case base == nil:
			add(i, ReasonAdded)
		case !base.hasName(w.Name):
			add(i, ReasonAdded)
		case head.dirs[w.Dir] == nil && base.dirs[w.Dir] != nil:
			reasons[i] = map[string]bool{ReasonDeleted: true}
		}
		if len(reasons[i]) > 0 {
			out = append(out, Affected{Workspace: w, Reasons: finishReasons(reasons[i])})
		}
	}
	if base != nil {
		for _, w := range base.workspaces {
			if !head.hasName(w.Name) {
				out = append(out, Affected{Workspace: w, Reasons: []string{ReasonDeleted}})
			}
		}
	}
	slices.SortFunc(out, func(a, b Affected) int { return cmp.Compare(a.Workspace.Name, b.Workspace.Name) })
	return out
}

func (ix *Index) hasName(name string) bool {
	_, ok := ix.byName[name]
	return ok
}

// finishReasons sorts the reasons and keeps MaxPathReasons of each kind
// that names a path.
func finishReasons(set map[string]bool) []string {
	all := make([]string, 0, len(set))
	for r := range set {
		all = append(all, r)
	}
	slices.Sort(all)
	out := all[:0]
	counts := map[string]int{}
	for _, r := range all {
		kind := ""
		for _, k := range []string{ReasonChanged, ReasonFile} {
			if strings.HasPrefix(r, k) {
				kind = k
			}
		}
		if kind != "" {
			counts[kind]++
			if counts[kind] > MaxPathReasons {
				continue
			}
		}
		out = append(out, r)
	}
	for _, k := range []string{ReasonChanged, ReasonFile} {
		if n := counts[k] - MaxPathReasons; n > 0 {
			out = append(out, fmt.Sprintf("%s… and %d more", k, n))
		}
	}
	slices.Sort(out)
	return out
}
