package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/landform/landform/internal/runes"
	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node tree against a schema written as code (see
// repo.go). It records each problem as a *FieldError carrying the file name,
// the node's position and the field's path, and keeps going, so that one pass
// reports every problem of a file.
//
// Conventions: a field whose value is null is treated as absent; aliases are
// followed; merge keys ("<<") are refused. Scalar readers report null and
// wrong kinds themselves, so callers only act on ok results.
type decoder struct {
	file string
	errs []*FieldError
}

// errorf records a problem at n (which may be nil for "no position").
func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	d.errs = append(d.errs, newFieldError(d.file, n, field, fmt.Sprintf(format, args...)))
}

func newFieldError(file string, n *yaml.Node, field, msg string) *FieldError {
	fe := &FieldError{File: file, Field: field, Msg: msg}
	if n != nil {
		fe.Line, fe.Column = n.Line, n.Column
	}
	return fe
}

// parseDocument parses data, which must hold at most one YAML document, and
// returns the document's root node: nil for an empty document (no bytes,
// only comments, or null). A syntax error comes back as a FieldError on
// the line at fault (see syntaxError); a document that aliases so much
// that it expands to more than maxExpandedNodes nodes is refused.
func (d *decoder) parseDocument(data []byte) (*yaml.Node, bool) {
	doc, extra, err := decodeDocuments(data)
	switch {
	case err != nil:
		d.syntaxError(err, data)
		return nil, false
	case doc == nil:
		return nil, true
	case extra != nil && len(extra.Content) > 0 && !isNull(extra.Content[0]):
		d.errorf(extra, "", "a second YAML document; the file must hold only one")
		return nil, false
	}
	if len(doc.Content) == 0 || isNull(deref(doc.Content[0])) {
		return nil, true
	}
	root := deref(doc.Content[0])
	if expandedSize(root, maxExpandedNodes) > maxExpandedNodes {
		d.errorf(root, "", "the document holds more than %d values once its aliases are expanded; write the values out instead of repeating aliases of long lists", maxExpandedNodes)
		return nil, false
	}
	return root, true
}

// decodeDocuments decodes the first YAML document of data (nil when there
// is none) and the start of a second one (nil when there is none), and
// returns the first error of yaml.v3.
func decodeDocuments(data []byte) (doc, extra *yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	doc = new(yaml.Node)
	if err := dec.Decode(doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	extra = new(yaml.Node)
	switch err := dec.Decode(extra); {
	case errors.Is(err, io.EOF):
		return doc, nil, nil
	case err != nil:
		return nil, nil, err
	}
	return doc, extra, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// parserProblems start the messages of yaml.v3's parser errors (as opposed
// to its scanner's). For those, the "line N" yaml.v3 writes counts from 0,
// and names where the enclosing mapping or list starts rather than the
// fault: a key indented one space too little on line 4 of a list that
// starts on line 2 is reported on "line 1".
var parserProblems = []string{
	"did not find expected",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
	"found undefined tag handle",
}

// syntaxError records err, an error of yaml.v3 decoding data, on the line
// at fault. yaml.v3's scanner errors carry that line (the fault's, or that
// of the token it is in, such as an unclosed string); for its parser
// errors and the errors that carry no line (control characters, unknown
// anchors), the line is the first one at which data, cut after that line,
// fails with the same message, found by bisection from the earliest line
// the fault can be on.
func (d *decoder) syntaxError(err error, data []byte) {
	text := err.Error()
	msg := strings.TrimPrefix(text, "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(text); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimPrefix(text, m[0])
	}
	parserError := slices.ContainsFunc(parserProblems, func(p string) bool { return strings.HasPrefix(msg, p) })
	switch {
	case line > 0 && !parserError:
	case parserError:
		line = faultLine(data, msg, line+1, line+1)
	default:
		line = faultLine(data, msg, 1, 0)
	}
	d.errs = append(d.errs, &FieldError{File: d.file, Line: line, Msg: msg})
}

// faultLine returns the first line k, from lo on, such that the lines of
// data up to k fail to decode with the message msg; fallback when none does.
// It assumes that once a prefix fails so, longer ones do too, and bisects.
func faultLine(data []byte, msg string, lo, fallback int) int {
	var ends []int // ends[k-1] is the end of line k, its newline included
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	fails := func(k int) bool {
		_, _, err := decodeDocuments(data[:ends[k-1]])
		if err == nil {
			return false
		}
		m := strings.TrimPrefix(err.Error(), "yaml: ")
		if l := yamlLine.FindString(err.Error()); l != "" {
			m = strings.TrimPrefix(err.Error(), l)
		}
		return m == msg
	}
	lo, hi := max(lo, 1), len(ends)
	if lo > hi || !fails(hi) {
		return fallback
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// object decodes the mapping n at path p. For each key of known present in n
// with a non-null value it calls field with the key, the field's path and
// the value (aliases followed), in file order. Unknown keys (with the
// closest known name as a suggestion), keys given twice and merge keys are
// problems. object returns false when n is not a mapping.
func (d *decoder) object(n *yaml.Node, p string, known []string, field func(name, fp string, key, val *yaml.Node)) bool {
	return d.objectRefusing(n, p, known, nil, field)
}

// objectRefusing is object where the keys of refused are problems of their
// own, reported with refused[key] as the message instead of "unknown
// field", whatever their value: keys a user may reach for to write a secret
// inline. Their values are never read, so no message can echo them.
func (d *decoder) objectRefusing(n *yaml.Node, p string, known []string, refused map[string]string, field func(name, fp string, key, val *yaml.Node)) bool {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, p, "expected a mapping, got %s", describe(n))
		return false
	}
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], deref(n.Content[i+1])
		if key.Kind != yaml.ScalarNode {
			d.errorf(key, p, "expected a field name, got %s", describe(key))
			continue
		}
		if key.ShortTag() == "!!merge" {
			d.errorf(key, p, `merge keys ("<<") are not supported; use an alias for each field instead`)
			continue
		}
		name := key.Value
		fp := joinPath(p, name)
		if first, dup := seen[name]; dup {
			d.errorf(key, fp, "field given twice (first at line %d:%d)", first.Line, first.Column)
			continue
		}
		seen[name] = key
		if msg, ok := refused[name]; ok {
			d.errorf(key, fp, "%s", msg)
			continue
		}
		if !slices.Contains(known, name) {
			d.unknownField(key, p, name, known)
			continue
		}
		if isNull(val) {
			continue
		}
		field(name, fp, key, val)
	}
	return true
}

