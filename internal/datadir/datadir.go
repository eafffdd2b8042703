// Package datadir guards a Landform data directory: one process at a time
// may run work from it. Two daemons on one directory would each recover
// the other's running runs at start (re-queue them, delete their work
// directories) and then plan every commit twice; a one-shot `landform
// plan` runs its own in-process queue, whose runs a daemon's workers could
// claim. So `landform serve` and `landform plan` take the directory's lock
// before they touch anything, and a second one is told who holds it.
// Commands that only read, or make one small change (runs, show, locks,
// unlock, workspaces, affected), do not take it.
//
// The lock is flock(2) on the file daemon.lock in the directory, which
// also names the holder (command, pid, host, start time). The kernel
// releases it when the holder exits, however it exits, so a crash leaves
// no stale lock to clean up; the file stays, naming the last holder. flock
// locks belong to the open file description, so two Locks in one process
// exclude each other as two processes do. A data directory on a network
// file system that does not support flock across hosts is not guarded.
package datadir

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/landform/landform"
)

// LockName is the lock file's name in the data directory.
const LockName = "daemon.lock"

// Ensure creates the data directory dir, and its parents, readable by the
// owner only (0700) when it is missing; an existing directory is left as
// it is.
func Ensure(dir string) error {
	if dir == "" {
		return landform.Errorf(landform.EINVALID, "empty data directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	return nil
}

// Holder is who holds a data directory.
type Holder struct {
	// Command is what runs there: "landform serve", "landform plan".
	Command string    `json:"command"`
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Since   time.Time `json:"since"`
}

// InUseError is the error of Acquire when another process (or another
// Lock in this one) holds the directory. Holder is zero when the lock file
// does not name it (its holder was still writing it).
type InUseError struct {
	Dir    string
	Holder Holder
}

func (e *InUseError) Error() string {
	h := e.Holder
	if h.PID == 0 {
		return fmt.Sprintf("data directory %s is in use by another Landform process", e.Dir)
	}
	return fmt.Sprintf("data directory %s is in use by %s, pid %d on host %s since %s",
		e.Dir, h.Command, h.PID, h.Host, h.Since.Local().Format(time.RFC3339))
}

// Lock is the hold on a data directory, until Release or the process
// exits.
type Lock struct {
	f *os.File
}

// Acquire takes the lock of the data directory dir for command (such as
// "landform serve"), creating the directory (0700) when missing, and
// records the holder in the lock file. It does not wait.
//
// Returns ECONFLICT wrapping an *InUseError naming the holder when the
// directory is held; EINVALID for an empty dir.
func Acquire(dir, command string) (*Lock, error) {
	if err := Ensure(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the data directory's lock: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if !held {
		inUse := &InUseError{Dir: dir, Holder: readHolder(f)}
		f.Close()
		return nil, landform.Errorf(landform.ECONFLICT, "%w", inUse)
	}
	host, _ := os.Hostname()
	h := Holder{Command: command, PID: os.Getpid(), Host: host, Since: time.Now().UTC().Truncate(time.Second)}
	if err := writeHolder(f, h); err != nil {
		unlock(f)
		f.Close()
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// writeHolder replaces the file's content with h in one write, then cuts
// what an older, longer holder left after it: a reader sees the old
// holder or the new one, not a mix.
func writeHolder(f *os.File, h Holder) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(b)))
}

// readHolder reads the holder the lock file names; zero if it names none.
func readHolder(f *os.File) Holder {
	var h Holder
	if err := json.NewDecoder(io.NewSectionReader(f, 0, 1<<16)).Decode(&h); err != nil {
		return Holder{}
	}
	return h
}

// Release gives the directory up. Releasing twice is not an error.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("releasing the data directory: %w", err)
	}
	return nil
}
