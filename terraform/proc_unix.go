//go:build unix

package terraform

import (
	"errors"
	"os"
	"syscall"
)

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
