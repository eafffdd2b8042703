package modules

import (
	"fmt"
	"path"
	"strings"
)

// glob is a compiled "/"-separated pattern. Each segment is a path.Match
// pattern ('*', '?', '[…]', '\' escapes), except the segment "**", which
// matches zero or more whole segments. Braces "{a,b}" are expanded before
// compiling, so one glob may hold several alternatives.
type glob struct {
	alts [][]string
}

// compileGlob compiles pattern. It returns an error for a malformed pattern
// (an unclosed '[' or '{', a trailing '\').
func compileGlob(pattern string) (*glob, error) {
	expanded, err := expandBraces(pattern)
	if err != nil {
		return nil, err
	}
	g := &glob{}
	for _, p := range expanded {
		p = strings.TrimPrefix(p, "./")
		segs := strings.Split(p, "/")
		for _, s := range segs {
			if s == "**" {
				continue
			}
			if _, err := path.Match(s, ""); err != nil {
				return nil, fmt.Errorf("glob %q: %w", pattern, err)
			}
		}
		g.alts = append(g.alts, segs)
	}
	return g, nil
}

// match reports whether the "/"-separated path name matches the glob.
func (g *glob) match(name string) bool {
	parts := strings.Split(name, "/")
	for _, segs := range g.alts {
		if matchSegments(segs, parts) {
			return true
		}
	}
	return false
}

func matchSegments(segs, parts []string) bool {
	for len(segs) > 0 {
		if segs[0] == "**" {
			// Collapse runs of "**" and try every split point.
			for len(segs) > 0 && segs[0] == "**" {
				segs = segs[1:]
			}
			if len(segs) == 0 {
				return true
			}
			for i := 0; i <= len(parts); i++ {
				if matchSegments(segs, parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(segs[0], parts[0]); !ok {
			return false
		}
		segs, parts = segs[1:], parts[1:]
	}
	return len(parts) == 0
}

// literalDir returns the longest leading directory of pattern that has no
// pattern characters: "ci/scripts/*.sh" → "ci/scripts", "**/x" → ".". Every
// path the pattern matches lies inside that directory.
func literalDir(pattern string) string {
	segs := strings.Split(strings.TrimPrefix(pattern, "./"), "/")
	var lit []string
	for _, s := range segs[:len(segs)-1] {
		if strings.ContainsAny(s, `*?[\{`) {
			break
		}
		lit = append(lit, s)
	}
	if len(lit) == 0 {
		return "."
	}
	return strings.Join(lit, "/")
}

// expandBraces expands "{a,b}" alternatives, nested ones included, honouring
// '\' escapes.
func expandBraces(p string) ([]string, error) {
	open := -1
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
			if i >= len(p) {
				return nil, fmt.Errorf("glob %q: trailing backslash", p)
			}
		case '{':
			open = i
		}
		if open >= 0 {
			break
		}
	}
	if open < 0 {
		return []string{p}, nil
	}
	// Find the matching close brace and the top-level commas.
	depth := 0
	commas := []int{}
	end := -1
loop:
	for i := open; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				end = i
				break loop
			}
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		}
	}
	if end < 0 {
		return nil, fmt.Errorf("glob %q: unclosed '{'", p)
	}
	var out []string
	start := open + 1
	for _, c := range append(commas, end) {
		rest, err := expandBraces(p[:open] + p[start:c] + p[end+1:])
		if err != nil {
			return nil, err
		}
		out = append(out, rest...)
		start = c + 1
	}
	return out, nil
}

// escapeGlob escapes the pattern characters of a literal path so that it
// can be embedded in a glob.
func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\{}`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\{}`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// MatchGlob reports whether the "/"-separated name matches pattern, a glob
// as when_modified takes them ("**" for any number of segments, braces for
// alternatives). An invalid pattern is an error.
func MatchGlob(pattern, name string) (bool, error) {
	g, err := compileGlob(pattern)
	if err != nil {
		return false, err
	}
	return g.match(name), nil
}
