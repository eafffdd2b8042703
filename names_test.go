package landform_test

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/landform/landform"
)

func TestCheckWorkspaceName(t *testing.T) {
	for _, name := range []string{
		"envs/prod", "envs/prod@blue", "global/dns", "prod-app", ".", ".@blue", "a/.github/x",
		"münchen/app", "app@x:y", "v1.2/app", "a/-b", "12", "a/12.tf", "x.md", strings.Repeat("a", 255),
	} {
		if err := landform.CheckWorkspaceName(name); err != nil {
			t.Errorf("CheckWorkspaceName(%q) = %v", name, err)
		}
	}
	for _, tc := range []struct{ name, reason string }{
		{"", "empty"},
		{".git/hooks", `path element ".git" is reserved by git`},
		{"a/.GIT/b", `path element ".GIT" is reserved by git`},
		{"a/.git./b", `path element ".git." is reserved by git`},
		{"a/.git::$INDEX_ALLOCATION", `path element ".git::$INDEX_ALLOCATION" is reserved by git`},
		{"GIT~1/x", `path element "GIT~1" is reserved by git`},
		{"../x", `has a ".." path element`},
		{"a/../b", `has a ".." path element`},
		{"./x", `has a "." path element`},
		{"a//b", "has an empty path element"},
		{"a/", "has an empty path element"},
		{"/abs", "absolute"},
		{`a\b`, `contains "\"; separate path elements with "/"`},
		{"x\ny", "contains a control character (U+000A)"},
		{"x\x00y", "contains a control character (U+0000)"},
		{"x\u200cy", "contains an invisible formatting character (U+200C)"},
		{".g\u200cit", "contains an invisible formatting character (U+200C)"},
		{"prod app", "contains white space"},
		{"prod\u00a0app", "contains white space"},
		{"-rf", `starts with "-"`},
		{"a/12.md", `path element "12.md" is the name of a ledger record file`},
		{"a/7.JSON/b", `path element "7.JSON" is the name of a ledger record file`},
		{"\xff", "not valid UTF-8"},
		{strings.Repeat("a", 256), "longer than 255 bytes"},
	} {
		err := landform.CheckWorkspaceName(tc.name)
		want := fmt.Sprintf("invalid workspace name %q: %s", tc.name, tc.reason)
		if err == nil || err.Error() != want {
			t.Errorf("CheckWorkspaceName(%q) = %v, want %s", tc.name, err, want)
		}
		if landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("CheckWorkspaceName(%q): code %q", tc.name, landform.ErrorCode(err))
		}
	}
}

func TestCheckTreePath(t *testing.T) {
	for _, p := range []string{"runs/envs/prod/1.md", "runs/_/1.json", "a b/c", "x/.gitignore", "x/.github/y", "x/git~2"} {
		if err := landform.CheckTreePath(p); err != nil {
			t.Errorf("CheckTreePath(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"", ".", "..", "/a", "a/", "a//b", ".git", "x/.Git/config", "x/.git ", "x/git~1", `a\b`, "a\x00b", "a\nb", "a\u202eb", "\xc3"} {
		if err := landform.CheckTreePath(p); err == nil {
			t.Errorf("CheckTreePath(%q) = nil", p)
		}
	}
}

// FuzzCheckWorkspaceName checks that every name CheckWorkspaceName accepts
// is a path CheckTreePath and fs.ValidPath accept, the root's name aside.
func FuzzCheckWorkspaceName(f *testing.F) {
	for _, s := range []string{"envs/prod", "envs/prod@blue", ".", ".@blue", ".git/hooks", "a/.GIT/b", "../x", "x\ny", "-rf", "a/1.md"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if landform.CheckWorkspaceName(name) != nil || name == landform.RootWorkspaceName {
			return
		}
		if err := landform.CheckTreePath(name); err != nil {
			t.Errorf("name %q accepted, but %v", name, err)
		}
		if !fs.ValidPath(name) {
			t.Errorf("name %q accepted, but fs.ValidPath refuses it", name)
		}
		if len(name) > landform.MaxWorkspaceNameLen || strings.HasPrefix(name, "-") {
			t.Errorf("name %q accepted", name)
		}
	})
}
