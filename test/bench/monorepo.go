package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Spec describes a synthetic infrastructure monorepo.
type Spec struct {
	// Workspaces is the number of workspace directories
	// (live/<team>/<env>/<stack>).
	Workspaces int
	// Modules is the number of local modules, spread evenly over Depth
	// layers (modules/<layer>/<name>).
	Modules int
	// Depth is the number of module layers: a workspace calls modules of
	// any layer, a module of layer k calls 1–2 modules of layer k+1, and
	// the modules of the last layer call none, so the longest chain of
	// local module calls from a workspace is Depth modules long.
	Depth int
	// Seed makes the repo: the same Spec gives the same files, hence the
	// same tree and commit hashes.
	Seed uint64
}

// DefaultSpec is the monorepo of the "Core pipeline" issue: 2,000
// workspaces, 300 modules, local module chains four deep.
func DefaultSpec() Spec {
	return Spec{Workspaces: 2000, Modules: 300, Depth: 4, Seed: 1}
}

func (s Spec) validate() error {
	switch {
	case s.Workspaces < 1:
		return errors.New("spec: at least one workspace")
	case s.Depth < 1:
		return errors.New("spec: depth must be at least 1")
	case s.Modules < s.Depth:
		return fmt.Errorf("spec: %d modules cannot fill %d layers", s.Modules, s.Depth)
	}
	return nil
}

// Workspace is one generated workspace.
type Workspace struct {
	// Dir is relative to the repo root, '/'-separated.
	Dir string
	// Calls are the module dirs its configuration calls directly.
	Calls []string
}

// Module is one generated local module.
type Module struct {
	// Dir is relative to the repo root, '/'-separated.
	Dir string
	// Layer is 0 for the top layer; modules of layer k call modules of
	// layer k+1 only.
	Layer int
	// Calls are the module dirs it calls directly.
	Calls []string
}

// Monorepo is a generated repository, a working copy with one commit
// whose objects are packed (git gc), as in a fresh clone.
type Monorepo struct {
	// Dir is the repository's working copy.
	Dir  string
	Spec Spec
	// Base is the SHA of the generated commit, on branch main.
	Base string
	// Workspaces and Modules are sorted by Dir.
	Workspaces []Workspace
	Modules    []Module
	// Files is the number of files in Base.
	Files int

	modules map[string]*Module
	reach   map[string][]string // by workspace dir
}

// layerNames name the module layers, top first; layers beyond them are
// called layerN.
var layerNames = []string{"stacks", "services", "components", "primitives"}

// moduleKinds are the kinds of infrastructure modules are named after.
var moduleKinds = []string{
	"network", "dns", "iam", "bucket", "queue", "database", "cache", "cluster",
	"service", "alarm", "cdn", "vault", "registry", "mesh", "logging",
}

var envs = []string{"dev", "staging", "prod"}

// stacksPerTeam is the number of workspaces of one team (over its envs).
const stacksPerTeam = 60

// gitDate fixes the dates of the generated commits.
const gitDate = "2026-11-23T00:00:00Z"

func layerName(l int) string {
	if l < len(layerNames) {
		return layerNames[l]
	}
	return fmt.Sprintf("layer%d", l)
}

// GenerateMonorepo writes the monorepo spec describes into dir, which must
// be empty or not exist, makes it a git repository with one commit on
// branch main, and packs its objects with git gc. It runs the git CLI,
// isolated from the machine's and user's git configuration.
func GenerateMonorepo(ctx context.Context, dir string, spec Spec) (*Monorepo, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("generating monorepo: %s is not empty", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("generating monorepo: %w", err)
	}
	m, files := layout(spec)
	m.Dir = dir
	m.Files = len(files)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("generating monorepo: %w", err)
		}
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			return nil, fmt.Errorf("generating monorepo: %w", err)
		}
	}
	if _, err := Git(ctx, dir, "init", "--quiet", "--initial-branch=main"); err != nil {
		return nil, err
	}
	if _, err := Git(ctx, dir, "add", "--all"); err != nil {
		return nil, err
	}
	// No automatic gc during the commit: the explicit one below packs.
	if _, err := Git(ctx, dir, "-c", "gc.auto=0", "commit", "--quiet", "--no-verify", "-m", "Synthetic monorepo"); err != nil {
		return nil, err
	}
	if _, err := Git(ctx, dir, "gc", "--quiet"); err != nil {
		return nil, err
	}
	sha, err := Git(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	m.Base = sha
	return m, nil
}

