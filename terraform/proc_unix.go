//go:build unix

package terraform

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// startInGroup makes cmd the leader of a new process group, so that signals
// reach terraform and the providers it starts, and nothing else.
func startInGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr)
}

// interruptGroup sends SIGINT to the process group led by p, the way a
// terminal's Ctrl-C does.
func interruptGroup(p *os.Process) error {
	return signalGroup(p, syscall.SIGINT)
}

// killGroup sends SIGKILL to the process group led by p.
func killGroup(p *os.Process) error {
	return signalGroup(p, syscall.SIGKILL)
}

func signalGroup(p *os.Process, sig syscall.Signal) error {
	err := syscall.Kill(-p.Pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// flockFile takes an exclusive flock(2) on f, blocking. flock locks belong to
// the open file description, so two opens of the same file in one process
// exclude each other as two processes do.
func flockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func funlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
