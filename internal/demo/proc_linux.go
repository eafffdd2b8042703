package demo

import "syscall"

// daemonAttr puts git daemon in a process group of its own (Close stops
// the group) and has the kernel stop it when the demo dies without
// closing it (killed, or its terminal gone).
func daemonAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
