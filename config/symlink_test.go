package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func symlink(target string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink | 0o777}
}

const prodRepo = `workspaces:
  - dir: envs/prod
    var_files: [prod.tfvars]
`

func TestLoadRepo(t *testing.T) {
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
		want []string // nil: no error
	}{
		{"no repo file", fstest.MapFS{"main.tf": file("")}, nil},
		{"plain dirs", fstest.MapFS{
			config.RepoFile:         file(prodRepo),
			"envs/prod/main.tf":     file(""),
			"envs/prod/prod.tfvars": file(""),
		}, nil},
		{"missing dir and var file are fine", fstest.MapFS{config.RepoFile: file(prodRepo)}, nil},
		{"dir is a symlink within the repo", fstest.MapFS{
			config.RepoFile:           file(prodRepo),
			"envs/prod":               symlink("../stacks/prod"),
			"stacks/prod/main.tf":     file(""),
			"stacks/prod/prod.tfvars": symlink("../../vars/prod.tfvars"),
			"vars/prod.tfvars":        file(""),
		}, nil},
		{"parent symlink to the root", fstest.MapFS{
			config.RepoFile: file(prodRepo),
			"envs":          symlink("."),
			"prod/main.tf":  file(""),
		}, nil},
		{"dir is a symlink out", fstest.MapFS{
			config.RepoFile: file(prodRepo),
			"envs/prod":     symlink("../../outside"),
		}, []string{
			`.landform.yaml:2:10: workspaces[0].dir: "envs/prod" is a symbolic link to "../../outside", outside the repository`,
		}},
		{"parent is an absolute symlink", fstest.MapFS{
			config.RepoFile: file(prodRepo),
			"envs":          symlink("/srv/infra/envs"),
		}, []string{
			`.landform.yaml:2:10: workspaces[0].dir: "envs/prod" goes through symbolic link "envs" -> "/srv/infra/envs", outside the repository`,
		}},
		{"chain of symlinks out", fstest.MapFS{
			config.RepoFile:  file(prodRepo),
			"envs":           symlink("stacks/current"),
			"stacks/current": symlink("../.."),
		}, []string{
			`.landform.yaml:2:10: workspaces[0].dir: "envs/prod" goes through symbolic link "stacks/current" -> "../..", outside the repository`,
		}},
		{"var file is a symlink out", fstest.MapFS{
			config.RepoFile:         file(prodRepo),
			"envs/prod/main.tf":     file(""),
			"envs/prod/prod.tfvars": symlink("/etc/shadow"),
		}, []string{
			`.landform.yaml:3:17: workspaces[0].var_files[0]: "envs/prod/prod.tfvars" is a symbolic link to "/etc/shadow", outside the repository`,
		}},
		{"symlink loop", fstest.MapFS{
			config.RepoFile: file(prodRepo),
			"envs":          symlink("loop"),
			"loop":          symlink("envs"),
		}, []string{
			`.landform.yaml:2:10: workspaces[0].dir: "envs/prod" goes through too many levels of symbolic links`,
		}},
		{"file where a directory is needed", fstest.MapFS{
			config.RepoFile: file(prodRepo),
			"envs":          file("not a directory"),
		}, nil},
		{"repo file is a symlink within the repo", fstest.MapFS{
			config.RepoFile:    symlink("ci/landform.yaml"),
			"ci/landform.yaml": file("parallel: 2\n"),
		}, nil},
		{"repo file is a symlink out", fstest.MapFS{
			config.RepoFile: symlink("../../etc/landform.yaml"),
		}, []string{
			`.landform.yaml: is a symbolic link to "../../etc/landform.yaml", outside the repository`,
		}},
		{"repo file is a dangling symlink", fstest.MapFS{
			config.RepoFile: symlink("ci/gone.yaml"),
		}, []string{
			`.landform.yaml: symbolic link that points to nothing`,
		}},
		{"file and tree problems together", fstest.MapFS{
			config.RepoFile: file("parallel: 0\n" + prodRepo + "  - dir: ../x\n"),
			"envs/prod":     symlink("/abs"),
		}, []string{
			`.landform.yaml:1:11: parallel: must be at least 1, got 0`,
			`.landform.yaml:3:10: workspaces[0].dir: "envs/prod" is a symbolic link to "/abs", outside the repository`,
			`.landform.yaml:5:10: workspaces[1].dir: "../x" escapes the repository`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := config.LoadRepo(tc.fsys, config.RepoOptions{})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if r == nil || r.Version != 1 {
					t.Fatalf("LoadRepo = %+v", r)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; got %+v", r)
			}
			checkInvalid(t, err, tc.want)
		})
	}
}

