//go:build unix

package terraform

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform/test/tftest"
)

// BenchmarkVersionProbe measures what terraform-exec's `terraform version
// -json` probe, run once per Job, costs a plan: "plan" runs Engine.Plan of a
// small configuration (init, plan, show, and the probe, whose duration each
// plan records in Timings.Version); "version-json" runs the probe's command
// alone, in the same directory with the same environment. Metrics are
// medians over the rounds, wall time and the CPU time (user + system) of
// the child processes.
//
//	go test -run '^$' -bench VersionProbe -benchtime 20x ./terraform/
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
