package modules

import (
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// This file evaluates expressions statically: not to their values, but to
// the set of strings they may produce, which is what a file reference
// needs. Locals (across the files of a module), variable defaults,
// conditionals, collections of literals, for expressions, for_each and the
// functions that pass values through or build paths (coalesce, try,
// lookup, format, join, abspath, dirname, …) are followed. Whatever cannot
// be known becomes a dynamic part: the result over-approximates, it never
// leaves a possible value out. Repository content is untrusted, so the
// work is bounded: alternatives are merged past maxAlternatives, nesting
// past maxDepth is dynamic, and one directory gets evalBudget steps.

// strVal is one possible string: literal parts with one dynamic part (any
// string) between each two. An anchored value starts with path.module,
// path.root or path.cwd (base), then parts[0].
type strVal struct {
	anchored bool
	base     refBase
	parts    []string
}

func litVal(s string) strVal        { return strVal{parts: []string{s}} }
func anchorVal(b refBase) strVal    { return strVal{anchored: true, base: b, parts: []string{""}} }
func dynamicVal() strVal            { return strVal{parts: []string{"", ""}} }
func (s strVal) dynamic() bool      { return len(s.parts) > 1 }
func (s strVal) prefix() string     { return s.parts[0] }
func (s strVal) suffix() string     { return s.parts[len(s.parts)-1] }
func (s strVal) literalEmpty() bool { return !s.anchored && len(s.parts) == 1 && s.parts[0] == "" }
func (s strVal) plainLiteral() bool { return !s.anchored && !s.dynamic() }
func (s strVal) fullyDynamic() bool { return !s.anchored && s.dynamic() && s.parts[0] == "" }
func (s strVal) equal(o strVal) bool {
	return s.anchored == o.anchored && s.base == o.base && slices.Equal(s.parts, o.parts)
}

// concat returns a followed by b. An anchor that is not at the start is a
// dynamic part (an absolute directory in the middle of a string).
func concat(a, b strVal) strVal {
	if a.literalEmpty() {
		return b
	}
	bp := b.parts
	if b.anchored {
		bp = append([]string{""}, bp...)
	}
	parts := make([]string, 0, len(a.parts)+len(bp))
	parts = append(parts, a.parts...)
	parts[len(parts)-1] += bp[0]
	for _, p := range bp[1:] {
		// Two dynamic parts with nothing between them are one.
		if n := len(parts); n > 1 && parts[n-1] == "" {
			parts[n-1] = p
			continue
		}
		parts = append(parts, p)
	}
	return strVal{anchored: a.anchored, base: a.base, parts: parts}
}

// product returns every a of acc followed by every b of alts, merged
// (widen) past maxAlternatives.
func product(acc, alts []strVal) []strVal {
	next := make([]strVal, 0, len(acc)*len(alts))
	for _, a := range acc {
		for _, b := range alts {
			next = addStr(next, concat(a, b))
		}
	}
	if len(next) > maxAlternatives {
		next = []strVal{widen(next)}
	}
	return next
}

// value is what an expression may evaluate to: string alternatives, and
// the structure of collections where it is known.
type value struct {
	strs []strVal
	// fields are the elements of an object or map under literal keys;
	// anyKey merges the elements whose key is not known.
	fields map[string]*value
	anyKey *value
	// items are the elements of a tuple or list, in order unless open,
	// which means items holds one merged element of a collection whose
	// length is not known.
	items []*value
	open  bool
	// unknown: the value may be anything at all.
	unknown bool
}

var unknownValue = &value{unknown: true}

func strValue(ss ...strVal) *value { return &value{strs: ss} }

// maxAlternatives bounds the string alternatives of one value; beyond it
// they are merged into one (see widen).
const maxAlternatives = 32

// union returns a value that may be any of vs.
func union(vs ...*value) *value {
	out := &value{}
	for _, v := range vs {
		if v == nil {
			continue
		}
		out.unknown = out.unknown || v.unknown
		for _, s := range v.strs {
			out.strs = addStr(out.strs, s)
		}
		for k, f := range v.fields {
			if out.fields == nil {
				out.fields = map[string]*value{}
			}
			out.fields[k] = union(out.fields[k], f)
		}
		if v.anyKey != nil {
			out.anyKey = union(out.anyKey, v.anyKey)
		}
		if len(v.items) > 0 {
			// Two lists merge into one list of any of their elements.
			merged := union(append(append([]*value(nil), out.items...), v.items...)...)
			out.items, out.open = []*value{merged}, true
		}
	}
	if len(out.strs) > maxAlternatives {
		out.strs = []strVal{widen(out.strs)}
	}
	return out
}

func addStr(ss []strVal, s strVal) []strVal {
	for _, t := range ss {
		if t.equal(s) {
			return ss
		}
	}
	return append(ss, s)
}

// widen merges alternatives into one value covering them all: their common
// anchor, literal prefix and literal suffix around one dynamic part.
func widen(ss []strVal) strVal {
	first := ss[0]
	pre, suf := first.prefix(), first.suffix()
	minLen := -1
	for _, s := range ss {
		if s.anchored != first.anchored || s.base != first.base {
			return dynamicVal()
		}
		pre = commonPrefix(pre, s.prefix())
		suf = commonSuffix(suf, s.suffix())
		n := len(s.prefix()) + len(s.suffix())
		if !s.dynamic() {
			n = len(s.prefix())
		}
		if minLen < 0 || n < minLen {
			minLen = n
		}
	}
	if len(pre)+len(suf) > minLen {
		suf = suf[len(suf)-max(0, minLen-len(pre)):]
	}
	return strVal{anchored: first.anchored, base: first.base, parts: []string{pre, suf}}
}

func commonPrefix(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return a[:n]
}

func commonSuffix(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return a[len(a)-n:]
}

// scalars lists the strings v may be, every element of a collection
// included; a value that may be anything contributes a fully dynamic one.
func (v *value) scalars() []strVal {
	var out []strVal
	var walk func(v *value, depth int)
	walk = func(v *value, depth int) {
		if v == nil {
			return
		}
		if depth > maxDepth {
			out = addStr(out, dynamicVal())
			return
		}
		if v.unknown {
			out = addStr(out, dynamicVal())
		}
		for _, s := range v.strs {
			out = addStr(out, s)
		}
		for _, f := range v.fields {
			walk(f, depth+1)
		}
		walk(v.anyKey, depth+1)
		for _, it := range v.items {
			walk(it, depth+1)
		}
	}
	walk(v, 0)
	if len(out) > maxAlternatives {
		out = []strVal{widen(out)}
	}
	return out
}

// elements returns one value standing for any element of collection v.
func (v *value) elements() *value {
	vs := append([]*value{v.anyKey}, v.items...)
	if v.unknown {
		vs = append(vs, unknownValue)
	}
	for _, f := range v.fields {
		vs = append(vs, f)
	}
	return union(vs...)
}

// keys returns one value standing for any key of collection v.
func (v *value) keys() *value {
	out := &value{unknown: v.unknown || v.anyKey != nil || len(v.items) > 0}
	for k := range v.fields {
		out.strs = addStr(out.strs, litVal(k))
	}
	return union(out)
}

// index returns v[key]; key "" with !known means a key that is not known.
func (v *value) index(key string, known bool) *value {
	if !known {
		return v.elements()
	}
	out := []*value{v.anyKey}
	if f, ok := v.fields[key]; ok {
		out = append(out, f)
	}
	if _, err := strconv.Atoi(key); err == nil {
		out = append(out, v.items...)
	}
	if v.unknown {
		out = append(out, unknownValue)
	}
	return union(out...)
}

// Bounds of the static evaluation.
const (
	maxDepth      = 32
	maxLocalChain = 256
	evalBudget    = 200_000
)

// scope is what expressions of one module (directory) can refer to.
type scope struct {
	locals map[string]hclsyntax.Expression
	// vars maps a variable to its default (nil when it has none).
	vars   map[string]hclsyntax.Expression
	memo   map[string]*value
	active map[string]bool
	// symbols are the names bound around the expression being evaluated:
	// for expression variables, each, dynamic block iterators.
	symbols map[string]*value
	anon    *value // the element of a splat
	steps   int
	// locals counts the locals being evaluated, one inside the other: a
	// local's expression starts at depth 0, so a chain of locals is
	// bounded by maxLocalChain instead of maxDepth.
	localChain int
}

func newScope() *scope {
	return &scope{
		locals: map[string]hclsyntax.Expression{},
		vars:   map[string]hclsyntax.Expression{},
		memo:   map[string]*value{},
		active: map[string]bool{},
	}
}

// with returns a copy of sc's symbols with name bound to v.
func (sc *scope) bind(name string, v *value) func() {
	old, had := sc.symbols[name]
	if sc.symbols == nil {
		sc.symbols = map[string]*value{}
	}
	sc.symbols[name] = v
	return func() {
		if had {
			sc.symbols[name] = old
		} else {
			delete(sc.symbols, name)
		}
	}
}

func (sc *scope) local(name string, depth int) *value {
	if v, ok := sc.memo[name]; ok {
		return v
	}
	e, ok := sc.locals[name]
	if !ok || sc.active[name] || sc.localChain >= maxLocalChain {
		return unknownValue
	}
	sc.active[name] = true
	sc.localChain++
	// A local sees none of the symbols around its use.
	saved, savedAnon := sc.symbols, sc.anon
	sc.symbols, sc.anon = nil, nil
	v := sc.eval(e, 0)
	sc.symbols, sc.anon = saved, savedAnon
	sc.localChain--
	delete(sc.active, name)
	sc.memo[name] = v
	return v
}

// eval returns what e may evaluate to.
func (sc *scope) eval(e hclsyntax.Expression, depth int) *value {
	sc.steps++
	if depth > maxDepth || sc.steps > evalBudget || e == nil {
		return unknownValue
	}
	switch e := e.(type) {
	case *hclsyntax.LiteralValueExpr:
		return literal(e.Val)
	case *hclsyntax.TemplateExpr:
		acc := []strVal{litVal("")}
		for _, p := range e.Parts {
			alts := sc.eval(p, depth+1).scalars()
			if len(alts) == 0 {
				return unknownValue // null in a template: an error at plan time
			}
			acc = product(acc, alts)
		}
		return strValue(acc...)
	case *hclsyntax.TemplateWrapExpr:
		return sc.eval(e.Wrapped, depth+1)
	case *hclsyntax.ParenthesesExpr:
		return sc.eval(e.Expression, depth+1)
	case *hclsyntax.ScopeTraversalExpr:
		return sc.traversal(e.Traversal, depth)
	case *hclsyntax.RelativeTraversalExpr:
		return traverse(sc.eval(e.Source, depth+1), e.Traversal)
	case *hclsyntax.IndexExpr:
		coll := sc.eval(e.Collection, depth+1)
		if k, ok := sc.literalString(e.Key, depth); ok {
			return coll.index(k, true)
		}
		return coll.index("", false)
	case *hclsyntax.ConditionalExpr:
		return union(sc.eval(e.TrueResult, depth+1), sc.eval(e.FalseResult, depth+1))
	case *hclsyntax.TupleConsExpr:
		out := &value{items: make([]*value, len(e.Exprs))}
		for i, x := range e.Exprs {
			out.items[i] = sc.eval(x, depth+1)
		}
		return out
	case *hclsyntax.ObjectConsExpr:
		out := &value{fields: map[string]*value{}}
		for _, it := range e.Items {
			v := sc.eval(it.ValueExpr, depth+1)
			if k, ok := sc.objectKey(it.KeyExpr, depth); ok {
				out.fields[k] = union(out.fields[k], v)
			} else {
				out.anyKey = union(out.anyKey, v)
			}
		}
		return out
	case *hclsyntax.ForExpr:
		coll := sc.eval(e.CollExpr, depth+1)
		var restore []func()
		if e.KeyVar != "" {
			restore = append(restore, sc.bind(e.KeyVar, coll.keys()))
		}
		restore = append(restore, sc.bind(e.ValVar, coll.elements()))
		defer func() {
			for i := len(restore) - 1; i >= 0; i-- {
				restore[i]()
			}
		}()
		val := sc.eval(e.ValExpr, depth+1)
		if e.KeyExpr != nil {
			return &value{anyKey: val}
		}
		return &value{items: []*value{val}, open: true}
	case *hclsyntax.SplatExpr:
		src := sc.eval(e.Source, depth+1)
		saved := sc.anon
		sc.anon = src.elements()
		each := sc.eval(e.Each, depth+1)
		sc.anon = saved
		return &value{items: []*value{each}, open: true}
	case *hclsyntax.AnonSymbolExpr:
		if sc.anon != nil {
			return sc.anon
		}
		return unknownValue
	case *hclsyntax.FunctionCallExpr:
		return sc.call(e, depth)
	}
	return unknownValue
}

func literal(v cty.Value) *value {
	switch {
	case v.IsNull():
		return &value{}
	case !v.IsKnown():
		return unknownValue
	case v.Type() == cty.String:
		return strValue(litVal(v.AsString()))
	case v.Type() == cty.Number || v.Type() == cty.Bool:
		if s, err := convert.Convert(v, cty.String); err == nil {
			return strValue(litVal(s.AsString()))
		}
	}
	return unknownValue
}

// literalString reports the one literal string e evaluates to, if any.
func (sc *scope) literalString(e hclsyntax.Expression, depth int) (string, bool) {
	v := sc.eval(e, depth+1)
	if v.unknown || len(v.strs) != 1 || v.fields != nil || v.anyKey != nil || len(v.items) > 0 || !v.strs[0].plainLiteral() {
		return "", false
	}
	return v.strs[0].parts[0], true
}

func (sc *scope) objectKey(e hclsyntax.Expression, depth int) (string, bool) {
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		if !k.ForceNonLiteral {
			if kw := hcl.ExprAsKeyword(k.Wrapped); kw != "" {
				return kw, true
			}
		}
		e = k.Wrapped
	}
	return sc.literalString(e, depth)
}