func TestLoadRepoContents(t *testing.T) {
	r, err := config.LoadRepo(fstest.MapFS{}, config.RepoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 1 || !r.Autodiscover || r.Parallel != 0 || len(r.Workspaces) != 0 {
		t.Errorf("no file: %+v, want the defaults", r)
	}

	r, err = config.LoadRepo(fstest.MapFS{
		config.RepoFile:    symlink("ci/landform.yaml"),
		"ci/landform.yaml": file("parallel: 2\n" + prodRepo),
	}, config.RepoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Parallel != 2 || r.Autodiscover || len(r.Workspaces) != 1 || r.Workspaces[0].Name != "envs/prod" {
		t.Errorf("through a symlink: %+v", r)
	}
}

// TestLoadRepoDirFS runs the link checks on a real directory tree.
func TestLoadRepoDirFS(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	for _, dir := range []string{"repo/stacks/prod", "repo/envs", "outside"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(repo, name)); err != nil {
			t.Fatal(err)
		}
	}
	write(config.RepoFile, "workspaces:\n  - dir: envs/prod\n  - dir: envs/escape\n  - dir: envs/abs\n")
	link("../stacks/prod", "envs/prod")
	link("../../outside", "envs/escape")
	link(filepath.Join(root, "outside"), "envs/abs")

	_, err := config.LoadRepo(os.DirFS(repo), config.RepoOptions{})
	if err == nil {
		t.Fatal("no error")
	}
	checkInvalid(t, err, []string{
		`.landform.yaml:3:10: workspaces[1].dir: "envs/escape" is a symbolic link to "../../outside", outside the repository`,
		`.landform.yaml:4:10: workspaces[2].dir: "envs/abs" is a symbolic link to "` + filepath.Join(root, "outside") + `", outside the repository`,
	})
}

// openOnly hides every method of a file system but Open, so that it does not
// implement fs.ReadLinkFS.
type openOnly struct{ fs fs.FS }

func (o openOnly) Open(name string) (fs.File, error) { return o.fs.Open(name) }

func TestCheckPathsWithoutReadLink(t *testing.T) {
	fsys := fstest.MapFS{
		config.RepoFile: file(prodRepo),
		"envs/prod":     symlink("/abs"),
	}
	r, err := config.ParseRepo(config.RepoFile, []byte(prodRepo), config.RepoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := config.CheckPaths(openOnly{fsys}, r); err != nil {
		t.Errorf("CheckPaths on a file system without links: %v", err)
	}
	err = config.CheckPaths(fsys, r)
	checkInvalid(t, err, []string{
		`.landform.yaml:2:10: workspaces[0].dir: "envs/prod" is a symbolic link to "/abs", outside the repository`,
	})
}

func TestCheckPathsHandMadeRepo(t *testing.T) {
	r := &config.Repo{Version: 1, Workspaces: []landform.Workspace{{Name: "app", Dir: "app", VarFiles: []string{"x.tfvars"}}}}
	err := config.CheckPaths(fstest.MapFS{"app/x.tfvars": symlink("../../x")}, r)
	checkInvalid(t, err, []string{
		`.landform.yaml: workspaces[0].var_files[0]: "app/x.tfvars" is a symbolic link to "../../x", outside the repository`,
	})
}

// failingFS fails every Lstat, like a broken object store would.
type failingFS struct{ fstest.MapFS }

var errBroken = errors.New("object store unreachable")

func (failingFS) Lstat(name string) (fs.FileInfo, error) {
	return nil, &fs.PathError{Op: "lstat", Path: name, Err: errBroken}
}

func TestLoadRepoReadError(t *testing.T) {
	_, err := config.LoadRepo(failingFS{fstest.MapFS{config.RepoFile: file(prodRepo)}}, config.RepoOptions{})
	if !errors.Is(err, errBroken) {
		t.Fatalf("error %v does not wrap the cause", err)
	}
	if code := landform.ErrorCode(err); code != landform.EINTERNAL {
		t.Errorf("ErrorCode = %q, want %q", code, landform.EINTERNAL)
	}
}
