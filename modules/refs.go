package modules

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// refBase says what a file reference is relative to.
type refBase uint8

const (
	// baseModule: path.module, the directory holding the expression.
	baseModule refBase = iota
	// baseRoot: path.root, path.cwd or a bare relative path given to
	// file() and friends, all of which are the workspace directory, where
	// terraform runs.
	baseRoot
	// baseOwn: a bare relative path that is not the argument of a file
	// function (a provisioner's source, an archive's source_dir). It is
	// relative to the workspace directory too, but counts only for the
	// workspace whose own directory holds it: in a module it would be a
	// guess.
	baseOwn
)

// refKind says how a reference matches a changed path.
type refKind uint8

const (
	// refPath: the path and anything below it.
	refPath refKind = iota
	// refGlob: path is a glob (a fileset pattern).
	refGlob
	// refDynamic: path is a literal prefix and suffix a literal suffix
	// of a path whose middle is not known; the middle may hold "/".
	refDynamic
)

// fileRef is a path the configuration reads, relative to base.
type fileRef struct {
	base   refBase
	kind   refKind
	path   string
	suffix string
}

// unresolvedRef is a file reference with a part that could not be worked
// out statically, and what it was counted as.
type unresolvedRef struct {
	file string // repo-relative
	line int
	expr string // the expression's source, shortened
	refs []fileRef
}

// fileFuncs are the functions whose first argument is a file read relative
// to the working directory (or a path built from path.module).
var fileFuncs = map[string]bool{
	"file": true, "filebase64": true, "fileexists": true, "filemd5": true,
	"filesha1": true, "filesha256": true, "filesha512": true,
	"filebase64sha256": true, "filebase64sha512": true, "templatefile": true,
	"fileset": true,
}

// pathFuncs build a path from their arguments; a call of one is a string
// value like a template.
var pathFuncs = map[string]bool{"format": true, "join": true, "dirname": true}

