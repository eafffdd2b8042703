//go:build unix

package terraform

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform/test/tftest"
)

// BenchmarkVersionProbe measures what terraform-exec's `terraform version
// -json` probe, run once per Job, costs a plan now that the job's wrapper
// script answers it (see probeAnswer), and what terraform itself would
// take for it. "plan" runs Engine.Plan of a small configuration, sandboxed
// (the default): init, plan, show, and the probe, whose duration each plan
// records in Timings.Version. "probe" makes a job and runs the probe
// alone, through the wrapper, as Init does ("newjob-ms" is NewJob, binary
// choice included); "version-json" runs terraform's own `version -json`,
// what the probe ran before, in the same directory with the same
// environment. Metrics are medians over the rounds, wall time and the CPU
// time (user + system) of the child processes.
//
//	go test -run '^$' -bench VersionProbe -benchtime 30x ./terraform/
func BenchmarkVersionProbe(b *testing.B) {
	tools := tftest.Load(b)
	e, err := New(WithWorkDir(b.TempDir()), WithCLIConfig(tools.MirrorConfig(b)))
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "ws")
	tftest.WriteFiles(b, dir, map[string]string{"main.tf": timeProvider + `
resource "terraform_data" "a" { input = "x" }
resource "time_static" "t" {}
`})
	ctx := context.Background()
	// The first plan fills the plugin cache.
	if _, err := e.Plan(ctx, PlanRequest{Dir: dir}); err != nil {
		b.Fatal(err)
	}

	b.Run("plan", func(b *testing.B) {
		var total, probe, cpu []time.Duration
		for b.Loop() {
			before := childCPU()
			res, err := e.Plan(ctx, PlanRequest{Dir: dir})
			if err != nil {
				b.Fatal(err)
			}
			cpu = append(cpu, childCPU()-before)
			total = append(total, res.Timings.Total)
			probe = append(probe, res.Timings.Version)
		}
		b.ReportMetric(ms(median(total)), "plan-ms")
		b.ReportMetric(ms(median(cpu)), "plan-cpu-ms")
		b.ReportMetric(ms(median(probe)), "probe-ms")
		b.ReportMetric(100*float64(median(probe))/float64(median(total)), "probe-%")
	})

	b.Run("probe", func(b *testing.B) {
		var newJob, wall, cpu []time.Duration
		for b.Loop() {
			start := time.Now()
			j, err := e.NewJob(ctx, JobRequest{Dir: dir})
			if err != nil {
				b.Fatal(err)
			}
			newJob = append(newJob, time.Since(start))
			before, start := childCPU(), time.Now()
			v, _, err := j.tf.Version(ctx, false)
			if err != nil || !v.Equal(j.Binary().Version) {
				b.Fatalf("probe: %v, %v; want %s", v, err, j.Binary().Version)
			}
			wall = append(wall, time.Since(start))
			cpu = append(cpu, childCPU()-before)
			j.Close()
		}
		b.ReportMetric(ms(median(newJob)), "newjob-ms")
		b.ReportMetric(ms(median(wall)), "wall-ms")
		b.ReportMetric(ms(median(cpu)), "cpu-ms")
	})

	b.Run("version-json", func(b *testing.B) {
		bin, err := e.Binary(ctx)
		if err != nil {
			b.Fatal(err)
		}
		env, err := e.Environ(nil)
		if err != nil {
			b.Fatal(err)
		}
		var wall, cpu []time.Duration
		for b.Loop() {
			cmd := exec.Command(bin.Path, "version", "-json")
			cmd.Dir, cmd.Env = dir, env
			before, start := childCPU(), time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
			wall = append(wall, time.Since(start))
			cpu = append(cpu, childCPU()-before)
		}
		b.ReportMetric(ms(median(wall)), "wall-ms")
		b.ReportMetric(ms(median(cpu)), "cpu-ms")
	})
}