func (sc *scope) traversal(t hcl.Traversal, depth int) *value {
	root := t.RootName()
	if v, ok := sc.symbols[root]; ok {
		return traverse(v, t[1:])
	}
	if len(t) < 2 {
		return unknownValue
	}
	attr, ok := t[1].(hcl.TraverseAttr)
	if !ok {
		return unknownValue
	}
	switch root {
	case "path":
		if b, ok := anchorOf(attr.Name); ok && len(t) == 2 {
			return strValue(anchorVal(b))
		}
	case "local":
		return traverse(sc.local(attr.Name, depth), t[2:])
	case "var":
		// The default, or whatever the caller or a var file sets.
		def, ok := sc.vars[attr.Name]
		if !ok || def == nil {
			return unknownValue
		}
		saved, savedAnon := sc.symbols, sc.anon
		sc.symbols, sc.anon = nil, nil
		v := sc.eval(def, depth+1)
		sc.symbols, sc.anon = saved, savedAnon
		return traverse(union(v, unknownValue), t[2:])
	}
	return unknownValue
}

func anchorOf(name string) (refBase, bool) {
	switch name {
	case "module":
		return baseModule, true
	case "root", "cwd":
		return baseRoot, true
	}
	return 0, false
}

func traverse(v *value, t hcl.Traversal) *value {
	for _, step := range t {
		switch s := step.(type) {
		case hcl.TraverseAttr:
			v = v.index(s.Name, true)
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
				v = v.index(s.Key.AsString(), true)
			} else if s.Key.Type() == cty.Number && s.Key.IsKnown() && !s.Key.IsNull() {
				v = v.index(s.Key.AsBigFloat().String(), true)
			} else {
				v = v.index("", false)
			}
		default:
			v = v.elements()
		}
	}
	return v
}

