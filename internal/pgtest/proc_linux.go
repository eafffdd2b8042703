package pgtest

import "syscall"

// sysProcAttr runs the server as cred (nil: this process's user) and has
// the kernel stop it at once (SIGQUIT: an immediate shutdown, which ends
// its children too) when the test binary dies without running Main's
// cleanup (a panic, a -timeout), so no server outlives its tests.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}
