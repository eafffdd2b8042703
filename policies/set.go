package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/landform/landform"
)

// The rules Landform collects from every package under landform.
const (
	ruleDeny             = "deny"
	ruleWarn             = "warn"
	ruleRequireApprovals = "require_approvals"
)

// rootPackage is the package every policy module must be in or under.
const rootPackage = "landform"

// maxErrors is how many parse or compile errors an error message lists.
const maxErrors = 10

// A Set is one compiled policy set with its query prepared: Eval runs it
// over a plan. A Set is safe for concurrent use.
type Set struct {
	name        string
	enforcement string
	query       rego.PreparedEvalQuery
	outputs     []output
}

// output is one collected rule: the query variable bound to it.
type output struct {
	pkg  string  // "landform.tags"
	path ast.Ref // data.landform.tags
	rule string  // ruleDeny, ruleWarn or ruleRequireApprovals
	v    string  // the query variable
}

// NewSet parses (as Rego v1) and compiles modules (file name → Rego source),
// stores params (policy name → its parameters) as data.params, and prepares
// the query that collects the deny, warn and require_approvals rules of
// every package under landform. enforcement is EnforceDeny ("" means
// EnforceDeny) or EnforceWarn; it is carried into each Decision.
//
// NewSet returns EINVALID when the name or enforcement is invalid, modules
// is empty, a module is not in package landform or a package under it, or
// a module does not parse or compile; the message names each problem's
// file:line:col.
func NewSet(name string, modules map[string]string, params map[string]any, enforcement string) (*Set, error) {
	if name == "" {
		return nil, landform.Errorf(landform.EINVALID, "policy set: no name")
	}
	switch enforcement {
	case "":
		enforcement = landform.EnforceDeny
	case landform.EnforceDeny, landform.EnforceWarn:
	default:
		return nil, landform.Errorf(landform.EINVALID, "policy set %q: enforcement %q is neither %q nor %q", name, enforcement, landform.EnforceDeny, landform.EnforceWarn)
	}
	if len(modules) == 0 {
		return nil, landform.Errorf(landform.EINVALID, "policy set %q: no policy modules", name)
	}
	parsed, err := parseModules(modules)
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "policy set %q: %s", name, err)
	}
	compiler := ast.NewCompiler().
		WithCapabilities(capabilities()).
		WithDefaultRegoVersion(ast.RegoV1)
	if compiler.Compile(parsed); compiler.Failed() {
		return nil, landform.Errorf(landform.EINVALID, "policy set %q: %s", name, formatErrors(compiler.Errors))
	}

	outputs := collectOutputs(parsed)
	query := queryFor(outputs)

	if params == nil {
		params = map[string]any{}
	}
	store, err := newParamsStore(params)
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "policy set %q: parameters: %w", name, err)
	}
	pq, err := rego.New(
		rego.Compiler(compiler),
		rego.Store(store),
		rego.Capabilities(capabilities()),
		rego.SetRegoVersion(ast.RegoV1),
		rego.ParsedQuery(query),
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(context.Background())
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "policy set %q: preparing the query: %s", name, errorText(err))
	}
	return &Set{name: name, enforcement: enforcement, query: pq, outputs: outputs}, nil
}

// Name returns the set's name.
func (s *Set) Name() string { return s.name }

// Enforcement returns the set's enforcement, EnforceDeny or EnforceWarn.
func (s *Set) Enforcement() string { return s.enforcement }

// newParamsStore returns a store holding params under data.params,
// round-tripped through JSON so that any Go value of JSON shape works.
func newParamsStore(params map[string]any) (storage.Store, error) {
	b, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return inmem.NewFromObjectWithOpts(map[string]any{"params": v}, inmem.OptRoundTripOnWrite(false)), nil
}