// layout draws the repo's shape and renders its files.
func layout(spec Spec) (*Monorepo, map[string]string) {
	r := rand.New(rand.NewPCG(spec.Seed, 0x6c616e64666f726d)) // "landform"
	m := &Monorepo{Spec: spec, modules: map[string]*Module{}}

	// Modules, layer by layer, the first layers taking the remainder.
	layers := make([][]*Module, spec.Depth)
	for l := range spec.Depth {
		n := spec.Modules / spec.Depth
		if l < spec.Modules%spec.Depth {
			n++
		}
		for j := range n {
			kind := moduleKinds[(j+l*5)%len(moduleKinds)]
			mod := &Module{Dir: fmt.Sprintf("modules/%s/%s-%03d", layerName(l), kind, j), Layer: l}
			layers[l] = append(layers[l], mod)
		}
	}
	for l := 0; l < spec.Depth-1; l++ {
		for _, mod := range layers[l] {
			mod.Calls = pickDistinct(r, layers[l+1], 1+r.IntN(2))
		}
	}

	// Workspaces: the first call is to a top-layer module, so that chains
	// are Depth deep; the others to any layer, the top one half the time.
	for i := range spec.Workspaces {
		team, k := i/stacksPerTeam, i%stacksPerTeam
		ws := Workspace{Dir: fmt.Sprintf("live/team-%02d/%s/stack-%03d", team, envs[k%len(envs)], k/len(envs))}
		ws.Calls = pickDistinct(r, layers[0], 1)
		for range r.IntN(3) {
			l := 0
			if spec.Depth > 1 && r.IntN(2) == 1 {
				l = 1 + r.IntN(spec.Depth-1)
			}
			for _, c := range pickDistinct(r, layers[l], 1) {
				if !slices.Contains(ws.Calls, c) {
					ws.Calls = append(ws.Calls, c)
				}
			}
		}
		m.Workspaces = append(m.Workspaces, ws)
	}

	files := map[string]string{
		".landform.yaml": "# Landform discovers the workspaces of this repository.\nversion: 1\nparallel: 4\n",
		".gitignore":     ".terraform/\n*.tfstate\n*.tfstate.backup\n*.tfplan\n",
		"README.md":      readme(spec),
	}
	for _, layer := range layers {
		for _, mod := range layer {
			renderModule(r, files, mod)
			m.Modules = append(m.Modules, *mod)
		}
	}
	for _, ws := range m.Workspaces {
		renderWorkspace(r, files, ws)
	}
	slices.SortFunc(m.Workspaces, func(a, b Workspace) int { return strings.Compare(a.Dir, b.Dir) })
	slices.SortFunc(m.Modules, func(a, b Module) int { return strings.Compare(a.Dir, b.Dir) })
	for i := range m.Modules {
		m.modules[m.Modules[i].Dir] = &m.Modules[i]
	}
	m.reach = map[string][]string{}
	for _, ws := range m.Workspaces {
		m.reach[ws.Dir] = m.closure(ws.Calls)
	}
	return m, files
}

