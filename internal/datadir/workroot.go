package datadir

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/landform/landform"
)

// WorkRoot is where the runs of the data directory dataDir (absolute) make
// their work directories (each run's exported tree and scratch directory):
// os.TempDir()/landform-<uid>-<hash of dataDir>. It is not inside the data
// directory, so that no path terraform is given leads to the database, the
// plans or the clones, even through a sandbox bind of a work directory's
// parent.
func WorkRoot(dataDir string) string {
	sum := sha256.Sum256([]byte(dataDir))
	return filepath.Join(os.TempDir(), fmt.Sprintf("landform-%d-%s", os.Getuid(), hex.EncodeToString(sum[:8])))
}

// MakeWorkRoot creates dataDir's work root, readable by its owner only
// (0700), and returns it with a function that removes it when it is empty
// (call it when the command ends). An existing one must be a directory of
// this user's — not a symlink, not another user's: the temporary directory
// is shared — and is made 0700. With clean, what a crash left in it is
// removed first.
func MakeWorkRoot(dataDir string, clean bool) (string, func(), error) {
	dir := WorkRoot(dataDir)
	if clean {
		if err := os.RemoveAll(dir); err != nil {
			return "", nil, fmt.Errorf("cleaning work directory: %w", err)
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", nil, fmt.Errorf("making work directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", nil, fmt.Errorf("making work directory: %w", err)
	}
	if !fi.IsDir() || !ownedByMe(fi) {
		return "", nil, landform.Errorf(landform.EINVALID, "work directory %s exists and is not a directory of this user's; remove it", dir)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return "", nil, fmt.Errorf("making work directory: %w", err)
		}
	}
	return dir, func() { _ = os.Remove(dir) }, nil
}