// passFuncs return one of their arguments, or elements of them, unchanged
// (as far as a path is concerned).
var passFuncs = map[string]bool{
	"coalesce": true, "coalescelist": true, "try": true, "concat": true, "merge": true,
	"setunion": true, "distinct": true, "flatten": true, "compact": true, "tolist": true,
	"toset": true, "tomap": true, "tostring": true, "sort": true, "reverse": true,
	"sensitive": true, "nonsensitive": true, "abspath": true, "pathexpand": true,
}

func (sc *scope) call(e *hclsyntax.FunctionCallExpr, depth int) *value {
	name := strings.TrimPrefix(e.Name, "core::")
	args := func() []*value {
		out := make([]*value, len(e.Args))
		for i, a := range e.Args {
			out[i] = sc.eval(a, depth+1)
		}
		return out
	}
	switch {
	case passFuncs[name]:
		return union(args()...)
	case len(e.Args) == 0:
		return unknownValue
	}
	switch name {
	case "one", "element":
		return sc.eval(e.Args[0], depth+1).elements()
	case "values":
		return &value{items: []*value{sc.eval(e.Args[0], depth+1).elements()}, open: true}
	case "keys":
		return &value{items: []*value{sc.eval(e.Args[0], depth+1).keys()}, open: true}
	case "lookup":
		if len(e.Args) < 2 {
			return unknownValue
		}
		m := sc.eval(e.Args[0], depth+1)
		var v *value
		found := false
		if k, ok := sc.literalString(e.Args[1], depth); ok {
			v = m.index(k, true)
			_, found = m.fields[k]
			found = found && !m.unknown && m.anyKey == nil
		} else {
			v = m.index("", false)
		}
		if len(e.Args) > 2 && !found {
			v = union(v, sc.eval(e.Args[2], depth+1))
		}
		return v
	case "format":
		if e.ExpandFinal {
			return unknownValue
		}
		return sc.format(e.Args, depth)
	case "join":
		if e.ExpandFinal || len(e.Args) < 2 {
			return unknownValue
		}
		return sc.join(e.Args, depth)
	case "dirname":
		var out []strVal
		for _, s := range sc.eval(e.Args[0], depth+1).scalars() {
			out = addStr(out, dirnameOf(s))
		}
		return union(strValue(out...))
	}
	return unknownValue
}

