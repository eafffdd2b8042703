//go:build !linux

package demo

import "syscall"

// daemonAttr puts git daemon in a process group of its own (Close stops
// the group). Without Linux's Pdeathsig, a demo killed without closing it
// leaves git daemon running.
func daemonAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
