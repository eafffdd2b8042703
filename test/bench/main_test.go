package bench_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform/internal/pgtest"
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
	code := pgtest.Run(m)
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

// sample is one measurement: wall-clock time, and the CPU time (user and
// system) of this process and of the child processes that ended meanwhile.
// The machine is shared, so wall time varies with the others' load; CPU
// time much less.
type sample struct {
	wall, cpu time.Duration
}

// timed runs f and measures it.
func timed(f func() error) (sample, error) {
	c0 := cpuTime()
	start := time.Now()
	err := f()
	return sample{wall: time.Since(start), cpu: cpuTime() - c0}, err
}

// cpuTime is the CPU time used so far by this process and its waited-for
// children.
func cpuTime() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}

// medians returns the medians of the samples' wall and CPU times.
func medians(ss []sample) sample {
	var wall, cpu []time.Duration
	for _, s := range ss {
		wall, cpu = append(wall, s.wall), append(cpu, s.cpu)
	}
	return sample{wall: median(wall), cpu: median(cpu)}
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

// side is one way of doing the work a benchmark compares.
type side struct {
	name string
	run  func() (sample, error)
}

// rotate runs every side once outside the measurements (warming the
// caches), then b.N rounds that each run every side, starting one side
// later each round so that none always goes first; each sample is passed
// to logf (nil: none). It returns the samples by side name.
func rotate(b *testing.B, sides []side, logf func(round int, s side, d sample)) map[string][]sample {
	b.Helper()
	b.StopTimer()
	for _, s := range sides {
		if _, err := s.run(); err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
	}
	b.ResetTimer()
	times := map[string][]sample{}
	for i := 0; i < b.N; i++ {
		for k := range sides {
			s := sides[(i+k)%len(sides)]
			d, err := s.run()
			if err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
			if logf != nil {
				logf(i, s, d)
			}
			times[s.name] = append(times[s.name], d)
		}
	}
	return times
}