// pathAttrs are the attribute names whose plain string value is taken for
// a path relative to the workspace (in its own directory only): an
// archive's source_dir, a provisioner's source, a local_file's filename…
func pathAttr(name string) bool {
	switch name {
	case "source", "filename", "path", "dir", "file", "content_file":
		return true
	}
	for _, s := range []string{"_dir", "_file", "_path", "_filename"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// parsedFile is one configuration file of a directory, parsed.
type parsedFile struct {
	name string // repo-relative
	src  []byte
	body *hclsyntax.Body // native syntax
	json *jsonNode       // JSON syntax
	// jsonText is the JSON string being walked.
	jsonText string
}

// collector gathers the file references of one directory.
type collector struct {
	sc     *scope
	file   *parsedFile
	refs   []fileRef
	unres  []unresolvedRef
	walker refWalker
}

// collectRefs returns the file references of a directory's files and
// those it could not resolve fully, sorted.
func collectRefs(files []*parsedFile) ([]fileRef, []unresolvedRef) {
	c := &collector{sc: newScope()}
	for _, f := range files {
		switch {
		case f.body != nil:
			c.declare(f.body)
		case f.json != nil:
			c.declareJSON(f.json, f.name)
		}
	}
	for _, f := range files {
		c.file = f
		switch {
		case f.body != nil:
			c.body(f.body, "")
		case f.json != nil:
			c.walkJSON(f.json, nil)
		}
	}
	refs := dedupeRefs(c.refs)
	slices.SortFunc(refs, compareRefs)
	// Attributes are walked in map order: sort fully, so that the result
	// does not depend on it.
	slices.SortFunc(c.unres, func(a, b unresolvedRef) int {
		switch {
		case a.file != b.file:
			return strings.Compare(a.file, b.file)
		case a.line != b.line:
			return a.line - b.line
		case a.expr != b.expr:
			return strings.Compare(a.expr, b.expr)
		}
		return slices.CompareFunc(a.refs, b.refs, compareRefs)
	})
	return refs, c.unres
}

func compareRefs(a, b fileRef) int {
	switch {
	case a.base != b.base:
		return int(a.base) - int(b.base)
	case a.kind != b.kind:
		return int(a.kind) - int(b.kind)
	case a.path != b.path:
		return strings.Compare(a.path, b.path)
	}
	return strings.Compare(a.suffix, b.suffix)
}

// declare records the locals and variable defaults of body in the scope.
func (c *collector) declare(body *hclsyntax.Body) {
	for _, b := range body.Blocks {
		switch {
		case b.Type == "locals":
			for name, a := range b.Body.Attributes {
				c.sc.locals[name] = a.Expr
			}
		case b.Type == "variable" && len(b.Labels) == 1:
			var def hclsyntax.Expression
			if a, ok := b.Body.Attributes["default"]; ok {
				def = a.Expr
			}
			c.sc.vars[b.Labels[0]] = def
		}
	}
}

// body walks the attributes and blocks of body; blockType is the type of
// the block it belongs to.
func (c *collector) body(body *hclsyntax.Body, blockType string) {
	for name, a := range body.Attributes {
		if blockType == "module" && (name == "source" || name == "version") {
			continue // the module call itself: the module graph has it
		}
		c.attribute(name, a.Expr, blockType == "locals" || blockType == "variable")
	}
	for _, b := range body.Blocks {
		var restore func()
		switch {
		case b.Type == "dynamic" && len(b.Labels) == 1:
			iter := b.Labels[0]
			if a, ok := b.Body.Attributes["iterator"]; ok {
				if kw := hcl.ExprAsKeyword(a.Expr); kw != "" {
					iter = kw
				}
			}
			if a, ok := b.Body.Attributes["for_each"]; ok {
				restore = c.sc.bind(iter, iteration(c.sc.eval(a.Expr, 0)))
			}
		default:
			if a, ok := b.Body.Attributes["for_each"]; ok {
				restore = c.sc.bind("each", iteration(c.sc.eval(a.Expr, 0)))
			}
		}
		c.body(b.Body, b.Type)
		if restore != nil {
			restore()
		}
	}
}

// iteration is each (or a dynamic block's iterator) over coll: key and
// value. The key of a set element is the element.
func iteration(coll *value) *value {
	key := coll.keys()
	if len(coll.items) > 0 {
		key = union(&value{strs: key.strs, unknown: coll.unknown || coll.anyKey != nil}, coll.elements())
	}
	return &value{fields: map[string]*value{"key": key, "value": coll.elements()}}
}

// attribute walks the expression of the attribute called name. The
// strings of a declaration (a local, a variable's default) are no paths of
// their own: they count where they are used, evaluated there; a local
// naming a directory to build file paths from would otherwise count the
// whole directory.
func (c *collector) attribute(name string, e hclsyntax.Expression, declaration bool) {
	w := &c.walker
	w.c, w.top, w.pathAttr, w.noStrings, w.stack = c, e, pathAttr(name), 0, w.stack[:0]
	clear(w.skip)
	if declaration {
		w.noStrings = 1
	}
	hclsyntax.Walk(e, w)
}

// mayName reports whether the string expression e can name a path: only
// then is it worth evaluating. It looks at how e starts: a path anchor, a
// local, a variable with a default, a bound symbol, a path-building call,
// a literal starting with "./" or "../" — or any literal when plainOK.
func (c *collector) mayName(e hclsyntax.Expression, plainOK bool) bool {
	for {
		switch x := e.(type) {
		case *hclsyntax.TemplateExpr:
			parts := x.Parts
			for len(parts) > 1 && isEmptyLiteral(parts[0]) { // a heredoc's leading ""
				parts = parts[1:]
			}
			if len(parts) == 0 {
				return false
			}
			e = parts[0]
			continue
		case *hclsyntax.TemplateWrapExpr:
			e = x.Wrapped
			continue
		case *hclsyntax.LiteralValueExpr:
			if x.Val.Type() != cty.String || !x.Val.IsKnown() || x.Val.IsNull() {
				return false
			}
			s := x.Val.AsString()
			return plainOK || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../")
		case *hclsyntax.ScopeTraversalExpr:
			switch root := x.Traversal.RootName(); root {
			case "path", "local":
				return true
			case "var":
				if len(x.Traversal) > 1 {
					if a, ok := x.Traversal[1].(hcl.TraverseAttr); ok {
						return c.sc.vars[a.Name] != nil
					}
				}
				return false
			default:
				_, ok := c.sc.symbols[root]
				return ok
			}
		case *hclsyntax.RelativeTraversalExpr:
			e = x.Source
			continue
		case *hclsyntax.IndexExpr:
			e = x.Collection
			continue
		case *hclsyntax.FunctionCallExpr, *hclsyntax.ConditionalExpr, *hclsyntax.ParenthesesExpr:
			return true
		}
		return false
	}
}

// refWalker finds the file references of one expression: calls of file
// functions, whose path argument is evaluated, and string values that name
// a path (templates and path-building calls starting with path.module or
// path.root, strings starting with "./" or "../", the plain string of a
// path attribute, a bare path.module).
type refWalker struct {
	c        *collector
	top      hclsyntax.Expression
	pathAttr bool
	// skip are the nodes whose strings are not string values of their
	// own: the path arguments of file functions (evaluated with the call)
	// and the arguments of path-building calls.
	skip map[hclsyntax.Node]bool
	// noStrings counts the enclosing skipped nodes and templates.
	noStrings int
	stack     []bool
}

func (w *refWalker) skipNode(n hclsyntax.Node) {
	if w.skip == nil {
		w.skip = map[hclsyntax.Node]bool{}
	}
	w.skip[n] = true
}

func (w *refWalker) Enter(n hclsyntax.Node) hcl.Diagnostics {
	if _, ok := n.(hclsyntax.ChildScope); ok { // a value, not hashable: the body of a for expression
		w.stack = append(w.stack, false)
		return nil
	}
	counted := len(w.skip) > 0 && w.skip[n]
	if counted {
		w.noStrings++
	}
	switch n := n.(type) {
	case *hclsyntax.FunctionCallExpr:
		name := strings.TrimPrefix(n.Name, "core::")
		switch {
		case fileFuncs[name]:
			w.c.fileCall(name, n)
			if len(n.Args) > 0 {
				w.skipNode(n.Args[0])
			}
			if name == "fileset" && len(n.Args) > 1 {
				w.skipNode(n.Args[1])
			}
		case pathFuncs[name] && w.noStrings == 0:
			w.c.stringRefs(w.c.sc.eval(n, 0), false)
			for _, a := range n.Args {
				w.skipNode(a)
			}
		}
	case *hclsyntax.TemplateExpr, *hclsyntax.TemplateWrapExpr:
		e := n.(hclsyntax.Expression)
		plainOK := w.pathAttr && e == w.top
		if w.noStrings == 0 && w.c.mayName(e, plainOK) {
			w.c.stringRefs(w.c.sc.eval(e, 0), plainOK)
		}
		if !counted {
			counted = true
			w.noStrings++
		}
	case *hclsyntax.LiteralValueExpr:
		if plainOK := w.pathAttr && n == w.top; w.noStrings == 0 && w.c.mayName(n, plainOK) {
			w.c.stringRefs(literal(n.Val), plainOK)
		}
	case *hclsyntax.ScopeTraversalExpr:
		// A bare path.module, or a local or variable that is a path, as a
		// whole value: the path (an archive of the module's directory).
		if n == w.top && w.noStrings == 0 && w.c.mayName(n, false) {
			if v := w.c.sc.eval(n, 0); len(v.strs) == 1 && v.strs[0].anchored {
				w.c.stringRefs(v, false)
			}
		}
	}
	w.stack = append(w.stack, counted)
	return nil
}

func (w *refWalker) Exit(hclsyntax.Node) hcl.Diagnostics {
	if w.stack[len(w.stack)-1] {
		w.noStrings--
	}
	w.stack = w.stack[:len(w.stack)-1]
	return nil
}

func isEmptyLiteral(e hclsyntax.Expression) bool {
	lv, ok := e.(*hclsyntax.LiteralValueExpr)
	return ok && lv.Val.Type() == cty.String && lv.Val.IsKnown() && !lv.Val.IsNull() && lv.Val.AsString() == ""
}

// stringRefs records the paths that the strings of v name: anchored ones,
// relative ones starting with "./" or "../", and when plainOK (the plain
// string of a path attribute) any relative one.
func (c *collector) stringRefs(v *value, plainOK bool) {
	for _, s := range v.strs {
		switch {
		case s.anchored:
			c.refs = append(c.refs, pathRef(s.base, s))
		case s.fullyDynamic():
		case strings.HasPrefix(s.prefix(), "./") || strings.HasPrefix(s.prefix(), "../"),
			plainOK && plainPath(s.prefix()):
			c.refs = append(c.refs, pathRef(baseOwn, s))
		}
	}
}

// plainPath reports whether s can be a relative path inside the repo
// rather than a name, a URL or an absolute path.
func plainPath(s string) bool {
	return s != "" && len(s) <= 1024 && !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "~") &&
		!strings.ContainsAny(s, ":\n\r\t") && !strings.Contains(s, "${")
}

// pathRef is the reference to the path s names, relative to base.
func pathRef(base refBase, s strVal) fileRef {
	if !s.dynamic() {
		return fileRef{base: base, kind: refPath, path: s.prefix()}
	}
	return fileRef{base: base, kind: refDynamic, path: s.prefix(), suffix: s.suffix()}
}

// fileCall records the reference of a call of a file function.
func (c *collector) fileCall(name string, call *hclsyntax.FunctionCallExpr) {
	if len(call.Args) == 0 {
		return
	}
	var alts []strVal
	if call.ExpandFinal && len(call.Args) == 1 {
		alts = c.sc.eval(call.Args[0], 0).elements().scalars()
	} else {
		alts = c.sc.eval(call.Args[0], 0).scalars()
	}
	var patterns []strVal
	if name == "fileset" {
		patterns = []strVal{dynamicVal()}
		if len(call.Args) > 1 && !call.ExpandFinal {
			patterns = c.sc.eval(call.Args[1], 0).scalars()
		}
	}
	var refs []fileRef
	unresolved := false
	for _, a := range alts {
		base := baseRoot
		if a.anchored {
			base = a.base
		}
		switch {
		case a.fullyDynamic():
			unresolved = true
		case !a.anchored && (a.prefix() == "" && !a.dynamic() || strings.HasPrefix(a.prefix(), "/") || strings.HasPrefix(a.prefix(), "~")):
			// An absolute path, or nothing: not in the repository.
		case a.dynamic():
			unresolved = true
			refs = append(refs, fileRef{base: base, kind: refDynamic, path: a.prefix(), suffix: suffixFor(name, a)})
		case name != "fileset":
			refs = append(refs, fileRef{base: base, kind: refPath, path: a.prefix()})
		default:
			for _, p := range patterns {
				pattern := "**"
				if p.plainLiteral() && p.prefix() != "" {
					if _, err := compileGlob(p.prefix()); err == nil {
						pattern = p.prefix()
					}
				}
				if pattern == "**" && !(p.plainLiteral() && p.prefix() == "**") {
					unresolved = true
				}
				refs = append(refs, fileRef{base: base, kind: refGlob, path: escapeGlob(a.prefix()) + "/" + pattern})
			}
		}
	}
	c.refs = append(c.refs, refs...)
	if unresolved {
		c.unres = append(c.unres, unresolvedRef{
			file: c.file.name,
			line: call.Range().Start.Line,
			expr: c.source(call.Range()),
			refs: dedupeRefs(refs),
		})
	}
}

// suffixFor is the literal suffix a dynamic path of a call keeps: none for
// fileset, whose directory holds the files it reads.
func suffixFor(name string, a strVal) string {
	if name == "fileset" {
		return ""
	}
	return a.suffix()
}

// maxExprText bounds the expression text of an unresolved reference.
const maxExprText = 120

// source returns the text of rng in the current file, on one line and
// shortened.
func (c *collector) source(rng hcl.Range) string {
	var s string
	if c.file.json != nil {
		s = c.file.jsonText
	} else if rng.Start.Byte >= 0 && rng.End.Byte <= len(c.file.src) && rng.Start.Byte <= rng.End.Byte {
		s = string(c.file.src[rng.Start.Byte:rng.End.Byte])
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxExprText {
		s = s[:maxExprText-3] + "..."
	}
	return s
}

// The JSON syntax. Every string is a template; locals and variable
// defaults are converted to native expressions so the same evaluation
// applies.

// jsonNode is one value of a .tf.json file with where it starts.
type jsonNode struct {
	kind byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	str  string
	b    bool
	line int
	col  int
	off  int
	keys []string
	vals []*jsonNode // object values, or array elements
	tmpl hclsyntax.Expression
}

// parseJSON reads src into a tree of jsonNodes; nil when it is not valid
// JSON (the HCL parser reports that).
func parseJSON(src []byte) *jsonNode {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	lines := lineStarts(src)
	pos := func() (int, int, int) {
		off := int(dec.InputOffset())
		for off < len(src) && strings.IndexByte(" \t\r\n:,", src[off]) >= 0 {
			off++
		}
		i, _ := slices.BinarySearch(lines, off+1)
		return i - 1, off - lines[i-1] + 1, off
	}
	var read func(depth int) (*jsonNode, error)
	read = func(depth int) (*jsonNode, error) {
		if depth > 256 {
			return nil, io.ErrUnexpectedEOF
		}
		line, col, off := pos()
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		n := &jsonNode{line: line, col: col, off: off}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				n.kind = 'o'
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return nil, err
					}
					k, _ := kt.(string)
					v, err := read(depth + 1)
					if err != nil {
						return nil, err
					}
					n.keys, n.vals = append(n.keys, k), append(n.vals, v)
				}
			case '[':
				n.kind = 'a'
				for dec.More() {
					v, err := read(depth + 1)
					if err != nil {
						return nil, err
					}
					n.vals = append(n.vals, v)
				}
			default:
				return nil, io.ErrUnexpectedEOF
			}
			if _, err := dec.Token(); err != nil { // the closing delimiter
				return nil, err
			}
		case string:
			n.kind, n.str = 's', t
		case json.Number:
			n.kind, n.str = 'n', t.String()
		case bool:
			n.kind, n.b = 'b', t
		default:
			n.kind = 'z'
		}
		return n, nil
	}
	n, err := read(0)
	if err != nil {
		return nil
	}
	return n
}

