package modules

import (
	"cmp"
	"maps"
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
	// ReasonChanged: a changed Terraform file, lock file or auto-loaded
	// var file of the workspace's directory; with ChangesDirectory, any
	// changed path inside the directory (and not inside a nested workspace
	// or module directory).
	ReasonChanged = "changed: "
	// ReasonModule: a changed Terraform file in the directory of a local
	// module the workspace calls, transitively (with ChangesDirectory, any
	// changed path there); the reason names the module dir.
	ReasonModule = "module: "
	// ReasonFile: a changed path the configuration (or one of its modules)
	// reads: with file(), templatefile(), fileset()…, through a string
	// that names it, or as one of the workspace's VarFiles.
	ReasonFile = "file: "
	// ReasonWhenModified: a changed path matching one of the workspace's
	// WhenModified globs; the reason names the glob.
	ReasonWhenModified = "when_modified: "
	// ReasonSettings: the workspace's settings differ from the base
	// commit's; the reason names them, e.g. "settings: env, var_files".
	ReasonSettings = "settings: "
)

// Affected is a workspace touched by a change, with why.
type Affected struct {
	Workspace landform.Workspace
	// Reasons are sorted and deduplicated; see the Reason constants. All
	// of them: a caller that prints them may abbreviate.
	Reasons []string
}

// AffectedBy returns the workspaces that the change from base to head
// affects, sorted by name. changed lists the paths that differ between the
// two commits, relative to the repo root: both sides of a rename, and
// deleted files too. base is nil for a first commit, in which case every
// workspace of head is "added".
//
// A workspace of head is affected by a changed path when
//   - the path is a Terraform or OpenTofu file (.tf, .tf.json, .tofu,
//     .tofu.json) directly in its Dir, or its .terraform.lock.hcl, or an
//     auto-loaded var file (terraform.tfvars, *.auto.tfvars and their
//     .json forms) directly in its Dir ("changed: <path>");
//   - the path is a Terraform file directly in the dir of a local module
//     the workspace calls, transitively ("module: <module dir>");
//   - its Changes is ChangesDirectory and the path is inside its Dir, no
//     nested unit claiming it (a unit is a directory with configuration
//     files, a workspace dir or a local module dir, in head or in base:
//     "changed: <path>"), or inside the dir of a module it calls
//     ("module: <module dir>");
//   - its configuration or one of its modules reads the path or a
//     directory above it: with file() and friends, fileset() included,
//     through a string that names it, or it names it in VarFiles ("file:
//     <path>", only when the path did not already count as changed or
//     module for it);
//   - the path matches one of its WhenModified globs
//     ("when_modified: <glob>").
//
// A workspace of both commits whose settings differ (dir, Terraform
// workspace, version, var files, env) is affected with a
// "settings: " reason. A workspace of base that head lacks, or whose
// directory lost its configuration files, is reported with the reason
// "deleted" alone.
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
		dir, name := path.Dir(p), path.Base(p)
		if u := head.units[dir]; u != nil {
			if isConfigFile(name) || isRootFile(name) {
				for _, i := range u.workspaces {
					add(i, ReasonChanged+p)
					covered[i] = stamp
				}
			}
			if isConfigFile(name) {
				for _, i := range u.users {
					add(i, ReasonModule+dir)
					covered[i] = stamp
				}
			}
		}
		if head.directoryMode {
			head.directoryChange(base, p, func(i int, r string) {
				if head.workspaces[i].Changes == landform.ChangesDirectory {
					add(i, r)
					covered[i] = stamp
				}
			})
		}
		for d := p; ; d = path.Dir(d) {
			for _, t := range head.paths[d] {
				head.eachWorkspace(t, func(i int) {
					if covered[i] != stamp {
						add(i, ReasonFile+p)
					}
				})
			}
			for _, gd := range head.globs[d] {
				if !gd.match(p) {
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
		default:
			if diff := settingsDiff(base.workspaces[base.byName[w.Name]], w); diff != "" {
				add(i, ReasonSettings+diff)
			}
		}
		if len(reasons[i]) > 0 {
			out = append(out, Affected{Workspace: w, Reasons: slices.Sorted(maps.Keys(reasons[i]))})
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

// directoryChange calls add for each workspace that the changed path p
// affects under the ChangesDirectory rule: p inside its directory, or
// inside the dir of a module it calls, up to the nearest unit.
func (ix *Index) directoryChange(base *Index, p string, add func(i int, reason string)) {
	for d := path.Dir(p); ; d = path.Dir(d) {
		if u := ix.units[d]; u != nil {
			for _, i := range u.workspaces {
				add(i, ReasonChanged+p)
			}
			for _, i := range u.users {
				add(i, ReasonModule+d)
			}
			return
		}
		if d == "." || base != nil && base.units[d] != nil {
			return
		}
	}
}

// isRootFile reports whether name is a file terraform reads from the
// workspace's directory only: the lock file and auto-loaded var files.
func isRootFile(name string) bool {
	switch {
	case name == ".terraform.lock.hcl", name == "terraform.tfvars", name == "terraform.tfvars.json":
		return true
	case strings.HasSuffix(name, ".auto.tfvars"), strings.HasSuffix(name, ".auto.tfvars.json"):
		return true
	}
	return false
}

// settingsDiff names the settings that differ between a workspace in two
// commits, comma-separated, in the repo config's terms; "" when none do.
func settingsDiff(a, b landform.Workspace) string {
	var out []string
	if a.Dir != b.Dir {
		out = append(out, "dir")
	}
	if a.TFWorkspace != b.TFWorkspace {
		out = append(out, "workspace")
	}
	if a.TerraformVersion != b.TerraformVersion {
		out = append(out, "terraform_version")
	}
	if !slices.Equal(a.VarFiles, b.VarFiles) {
		out = append(out, "var_files")
	}
	if !maps.Equal(a.Env, b.Env) {
		out = append(out, "env")
	}
	return strings.Join(out, ", ")
}

func (ix *Index) hasName(name string) bool {
	_, ok := ix.byName[name]
	return ok
}
