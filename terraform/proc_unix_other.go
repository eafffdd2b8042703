//go:build unix && !linux

package terraform

import "syscall"

func setParentDeathSignal(*syscall.SysProcAttr) {}
