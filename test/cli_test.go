package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform/internal/pgtest"
)

// landformBin is the landform binary built once for the package's tests.
var landformBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "landform-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	landformBin = filepath.Join(dir, "landform")
	args := []string{"build", "-o", landformBin}
	if os.Getenv("LANDFORM_TEST_RACE") != "" {
		args = append(args, "-race") // the daemon under the race detector
	}
	build := exec.Command("go", append(args, "github.com/landform/landform/cmd/landform")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building landform:", err)
		os.Exit(1)
	}
	code := pgtest.Run(m) // the PostgreSQL cluster of the replica tests, if started, stops after them
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliResult is one landform invocation's outcome.
type cliResult struct {
	Code           int
	Stdout, Stderr string
}

// landform runs the landform binary with args and returns what it did.
// A run longer than five minutes fails the test.
func landform(t testing.TB, args ...string) cliResult {
	t.Helper()
	return landformIn(t, "", nil, args...)
}

// landformIn runs the landform binary with args in dir, with env added to
// the test process's environment, and returns what it did.
func landformIn(t testing.TB, dir string, env []string, args ...string) cliResult {
	t.Helper()
	statOnce.Do(func() {
		if err := statSources(); err != nil {
			t.Fatalf("stating the sources: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, landformBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := cliResult{Stdout: out.String(), Stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("landform %v: %v", args, err)
	}
	return res
}

// landformJSON runs landform with args, requires exit code wantCode, and
// decodes stdout into v.
func landformJSON(t testing.TB, wantCode int, v any, args ...string) cliResult {
	t.Helper()
	res := landform(t, args...)
	if res.Code != wantCode {
		t.Fatalf("landform %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, res.Code, wantCode, res.Stdout, res.Stderr)
	}
	if err := json.Unmarshal([]byte(res.Stdout), v); err != nil {
		t.Fatalf("landform %v: stdout is not one JSON document: %v\n%s", args, err, res.Stdout)
	}
	return res
}

// statOnce runs statSources once per test process, while tests run: go
// test records the files a test touches only then, not in TestMain.
var statOnce sync.Once

// statSources stats every file of the module the landform binary is built
// from. go test caches a package's result by the files the test process
// touched; the binary is built by a child process, so without this a change
// to cmd/landform would not invalidate this package's cached results.
func statSources() error {
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") && d.Name() != ".landform.yaml" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			_, err = os.Stat(p)
		}
		return err
	})
}
