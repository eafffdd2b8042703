//go:build !unix

package terraform

import (
	"os"
	"os/exec"
)

func startInGroup(*exec.Cmd) {}

func interruptGroup(p *os.Process) error { return p.Signal(os.Interrupt) }

func killGroup(p *os.Process) error { return p.Kill() }

// Without flock, init is serialized within the process only.
func flockFile(*os.File) error { return nil }

func funlockFile(*os.File) error { return nil }