func (d *decoder) unknownField(key *yaml.Node, p, name string, known []string) {
	if s := suggest(name, known); s != "" {
		d.errorf(key, p, "unknown field %q, did you mean %q?", name, s)
		return
	}
	d.errorf(key, p, "unknown field %q (known fields: %s)", name, strings.Join(known, ", "))
}

// list calls item for each element of the sequence n at path p, with the
// element's index, its path and the element (aliases followed, nulls
// included). It returns false when n is not a sequence.
func (d *decoder) list(n *yaml.Node, p string, item func(i int, ip string, n *yaml.Node)) bool {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, p, "expected a list, got %s", describe(n))
		return false
	}
	for i, c := range n.Content {
		item(i, indexPath(p, i), deref(c))
	}
	return true
}

// stringMap calls entry for each key of the mapping n at path p whose value
// is a string (any non-null scalar). Keys given twice are problems.
func (d *decoder) stringMap(n *yaml.Node, p string, entry func(key, value, ep string, k, v *yaml.Node)) {
	d.mapping(n, p, "a mapping of strings", func(key, ep string, k, v *yaml.Node) {
		if s, ok := d.str(v, ep); ok {
			entry(key, s, ep, k, v)
		}
	})
}

// mapping calls entry for each key of the mapping n at path p, in file
// order, with the key, the entry's path (see keyPath) and the key and value
// nodes (aliases followed, nulls included). Keys that are not strings,
// merge keys and keys given twice are problems; want names what n should
// be ("a mapping of strings") when it is not a mapping, and mapping then
// returns false.
func (d *decoder) mapping(n *yaml.Node, p, want string, entry func(key, ep string, k, v *yaml.Node)) bool {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, p, "expected %s, got %s", want, describe(n))
		return false
	}
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			d.errorf(k, p, "expected a string key, got %s", describe(k))
			continue
		}
		ep := keyPath(p, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, ep, "key given twice (first at line %d:%d)", first.Line, first.Column)
			continue
		}
		seen[k.Value] = k
		entry(k.Value, ep, k, v)
	}
	return true
}

