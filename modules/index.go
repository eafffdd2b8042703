package modules

import (
	"cmp"
	"path"
	"slices"
	"strings"

	"github.com/landform/landform"
)

// Index is the parsed view of one commit: its workspaces, the local module
// graph and, precomputed for AffectedBy, which workspaces each directory,
// module and file dependency belongs to. An Index is immutable and safe for
// concurrent use.
type Index struct {
	workspaces []landform.Workspace // sorted by name
	byName     map[string]int
	// dirs are the directories with configuration files.
	dirs map[string]*dirInfo
	// reach maps a directory with configuration files to the local module
	// dirs it calls, transitively, sorted, itself left out.
	reach map[string][]string
	// units are the directories that own the paths below them (up to the
	// next unit): directories with configuration files, workspace dirs and
	// the dirs of local module calls (even missing ones).
	units map[string]*unit
	// paths maps a path the configuration reads (through file() & co., a
	// string naming it, VarFiles) to the readers: a changed path counts for
	// it when it is that path or below it.
	paths map[string][]target
	// globs holds fileset() patterns, dynamic paths and when_modified
	// globs, by the literal directory they start with.
	globs map[string][]*globDep
	// directoryMode: some workspace has Changes == ChangesDirectory.
	directoryMode bool
}

type unit struct {
	workspaces []int // workspaces whose Dir this is
	users      []int // workspaces calling this dir as a module, transitively
}

// target is who depends on a file: the workspaces of dir and those calling
// dir as a module when dir is set (a path.module reference), else workspace
// ws.
type target struct {
	dir string
	ws  int
}

// globDep is one pattern and who depends on it: a glob, or a dynamic
// path (a literal prefix and suffix around anything).
type globDep struct {
	g              *glob
	prefix, suffix string
	// whenModified is the glob as the workspace declares it, or "" for a
	// pattern coming from the configuration (a "file:" reason).
	whenModified string
	targets      []target
}

func (gd *globDep) match(p string) bool {
	if gd.g != nil {
		return gd.g.match(p)
	}
	return len(p) >= len(gd.prefix)+len(gd.suffix) && strings.HasPrefix(p, gd.prefix) && strings.HasSuffix(p, gd.suffix)
}

// dynamicPrefix resolves the literal prefix of a dynamic reference against
// base: the directory it starts in and the prefix relative to the repo
// root. ok is false when the directory leaves the repo.
func dynamicPrefix(base, prefix string) (dir, full string, ok bool) {
	i := strings.LastIndex(prefix, "/")
	dir, ok = inRepo(path.Join(base, prefix[:i+1]))
	if !ok {
		return "", "", false
	}
	full = prefix[i+1:]
	if dir != "." {
		full = dir + "/" + full
	}
	return dir, full, true
}

// eachWorkspace calls f with every workspace t stands for.
func (ix *Index) eachWorkspace(t target, f func(int)) {
	if t.dir == "" {
		f(t.ws)
		return
	}
	if u := ix.units[t.dir]; u != nil {
		for _, i := range u.workspaces {
			f(i)
		}
		for _, i := range u.users {
			f(i)
		}
	}
}

