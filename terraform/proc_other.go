//go:build !unix

package terraform

import "os"

// Without flock, init is serialized within the process only.
func flockFile(*os.File) error { return nil }

func funlockFile(*os.File) error { return nil }
