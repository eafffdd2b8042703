package modules

import (
	"bytes"
	"encoding/json"
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
	"github.com/zclconf/go-cty/cty"
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
	// refs are the files the configuration reads through file() and
	// friends.
	refs []fileRef
	// err is a *ConfigError (wrapped in a landform EINVALID error), or nil.
	err error
}

// refBase says what a file reference is relative to.
type refBase uint8

const (
	// baseModule: path.module, the directory holding the expression.
	baseModule refBase = iota
	// baseRoot: path.root, path.cwd or a bare relative path, all of which
	// are the workspace directory, where terraform runs.
	baseRoot
)

// fileRef is a file dependency found in an expression: path relative to
// base, a glob when isGlob (fileset, or a path with dynamic parts).
type fileRef struct {
	base   refBase
	path   string
	isGlob bool
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
		if isJSON {
			info.refs = append(info.refs, jsonRefs(srcs[i], filename)...)
		} else if body, ok := file.Body.(*hclsyntax.Body); ok {
			info.refs = append(info.refs, syntaxRefs(body)...)
		}
	}
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
	info.refs = dedupeRefs(info.refs)
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

// fileFuncs are the functions whose first argument is a file read relative
// to the working directory (or a path built from path.module).
var fileFuncs = map[string]bool{
	"file": true, "filebase64": true, "fileexists": true, "filemd5": true,
	"filesha1": true, "filesha256": true, "filesha512": true,
	"filebase64sha256": true, "filebase64sha512": true, "templatefile": true,
	"fileset": true,
}

// syntaxRefs finds the file references in every expression of body.
func syntaxRefs(body *hclsyntax.Body) []fileRef {
	var refs []fileRef
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		if call, ok := n.(*hclsyntax.FunctionCallExpr); ok {
			if r, ok := callRef(call); ok {
				refs = append(refs, r)
			}
		}
		return nil
	})
	return refs
}

// jsonRefs finds the file references of a .tf.json file: in the JSON
// syntax every string is a template, so each one holding an interpolation
// is parsed as such and searched.
func jsonRefs(src []byte, filename string) []fileRef {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil // the HCL JSON parser has reported it
	}
	var refs []fileRef
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case string:
			if !strings.Contains(v, "${") {
				return
			}
			expr, diags := hclsyntax.ParseTemplate([]byte(v), filename, hcl.InitialPos)
			if diags.HasErrors() {
				return
			}
			hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
				if call, ok := n.(*hclsyntax.FunctionCallExpr); ok {
					if r, ok := callRef(call); ok {
						refs = append(refs, r)
					}
				}
				return nil
			})
		}
	}
	walk(v)
	return refs
}

// callRef turns a call of one of fileFuncs into a file reference when its
// path argument can be worked out without evaluating the configuration.
func callRef(call *hclsyntax.FunctionCallExpr) (fileRef, bool) {
	name := strings.TrimPrefix(call.Name, "core::")
	if !fileFuncs[name] || len(call.Args) == 0 || call.ExpandFinal {
		return fileRef{}, false
	}
	sp, ok := staticPath(call.Args[0])
	if !ok {
		return fileRef{}, false
	}
	if name != "fileset" {
		if sp.dynamic {
			return fileRef{base: sp.base, path: sp.glob, isGlob: true}, true
		}
		return fileRef{base: sp.base, path: sp.literal}, true
	}
	// fileset(dir, pattern): the dependency is the pattern under dir; a
	// pattern we cannot read statically means anything under dir.
	pattern := "**"
	if len(call.Args) > 1 {
		if pp, ok := staticPath(call.Args[1]); ok && !pp.dynamic && pp.base == baseRoot && !pp.anchored {
			pattern = pp.literal
		}
	}
	if _, err := compileGlob(pattern); err != nil {
		pattern = "**"
	}
	return fileRef{base: sp.base, path: sp.glob + "/" + pattern, isGlob: true}, true
}

// staticPathResult is a path expression worked out statically.
type staticPathResult struct {
	base refBase
	// anchored: the expression starts with path.module/root/cwd.
	anchored bool
	// literal is the path relative to base when the expression has no
	// dynamic parts.
	literal string
	// glob is the same path with pattern characters escaped and each
	// dynamic part turned into "*".
	glob    string
	dynamic bool
}

// staticPath works out a path expression made of an optional leading
// path.module / path.root / path.cwd and literal strings, e.g.
// "${path.module}/../shared/policy.json". Dynamic parts after the leading
// anchor become a "*" wildcard (see staticPathResult.glob). An expression
// starting with anything dynamic, or an absolute path, is not static.
func staticPath(e hclsyntax.Expression) (staticPathResult, bool) {
	parts := flattenTemplate(e, nil)
	res := staticPathResult{base: baseRoot}
	var lit, glb strings.Builder
	for i, p := range parts {
		if i == 0 {
			if b, ok := pathAnchor(p); ok {
				res.base, res.anchored = b, true
				continue
			}
		}
		if lv, ok := p.(*hclsyntax.LiteralValueExpr); ok && lv.Val.Type() == cty.String && lv.Val.IsKnown() && !lv.Val.IsNull() {
			s := lv.Val.AsString()
			lit.WriteString(s)
			glb.WriteString(escapeGlob(s))
			continue
		}
		if i == 0 {
			return res, false // relative to something we cannot know
		}
		res.dynamic = true
		glb.WriteString("*")
	}
	res.literal, res.glob = lit.String(), glb.String()
	if !res.anchored && (strings.HasPrefix(res.literal, "/") || strings.HasPrefix(res.literal, "~") || res.literal == "") {
		return res, false
	}
	return res, true
}

// flattenTemplate lists the parts of a string template, looking through
// template wrappers and abspath().
func flattenTemplate(e hclsyntax.Expression, into []hclsyntax.Expression) []hclsyntax.Expression {
	switch e := e.(type) {
	case *hclsyntax.TemplateExpr:
		for _, p := range e.Parts {
			into = flattenTemplate(p, into)
		}
		return into
	case *hclsyntax.TemplateWrapExpr:
		return flattenTemplate(e.Wrapped, into)
	case *hclsyntax.FunctionCallExpr:
		if strings.TrimPrefix(e.Name, "core::") == "abspath" && len(e.Args) == 1 && !e.ExpandFinal {
			return flattenTemplate(e.Args[0], into)
		}
	}
	if lv, ok := e.(*hclsyntax.LiteralValueExpr); ok && lv.Val.Type() == cty.String &&
		lv.Val.IsKnown() && !lv.Val.IsNull() && lv.Val.AsString() == "" {
		return into // empty template parts, e.g. around a heredoc's interpolation
	}
	return append(into, e)
}

// pathAnchor recognises path.module, path.root and path.cwd.
func pathAnchor(e hclsyntax.Expression) (refBase, bool) {
	st, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(st.Traversal) != 2 || st.Traversal.RootName() != "path" {
		return 0, false
	}
	attr, ok := st.Traversal[1].(hcl.TraverseAttr)
	if !ok {
		return 0, false
	}
	switch attr.Name {
	case "module":
		return baseModule, true
	case "root", "cwd":
		return baseRoot, true
	}
	return 0, false
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
