package policies_test

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/landform/landform"
	"github.com/landform/landform/policies"
)

func TestLoadDir(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"repo/policies/tags.rego":              {Data: []byte("package landform.tags\n")},
		"repo/policies/tags_test.rego":         {Data: []byte("package landform.tags_test\n")},
		"repo/policies/team/net/net.rego":      {Data: []byte("package landform.net\n")},
		"repo/policies/README.md":              {Data: []byte("# policies\n")},
		"repo/policies/data.json":              {Data: []byte("{}")},
		"repo/other/ignored.rego":              {Data: []byte("package landform.other\n")},
		"repo/policies/team/net/net_test.rego": {Data: []byte("package landform.net_test\n")},
	}
	mods, err := policies.LoadDir(fsys, "repo/policies/")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(mods)), []string{"tags.rego", "team/net/net.rego"}; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
	if mods["tags.rego"] != "package landform.tags\n" {
		t.Errorf("tags.rego = %q", mods["tags.rego"])
	}

	root, err := policies.LoadDir(fstest.MapFS{"a.rego": {Data: []byte("package landform\n")}}, ".")
	if err != nil || len(root) != 1 || root["a.rego"] == "" {
		t.Errorf("LoadDir(.) = %v, %v", root, err)
	}

	builtin, err := policies.LoadDir(policies.BuiltinFS(), "builtin")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(builtin, policies.Builtin()) || len(builtin) != 5 {
		t.Errorf("LoadDir(builtin) has %d files, Builtin() %d", len(builtin), len(policies.Builtin()))
	}
}

func TestLoadDirLimits(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("#", policies.MaxFileSize+1)
	almost := strings.Repeat("#", policies.MaxFileSize-100)
	many := fstest.MapFS{}
	for i := range policies.MaxFiles + 1 {
		many[fmt.Sprintf("p/d%d/f%d.rego", i%7, i)] = &fstest.MapFile{Data: []byte("package landform\n")}
	}
	total := fstest.MapFS{}
	for i := range 9 {
		total[fmt.Sprintf("p/f%d.rego", i)] = &fstest.MapFile{Data: []byte(almost)}
	}
	tests := []struct {
		name string
		fsys fs.FS
		code string
		want string
	}{
		{"file too large", fstest.MapFS{"p/big.rego": {Data: []byte(big)}}, landform.EINVALID, "larger than"},
		{"too large in all", total, landform.EINVALID, "in all"},
		{"too many files", many, landform.EINVALID, "more than 1000"},
		{"no policy", fstest.MapFS{"p/only_test.rego": {Data: []byte("package landform.x_test\n")}}, landform.EINVALID, "no .rego policy files"},
		{"missing", fstest.MapFS{"q/a.rego": {Data: []byte("package landform\n")}}, landform.ENOTFOUND, "p"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policies.LoadDir(tc.fsys, "p")
			if landform.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v (code %q), want code %q and %q", err, landform.ErrorCode(err), tc.code, tc.want)
			}
		})
	}
}

func TestLoadDirRefusesSymlinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secret, []byte("hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, link string }{
		{"file", "p/steal.rego"},
		{"directory", "p/sub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(dir, tc.name)
			if err := os.MkdirAll(filepath.Join(root, "p"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "p", "ok.rego"), []byte("package landform\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			target := secret
			if tc.name == "directory" {
				target = dir
			}
			if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(tc.link))); err != nil {
				t.Fatal(err)
			}
			mods, err := policies.LoadDir(os.DirFS(root), "p")
			if landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("LoadDir = %v, %v", mods, err)
			}
			var le *landform.Error
			if !errors.As(err, &le) {
				t.Errorf("not a *landform.Error: %T", err)
			}
		})
	}
}
