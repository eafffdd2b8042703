package bench_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// The benchmarks' fixtures are made once per process, under fixtureRoot,
// and removed by TestMain: testing.B removes a benchmark's TempDir after
// each of its runs, and the fixtures are too costly to remake.
var (
	fixtureMu   sync.Mutex
	fixtureRoot string

	binOnce     sync.Once
	landformBin string
	binErr      error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureRoot != "" {
		os.RemoveAll(fixtureRoot)
	}
	os.Exit(code)
}

// fixtureDir returns a new directory under fixtureRoot.
func fixtureDir(tb testing.TB, name string) string {
	tb.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if fixtureRoot == "" {
		var err error
		if fixtureRoot, err = os.MkdirTemp("", "landform-bench-"); err != nil {
			tb.Fatal(err)
		}
	}
	dir, err := os.MkdirTemp(fixtureRoot, name+"-")
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

// landformBinary builds the landform CLI once per process.
func landformBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		dir := fixtureDir(tb, "bin")
		landformBin = filepath.Join(dir, "landform")
		out, err := exec.Command("go", "build", "-o", landformBin, "github.com/landform/landform/cmd/landform").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("building landform: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return landformBin
}

// run runs a program to completion and returns its stdout, with its
// stderr in the error.
func run(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	var stderr []byte
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	if err != nil {
		return out, fmt.Errorf("%s %v: %w\n%s", filepath.Base(name), args, err, stderr)
	}
	return out, nil
}

// timed runs f and returns how long it took.
func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
