package gitrepo_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	fixtureRoot string // removed by TestMain
	monorepos   = map[bool]*monorepo{}
	monoMu      sync.Mutex
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureRoot != "" {
		os.RemoveAll(fixtureRoot)
	}
	os.Exit(code)
}

// monorepo is a 2,000-workspace infra repo: 20 teams × 100 workspaces of
// three files each, plus 200 modules; about 2,300 directories.
type monorepo struct {
	dir        string
	base, head string // head changes one file of one workspace
	dirs       int
}

func getMonorepo(b *testing.B, packed bool) *monorepo {
	b.Helper()
	monoMu.Lock()
	defer monoMu.Unlock()
	if m := monorepos[packed]; m != nil {
		return m
	}
	if fixtureRoot == "" {
		var err error
		if fixtureRoot, err = os.MkdirTemp("", "gitrepo-bench-"); err != nil {
			b.Fatal(err)
		}
	}
	dir := filepath.Join(fixtureRoot, fmt.Sprintf("mono-packed-%v", packed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	runGit(b, dir, "init", "-q", "-b", "main")
	w := &workRepo{tb: b, dir: dir}
	for m := range 200 {
		w.write(fmt.Sprintf("modules/mod%03d/main.tf", m), fmt.Sprintf("variable \"in\" {}\n# module %d\n", m))
	}
	for team := range 20 {
		for ws := range 100 {
			d := fmt.Sprintf("envs/team%02d/ws%03d", team, ws)
			w.write(d+"/main.tf", fmt.Sprintf("module \"m\" {\n  source = \"../../../modules/mod%03d\"\n}\n", (team*100+ws)%200))
			w.write(d+"/variables.tf", "variable \"region\" { default = \"eu\" }\n")
			w.write(d+"/backend.tf", fmt.Sprintf("terraform {\n  backend \"local\" { path = \"/state/%s\" }\n}\n", d))
		}
	}
	base := w.commit("monorepo")
	w.write("envs/team07/ws042/main.tf", "# changed\n")
	head := w.commit("one change")
	if packed {
		w.git("gc", "-q")
	}
	m := &monorepo{dir: dir, base: base, head: head, dirs: 1 + 2 + 200 + 20 + 2000}
	monorepos[packed] = m
	return m
}

// walkDirs lists every directory with ReadDir, the way workspace discovery
// does, and returns the number of directories and .tf files seen.
func walkDirs(fsys fs.ReadDirFS) (dirs, files int, err error) {
	var walk func(dir string) error
	walk = func(dir string) error {
		dirs++
		entries, err := fsys.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			p := e.Name()
			if dir != "." {
				p = dir + "/" + p
			}
			if e.IsDir() {
				if err := walk(p); err != nil {
					return err
				}
			} else if strings.HasSuffix(p, ".tf") {
				files++
			}
		}
		return nil
	}
	return dirs, files, walk(".")
}

func benchmarkWalk(b *testing.B, packed, readFiles bool) {
	m := getMonorepo(b, packed)
	r := openRepo(b, m.dir)
	b.ResetTimer()
	for b.Loop() {
		fsys, err := r.FS(m.head)
		if err != nil {
			b.Fatal(err)
		}
		dirs, files, err := walkDirs(fsys)
		if err != nil {
			b.Fatal(err)
		}
		if dirs != m.dirs || files != 6200 {
			b.Fatalf("walked %d dirs and %d files, want %d and 6200", dirs, files, m.dirs)
		}
		if readFiles {
			err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				_, err = fsys.ReadFile(p)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkTreeFSWalk is a fresh TreeFS listing all 2,223 directories.
func BenchmarkTreeFSWalk(b *testing.B) {
	b.Run("loose", func(b *testing.B) { benchmarkWalk(b, false, false) })
	b.Run("packed", func(b *testing.B) { benchmarkWalk(b, true, false) })
}

// BenchmarkTreeFSWalkRead also reads every one of the 6,200 files.
func BenchmarkTreeFSWalkRead(b *testing.B) {
	b.Run("loose", func(b *testing.B) { benchmarkWalk(b, false, true) })
	b.Run("packed", func(b *testing.B) { benchmarkWalk(b, true, true) })
}

// BenchmarkOpenAndWalk includes opening the repository: what one CLI
// command pays.
func BenchmarkOpenAndWalk(b *testing.B) {
	m := getMonorepo(b, true)
	b.ResetTimer()
	for b.Loop() {
		r := openRepo(b, m.dir)
		fsys, err := r.FS("HEAD")
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := walkDirs(fsys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChangedPaths diffs two 8,400-file trees that differ in one file.
func BenchmarkChangedPaths(b *testing.B) {
	for _, packed := range []bool{false, true} {
		b.Run(map[bool]string{false: "loose", true: "packed"}[packed], func(b *testing.B) {
			m := getMonorepo(b, packed)
			r := openRepo(b, m.dir)
			b.ResetTimer()
			for b.Loop() {
				paths, err := r.ChangedPaths(m.base, m.head)
				if err != nil {
					b.Fatal(err)
				}
				if len(paths) != 1 {
					b.Fatalf("ChangedPaths = %q", paths)
				}
			}
		})
	}
}

func BenchmarkExport(b *testing.B) {
	m := getMonorepo(b, true)
	r := openRepo(b, m.dir)
	b.ResetTimer()
	for b.Loop() {
		if err := r.Export(b.Context(), "HEAD", b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
}
