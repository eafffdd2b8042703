package modules

import (
	"slices"
	"testing"
)

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		match   []string
		nomatch []string
	}{
		{"ci/**", []string{"ci/a", "ci/a/b/c.sh"}, []string{"cia", "x/ci/a"}},
		{"**/*.json", []string{"a.json", "x/y/a.json"}, []string{"a.jsonx", "x/a.yaml"}},
		{"shared/*.json", []string{"shared/a.json"}, []string{"shared/x/a.json", "shared/a.yaml"}},
		{"a/**/b/*.tf", []string{"a/b/x.tf", "a/1/2/b/x.tf"}, []string{"a/b/c/x.tf"}},
		{"{ci,scripts}/*.sh", []string{"ci/x.sh", "scripts/x.sh"}, []string{"x/x.sh"}},
		{"x/{a,b{1,2}}.txt", []string{"x/a.txt", "x/b1.txt", "x/b2.txt"}, []string{"x/b.txt"}},
		{`lit/\*.txt`, []string{"lit/*.txt"}, []string{"lit/a.txt"}},
		{"./ci/x.sh", []string{"ci/x.sh"}, []string{"ci/y.sh"}},
		{"**", []string{"a", "a/b"}, nil},
	} {
		g, err := compileGlob(tc.pattern)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tc.pattern, err)
		}
		for _, p := range tc.match {
			if !g.match(p) {
				t.Errorf("%q does not match %q", tc.pattern, p)
			}
		}
		for _, p := range tc.nomatch {
			if g.match(p) {
				t.Errorf("%q matches %q", tc.pattern, p)
			}
		}
	}
	for _, bad := range []string{"a/[x", "a/{b", `a\`} {
		if _, err := compileGlob(bad); err == nil {
			t.Errorf("compileGlob(%q) accepted", bad)
		}
	}
}

func TestLiteralDir(t *testing.T) {
	for p, want := range map[string]string{
		"ci/scripts/*.sh": "ci/scripts",
		"ci/deploy.sh":    "ci",
		"**/x":            ".",
		"x":               ".",
		"a/{b,c}/d":       "a",
		`a/\*/d`:          "a",
	} {
		if got := literalDir(p); got != want {
			t.Errorf("literalDir(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestEscapeGlob(t *testing.T) {
	g, err := compileGlob(escapeGlob("we[ir]d {dir}/*?.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !g.match("we[ir]d {dir}/*?.txt") || g.match("wed {dir}/ab.txt") {
		t.Error("escaped glob matches wrong")
	}
	if got, _ := expandBraces("a{b,c}"); !slices.Equal(got, []string{"ab", "ac"}) {
		t.Errorf("expandBraces = %v", got)
	}
}

func TestMatchGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"envs/prod/**", "envs/prod/app", true},
		{"envs/prod/**", "envs/staging", false},
		{"envs/*", "envs/prod@blue", true},
		{"{a,b}/x", "b/x", true},
	} {
		if got, err := MatchGlob(tc.pattern, tc.name); err != nil || got != tc.want {
			t.Errorf("MatchGlob(%q, %q) = %v, %v", tc.pattern, tc.name, got, err)
		}
	}
	if _, err := MatchGlob("[x", "a"); err == nil {
		t.Error("a bad pattern matched")
	}
}