// buildIndex indexes infos, the parsed directories, with the workspaces
// wss (see discover).
func buildIndex(infos []*dirInfo, wss []landform.Workspace) *Index {
	ix := &Index{
		byName: map[string]int{},
		dirs:   make(map[string]*dirInfo, len(infos)),
		units:  make(map[string]*unit, len(infos)),
		paths:  map[string][]target{},
		globs:  map[string][]*globDep{},
	}
	for _, in := range infos {
		ix.dirs[in.dir] = in
		ix.units[in.dir] = &unit{}
	}
	ix.reach = reachability(ix.dirs)

	wss = slices.Clone(wss)
	slices.SortFunc(wss, func(a, b landform.Workspace) int { return cmp.Compare(a.Name, b.Name) })
	ix.workspaces = wss

	type globKey struct{ kind, pattern, suffix, whenModified string }
	globKeys := map[globKey]*globDep{}
	addDep := func(t target, k globKey, dir string, build func() *globDep) {
		gd := globKeys[k]
		if gd == nil {
			if gd = build(); gd == nil {
				return
			}
			globKeys[k] = gd
			ix.globs[dir] = append(ix.globs[dir], gd)
		}
		if n := len(gd.targets); n == 0 || gd.targets[n-1] != t {
			gd.targets = append(gd.targets, t)
		}
	}
	addGlob := func(t target, pattern, whenModified string) {
		addDep(t, globKey{"g", pattern, "", whenModified}, literalDir(pattern), func() *globDep {
			g, err := compileGlob(pattern)
			if err != nil {
				return nil // checked for when_modified; a bad fileset pattern is no dependency
			}
			return &globDep{g: g, whenModified: whenModified}
		})
	}
	addRef := func(t target, base string, r fileRef) {
		switch r.kind {
		case refPath:
			if p, ok := inRepo(path.Join(base, r.path)); ok {
				if ts := ix.paths[p]; len(ts) == 0 || ts[len(ts)-1] != t {
					ix.paths[p] = append(ts, t)
				}
			}
		case refGlob:
			if p, ok := inRepo(path.Join(base, r.path)); ok {
				addGlob(t, p, "")
			}
		case refDynamic:
			if dir, prefix, ok := dynamicPrefix(base, r.path); ok {
				addDep(t, globKey{"d", prefix, r.suffix, ""}, dir, func() *globDep {
					return &globDep{prefix: prefix, suffix: r.suffix}
				})
			}
		}
	}

	// path.module references belong to their directory, whoever uses it.
	for _, in := range infos {
		for _, r := range in.refs {
			if r.base == baseModule {
				addRef(target{dir: in.dir}, in.dir, r)
			}
		}
	}
	for i, w := range wss {
		ix.byName[w.Name] = i
		ix.directoryMode = ix.directoryMode || w.Changes == landform.ChangesDirectory
		own := ix.unitFor(w.Dir)
		own.workspaces = append(own.workspaces, i)
		mods := ix.reach[w.Dir]
		for _, m := range mods {
			u := ix.unitFor(m)
			u.users = append(u.users, i)
		}
		// Relative paths and path.root are the workspace's directory, in
		// its own configuration and in every module it calls.
		t := target{ws: i}
		for _, d := range append([]string{w.Dir}, mods...) {
			if in := ix.dirs[d]; in != nil {
				for _, r := range in.refs {
					if r.base == baseRoot || r.base == baseOwn && d == w.Dir {
						addRef(t, w.Dir, r)
					}
				}
			}
		}
		for _, vf := range w.VarFiles {
			if !path.IsAbs(vf) {
				addRef(t, w.Dir, fileRef{base: baseRoot, path: vf})
			}
		}
		for _, g := range w.WhenModified {
			addGlob(t, strings.TrimPrefix(g, "./"), g)
		}
	}
	return ix
}

// discover returns the declared workspaces followed by the discovered
// ones: every directory of infos not called as a local module by another,
// with no "modules" segment, and neither the Dir nor the name of a declared
// workspace. It fails with EINVALID when a discovered directory's name is
// one landform.CheckWorkspaceName refuses, or when there would be more
// than limit workspaces.
func discover(infos []*dirInfo, declared []landform.Workspace, limit int) ([]landform.Workspace, error) {
	wss := slices.Clone(declared)
	declaredDirs := map[string]bool{}
	names := map[string]bool{}
	for _, w := range declared {
		declaredDirs[w.Dir], names[w.Name] = true, true
	}
	called := map[string]bool{}
	for _, in := range infos {
		for _, m := range in.modules {
			if m != in.dir {
				called[m] = true
			}
		}
	}
	for _, in := range infos {
		d := in.dir
		if called[d] || declaredDirs[d] || hasModulesSegment(d) || names[d] {
			continue
		}
		name := landform.WorkspaceName(d, "")
		if err := landform.CheckWorkspaceName(name); err != nil {
			return nil, landform.Errorf(landform.EINVALID,
				"directory %q has Terraform files but cannot be a workspace: %w; rename it, or turn autodiscover off and list the workspaces in .landform.yaml", d, err)
		}
		if len(wss) == limit {
			return nil, landform.Errorf(landform.EINVALID,
				"more than %d workspaces (%d declared, the rest discovered); at most %d are allowed", limit, len(declared), limit)
		}
		wss = append(wss, landform.Workspace{Name: name, Dir: d})
	}
	return wss, nil
}

func (ix *Index) unitFor(dir string) *unit {
	u := ix.units[dir]
	if u == nil {
		u = &unit{}
		ix.units[dir] = u
	}
	return u
}

