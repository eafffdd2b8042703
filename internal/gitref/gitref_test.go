package gitref

import (
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/landform/landform"
)

func TestBranchProblem(t *testing.T) {
	for _, name := range []string{"main", "landform/ledger", "release-1.2", "a/b/c", "feature_x", "v1@2", "üñí", "a/-b", "x.y/z"} {
		if got := BranchProblem(name); got != "" {
			t.Errorf("BranchProblem(%q) = %q, want none", name, got)
		}
		if err := CheckBranch(name); err != nil {
			t.Errorf("CheckBranch(%q) = %v", name, err)
		}
	}
	for _, tc := range []struct{ name, reason string }{
		{"", "empty"},
		{"HEAD", "reserved by git"},
		{"@", "reserved by git"},
		{"a/@", `path element "@" is reserved by git`},
		{"refs/heads/main", `starts with "refs/"`},
		{"-main", `starts with "-"`},
		{"/main", `starts with "/"`},
		{"landform/", `ends with "/"`},
		{"main.", `ends with "."`},
		{"a..b", `contains ".."`},
		{"a@{1}", `contains "@{"`},
		{"a//b", `contains "//"`},
		{"a\tb", "contains a control character"},
		{"a\x7fb", "contains a control character"},
		{"a b", "contains a space"},
		{"a~1", `contains "~"`},
		{"a^", `contains "^"`},
		{"a:b", `contains ":"`},
		{"a?", `contains "?"`},
		{"a*", `contains "*"`},
		{"a[1]", `contains "["`},
		{`a\b`, `contains "\\"`},
		{".hidden", `path element ".hidden" starts with "."`},
		{"a/.b", `path element ".b" starts with "."`},
		{"a.lock/b", `path element "a.lock" ends with ".lock"`},
	} {
		got := BranchProblem(tc.name)
		if !strings.HasPrefix(got, tc.reason) {
			t.Errorf("BranchProblem(%q) = %q, want %q", tc.name, got, tc.reason)
		}
		err := CheckBranch(tc.name)
		if landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), `invalid branch name "`) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("CheckBranch(%q) = %v", tc.name, err)
		}
	}
}

func TestFull(t *testing.T) {
	for in, want := range map[string]plumbing.ReferenceName{
		"main":                       "refs/heads/main",
		"landform/ledger":            "refs/heads/landform/ledger",
		"refs/heads/main":            "refs/heads/main",
		"refs/pull/7/head":           "refs/pull/7/head",
		"refs/merge-requests/3/head": "refs/merge-requests/3/head",
	} {
		if got, err := Full(in); err != nil || got != want {
			t.Errorf("Full(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "HEAD", "refs/heads/*", "refs/heads/a..b", "refs/heads/-x", "refs/", "a b"} {
		_, err := Full(in)
		if landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), "invalid") {
			t.Errorf("Full(%q) = %v, want EINVALID", in, err)
		}
	}
}

// FuzzExplain checks that the wording never disagrees with go-git: every
// name Validate refuses gets a reason of its own, and no accepted name gets
// one.
func FuzzExplain(f *testing.F) {
	for _, s := range []string{"main", "a/b", "a..b", "a b", "-x", "a/.b", "x.lock", "@", "a/@", "a@{", "a//b", "a/", "a.", "\x01", "ü/ñ", "a/-b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" {
			return
		}
		refused := plumbing.NewBranchReferenceName(name).Validate() != nil
		reason := explain(name)
		if refused != (reason != "") {
			t.Errorf("name %q: Validate refuses: %v; explain says %q", name, refused, reason)
		}
	})
}
