package terraform

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"syscall"
	"time"
)

// interruptPoll is how often an interrupted job looks for processes of its
// own that have not had SIGINT yet (one that started just as ctx ended).
const interruptPoll = 100 * time.Millisecond

// interrupt stops the job's running command the way Ctrl-C in a terminal
// does, then harder. It sends SIGINT, once, to the process group of every
// process of the job (terraform's group, which holds its providers):
// terraform stops its providers and releases its state lock. When the
// command has not ended after the engine's grace period, it kills every
// process of the job (killLeftovers) and only then cancels terraform-exec's
// context — cancelling it earlier would send terraform a second SIGINT,
// which makes terraform exit at once, lock held. It returns when exited is
// closed or after the kill.
func (j *Job) interrupt(exited <-chan struct{}, cancelTF context.CancelFunc) {
	self := syscall.Getpgrp()
	signalled := map[int]bool{}
	grace := time.NewTimer(j.engine.grace)
	defer grace.Stop()
	poll := time.NewTicker(interruptPoll)
	defer poll.Stop()
	for {
		for _, p := range jobProcesses(j.marker) {
			if p.pgid != self && !signalled[p.pgid] {
				signalled[p.pgid] = true
				_ = syscall.Kill(-p.pgid, syscall.SIGINT)
			}
		}
		select {
		case <-exited:
			return
		case <-grace.C:
			j.engine.logger.Warn("killing terraform after grace period", "workspace", j.name, "grace", j.engine.grace)
			j.killLeftovers()
			cancelTF()
			return
		case <-poll.C:
		}
	}
}

// killLeftovers sends SIGKILL to every process of the job and to its
// process group: terraform, its providers, and whatever they started,
// including processes that terraform's death reparented or that left the
// group. It returns once none of them is left, or after leftoverWait.
func (j *Job) killLeftovers() {
	self := syscall.Getpgrp()
	deadline := time.Now().Add(leftoverWait)
	for {
		procs := jobProcesses(j.marker)
		if len(procs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			j.engine.logger.Warn("terraform processes survived SIGKILL", "workspace", j.name, "processes", len(procs))
			return
		}
		for _, p := range procs {
			if p.pgid != self {
				_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
			}
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond) // for the kernel to tear them down
	}
}

// leftoverWait bounds how long killLeftovers waits for killed processes to
// go (a process in uninterruptible sleep dies when the sleep ends).
const leftoverWait = 5 * time.Second

// jobProcess is a live process of a job.
type jobProcess struct {
	pid, pgid int
}

// jobProcesses lists the live processes whose environment holds
// LANDFORM_JOB=marker: the job's terraform and the processes it started
// with its environment (providers, provisioners' commands), wherever they
// were reparented. Processes of other users, whose environment cannot be
// read, and zombies, whose environment is empty, are left out.
func jobProcesses(marker string) []jobProcess {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := []byte(jobMarkerEnv + "=" + marker)
	var out []jobProcess
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		environ, err := os.ReadFile("/proc/" + ent.Name() + "/environ")
		if err != nil || !hasEnvEntry(environ, want) {
			continue
		}
		pgid, err := syscall.Getpgid(pid)
		if err != nil {
			continue // gone
		}
		out = append(out, jobProcess{pid: pid, pgid: pgid})
	}
	return out
}

// hasEnvEntry reports whether the NUL-separated environ holds entry.
func hasEnvEntry(environ, entry []byte) bool {
	for e := range bytes.SplitSeq(environ, []byte{0}) {
		if bytes.Equal(e, entry) {
			return true
		}
	}
	return false
}
