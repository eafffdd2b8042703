package config_test

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/landform/landform/config"
)

// workspacesFile lists n workspaces.
func workspacesFile(n int) string {
	var b strings.Builder
	b.WriteString("workspaces:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - dir: envs/w%d\n", i)
	}
	return b.String()
}

func TestParseRepoMaxWorkspaces(t *testing.T) {
	if _, err := config.ParseRepo(config.RepoFile, []byte(workspacesFile(config.DefaultMaxWorkspaces)), config.RepoOptions{}); err != nil {
		t.Fatalf("%d workspaces: %v", config.DefaultMaxWorkspaces, err)
	}
	_, err := config.ParseRepo(config.RepoFile, []byte(workspacesFile(config.DefaultMaxWorkspaces+1)), config.RepoOptions{})
	checkInvalid(t, err, []string{`.landform.yaml:2:3: workspaces: 10001 workspaces listed; at most 10000 are allowed`})

	opts := config.RepoOptions{MaxWorkspaces: 2}
	if _, err := config.ParseRepo(config.RepoFile, []byte(workspacesFile(2)), opts); err != nil {
		t.Fatalf("2 workspaces, at most 2: %v", err)
	}
	_, err = config.ParseRepo(config.RepoFile, []byte(workspacesFile(3)), opts)
	checkInvalid(t, err, []string{`.landform.yaml:2:3: workspaces: 3 workspaces listed; at most 2 are allowed`})
}

func TestParseRepoMaxFileSize(t *testing.T) {
	big := workspacesFile(1) + "# " + strings.Repeat("x", config.DefaultMaxRepoFileSize) + "\n"
	_, err := config.ParseRepo(config.RepoFile, []byte(big), config.RepoOptions{})
	checkInvalid(t, err, []string{fmt.Sprintf(`.landform.yaml: the file is %d bytes; at most 1048576 are allowed`, len(big))})

	small := workspacesFile(1)
	if _, err := config.ParseRepo(config.RepoFile, []byte(small), config.RepoOptions{MaxFileSize: int64(len(small))}); err != nil {
		t.Fatal(err)
	}
	_, err = config.ParseRepo(config.RepoFile, []byte(small), config.RepoOptions{MaxFileSize: int64(len(small)) - 1})
	checkInvalid(t, err, []string{fmt.Sprintf(`.landform.yaml: the file is %d bytes; at most %d are allowed`, len(small), len(small)-1)})
}

// sizedFS serves one RepoFile of size bytes without holding them, counting
// the bytes read, and says its size is statSize. An Open counts as reading
// the whole file, as gitrepo.TreeFS reads a blob into memory on Open.
type sizedFS struct {
	size, statSize int64
	read           *int64
}

