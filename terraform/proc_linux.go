package terraform

import "syscall"

// setParentDeathSignal kills terraform when Landform dies, as terraform-exec
// does, so that no orphan holds a state lock.
func setParentDeathSignal(a *syscall.SysProcAttr) {
	a.Pdeathsig = syscall.SIGKILL
}
