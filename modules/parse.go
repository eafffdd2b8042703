package modules

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/hashicorp/terraform-config-inspect/tfconfig"
	"github.com/landform/landform"
)

// dirInfo is what one directory's own configuration files say. It is shared
// through the Cache between indexes and goroutines and never changes once
// built.
type dirInfo struct {
	dir string
	// files are the configuration file names, sorted.
	files []string
	// modules are the directories of local module calls, resolved against
	// dir, inside the repo, sorted and deduplicated.
	modules []string
	// required are the required_version constraints, in file order.
	required []string
	// refs are the paths the configuration reads: through file() and
	// friends, and strings that name a path (see refs.go).
	refs []fileRef
	// unresolved are the file references with a part that could not be
	// worked out, sorted by file and line.
	unresolved []unresolvedRef
	// err is a *ConfigError (wrapped in a landform EINVALID error), or nil.
	err error
}

// Diagnostic is one problem in a configuration file.
type Diagnostic struct {
	// File is the file's path relative to the repo root.
	File    string
	Line    int
	Column  int
	Summary string
	Detail  string
}

func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		fmt.Fprintf(&b, "%s:%d:%d: ", d.File, d.Line, d.Column)
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString(": ")
		b.WriteString(d.Detail)
	}
	return b.String()
}

// ConfigError reports the invalid configuration files of one directory,
// each problem with its file and line. Index.Err returns it wrapped in a
// landform EINVALID error; use errors.As to get at the positions.
type ConfigError struct {
	Dir         string
	Diagnostics []Diagnostic
}

func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// isConfigFile reports whether name is a Terraform or OpenTofu
// configuration file, leaving out editor leftovers the way Terraform does.
func isConfigFile(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") ||
		strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#") {
		return false
	}
	for _, ext := range []string{".tf", ".tf.json", ".tofu", ".tofu.json"} {
		if strings.HasSuffix(name, ext) && len(name) > len(ext) {
			return true
		}
	}
	return false
}

func isTofuFile(name string) bool {
	return strings.HasSuffix(name, ".tofu") || strings.HasSuffix(name, ".tofu.json")
}

// parseDir parses the configuration files of dir, whose contents are srcs.
// Both Terraform (.tf) and OpenTofu (.tofu) files are read, so the result
// is the union of what either engine would see. fsys is used only for the
// legacy (Terraform 0.11) fallback.
func parseDir(fsys fs.FS, dir string, files []string, srcs [][]byte) *dirInfo {
	info := &dirInfo{dir: dir, files: files}
	var diags []Diagnostic
	mods := map[string]bool{}
	parsed := make([]*parsedFile, 0, len(files))
	for i, name := range files {
		filename := path.Join(dir, name)
		var file *hcl.File
		var hdiags hcl.Diagnostics
		isJSON := strings.HasSuffix(name, ".json")
		if isJSON {
			file, hdiags = hcljson.Parse(srcs[i], filename)
		} else {
			file, hdiags = hclsyntax.ParseConfig(srcs[i], filename, hcl.InitialPos)
		}
		diags = appendDiags(diags, hdiags)
		if file == nil || file.Body == nil {
			continue
		}
		// One tfconfig.Module per file: override files and .tf/.tofu
		// pairs then contribute every source they name.
		mod := tfconfig.NewModule(dir)
		diags = appendDiags(diags, tfconfig.LoadModuleFromFile(file, mod))
		addCalls(dir, mod, mods)
		info.required = append(info.required, mod.RequiredCore...)
		pf := &parsedFile{name: filename, src: srcs[i]}
		if isJSON {
			pf.json = parseJSON(srcs[i])
		} else {
			pf.body, _ = file.Body.(*hclsyntax.Body)
		}
		if pf.json != nil || pf.body != nil {
			parsed = append(parsed, pf)
		}
	}
	info.refs, info.unresolved = collectRefs(parsed)
	if len(diags) > 0 && !slices.ContainsFunc(files, isTofuFile) {
		// Like tfconfig.LoadModuleFromFilesystem, fall back on the legacy
		// HCL parser: a configuration written for Terraform 0.11 is not an
		// error for the engine it is meant for. (tfconfig does not know
		// .tofu files, hence the guard.)
		if legacy, ldiags := tfconfig.LoadModuleFromFilesystem(tfconfig.WrapFS(fsys), dir); !ldiags.HasErrors() {
			diags = nil
			addCalls(dir, legacy, mods)
			info.required = append(info.required, legacy.RequiredCore...)
		}
	}
	if len(diags) > 0 {
		info.err = landform.Errorf(landform.EINVALID, "invalid configuration in %s: %w", dir,
			&ConfigError{Dir: dir, Diagnostics: diags})
	}
	for m := range mods {
		info.modules = append(info.modules, m)
	}
	slices.Sort(info.modules)
	info.required = dedupe(info.required)
	return info
}

// addCalls records the local module calls of mod: sources starting with
// "./" or "../", resolved against dir. Sources leaving the repo are ignored:
// their changes cannot show in the repo's diff.
func addCalls(dir string, mod *tfconfig.Module, into map[string]bool) {
	for _, call := range mod.ModuleCalls {
		src := call.Source
		if !strings.HasPrefix(src, "./") && !strings.HasPrefix(src, "../") || strings.Contains(src, "${") {
			continue
		}
		if d, ok := inRepo(path.Join(dir, src)); ok {
			into[d] = true
		}
	}
}

// inRepo reports whether the cleaned path p stays inside the repo.
func inRepo(p string) (string, bool) {
	if p == ".." || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
		return "", false
	}
	return p, true
}

func appendDiags(into []Diagnostic, diags hcl.Diagnostics) []Diagnostic {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		out := Diagnostic{Summary: d.Summary, Detail: d.Detail}
		rng := d.Subject
		if rng == nil {
			rng = d.Context
		}
		if rng != nil {
			out.File, out.Line, out.Column = rng.Filename, rng.Start.Line, rng.Start.Column
		}
		if !slices.Contains(into, out) {
			into = append(into, out)
		}
	}
	return into
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func dedupeRefs(refs []fileRef) []fileRef {
	seen := make(map[fileRef]bool, len(refs))
	out := refs[:0]
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}
