package gitrepo_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/landform/landform"
)

// snapshot describes every file, link and directory under root:
// path → "dir", "link TARGET" or "MODE CONTENT".
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link " + target
		case d.IsDir():
			out[rel] = "dir"
		default:
			fi, err := d.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("%v %s", fi.Mode().Perm(), data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fileSum(t *testing.T, p string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

func TestExport(t *testing.T) {
	w := fsRepo(t)
	w.commit("tree")

	// Uncommitted edits, staged and not, must not leak into the export, and
	// the working copy must stay as it is.
	w.write("README.md", "# edited, not committed\n")
	w.write("untracked.tf", "# untracked\n")
	w.write("staged.tf", "# staged\n")
	w.git("add", "staged.tf")
	status := w.git("status", "--porcelain")
	index := fileSum(t, filepath.Join(w.dir, ".git", "index"))
	headRef := w.git("symbolic-ref", "HEAD")
	before := snapshot(t, w.dir)

	r := openRepo(t, w.dir)
	out := filepath.Join(t.TempDir(), "export")
	if err := r.Export(context.Background(), "HEAD", out); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{
		"README.md":                  "-rw-r--r-- # infra\n",
		"envs":                       "dir",
		"envs/dangling":              "link nothing/here",
		"envs/dev":                   "dir",
		"envs/dev/main.tf":           "-rw-r--r-- # dev\n",
		"envs/dev-extra.tf":          "-rw-r--r-- # sorts before envs/dev/ in git\n",
		"envs/prod":                  "dir",
		"envs/prod/main.tf":          "-rw-r--r-- module \"net\" { source = \"../../modules/net\" }\n",
		"envs/prod/providers.tf":     "link ../../shared/providers.tf",
		"envs/prod/terraform.tfvars": "-rw-r--r-- region = \"eu\"\n",
		"envs/staging":               "link prod",
		"modules":                    "dir",
		"modules/net":                "dir",
		"modules/net/main.tf":        "-rw-r--r-- # net\n",
		"scripts":                    "dir",
		"scripts/run.sh":             "-rwxr-xr-x #!/bin/sh\necho hi\n",
		"shared":                     "dir",
		"shared/providers.tf":        "-rw-r--r-- provider \"x\" {}\n",
		// envs/escape (→ ../../outside) is left out.
	}
	got := snapshot(t, out)
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if got[k] != want[k] {
			t.Errorf("export %s = %q, want %q", k, got[k], want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[k]; !ok {
			t.Errorf("export lacks %s", k)
		}
	}

	if s := w.git("status", "--porcelain"); s != status {
		t.Errorf("git status changed:\n%s\nwas\n%s", s, status)
	}
	if fileSum(t, filepath.Join(w.dir, ".git", "index")) != index {
		t.Error("the index changed")
	}
	if h := w.git("symbolic-ref", "HEAD"); h != headRef {
		t.Errorf("HEAD moved to %s", h)
	}
	after := snapshot(t, w.dir)
	delete(before, ".git/index") // same bytes checked above; git status may refresh its stat data
	delete(after, ".git/index")
	if !maps.Equal(before, after) {
		t.Error("the working copy changed")
	}

	t.Run("not empty", func(t *testing.T) {
		err := r.Export(context.Background(), "HEAD", out)
		wantCode(t, err, landform.EINVALID, out)
	})
	t.Run("unknown revision", func(t *testing.T) {
		err := r.Export(context.Background(), "nope", filepath.Join(t.TempDir(), "x"))
		wantCode(t, err, landform.ENOTFOUND, "nope")
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := r.Export(ctx, "HEAD", filepath.Join(t.TempDir(), "x")); err == nil {
			t.Error("Export with a cancelled context succeeded")
		}
	})
}

// TestExportLinkThroughLink checks a link whose target climbs out through
// another link: lexically inside, physically outside.
func TestExportLinkThroughLink(t *testing.T) {
	w := newWorkRepo(t)
	w.write("a/b/file.tf", "# x\n")
	w.symlink("a/b/up", "../..")       // the tree root: fine
	w.symlink("sneaky", "a/b/up/../x") // the root's parent: outside
	w.symlink("fine", "a/b/up/a/b/file.tf")
	w.symlink("later", "missing/../../x") // would leave the tree once missing/ exists
	w.commit("links")

	out := filepath.Join(t.TempDir(), "export")
	if err := openRepo(t, w.dir).Export(context.Background(), "HEAD", out); err != nil {
		t.Fatal(err)
	}
	got := snapshot(t, out)
	for _, p := range []string{"a/b/up", "fine"} {
		if _, ok := got[p]; !ok {
			t.Errorf("link %s is missing", p)
		}
	}
	for _, p := range []string{"sneaky", "later"} {
		if v, ok := got[p]; ok {
			t.Errorf("link %s (%s) was written", p, v)
		}
	}
}

func TestExportPaths(t *testing.T) {
	w := newWorkRepo(t)
	for name, content := range map[string]string{
		"envs/prod/main.tf":         "# prod\n",
		"envs/prod/sub/x.tf":        "# sub\n",
		"envs/staging/main.tf":      "# staging\n",
		"modules/net/main.tf":       "# net\n",
		"modules/net-extra/main.tf": "# net-extra\n",
		"modules/db/main.tf":        "# db\n",
		"shared/policy.json":        "{}\n",
		"shared/other.json":         "[]\n",
		"README.md":                 "# readme\n",
	} {
		w.write(name, content)
	}
	w.symlink("envs/prod/policy.json", "../../shared/policy.json")
	sha := w.commit("tree")
	repo := openRepo(t, w.dir)

	dst := filepath.Join(t.TempDir(), "out")
	err := repo.ExportPaths(context.Background(), sha, dst, []string{
		"envs/prod", "envs/prod/sub", "modules/net", "modules/net/", "shared/policy.json", "no/such/dir", "./modules/net",
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dst, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	slices.Sort(got)
	want := []string{"envs/prod/main.tf", "envs/prod/policy.json", "envs/prod/sub/x.tf", "modules/net/main.tf", "shared/policy.json"}
	if !slices.Equal(got, want) {
		t.Errorf("exported %v, want %v", got, want)
	}
	if data, err := os.ReadFile(filepath.Join(dst, "envs/prod/policy.json")); err != nil || string(data) != "{}\n" {
		t.Errorf("the link into an exported file does not resolve: %q, %v", data, err)
	}

	// nil means everything; a bad path is refused.
	all := filepath.Join(t.TempDir(), "all")
	if err := repo.ExportPaths(context.Background(), sha, all, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(all, "README.md")); err != nil {
		t.Errorf("nil paths did not export everything: %v", err)
	}
	err = repo.ExportPaths(context.Background(), sha, filepath.Join(t.TempDir(), "bad"), []string{"../outside"})
	if landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("export of ../outside: %v, want EINVALID", err)
	}
}