// str reads a string. Any non-null scalar is one, with its text as written:
// `terraform_version: 1.5` is "1.5".
func (d *decoder) str(n *yaml.Node, p string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(n, p, "expected a string, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// integer reads an int: a scalar that YAML resolves to !!int.
func (d *decoder) integer(n *yaml.Node, p string) (int, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.errorf(n, p, "expected an integer, got %s", describe(n))
		return 0, false
	}
	var v int
	if err := n.Decode(&v); err != nil {
		d.errorf(n, p, "invalid integer %q", n.Value)
		return 0, false
	}
	return v, true
}

// boolean reads true or false (YAML 1.2: not yes/no/on/off).
func (d *decoder) boolean(n *yaml.Node, p string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.errorf(n, p, "expected true or false, got %s", describe(n))
		return false, false
	}
	var v bool
	if err := n.Decode(&v); err != nil {
		d.errorf(n, p, "invalid boolean %q", n.Value)
		return false, false
	}
	return v, true
}

// duration reads a Go duration ("90s", "1m", "1h30m") written as any
// non-null scalar; negative durations are problems.
func (d *decoder) duration(n *yaml.Node, p string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(n, p, `expected a duration such as "30s" or "1m", got %s`, describe(n))
		return 0, false
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		d.errorf(n, p, `invalid duration %q (want e.g. "30s", "1m" or "1h30m")`, n.Value)
		return 0, false
	}
	if v < 0 {
		d.errorf(n, p, "must not be negative, got %s", n.Value)
		return 0, false
	}
	return v, true
}

// stringList reads a list of strings, calling item for each; non-strings
// are problems.
func (d *decoder) stringList(n *yaml.Node, p string, item func(s, ip string, n *yaml.Node)) {
	d.list(n, p, func(_ int, ip string, c *yaml.Node) {
		if s, ok := d.str(c, ip); ok {
			item(s, ip, c)
		}
	})
}

// hasKeyOf reports whether the mapping n has one of the keys of keys: a
// refused key, after which "missing" messages would only repeat the
// problem.
func hasKeyOf(n *yaml.Node, keys map[string]string) bool {
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if _, ok := keys[n.Content[i].Value]; ok {
			return true
		}
	}
	return false
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what n is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
	default:
		return "an alias"
	}
	v := n.Value
	if len(v) > 40 {
		v = runes.Prefix(v, 37) + "..."
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!str":
		return fmt.Sprintf("string %q", v)
	case "!!int":
		return "integer " + v
	case "!!float":
		return "number " + v
	case "!!bool":
		return "boolean " + v
	case "!!timestamp":
		return "timestamp " + v
	}
	return fmt.Sprintf("%s %q", n.ShortTag(), v)
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func indexPath(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// keyPath is the path of a map entry: env.TF_VAR_region, or env["a b"] for
// a key that is not a plain identifier.
func keyPath(parent, key string) string {
	if identifier.MatchString(key) {
		return joinPath(parent, key)
	}
	return fmt.Sprintf("%s[%q]", parent, key)
}

// globEntries decodes n, at p, as a list of per-workspace entries, each a
// mapping with a "match" glob of workspace names and other fields (known
// includes "match"; refused as for objectRefusing). For each entry,
// entry(ip) returns field, called for each field but match, and add,
// called once the entry is read with its cleaned glob: ok is false when
// the entry is invalid (its problems reported), or its glob is that of an
// earlier entry, which applies first (reported: this one would never
// apply). add is not called for an entry that is not a mapping.
func (d *decoder) globEntries(n *yaml.Node, p string, known []string, refused map[string]string,
	entry func(ip string) (field func(name, fp string, v *yaml.Node), add func(match string, ok bool))) {
	matches := map[string]string{} // glob → path of its entry
	d.list(n, p, func(_ int, ip string, item *yaml.Node) {
		field, add := entry(ip)
		var (
			match     string
			matchNode *yaml.Node
		)
		ok := d.objectRefusing(item, ip, known, refused, func(name, fp string, _, v *yaml.Node) {
			if name != "match" {
				field(name, fp, v)
				return
			}
			matchNode = v
			if s, ok := d.str(v, fp); ok {
				if c, msg := cleanGlob(s); msg != "" {
					d.errorf(v, fp, "%s", msg)
				} else {
					match = c
				}
			}
		})
		if !ok {
			return
		}
		switch {
		case matchNode == nil:
			d.errorf(item, ip, `missing required field "match" (a glob of workspace names, e.g. "envs/prod/**")`)
		case match == "":
			// invalid, reported
		case matches[match] != "":
			d.errorf(matchNode, joinPath(ip, "match"), "%q is the glob of %s already, whose entry applies first: this one would never apply", match, matches[match])
			match = ""
		default:
			matches[match] = ip
			add(match, true)
			return
		}
		add("", false)
	})
}