// BenchmarkSandbox measures what the bubblewrap sandbox costs a plan: each
// round plans a configuration once with the sandbox and once without, in
// alternating order, each plan the way the runner makes them (a fresh
// scratch directory with the plan file and terraform's data directory, so
// init links the cached providers anew). "plan-2" is a small configuration
// (terraform_data and time_static), "plan-200" has 199 terraform_data
// resources more. Metrics are medians over the rounds: the plans' wall time
// with and without the sandbox and their ratio; "bwrap-true" is one bwrap
// start (`true` through the wrapper script, with the engine's mounts)
// against `true` alone.
//
//	go test -run '^$' -bench Sandbox -benchtime 30x ./terraform/
func BenchmarkSandbox(b *testing.B) {
	tools := tftest.Load(b)
	cliConfig := tools.MirrorConfig(b) // one plugin cache for both engines
	engines := map[SandboxMode]*Engine{}
	for _, m := range []SandboxMode{SandboxRequired, SandboxOff} {
		e, err := New(WithWorkDir(b.TempDir()), WithCLIConfig(cliConfig), WithSandbox(m))
		if err != nil {
			b.Fatal(err)
		}
		engines[m] = e
	}
	ctx := context.Background()
	plan := func(m SandboxMode, dir string) time.Duration {
		scratch, err := os.MkdirTemp(b.TempDir(), "scratch-")
		if err != nil {
			b.Fatal(err)
		}
		res, err := engines[m].Plan(ctx, PlanRequest{Dir: dir, Root: dir, Scratch: scratch,
			PlanFile: filepath.Join(scratch, "plan.tfplan"), DataDir: filepath.Join(scratch, ".terraform")})
		if err != nil {
			b.Fatal(err)
		}
		return res.Timings.Total
	}

	for _, n := range []int{2, 200} {
		dir := filepath.Join(b.TempDir(), "ws")
		main := timeProvider + "resource \"time_static\" \"t\" {}\n"
		for i := range n - 1 {
			main += fmt.Sprintf("resource \"terraform_data\" \"r%d\" { input = \"%d\" }\n", i, i)
		}
		tftest.WriteFiles(b, dir, map[string]string{"main.tf": main})
		// The first plans fill the plugin cache and the version cache.
		plan(SandboxOff, dir)
		plan(SandboxRequired, dir)

		b.Run(fmt.Sprintf("plan-%d", n), func(b *testing.B) {
			times := map[SandboxMode][]time.Duration{}
			round := 0
			for b.Loop() {
				order := []SandboxMode{SandboxRequired, SandboxOff}
				if round%2 == 1 {
					order[0], order[1] = order[1], order[0]
				}
				round++
				for _, m := range order {
					times[m] = append(times[m], plan(m, dir))
				}
			}
			on, off := median(times[SandboxRequired]), median(times[SandboxOff])
			b.ReportMetric(ms(on), "sandbox-ms")
			b.ReportMetric(ms(off), "nosandbox-ms")
			b.ReportMetric(float64(on)/float64(off), "ratio")
		})
	}

	b.Run("bwrap-true", func(b *testing.B) {
		e := engines[SandboxRequired]
		dir := b.TempDir()
		args := slices.Concat(sandboxFlags, mountArgs(e.sandboxMounts), []string{"--", "true"})
		env := []string{"PATH=/usr/bin:/bin", sandboxEnv + "=" + shellWords(args)}
		var sandboxed, plain []time.Duration
		for b.Loop() {
			for _, c := range []struct {
				cmd *exec.Cmd
				d   *[]time.Duration
			}{{exec.Command(e.wrapper), &sandboxed}, {exec.Command("true"), &plain}} {
				c.cmd.Env, c.cmd.Dir = env, dir
				start := time.Now()
				if out, err := c.cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				*c.d = append(*c.d, time.Since(start))
			}
		}
		b.ReportMetric(ms(median(sandboxed)), "sandboxed-ms")
		b.ReportMetric(ms(median(plain)), "plain-ms")
	})
}

// childCPU is the user and system time of the waited-for child processes
// so far.
func childCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
