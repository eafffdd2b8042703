package gitrepo

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"
)

// errRefMoved and errRefLocked make a local ref update try again.
var (
	errRefMoved  = errors.New("ref moved")
	errRefLocked = errors.New("ref is locked")
)

// readRef reads ref from the git directory dir as git stores it: a loose
// file, else a line of packed-refs. It returns zero when there is no such
// ref.
func readRef(dir string, ref plumbing.ReferenceName) (plumbing.Hash, error) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ref.String())))
	if err == nil {
		s := strings.TrimSpace(string(b))
		if !plumbing.IsHash(s) {
			return plumbing.ZeroHash, fmt.Errorf("%s is not a commit ref: %q", ref, s)
		}
		return plumbing.NewHash(s), nil
	}
	// A missing file, or a file where a directory of the name should be.
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return plumbing.ZeroHash, err
	}
	f, err := os.Open(filepath.Join(dir, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// "SHA NAME" lines, between a "# pack-refs" header and "^SHA" peeled
		// values of tags.
		sha, name, ok := strings.Cut(sc.Text(), " ")
		if ok && name == ref.String() && plumbing.IsHash(sha) {
			return plumbing.NewHash(sha), nil
		}
	}
	return plumbing.ZeroHash, sc.Err()
}

// casRef sets ref in the git directory dir to new if it is still old (zero:
// absent), the way git does: it creates ref.lock exclusively, checks the
// current value, writes the new one into the lock file and renames it over
// the ref. git itself and other Landform processes honour the lock.
func casRef(dir string, ref plumbing.ReferenceName, old, new plumbing.Hash) (err error) {
	path := filepath.Join(dir, filepath.FromSlash(ref.String()))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	lock := path + ".lock"
	f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s exists (remove it if no git process is running)", errRefLocked, lock)
	}
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(lock)
		}
	}()
	cur, err := readRef(dir, ref)
	if err != nil {
		return err
	}
	if cur != old {
		return fmt.Errorf("%w: %s is at %s, not %s", errRefMoved, ref, cur, old)
	}
	if _, err := f.WriteString(new.String() + "\n"); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(lock, path); err != nil {
		return err
	}
	renamed = true
	return nil
}