// pickDistinct picks n distinct modules of layer (all of them when it has
// fewer), favouring the first ones: some modules are popular, most are not.
func pickDistinct(r *rand.Rand, layer []*Module, n int) []string {
	n = min(n, len(layer))
	var out []string
	for len(out) < n {
		f := r.Float64()
		d := layer[int(float64(len(layer))*math.Pow(f, 2.5))].Dir
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

func readme(spec Spec) string {
	return fmt.Sprintf(`# Infrastructure

Synthetic monorepo generated by Landform's benchmarks (seed %d).

- live/TEAM/ENV/STACK: %d workspaces, one Terraform root module each.
- modules/LAYER/NAME: %d local modules in %d layers; a module calls modules
  of the next layer only.
`, spec.Seed, spec.Workspaces, spec.Modules, spec.Depth)
}

// callName is the name of the module block calling dir: the layer and the
// module's name, since two layers may have modules of one name.
func callName(dir string) string {
	return strings.ReplaceAll(path.Base(path.Dir(dir))+"_"+path.Base(dir), "-", "_")
}

// rel is the module source leading from dir to target.
func rel(dir, target string) string {
	up := strings.Repeat("../", strings.Count(dir, "/")+1)
	return up + target
}

func renderModule(r *rand.Rand, files map[string]string, mod *Module) {
	name := path.Base(mod.Dir)
	var b strings.Builder
	fmt.Fprintf(&b, "locals {\n  tags = merge(var.tags, {\n    module = %q\n    layer  = %q\n  })\n}\n", name, layerName(mod.Layer))
	for _, c := range mod.Calls {
		fmt.Fprintf(&b, "\nmodule %q {\n  source = %q\n\n  name = \"${var.name}-%s\"\n  tags = local.tags\n}\n",
			callName(c), rel(mod.Dir, c), path.Base(c))
	}
	template := len(mod.Calls) == 0 && r.IntN(3) == 0
	nres := 1 + r.IntN(3)
	for k := range nres {
		fmt.Fprintf(&b, "\nresource \"terraform_data\" \"%s_%d\" {\n  input = {\n    name = \"${var.name}-%d\"\n    tags = local.tags\n", strings.SplitN(name, "-", 2)[0], k, k)
		if template && k == 0 {
			b.WriteString("    config = templatefile(\"${path.module}/templates/config.json.tpl\", { name = var.name })\n")
			files[mod.Dir+"/templates/config.json.tpl"] = "{\n  \"name\": \"${name}\",\n  \"managed_by\": \"terraform\"\n}\n"
		}
		b.WriteString("  }\n}\n")
	}
	files[mod.Dir+"/main.tf"] = b.String()
	files[mod.Dir+"/variables.tf"] = `variable "name" {
  type        = string
  description = "Prefix of every object's name."
}

variable "tags" {
  type    = map(string)
  default = {}
}
`
	out := fmt.Sprintf("output \"id\" {\n  value = terraform_data.%s_0.id\n}\n", strings.SplitN(name, "-", 2)[0])
	for _, c := range mod.Calls {
		out += fmt.Sprintf("\noutput \"%s_id\" {\n  value = module.%s.id\n}\n", callName(c), callName(c))
	}
	files[mod.Dir+"/outputs.tf"] = out
	if r.IntN(2) == 0 {
		files[mod.Dir+"/README.md"] = fmt.Sprintf("# %s\n\nLayer %q module. Inputs: `name`, `tags`. Output: `id`.\n", name, layerName(mod.Layer))
	}
}

func renderWorkspace(r *rand.Rand, files map[string]string, ws Workspace) {
	parts := strings.Split(ws.Dir, "/") // live, team, env, stack
	team, env, stack := parts[1], parts[2], parts[3]
	var b strings.Builder
	fmt.Fprintf(&b, `terraform {
  required_version = ">= 1.5.0"

  backend "local" {
    path = "/var/lib/terraform/state/%s.tfstate"
  }
}

locals {
  name = "${var.team}-${var.env}-%s"
  tags = merge(var.tags, {
    team        = var.team
    environment = var.env
    stack       = %q
  })
}
`, ws.Dir, stack, stack)
	for _, c := range ws.Calls {
		fmt.Fprintf(&b, "\nmodule %q {\n  source = %q\n\n  name = \"${local.name}-%s\"\n  tags = local.tags\n}\n",
			callName(c), rel(ws.Dir, c), path.Base(c))
	}
	for k := range 1 + r.IntN(4) {
		fmt.Fprintf(&b, "\nresource \"terraform_data\" \"marker_%d\" {\n  input = {\n    name    = \"${local.name}-%d\"\n    region  = var.region\n    release = var.release\n  }\n}\n", k, k)
	}
	files[ws.Dir+"/main.tf"] = b.String()
	files[ws.Dir+"/variables.tf"] = `variable "team" {
  type = string
}

variable "env" {
  type = string
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "release" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}
`
	files[ws.Dir+"/terraform.tfvars"] = fmt.Sprintf("team    = %q\nenv     = %q\nregion  = %q\nrelease = \"2026.11.%d\"\ntags = {\n  cost_center = \"cc-%04d\"\n}\n",
		team, env, []string{"eu-west-1", "us-east-1", "ap-southeast-2"}[r.IntN(3)], 1+r.IntN(23), r.IntN(10000))
	var out strings.Builder
	for i, c := range ws.Calls {
		if i > 0 {
			out.WriteString("\n")
		}
		fmt.Fprintf(&out, "output \"%s_id\" {\n  value = module.%s.id\n}\n", callName(c), callName(c))
	}
	files[ws.Dir+"/outputs.tf"] = out.String()
	if r.IntN(4) == 0 {
		files[ws.Dir+"/README.md"] = fmt.Sprintf("# %s / %s / %s\n\nOwned by %s. Plan and apply through Landform.\n", team, env, stack, team)
	}
}

// Module returns the module at dir.
func (m *Monorepo) Module(dir string) (Module, bool) {
	mod := m.modules[dir]
	if mod == nil {
		return Module{}, false
	}
	return *mod, true
}

// Reach returns the module dirs a workspace or module at dir calls,
// transitively, sorted.
func (m *Monorepo) Reach(dir string) []string {
	if r, ok := m.reach[dir]; ok {
		return slices.Clone(r)
	}
	if mod := m.modules[dir]; mod != nil {
		return m.closure(mod.Calls)
	}
	return nil
}

// closure returns calls and the modules they call, transitively, sorted.
func (m *Monorepo) closure(calls []string) []string {
	seen := map[string]bool{}
	var visit func(ds []string)
	visit = func(ds []string) {
		for _, d := range ds {
			if !seen[d] {
				seen[d] = true
				visit(m.modules[d].Calls)
			}
		}
	}
	visit(calls)
	return slices.Sorted(maps.Keys(seen))
}

// Callers returns the dirs of the workspaces that call the module at dir,
// directly or through other modules, sorted.
func (m *Monorepo) Callers(dir string) []string {
	var out []string
	for _, ws := range m.Workspaces {
		if _, ok := slices.BinarySearch(m.reach[ws.Dir], dir); ok {
			out = append(out, ws.Dir)
		}
	}
	return out
}

// ChainDepth returns the length of the longest chain of module calls
// starting at the workspace or module at dir (0 when it calls none).
func (m *Monorepo) ChainDepth(dir string) int {
	var calls []string
	if mod := m.modules[dir]; mod != nil {
		calls = mod.Calls
	} else if i, ok := slices.BinarySearchFunc(m.Workspaces, dir, func(w Workspace, d string) int { return strings.Compare(w.Dir, d) }); ok {
		calls = m.Workspaces[i].Calls
	}
	depth := 0
	for _, c := range calls {
		depth = max(depth, 1+m.ChainDepth(c))
	}
	return depth
}

// PickModule returns a module of layer used by some workspaces: among the
// layer's modules with at least one caller, the one with the median number
// of callers (ties broken by dir). It returns "" when no module of layer
// has callers.
func (m *Monorepo) PickModule(layer int) string {
	type cand struct {
		dir     string
		callers int
	}
	var cands []cand
	for _, mod := range m.Modules {
		if mod.Layer != layer {
			continue
		}
		if n := len(m.Callers(mod.Dir)); n > 0 {
			cands = append(cands, cand{mod.Dir, n})
		}
	}
	if len(cands) == 0 {
		return ""
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.callers != b.callers {
			return a.callers - b.callers
		}
		return strings.Compare(a.dir, b.dir)
	})
	return cands[len(cands)/2].dir
}

// CommitModuleChange adds a resource to the main.tf of the module at dir
// and commits it on the checked-out branch, returning the new commit's SHA.
// n names the resource, so successive changes differ. The new objects stay
// loose, as after a small fetch.
func (m *Monorepo) CommitModuleChange(ctx context.Context, dir string, n int) (string, error) {
	if m.modules[dir] == nil {
		return "", fmt.Errorf("no module %s", dir)
	}
	p := filepath.Join(m.Dir, filepath.FromSlash(dir), "main.tf")
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	_, werr := fmt.Fprintf(f, "\nresource \"terraform_data\" \"change_%d\" {\n  input = var.name\n}\n", n)
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", err
	}
	if _, err := Git(ctx, m.Dir, "add", "--", dir+"/main.tf"); err != nil {
		return "", err
	}
	msg := fmt.Sprintf("%s: add change_%d", dir, n)
	if _, err := Git(ctx, m.Dir, "-c", "gc.auto=0", "commit", "--quiet", "--no-verify", "-m", msg); err != nil {
		return "", err
	}
	return Git(ctx, m.Dir, "rev-parse", "HEAD")
}

// Git runs git with args in dir, isolated from the machine's and user's
// configuration, with fixed identities and dates, and returns its trimmed
// stdout. The error carries git's stderr.
func Git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = GitEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %w\n%s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// GitEnv is the environment Git runs git with.
func GitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=Landform Bench",
		"GIT_AUTHOR_EMAIL=bench@landform.invalid",
		"GIT_COMMITTER_NAME=Landform Bench",
		"GIT_COMMITTER_EMAIL=bench@landform.invalid",
		"GIT_AUTHOR_DATE="+gitDate,
		"GIT_COMMITTER_DATE="+gitDate,
		"GIT_TERMINAL_PROMPT=0",
	)
}
