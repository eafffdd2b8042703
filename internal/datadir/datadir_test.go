package datadir_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/datadir"
)

func acquire(t *testing.T, dir, command string) *datadir.Lock {
	t.Helper()
	l, err := datadir.Acquire(dir, command)
	if err != nil {
		t.Fatalf("Acquire(%s): %v", dir, err)
	}
	t.Cleanup(func() { l.Release() })
	return l
}

// wantInUse checks that err says dir is held by pid, naming it.
func wantInUse(t *testing.T, err error, dir, command string, pid int) {
	t.Helper()
	var inUse *datadir.InUseError
	if !errors.As(err, &inUse) || landform.ErrorCode(err) != landform.ECONFLICT {
		t.Fatalf("Acquire of a held directory: %v, want ECONFLICT with an *InUseError", err)
	}
	host, _ := os.Hostname()
	if h := inUse.Holder; h.PID != pid || h.Command != command || h.Host != host || h.Since.IsZero() {
		t.Errorf("holder %+v, want %s, pid %d on %s", h, command, pid, host)
	}
	want := fmt.Sprintf("data directory %s is in use by %s, pid %d on host %s since ", dir, command, pid, host)
	if msg := landform.ErrorMessage(err); !strings.HasPrefix(msg, want) {
		t.Errorf("message %q, want it to start %q", msg, want)
	}
}

// TestOneHolderAtATime takes the lock twice in one process, through two
// open file descriptions, as two processes would.
func TestOneHolderAtATime(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "data")
	first := acquire(t, dir, "landform serve")
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory created with mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}

	_, err := datadir.Acquire(dir, "landform plan")
	wantInUse(t, err, dir, "landform serve", os.Getpid())

	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	second := acquire(t, dir, "landform plan")
	_, err = datadir.Acquire(dir, "landform serve")
	wantInUse(t, err, dir, "landform plan", os.Getpid())
	second.Release()
}

func TestEnsureLeavesAnExistingDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := datadir.Ensure(dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("existing directory now %v (%v), want it left 0755", fi.Mode().Perm(), err)
	}
	if err := datadir.Ensure(""); landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("Ensure(\"\") = %v, want EINVALID", err)
	}
}

// helperEnv makes the test binary a process that holds the directory
// named by its value until its stdin closes.
const helperEnv = "LANDFORM_DATADIR_TEST_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		if _, err := datadir.Acquire(dir, "landform serve"); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("held")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestAnotherProcessHolds: another process's lock is named with its pid,
// and goes when that process dies, even by SIGKILL.
func TestAnotherProcessHolds(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "held\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}

	_, err = datadir.Acquire(dir, "landform plan")
	wantInUse(t, err, dir, "landform serve", cmd.Process.Pid)

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	acquire(t, dir, "landform plan").Release()
}
