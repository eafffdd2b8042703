package policies

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

// maxJSONDepth bounds the nesting of a plan's JSON (encoding/json's limit).
const maxJSONDepth = 10000

// jsonValue parses a JSON document straight into an AST value.
//
// OPA's ast.ValueFromReader decodes into map[string]any first and then
// converts that: 30 ms for a 0.9 MB plan (1,750 resource changes) on the
// development machine, more than the evaluation of all built-ins over it.
// Building the terms from the bytes, with object keys and short strings
// interned (a plan repeats "address", "change", "create"… thousands of
// times) and objects built in one allocation, takes about a third of that
// (BenchmarkParsePlan). Numbers keep their JSON text (ast.Number), as OPA
// does; strings with escapes are decoded by encoding/json.
func jsonValue(data []byte) (ast.Value, error) {
	p := jsonParser{data: data, strs: map[string]*ast.Term{}}
	p.space()
	t, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.data) {
		return nil, p.errorf("data after the JSON value")
	}
	return t.Value, nil
}

type jsonParser struct {
	data []byte
	pos  int
	// strs interns object keys and short strings.
	strs map[string]*ast.Term
	// pairs is a stack of the members of the objects being read.
	pairs [][2]*ast.Term
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) literal(lit string, t *ast.Term) (*ast.Term, error) {
	if len(p.data)-p.pos < len(lit) || string(p.data[p.pos:p.pos+len(lit)]) != lit {
		return nil, p.errorf("invalid literal")
	}
	p.pos += len(lit)
	return t, nil
}

func (p *jsonParser) value(depth int) (*ast.Term, error) {
	if p.pos >= len(p.data) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, err := p.string()
		if err != nil {
			return nil, err
		}
		if len(s) <= 16 {
			return p.intern(s), nil
		}
		return ast.StringTerm(s), nil
	case c == 't':
		return p.literal("true", ast.InternedTerm(true))
	case c == 'f':
		return p.literal("false", ast.InternedTerm(false))
	case c == 'n':
		return p.literal("null", ast.InternedNullTerm)
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	default:
		return nil, p.errorf("unexpected %q", c)
	}
}

// number reads a number of JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonParser) number() (*ast.Term, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return nil, p.errorf("invalid number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.errorf("invalid number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.errorf("invalid number")
		}
	}
	// As OPA's own reader: a number whose exponent would make evaluation
	// slow (1e70000) is refused.
	n, err := ast.NumberChecked(string(p.data[start:p.pos]))
	if err != nil {
		return nil, p.errorf("%v", err)
	}
	return ast.NewTerm(n), nil
}

func (p *jsonParser) object(depth int) (*ast.Term, error) {
	if depth > maxJSONDepth {
		return nil, p.errorf("nested too deeply")
	}
	p.pos++ // {
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return ast.NewTerm(ast.NewObject()), nil
	}
	base := len(p.pairs)
	for {
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errorf("expected a member name")
		}
		s, err := p.string()
		if err != nil {
			return nil, err
		}
		k := p.intern(s)
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errorf("expected ':'")
		}
		p.pos++
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		p.pairs = append(p.pairs, [2]*ast.Term{k, v})
		p.space()
		if p.pos >= len(p.data) {
			return nil, p.errorf("unexpected end")
		}
		c := p.data[p.pos]
		p.pos++
		switch c {
		case ',':
			continue
		case '}':
		default:
			return nil, p.errorf("expected ',' or '}'")
		}
		members := p.pairs[base:]
		var obj ast.Object
		if hasDuplicateKeys(members) {
			// The last value wins, as with encoding/json.
			obj = ast.NewObjectWithCapacity(len(members))
			for _, m := range members {
				obj.Insert(m[0], m[1])
			}
		} else {
			obj = ast.NewObject(members...)
		}
		clear(members)
		p.pairs = p.pairs[:base]
		return ast.NewTerm(obj), nil
	}
}

// hasDuplicateKeys reports whether an object's members repeat a key. Keys
// are interned, so equal keys are the same term.
func hasDuplicateKeys(members [][2]*ast.Term) bool {
	if len(members) <= 32 {
		for i := 1; i < len(members); i++ {
			for j := range i {
				if members[i][0] == members[j][0] {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[*ast.Term]struct{}, len(members))
	for _, m := range members {
		if _, ok := seen[m[0]]; ok {
			return true
		}
		seen[m[0]] = struct{}{}
	}
	return false
}

func (p *jsonParser) array(depth int) (*ast.Term, error) {
	if depth > maxJSONDepth {
		return nil, p.errorf("nested too deeply")
	}
	p.pos++ // [
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return ast.ArrayTerm(), nil
	}
	var elems []*ast.Term
	for {
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		elems = append(elems, v)
		p.space()
		if p.pos >= len(p.data) {
			return nil, p.errorf("unexpected end")
		}
		c := p.data[p.pos]
		p.pos++
		switch c {
		case ',':
		case ']':
			return ast.ArrayTerm(elems...), nil
		default:
			return nil, p.errorf("expected ',' or ']'")
		}
	}
}

// string reads a JSON string at p.pos (a '"'). One with escapes is decoded,
// and checked, by encoding/json; one without must have no control
// characters. Invalid UTF-8 is replaced, as encoding/json does.
func (p *jsonParser) string() (string, error) {
	start := p.pos + 1
	escaped, ascii := false, true
	i := start
	for ; i < len(p.data); i++ {
		c := p.data[i]
		switch {
		case c == '"':
			goto end
		case c == '\\':
			escaped = true
			i++
		case c < 0x20:
			p.pos = i
			return "", p.errorf("control character in a string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	p.pos = i
	return "", p.errorf("unterminated string")
end:
	p.pos = i + 1
	raw := p.data[start:i]
	if !escaped && (ascii || utf8.Valid(raw)) {
		return string(raw), nil
	}
	var s string
	if err := json.Unmarshal(p.data[start-1:i+1], &s); err != nil {
		p.pos = start - 1
		return "", p.errorf("%v", err)
	}
	return s, nil
}

// intern returns one shared term per distinct string.
func (p *jsonParser) intern(s string) *ast.Term {
	if t, ok := p.strs[s]; ok {
		return t
	}
	t := ast.StringTerm(s)
	p.strs[s] = t
	return t
}