// lineStarts returns the offset at which each line of src starts, with a
// leading 0 sentinel so that a binary search for off+1 gives the line.
func lineStarts(src []byte) []int {
	out := []int{0, 0}
	for i, c := range src {
		if c == '\n' {
			out = append(out, i+1)
		}
	}
	// out[l] is where line l starts (1-based); out[0] is a sentinel.
	return out
}

// expr converts n to a native expression; a string is parsed as a template.
func (n *jsonNode) expr(filename string) hclsyntax.Expression {
	rng := hcl.Range{Filename: filename, Start: hcl.Pos{Line: n.line, Column: n.col, Byte: n.off}}
	rng.End = rng.Start
	switch n.kind {
	case 'o':
		out := &hclsyntax.ObjectConsExpr{SrcRange: rng}
		for i, k := range n.keys {
			out.Items = append(out.Items, hclsyntax.ObjectConsItem{
				KeyExpr:   &hclsyntax.LiteralValueExpr{Val: cty.StringVal(k), SrcRange: rng},
				ValueExpr: n.vals[i].expr(filename),
			})
		}
		return out
	case 'a':
		out := &hclsyntax.TupleConsExpr{SrcRange: rng}
		for _, v := range n.vals {
			out.Exprs = append(out.Exprs, v.expr(filename))
		}
		return out
	case 's':
		if n.tmpl == nil {
			n.tmpl = &hclsyntax.LiteralValueExpr{Val: cty.StringVal(n.str), SrcRange: rng}
			if strings.Contains(n.str, "${") || strings.Contains(n.str, "%{") {
				start := hcl.Pos{Line: n.line, Column: n.col + 1, Byte: n.off + 1}
				if e, diags := hclsyntax.ParseTemplate([]byte(n.str), filename, start); !diags.HasErrors() {
					n.tmpl = e
				} else {
					n.tmpl = &hclsyntax.LiteralValueExpr{Val: cty.DynamicVal, SrcRange: rng}
				}
			}
		}
		return n.tmpl
	case 'n':
		if v, err := cty.ParseNumberVal(n.str); err == nil {
			return &hclsyntax.LiteralValueExpr{Val: v, SrcRange: rng}
		}
	case 'b':
		return &hclsyntax.LiteralValueExpr{Val: cty.BoolVal(n.b), SrcRange: rng}
	case 'z':
		return &hclsyntax.LiteralValueExpr{Val: cty.NullVal(cty.DynamicPseudoType), SrcRange: rng}
	}
	return &hclsyntax.LiteralValueExpr{Val: cty.DynamicVal, SrcRange: rng}
}