// parseModules parses every module as Rego v1 and checks its package.
func parseModules(modules map[string]string) (map[string]*ast.Module, error) {
	names := make([]string, 0, len(modules))
	for name := range modules {
		names = append(names, name)
	}
	sort.Strings(names)
	parsed := make(map[string]*ast.Module, len(modules))
	var errs ast.Errors
	for _, name := range names {
		m, err := ast.ParseModuleWithOpts(name, modules[name], ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			if e := asASTErrors(err); e != nil {
				errs = append(errs, e...)
				continue
			}
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if m == nil {
			errs = append(errs, &ast.Error{Code: ast.ParseErr, Message: "empty module", Location: &ast.Location{File: name, Row: 1, Col: 1}})
			continue
		}
		if !underRoot(m.Package.Path) {
			errs = append(errs, &ast.Error{
				Code:     ast.CompileErr,
				Message:  fmt.Sprintf("package %s is not %s or a package under it", strings.TrimPrefix(m.Package.Path.String(), "data."), rootPackage),
				Location: m.Package.Location,
			})
			continue
		}
		parsed[name] = m
	}
	if len(errs) > 0 {
		return nil, errors.New(formatErrors(errs))
	}
	return parsed, nil
}

// asASTErrors returns err's ast errors, nil when it has none.
func asASTErrors(err error) ast.Errors {
	var errs ast.Errors
	if errors.As(err, &errs) {
		return errs
	}
	var e *ast.Error
	if errors.As(err, &e) {
		return ast.Errors{e}
	}
	return nil
}

// underRoot reports whether a package path is data.landform or under it.
func underRoot(path ast.Ref) bool {
	return len(path) >= 2 && path[0].Equal(ast.DefaultRootDocument) && path[1].Value.Compare(ast.String(rootPackage)) == 0
}

// formatErrors writes ast errors as "file:line:col: code: message" lines,
// at most maxErrors of them.
func formatErrors(errs ast.Errors) string {
	errs = slices.Clone(errs)
	errs.Sort()
	errs = slices.CompactFunc(errs, func(a, b *ast.Error) bool { return a.Error() == b.Error() })
	var b strings.Builder
	for i, e := range errs {
		if i == maxErrors {
			fmt.Fprintf(&b, "\n… and %d more errors", len(errs)-maxErrors)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		if loc := e.Location; loc != nil {
			fmt.Fprintf(&b, "%s:%d:%d: ", loc.File, max(loc.Row, 1), max(loc.Col, 1))
		}
		fmt.Fprintf(&b, "%s: %s", e.Code, e.Message)
	}
	return b.String()
}

// capabilities are OPA's, less the built-in functions that reach outside
// the evaluation: the network and OPA's runtime (environment variables,
// configuration).
func capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), func(b *ast.Builtin) bool {
		switch b.Name {
		case "http.send", "net.lookup_ip_addr", "opa.runtime":
			return true
		}
		return false
	})
	return caps
}

// collectOutputs lists, sorted by package, the deny, warn and
// require_approvals rules the modules define. A rule's package is its
// module's package extended by the head's ref up to the collected name, so
// that `a.deny contains msg` in package landform is package landform.a's
// deny (missing it would let its denials pass).
func collectOutputs(modules map[string]*ast.Module) []output {
	seen := map[string]bool{}
	var outs []output
	for _, m := range modules {
		for _, r := range m.Rules {
			ref := r.Head.Ref().GroundPrefix()
			for i, t := range ref {
				var name string
				switch v := t.Value.(type) {
				case ast.Var:
					name = string(v)
				case ast.String:
					name = string(v)
				}
				if name != ruleDeny && name != ruleWarn && name != ruleRequireApprovals {
					continue
				}
				path := m.Package.Path.Copy()
				for _, t := range ref[:i] {
					if v, ok := t.Value.(ast.Var); ok {
						t = ast.StringTerm(string(v))
					}
					path = path.Append(t)
				}
				pkg := strings.TrimPrefix(path.String(), "data.")
				if key := pkg + "\x00" + name; !seen[key] {
					seen[key] = true
					outs = append(outs, output{pkg: pkg, path: path, rule: name})
				}
				break
			}
		}
	}
	sort.Slice(outs, func(i, j int) bool {
		if outs[i].pkg != outs[j].pkg {
			return outs[i].pkg < outs[j].pkg
		}
		return outs[i].rule < outs[j].rule
	})
	for i := range outs {
		outs[i].v = fmt.Sprintf("lf_%d", i)
	}
	return outs
}

