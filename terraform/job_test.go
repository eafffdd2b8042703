package terraform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/test/testcloud"
	"github.com/landform/landform/test/tftest"
)

const testcloudProvider = `terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}
`

// needTestcloud fails the test when the mirror lacks the testcloud provider.
func needTestcloud(t *testing.T) {
	t.Helper()
	if !hasProvider(tftest.Load(t), "landform/testcloud") {
		t.Fatal("landform/testcloud is not in the mirror; run scripts/setup")
	}
}

// TestJobApply applies a saved plan, then a second plan made from the same
// state before the apply: terraform refuses it as stale.
func TestJobApply(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	needTestcloud(t)
	dir := workspaceDir(t, map[string]string{
		"main.tf": testcloudProvider + `resource "testcloud_instance" "web" { name = "web" }` + "\n",
	})
	cloud := filepath.Join(dir, "cloud") // where the sandbox lets the provider write
	ctx := testContext(t)
	j, err := e.NewJob(ctx, JobRequest{Dir: dir, Name: "envs/apply", Env: map[string]string{"TESTCLOUD_ROOT": cloud}})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Plan(ctx, false); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(t.TempDir(), "stale.tfplan")
	if err := os.Rename(j.PlanFile(), stale); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Plan(ctx, false); err != nil {
		t.Fatal(err)
	}

	text, err := j.Apply(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.") {
		t.Errorf("apply output:\n%s", text)
	}
	if ids, _ := os.ReadDir(filepath.Join(cloud, "instance")); len(ids) != 1 {
		t.Errorf("cloud has %d instances after apply, want 1", len(ids))
	}
	t.Logf("timings: %+v", j.Timings())

	_, err = j.Apply(ctx, stale)
	if err == nil {
		t.Fatal("applying a stale plan succeeded")
	}
	msg := landform.ErrorMessage(err)
	t.Logf("stale apply: %s", msg)
	if !errors.Is(err, ErrStalePlan) || !strings.Contains(msg, "terraform apply in envs/apply: ") ||
		!strings.Contains(msg, "Saved plan is stale") || landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("stale apply error = %q (code %s), want EINVALID matching ErrStalePlan, naming the step and the stale plan",
			msg, landform.ErrorCode(err))
	}
	if ids, _ := os.ReadDir(filepath.Join(cloud, "instance")); len(ids) != 1 {
		t.Errorf("cloud has %d instances after the stale apply, want 1", len(ids))
	}
}

// TestPlanInterruptStopsProviders cancels plans while the testcloud provider
// is blocked in a read, and checks that the plan returns with the context's
// error and leaves no terraform or provider process behind: when the
// provider honours terraform's stop request (terraform stops gracefully on
// SIGINT, before the grace period ends) and when it ignores it (terraform
// waits for it, and both are killed at the end of the grace period; on its
// own, terraform-exec would kill terraform only, and the provider would
// live on). Both with the sandbox and without: either way terraform runs
// through the job's wrapper script.
func TestPlanInterruptStopsProviders(t *testing.T) {
	t.Parallel()
	const grace = 2 * time.Second
	for _, tc := range []struct {
		ignoreCancel bool
		sandbox      SandboxMode
	}{{false, SandboxRequired}, {true, SandboxRequired}, {false, SandboxOff}, {true, SandboxOff}} {
		ignoreCancel := tc.ignoreCancel
		name := fmt.Sprintf("ignore_cancel=%v", ignoreCancel)
		if tc.sandbox == SandboxOff {
			name += "/sandbox=off"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, _ := newTestEngine(t, WithInterruptGrace(grace), WithSandbox(tc.sandbox))
			needTestcloud(t)
			dir := workspaceDir(t, map[string]string{
				"main.tf": testcloudProvider + fmt.Sprintf(`
data "testcloud_hang" "h" {
  name          = "stuck"
  seconds       = 3600
  ignore_cancel = %v
}
`, ignoreCancel),
			})
			cloud := filepath.Join(dir, "cloud") // where the sandbox lets the provider write
			ctx, cancel := context.WithCancel(testContext(t))
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := e.Plan(ctx, PlanRequest{Dir: dir, Name: "envs/stuck", Env: map[string]string{"TESTCLOUD_ROOT": cloud}})
				done <- err
			}()

			// Wait until the provider is blocked in the read, and both
			// processes are visible to the check below. (The marker's PID
			// is the provider's in the sandbox's PID namespace: the
			// processes are found by their working directory instead.)
			marker := filepath.Join(cloud, testcloud.HangKind, "stuck.json")
			appeared := watchFile(t, marker)
			select {
			case <-appeared:
			case err := <-done:
				t.Fatalf("plan ended before the provider blocked: %v", err)
			case <-time.After(time.Minute):
				t.Fatalf("the provider never blocked (processes in %s: %v)", dir, processNames(processesIn(dir)))
			}
			var hang testcloud.HangMarker
			if data, err := os.ReadFile(marker); err != nil || json.Unmarshal(data, &hang) != nil {
				t.Fatalf("reading the marker: %v", err)
			}
			// The provider wrote the marker and blocks: it and terraform,
			// its parent, are running.
			before := processesIn(dir)
			names := processNames(before)
			if !slices.Contains(names, "terraform") || !slices.Contains(names, "terraform-provider-testcloud") {
				t.Fatalf("processes in %s while the provider blocks: %v", dir, names)
			}
			t.Logf("before cancel: %v", names)

			cancelled := time.Now()
			cancel()
			var err error
			select {
			case err = <-done:
			case <-time.After(grace + 10*time.Second):
				t.Fatal("plan did not return after cancel")
			}
			took := time.Since(cancelled)
			t.Logf("plan returned %s after cancel: %v", took, err)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
			var serr *StepError
			if !errors.As(err, &serr) || serr.Step != "plan" {
				t.Errorf("error is not the plan step's: %#v", err)
			}
			if !ignoreCancel && took >= grace {
				t.Errorf("terraform took %s to stop a provider that honours the stop request, want < %s", took, grace)
			}
			if ignoreCancel && took < grace {
				t.Errorf("plan returned after %s, before the grace period, with the provider still blocked", took)
			}
			if pids := processesIn(dir); len(pids) > 0 {
				t.Errorf("processes left running in %s: %v", dir, processNames(pids))
			}
			for _, pid := range before {
				if alive(pid) {
					t.Errorf("process %d (%v) is still alive", pid, processNames([]int{pid}))
				}
			}
		})
	}
}

// processNames returns the executables' base names of pids.
func processNames(pids []int) []string {
	var names []string
	for _, pid := range pids {
		exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
		if err == nil {
			names = append(names, filepath.Base(exe))
		}
	}
	return names
}

// alive reports whether pid is a live process (not gone, not a zombie).
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces, the state follows the
	// last ')'.
	s := string(stat)
	rest := s[strings.LastIndexByte(s, ')')+1:]
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// watchFile returns a channel closed when the file at path exists: it
// waits on inotify events of its directory (made if missing) rather than
// polling. The watch ends with the test.
func watchFile(t *testing.T, path string) <-chan struct{} {
	t.Helper()
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE|syscall.IN_MOVED_TO|syscall.IN_CLOSE_WRITE); err != nil {
		syscall.Close(fd)
		t.Fatalf("inotify watch of %s: %v", dir, err)
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: Close ends a pending Read
	t.Cleanup(func() { f.Close() })
	ch := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			// Checked after the watch is in place and after every event:
			// no creation can slip between the two.
			if _, err := os.Stat(path); err == nil {
				close(ch)
				return
			}
			if _, err := f.Read(buf); err != nil {
				return
			}
		}
	}()
	return ch
}
