//go:build !unix

package datadir

import "os"

// Without flock the directory is not guarded: Landform's daemon runs on
// unix systems.
func tryLock(*os.File) (bool, error) { return true, nil }

func unlock(*os.File) error { return nil }
