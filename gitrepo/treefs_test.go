package gitrepo_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/landform/landform"
)

// fsRepo is a small infra repo with executable files, symbolic links
// (inside and outside the tree) and a directory name that git sorts
// differently from fs.
func fsRepo(t *testing.T) *workRepo {
	w := newWorkRepo(t)
	w.write("README.md", "# infra\n")
	w.write("envs/prod/main.tf", "module \"net\" { source = \"../../modules/net\" }\n")
	w.write("envs/prod/terraform.tfvars", "region = \"eu\"\n")
	w.write("envs/dev/main.tf", "# dev\n")
	w.write("envs/dev-extra.tf", "# sorts before envs/dev/ in git\n")
	w.write("modules/net/main.tf", "# net\n")
	w.writeMode("scripts/run.sh", "#!/bin/sh\necho hi\n", 0o755)
	w.write("shared/providers.tf", "provider \"x\" {}\n")
	w.symlink("envs/prod/providers.tf", "../../shared/providers.tf")
	w.symlink("envs/staging", "prod")
	w.symlink("envs/escape", "../../outside")
	w.symlink("envs/dangling", "nothing/here")
	return w
}

func TestTreeFS(t *testing.T) {
	w := fsRepo(t)
	head := w.commit("tree")
	fsys, err := openRepo(t, w.dir).FS("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if fsys.Commit() != head {
		t.Errorf("Commit() = %s, want %s", fsys.Commit(), head)
	}

	t.Run("ReadFile", func(t *testing.T) {
		for name, want := range map[string]string{
			"README.md":              "# infra\n",
			"envs/prod/main.tf":      "module \"net\" { source = \"../../modules/net\" }\n",
			"envs/prod/providers.tf": "provider \"x\" {}\n", // through a file link
			"envs/staging/main.tf":   "module \"net\" { source = \"../../modules/net\" }\n",
			"scripts/run.sh":         "#!/bin/sh\necho hi\n",
		} {
			got, err := fsys.ReadFile(name)
			if err != nil {
				t.Errorf("ReadFile(%s): %v", name, err)
			} else if string(got) != want {
				t.Errorf("ReadFile(%s) = %q, want %q", name, got, want)
			}
		}
		for _, name := range []string{"missing", "envs/missing.tf", "README.md/x", "envs/dangling"} {
			if _, err := fsys.ReadFile(name); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ReadFile(%s) = %v, want ErrNotExist", name, err)
			}
		}
		if _, err := fsys.ReadFile("envs/escape"); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile through an escaping link = %v, want an error other than ErrNotExist", err)
		}
		if _, err := fsys.ReadFile("/README.md"); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ReadFile(/README.md) = %v, want ErrInvalid", err)
		}
		if _, err := fsys.ReadFile("envs"); err == nil {
			t.Error("ReadFile of a directory succeeded")
		}
	})

	t.Run("ReadDir", func(t *testing.T) {
		entries, err := fsys.ReadDir("envs")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, fmt.Sprintf("%s %v %v", e.Name(), e.IsDir(), e.Type()))
		}
		want := []string{
			"dangling false L---------",
			"dev true d---------",
			"dev-extra.tf false ----------",
			"escape false L---------",
			"prod true d---------",
			"staging false L---------",
		}
		if !slices.Equal(got, want) {
			t.Errorf("ReadDir(envs) =\n %q\nwant\n %q", got, want)
		}
		// Through a link to a directory.
		entries, err = fsys.ReadDir("envs/staging")
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 3 || entries[0].Name() != "main.tf" {
			t.Errorf("ReadDir(envs/staging) = %v", entries)
		}
		if _, err := fsys.ReadDir("README.md"); err == nil {
			t.Error("ReadDir of a file succeeded")
		}
		if _, err := fsys.ReadDir("nope"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadDir(nope) = %v", err)
		}
	})

	t.Run("Stat", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			mode fs.FileMode
			size int64
		}{
			{"README.md", 0o644, 8},
			{"scripts/run.sh", 0o755, 18},
			{"envs", fs.ModeDir | 0o755, 0},
			{"envs/staging", fs.ModeDir | 0o755, 0},
			{"envs/prod/providers.tf", 0o644, 16},
			{".", fs.ModeDir | 0o755, 0},
		} {
			fi, err := fsys.Stat(tc.name)
			if err != nil {
				t.Errorf("Stat(%s): %v", tc.name, err)
				continue
			}
			if fi.Mode() != tc.mode || fi.Size() != tc.size {
				t.Errorf("Stat(%s) = %v %d, want %v %d", tc.name, fi.Mode(), fi.Size(), tc.mode, tc.size)
			}
		}
		fi, err := fsys.Lstat("envs/staging")
		if err != nil || fi.Mode().Type() != fs.ModeSymlink {
			t.Errorf("Lstat(envs/staging) = %v, %v", fi, err)
		}
		if target, err := fsys.ReadLink("envs/prod/providers.tf"); err != nil || target != "../../shared/providers.tf" {
			t.Errorf("ReadLink = %q, %v", target, err)
		}
	})

	t.Run("Open", func(t *testing.T) {
		f, err := fsys.Open("envs/prod")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		d := f.(fs.ReadDirFile)
		var names []string
		for {
			batch, err := d.ReadDir(2)
			for _, e := range batch {
				names = append(names, e.Name())
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if want := []string{"main.tf", "providers.tf", "terraform.tfvars"}; !slices.Equal(names, want) {
			t.Errorf("ReadDir(2) in batches = %q, want %q", names, want)
		}
	})

	t.Run("fstest", func(t *testing.T) {
		// fstest checks every file it can reach; the escaping link is
		// deliberately unreadable, so look at the parts without it.
		for dir, files := range map[string][]string{
			"envs/prod": {"main.tf", "providers.tf", "terraform.tfvars"},
			"envs/dev":  {"main.tf"},
			"modules":   {"net/main.tf"},
			"scripts":   {"run.sh"},
		} {
			sub, err := fs.Sub(fsys, dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := fstest.TestFS(sub, files...); err != nil {
				t.Errorf("%s: %v", dir, err)
			}
		}
	})
}

func TestTreeFSDirHash(t *testing.T) {
	w := fsRepo(t)
	first := w.commit("one")
	w.write("envs/dev/main.tf", "# dev changed\n")
	second := w.commit("two")

	r := openRepo(t, w.dir)
	a, err := r.FS(first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.FS(second)
	if err != nil {
		t.Fatal(err)
	}
	hash := func(fsys interface{ DirHash(string) (string, bool) }, dir string) string {
		t.Helper()
		h, ok := fsys.DirHash(dir)
		if !ok {
			t.Fatalf("DirHash(%s): not a directory", dir)
		}
		return h
	}
	for _, dir := range []string{"modules/net", "envs/prod", "shared"} {
		if hash(a, dir) != hash(b, dir) {
			t.Errorf("DirHash(%s) differs for an unchanged directory", dir)
		}
	}
	for _, dir := range []string{"envs/dev", "envs", "."} {
		if hash(a, dir) == hash(b, dir) {
			t.Errorf("DirHash(%s) is the same after a change", dir)
		}
	}
	// A link to a directory has the directory's hash.
	if hash(b, "envs/staging") != hash(b, "envs/prod") {
		t.Error("DirHash through a link differs from the directory's")
	}
	// Git's own tree hash.
	if want := w.git("rev-parse", second+":modules/net"); hash(b, "modules/net") != want {
		t.Errorf("DirHash(modules/net) = %s, want git's %s", hash(b, "modules/net"), want)
	}
	for _, dir := range []string{"README.md", "missing", "envs/escape", "/envs", "envs/"} {
		if h, ok := b.DirHash(dir); ok {
			t.Errorf("DirHash(%s) = %s, true; want false", dir, h)
		}
	}
	if _, err := r.FS("nope"); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("FS(nope) = %v, want ENOTFOUND", err)
	}
}

// TestTreeFSConcurrent reads one TreeFS from many goroutines (run with
// -race), each walking the whole tree and reading every file.
func TestTreeFSConcurrent(t *testing.T) {
	w := newWorkRepo(t)
	for i := range 40 {
		w.write(fmt.Sprintf("ws/%02d/main.tf", i), fmt.Sprintf("# %d\n", i))
		w.write(fmt.Sprintf("ws/%02d/vars.tf", i), fmt.Sprintf("variable \"v%d\" {}\n", i))
	}
	w.commit("many")
	w.git("gc", "-q") // packed objects too
	r := openRepo(t, w.dir)
	fsys, err := r.FS("HEAD")
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for g := range errs {
		wg.Go(func() {
			n := 0
			errs[g] = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() {
					fsys.DirHash(p)
					return nil
				}
				data, err := fsys.ReadFile(p)
				if err != nil {
					return err
				}
				if len(data) == 0 {
					return fmt.Errorf("%s is empty", p)
				}
				n++
				return nil
			})
			if errs[g] == nil && n != 80 {
				errs[g] = fmt.Errorf("read %d files, want 80", n)
			}
			// Other work on the same Repo at the same time.
			if _, err := r.Resolve("HEAD"); err != nil && errs[g] == nil {
				errs[g] = err
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