func (s sizedFS) Open(name string) (fs.File, error) {
	if name != config.RepoFile {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	*s.read += s.size
	return &sizedFile{s: s}, nil
}

func (s sizedFS) Stat(name string) (fs.FileInfo, error) {
	if name != config.RepoFile {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return sizedInfo(s.statSize), nil
}

func (s sizedFS) Lstat(name string) (fs.FileInfo, error) {
	if name != config.RepoFile {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return sizedInfo(s.statSize), nil
}

func (s sizedFS) ReadLink(name string) (string, error) {
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
}

type sizedFile struct {
	s   sizedFS
	off int64
}

func (f *sizedFile) Stat() (fs.FileInfo, error) { return sizedInfo(f.s.statSize), nil }
func (f *sizedFile) Close() error               { return nil }

// Read serves "# xxx…" lines.
func (f *sizedFile) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && f.off < f.s.size {
		switch {
		case f.off%64 == 0:
			p[n] = '#'
		case f.off%64 == 63:
			p[n] = '\n'
		default:
			p[n] = 'x'
		}
		n++
		f.off++
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

type sizedInfo int64

func (i sizedInfo) Name() string       { return config.RepoFile }
func (i sizedInfo) Size() int64        { return int64(i) }
func (i sizedInfo) Mode() fs.FileMode  { return 0o644 }
func (i sizedInfo) ModTime() time.Time { return time.Time{} }
func (i sizedInfo) IsDir() bool        { return false }
func (i sizedInfo) Sys() any           { return nil }

func TestLoadRepoMaxFileSize(t *testing.T) {
	const tenMB = 10 << 20
	// The size is checked before the file is read.
	var read int64
	_, err := config.LoadRepo(sizedFS{size: tenMB, statSize: tenMB, read: &read}, config.RepoOptions{})
	checkInvalid(t, err, []string{`.landform.yaml: the file is 10485760 bytes; at most 1048576 are allowed`})
	if read != 0 {
		t.Errorf("%d bytes read", read)
	}

	// A file system that understates the size is read up to the limit.
	_, err = config.LoadRepo(sizedFS{size: tenMB, statSize: 10, read: &read}, config.RepoOptions{})
	checkInvalid(t, err, []string{`.landform.yaml: the file is 1048577 bytes; at most 1048576 are allowed`})

	// Within the limit, and a custom limit.
	fsys := fstest.MapFS{config.RepoFile: file(workspacesFile(3))}
	if _, err := config.LoadRepo(fsys, config.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = config.LoadRepo(fsys, config.RepoOptions{MaxFileSize: 10})
	checkInvalid(t, err, []string{fmt.Sprintf(`.landform.yaml: the file is %d bytes; at most 10 are allowed`, len(workspacesFile(3)))})
	_, err = config.LoadRepo(fsys, config.RepoOptions{MaxWorkspaces: 2})
	checkInvalid(t, err, []string{`.landform.yaml:2:3: workspaces: 3 workspaces listed; at most 2 are allowed`})
}

func TestParseRepoAllowedEnv(t *testing.T) {
	const f = "workspaces:\n  - dir: a\n    env:\n      AWS_PROFILE: prod\n      TF_VAR_x: y\n      AWS_REGION: eu\n"
	r, err := config.ParseRepo(config.RepoFile, []byte(f), config.RepoOptions{AllowedEnv: []string{"AWS_PROFILE", "AWS_REGION"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Workspaces[0].Env; len(got) != 3 || got["AWS_PROFILE"] != "prod" || got["AWS_REGION"] != "eu" || got["TF_VAR_x"] != "y" {
		t.Errorf("Env = %v", got)
	}
	_, err = config.ParseRepo(config.RepoFile, []byte(f), config.RepoOptions{AllowedEnv: []string{"AWS_PROFILE"}})
	checkInvalid(t, err, []string{
		`.landform.yaml:6:7: workspaces[0].env.AWS_REGION: "AWS_REGION" may not be set by the repo config: only TF_VAR_* variables and those the server config allows in terraform.allowed_env (AWS_PROFILE)`,
	})
}

// TestParseRepoAliasExpansion: a small file whose aliases expand to
// billions of values is refused at once, not walked.
func TestParseRepoAliasExpansion(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("x: &globs [")
	for i := range 100_000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("a")
	}
	b.WriteString("]\nworkspaces:\n")
	for i := range 5_000 {
		fmt.Fprintf(&b, "  - {dir: d%d, when_modified: *globs}\n", i)
	}
	start := time.Now()
	_, err := config.ParseRepo(config.RepoFile, b.Bytes(), config.RepoOptions{})
	checkInvalid(t, err, []string{
		`.landform.yaml:1:1: the document holds more than 1048576 values once its aliases are expanded; write the values out instead of repeating aliases of long lists`,
	})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}

	// Aliases used the ordinary way are fine.
	const ok = "workspaces:\n  - dir: a\n    env: &common {TF_VAR_team: platform}\n  - dir: b\n    env: *common\n"
	if _, err := config.ParseRepo(config.RepoFile, []byte(ok), config.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
}
