package gate

import (
	"io/fs"
	"os"
)

// dirFS is the directory at path on this machine.
func dirFS(path string) fs.FS { return os.DirFS(path) }