// reachability returns, for every directory of dirs, the local module dirs
// it calls transitively (sorted, itself left out even when a cycle leads
// back to it). It condenses the call graph into strongly connected
// components (Tarjan), which come out callees first, so each component's
// set is built once from its callees' sets.
func reachability(dirs map[string]*dirInfo) map[string][]string {
	var names []string
	ids := map[string]int{}
	id := func(d string) int {
		if i, ok := ids[d]; ok {
			return i
		}
		ids[d] = len(names)
		names = append(names, d)
		return len(names) - 1
	}
	for d := range dirs {
		id(d)
	}
	for _, in := range dirs {
		for _, m := range in.modules {
			id(m) // a missing directory is a node without edges
		}
	}
	n := len(names)
	edges := make([][]int, n)
	for d, in := range dirs {
		for _, m := range in.modules {
			edges[ids[d]] = append(edges[ids[d]], ids[m])
		}
	}

	// Tarjan's algorithm.
	index := make([]int, n) // 0: unvisited; else visit order + 1
	low := make([]int, n)
	onStack := make([]bool, n)
	comp := make([]int, n)
	var stack []int
	var comps [][]int
	next := 1
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range edges[v] {
			if index[w] == 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var c []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp[w] = len(comps)
				c = append(c, w)
				if w == v {
					break
				}
			}
			comps = append(comps, c)
		}
	}
	for v := range n {
		if index[v] == 0 {
			visit(v)
		}
	}

	// Components come out callees first.
	reach := make([][]int, len(comps))
	seen := make([]int, n) // seen[x] == c+1: x is in the set of component c
	for c, members := range comps {
		var set []int
		add := func(x int) {
			if seen[x] != c+1 {
				seen[x] = c + 1
				set = append(set, x)
			}
		}
		for _, m := range members {
			for _, x := range edges[m] {
				add(x)
				if comp[x] != c {
					for _, y := range reach[comp[x]] {
						add(y)
					}
				}
			}
		}
		reach[c] = set
	}
	sets := make([][]string, len(comps))
	out := make(map[string][]string, len(dirs))
	for d := range dirs {
		c := comp[ids[d]]
		if len(reach[c]) == 0 {
			continue
		}
		if sets[c] == nil {
			sets[c] = make([]string, len(reach[c]))
			for i, x := range reach[c] {
				sets[c][i] = names[x]
			}
			slices.Sort(sets[c])
		}
		set := sets[c]
		if _, self := slices.BinarySearch(set, d); self { // a cycle leads back to d
			set = slices.DeleteFunc(slices.Clone(set), func(s string) bool { return s == d })
		}
		if len(set) > 0 {
			out[d] = set
		}
	}
	return out
}

func hasModulesSegment(dir string) bool {
	return slices.Contains(strings.Split(dir, "/"), "modules")
}

// Workspaces returns the workspaces of the commit, sorted by name.
func (ix *Index) Workspaces() []landform.Workspace {
	return slices.Clone(ix.workspaces)
}

// Workspace returns the workspace called name.
func (ix *Index) Workspace(name string) (landform.Workspace, bool) {
	i, ok := ix.byName[name]
	if !ok {
		return landform.Workspace{}, false
	}
	return ix.workspaces[i], true
}

// HasConfig reports whether dir holds configuration files (.tf, .tf.json,
// .tofu, .tofu.json).
func (ix *Index) HasConfig(dir string) bool {
	return ix.dirs[cleanDir(dir)] != nil
}

// Err returns the error of the configuration in dir alone (not of the
// modules it calls: see Modules): an EINVALID error wrapping a
// *ConfigError, whose diagnostics carry file and line, when a file does
// not parse; an EINVALID error when dir is the Dir of a workspace but holds
// no configuration files; nil otherwise.
func (ix *Index) Err(dir string) error {
	dir = cleanDir(dir)
	if in := ix.dirs[dir]; in != nil {
		return in.err
	}
	if u := ix.units[dir]; u != nil && len(u.workspaces) > 0 {
		return landform.Errorf(landform.EINVALID, "no Terraform configuration files in %s", dir)
	}
	return nil
}

// Modules returns the directories of the local modules the configuration
// in dir calls, transitively, sorted. A call whose directory does not
// exist is listed all the same (terraform init will report it).
func (ix *Index) Modules(dir string) []string {
	return slices.Clone(ix.reach[cleanDir(dir)])
}

// RequiredVersion returns the required_version constraints of the
// configuration in dir and of every local module it calls, transitively,
// deduplicated: the engine that runs dir must satisfy them all.
func (ix *Index) RequiredVersion(dir string) []string {
	dir = cleanDir(dir)
	var out []string
	for _, d := range append([]string{dir}, ix.reach[dir]...) {
		if in := ix.dirs[d]; in != nil {
			out = append(out, in.required...)
		}
	}
	return dedupe(out)
}

// cleanDir turns a caller's dir or path into the form the index uses:
// cleaned, "/"-separated, relative, "." for the root.
func cleanDir(p string) string {
	p = path.Clean(strings.TrimPrefix(p, "/"))
	return strings.TrimPrefix(p, "./")
}