// dirnameOf is dirname() of every string s may be.
func dirnameOf(s strVal) strVal {
	if !s.dynamic() {
		p := s.parts[0]
		if s.anchored {
			// "${path.module}/a/b" → "${path.module}/a"; of the anchor
			// itself, its parent.
			d := path.Dir("/" + strings.TrimPrefix(p, "/"))
			if p == "" || d == "/" && strings.Trim(p, "/") == "" {
				return strVal{anchored: true, base: s.base, parts: []string{"/.."}}
			}
			if d == "/" {
				return strVal{anchored: true, base: s.base, parts: []string{""}}
			}
			return strVal{anchored: true, base: s.base, parts: []string{d}}
		}
		return litVal(path.Dir(p))
	}
	// Keep the literal directory before the first dynamic part.
	pre := s.prefix()
	if i := strings.LastIndex(pre, "/"); i >= 0 {
		pre = pre[:i+1]
	} else {
		pre = ""
	}
	return strVal{anchored: s.anchored, base: s.base, parts: []string{pre, ""}}
}

// format follows format() when its format string is known: %s, %v and %d
// take their argument's strings, %% is a percent sign; any other verb is
// a dynamic part.
func (sc *scope) format(args []hclsyntax.Expression, depth int) *value {
	f, ok := sc.literalString(args[0], depth)
	if !ok {
		return unknownValue
	}
	acc := []strVal{litVal("")}
	appendAll := func(alts []strVal) { acc = product(acc, alts) }
	arg := 1
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			appendAll([]strVal{litVal(lit.String())})
			lit.Reset()
		}
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 < len(f) && f[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		flush()
		if i+1 < len(f) && strings.IndexByte("svd", f[i+1]) >= 0 && arg < len(args) {
			alts := sc.eval(args[arg], depth+1).scalars()
			if len(alts) == 0 {
				alts = []strVal{dynamicVal()}
			}
			appendAll(alts)
			arg++
			i++
			continue
		}
		// Flags, width, precision, explicit argument indexes: the verb's
		// output is not known, nor which argument the next verb takes.
		appendAll([]strVal{dynamicVal()})
		j := i + 1
		for j < len(f) && !isVerb(f[j]) {
			j++
		}
		i = j
		arg = len(args) // every later verb is dynamic too
	}
	flush()
	return strValue(acc...)
}

func isVerb(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// join follows join(sep, list…) when the separator is known: the list
// elements' strings with sep between them; a list of unknown length is a
// dynamic part.
func (sc *scope) join(args []hclsyntax.Expression, depth int) *value {
	sep, ok := sc.literalString(args[0], depth)
	if !ok {
		return unknownValue
	}
	acc := []strVal{litVal("")}
	first := true
	appendAll := func(alts []strVal) {
		if !first {
			acc = product(acc, []strVal{litVal(sep)})
		}
		acc = product(acc, alts)
		first = false
	}
	for _, a := range args[1:] {
		l := sc.eval(a, depth+1)
		if l.unknown || l.open || len(l.strs) > 0 || l.fields != nil || l.anyKey != nil {
			appendAll([]strVal{dynamicVal()})
			continue
		}
		for _, it := range l.items {
			alts := it.scalars()
			if len(alts) == 0 {
				continue // null elements are skipped... by an error at plan time
			}
			appendAll(alts)
		}
	}
	return strValue(acc...)
}