// field returns the value under key k of object n.
func (n *jsonNode) field(k string) *jsonNode {
	for i, key := range n.keys {
		if key == k {
			return n.vals[i]
		}
	}
	return nil
}

// objects returns n when it is an object, or the objects of array n (the
// JSON syntax allows a block type to hold either).
func (n *jsonNode) objects() []*jsonNode {
	switch {
	case n == nil:
		return nil
	case n.kind == 'o':
		return []*jsonNode{n}
	case n.kind == 'a':
		var out []*jsonNode
		for _, v := range n.vals {
			if v.kind == 'o' {
				out = append(out, v)
			}
		}
		return out
	}
	return nil
}

func (c *collector) declareJSON(root *jsonNode, filename string) {
	for _, o := range root.objects() {
		for _, locals := range o.field("locals").objects() {
			for i, k := range locals.keys {
				c.sc.locals[k] = locals.vals[i].expr(filename)
			}
		}
		for _, vars := range o.field("variable").objects() {
			for i, k := range vars.keys {
				var def hclsyntax.Expression
				for _, body := range vars.vals[i].objects() {
					if d := body.field("default"); d != nil {
						def = d.expr(filename)
					}
				}
				c.sc.vars[k] = def
			}
		}
	}
}

// walkJSON walks every string of a .tf.json file; keys is the path of
// object keys leading to n.
func (c *collector) walkJSON(n *jsonNode, keys []string) {
	switch n.kind {
	case 'o':
		for i, k := range n.keys {
			// A module call's source is the module graph's business.
			if len(keys) == 2 && keys[0] == "module" && (k == "source" || k == "version") {
				continue
			}
			c.walkJSON(n.vals[i], append(keys, k))
		}
	case 'a':
		for _, v := range n.vals {
			c.walkJSON(v, keys)
		}
	case 's':
		c.file.jsonText = n.str
		e := n.expr(c.file.name)
		name := ""
		if len(keys) > 0 {
			name = keys[len(keys)-1]
		}
		c.attribute(name, e, len(keys) > 0 && (keys[0] == "locals" || keys[0] == "variable"))
	}
}