// queryFor builds the one query of a set: for each collected rule,
//
//	lf_N = [x | x := data.<package>.<rule>]
//
// an array of the rule's value, empty when the rule is undefined, so that
// one undefined rule does not make the whole query undefined. A set without
// any collected rule gets the query "true".
func queryFor(outs []output) ast.Body {
	if len(outs) == 0 {
		return ast.NewBody(ast.NewExpr(ast.BooleanTerm(true)))
	}
	body := make(ast.Body, 0, len(outs))
	x := ast.VarTerm("lf_x")
	for _, o := range outs {
		ref := o.path.Copy().Append(ast.StringTerm(o.rule))
		comp := ast.ArrayComprehensionTerm(x, ast.NewBody(ast.Assign.Expr(x, ast.NewTerm(ref))))
		body = append(body, ast.Equality.Expr(ast.VarTerm(o.v), comp))
	}
	for i := range body {
		body[i].Index = i
	}
	return body
}

// Eval evaluates the set over in and returns what it decided. The plan is
// parsed once per call.
//
// It returns EINVALID when in.Plan is not a JSON object, or when evaluation
// fails (a conflict, a built-in function's error, a malformed
// require_approvals): the message names the policy file and line when OPA
// gives one. When ctx ends first it returns an error wrapping ctx.Err().
// Eval never returns an empty Decision in place of an error.
func (s *Set) Eval(ctx context.Context, in Input) (Decision, error) {
	input, err := in.value()
	if err != nil {
		return Decision{}, landform.Errorf(landform.EINVALID, "policy set %q: %w", s.name, err)
	}
	return s.eval(ctx, input)
}

// eval evaluates the set over an input already parsed.
func (s *Set) eval(ctx context.Context, input ast.Value) (Decision, error) {
	rs, err := s.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return Decision{}, s.evalError(ctx, err)
	}
	if len(rs) != 1 {
		return Decision{}, fmt.Errorf("policy set %q: the query returned %d results, not 1", s.name, len(rs))
	}
	d := Decision{Set: s.name, Enforcement: s.enforcement}
	for _, o := range s.outputs {
		vals, ok := rs[0].Bindings[o.v].([]any)
		if !ok {
			return Decision{}, fmt.Errorf("policy set %q: %s.%s: unexpected query result %T", s.name, o.pkg, o.rule, rs[0].Bindings[o.v])
		}
		for _, v := range vals {
			switch o.rule {
			case ruleDeny, ruleWarn:
				for _, msg := range messages(v, o) {
					m := landform.PolicyMessage{Set: s.name, Package: o.pkg, Rule: o.rule, Message: msg}
					if o.rule == ruleDeny {
						d.Deny = append(d.Deny, m)
					} else {
						d.Warn = append(d.Warn, m)
					}
				}
			case ruleRequireApprovals:
				reqs, err := approvals(v)
				if err != nil {
					return Decision{}, landform.Errorf(landform.EINVALID, "policy set %q: %s.%s: %s", s.name, o.pkg, o.rule, err)
				}
				for _, r := range reqs {
					r.Set, r.Package = s.name, o.pkg
					d.RequireApprovals = append(d.RequireApprovals, r)
				}
			}
		}
	}
	d.sort()
	return d, nil
}

// evalError turns an evaluation error into Eval's error.
func (s *Set) evalError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("policy set %q: evaluation stopped: %w", s.name, ctxErr)
	}
	var te *topdown.Error
	if errors.As(err, &te) && te.Code == topdown.CancelErr {
		return fmt.Errorf("policy set %q: evaluation cancelled: %w", s.name, context.Canceled)
	}
	return landform.Errorf(landform.EINVALID, "policy set %q: evaluation failed: %s", s.name, errorText(err))
}

// errorText is OPA's error text, with topdown errors as
// "file:line:col: code: message".
func errorText(err error) string {
	var errs rego.Errors
	if errors.As(err, &errs) {
		parts := make([]string, len(errs))
		for i, e := range errs {
			parts[i] = errorText(e)
		}
		return strings.Join(parts, "; ")
	}
	var te *topdown.Error
	if errors.As(err, &te) && te.Location != nil {
		return fmt.Sprintf("%s:%d:%d: %s: %s", te.Location.File, te.Location.Row, te.Location.Col, te.Code, te.Message)
	}
	if ae := asASTErrors(err); ae != nil {
		return formatErrors(ae)
	}
	return err.Error()
}
