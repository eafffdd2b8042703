package terraform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// initRecorder writes a wrapper around terraform that appends "start" and
// "end" lines to a log around every init, so a test can see whether inits
// overlapped. It returns the wrapper and the log.
func initRecorder(t *testing.T, terraform string) (wrapper, log string) {
	t.Helper()
	dir := t.TempDir()
	wrapper = filepath.Join(dir, "terraform")
	log = filepath.Join(dir, "inits.log")
	script := fmt.Sprintf(`#!/bin/sh
if [ "$1" = init ]; then
	echo start >>%[1]q
	%[2]q "$@"
	rc=$?
	echo end >>%[1]q
	exit $rc
fi
exec %[2]q "$@"
`, log, terraform)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper, log
}

// TestParallelInitsShareOneCache runs 16 plans at once on one empty plugin
// cache. Without serialization about a third of such inits fail ("mkdir
// ...: file exists", "text file busy"); here all must succeed, never
// overlap, and every plan must work with the providers init linked.
func TestParallelInitsShareOneCache(t *testing.T) {
	t.Parallel()
	const n = 16
	_, tools := newTestEngine(t)
	wrapper, log := initRecorder(t, tools.Terraform)
	// Off: the recorder writes its log next to itself, which a sandbox
	// hides.
	e, _ := newTestEngine(t, WithBinaries(wrapper), WithSandbox(SandboxOff))

	providers := `    time = {
      source  = "hashicorp/time"
      version = "0.14.2"
    }
`
	resources := "resource \"time_static\" \"t\" {}\n"
	want := 1
	testcloud := hasProvider(tools, "landform/testcloud")
	if testcloud {
		providers += "    testcloud = { source = \"landform/testcloud\" }\n"
		resources += "resource \"testcloud_instance\" \"i\" { name = \"web\" }\n"
		want++
	}
	cloud := t.TempDir()
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = workspaceDir(t, map[string]string{
			"main.tf": "terraform {\n  required_providers {\n" + providers + "  }\n}\n" + resources,
		})
	}
	if m, _ := filepath.Glob(filepath.Join(e.PluginCacheDir(), "registry.terraform.io")); len(m) != 0 {
		t.Fatalf("plugin cache %s is not empty", e.PluginCacheDir())
	}

	results := make([]*PlanResult, n)
	g, ctx := errgroup.WithContext(testContext(t))
	start := time.Now()
	for i, dir := range dirs {
		g.Go(func() error {
			res, err := e.Plan(ctx, PlanRequest{Dir: dir, Name: fmt.Sprintf("ws%02d", i), Env: map[string]string{"TESTCLOUD_ROOT": cloud}})
			if err != nil {
				return err
			}
			results[i] = res
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d plans (testcloud: %v) in %s", n, testcloud, time.Since(start))
	for i, res := range results {
		if res.Binary.Path != wrapper {
			t.Fatalf("ws%02d ran %s, not the recording wrapper", i, res.Binary)
		}
		if res.Summary.Add != want {
			t.Errorf("ws%02d: summary %+v, want %d to add", i, res.Summary, want)
		}
		if i < 3 {
			t.Logf("ws%02d timings: %+v", i, res.Timings)
		}
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(data))
	if len(lines) != 2*n {
		t.Fatalf("init log has %d lines, want %d", len(lines), 2*n)
	}
	for i, l := range lines {
		if want := []string{"start", "end"}[i%2]; l != want {
			t.Fatalf("inits overlapped: line %d is %q, want %q\n%s", i+1, l, want, data)
		}
	}
}

// TestInitLockAcrossProcesses holds the cache lock with flock(1) in another
// process and checks that the engine waits for it, gives up when its context
// ends, and gets it once the other process lets go.
func TestInitLockAcrossProcesses(t *testing.T) {
	t.Parallel()
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("no flock(1)")
	}
	e, err := New(WithWorkDir(t.TempDir()), WithCLIConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	cache := e.PluginCacheDir()
	// flock(1) runs sleep as its child, which inherits the lock: kill both.
	holder := exec.Command(flock, filepath.Join(cache, InitLockFile), "sleep", "60")
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	killHolder := func() { syscall.Kill(-holder.Process.Pid, syscall.SIGKILL) }
	t.Cleanup(func() { killHolder(); holder.Wait() })
	// Wait until the holder has the lock: flock -n fails while it does.
	deadline := time.Now().Add(10 * time.Second)
	for exec.Command(flock, "-n", filepath.Join(cache, InitLockFile), "true").Run() == nil {
		if time.Now().After(deadline) {
			t.Fatal("flock(1) never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := e.lockInit(ctx, cache); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lockInit while another process holds the lock = %v, want deadline exceeded", err)
	}

	got := make(chan error, 1)
	go func() {
		unlock, err := e.lockInit(t.Context(), cache)
		if err == nil {
			unlock()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("lockInit returned while the lock was held: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	killHolder()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("lockInit did not get the lock after the holder died")
	}
}

// TestInitLockTwoEngines: two engines in one process on one cache exclude
// each other too (flock locks belong to open file descriptions).
func TestInitLockTwoEngines(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	newE := func() *Engine {
		e, err := New(WithWorkDir(t.TempDir()), WithCLIConfig(""), WithPluginCacheDir(cache))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e1, e2 := newE(), newE()
	unlock, err := e1.lockInit(t.Context(), cache)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := e2.lockInit(ctx, cache); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second engine got the lock: %v", err)
	}
	unlock()
	unlock2, err := e2.lockInit(t.Context(), cache)
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
}

// TestInitKeepsCacheEntries: a workspace without a lock file must link the
// provider already in the cache, not re-install it there — the re-install
// deletes the directory other workspaces' plans are running the provider
// from (see Environ).
func TestInitKeepsCacheEntries(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	ctx := testContext(t)
	main := timeProvider + "resource \"time_static\" \"t\" {}\n"
	if _, err := e.Plan(ctx, PlanRequest{Dir: workspaceDir(t, map[string]string{"main.tf": main})}); err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(e.PluginCacheDir(), "registry.terraform.io/hashicorp/time/0.14.2/linux_amd64")
	before, err := os.Lstat(entry)
	if err != nil {
		t.Fatal(err)
	}
	dir := workspaceDir(t, map[string]string{"main.tf": main})
	if _, err := e.Plan(ctx, PlanRequest{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	after, err := os.Lstat(entry)
	if err != nil {
		t.Fatal(err)
	}
	// A re-install removes and recreates the entry; the inode number may
	// be reused, the modification time is not.
	if !os.SameFile(before, after) || !before.ModTime().Equal(after.ModTime()) {
		t.Errorf("init of a second workspace replaced the cache entry %s", entry)
	}
	if _, err := os.Stat(filepath.Join(dir, ".terraform.lock.hcl")); err != nil {
		t.Errorf("no lock file written: %v", err)
	}
}
