package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/datadir"
)

// ErrNoDemo is in the chain of FindSession's error when no demo runs on
// the data directory. Callers use errors.Is.
var ErrNoDemo = errors.New("no demo is running")

// Session is how another command finds the running demo's daemon: written
// by `landform demo` once its daemon answers, removed when it stops.
type Session struct {
	// URL is the daemon's base URL (BaseURL).
	URL string `json:"url"`
	// TokenFile holds the demo user's API token.
	TokenFile string `json:"token_file"`
	// PID is the demo's process, which holds the data directory's lock.
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
	// DriftEvery is the interval of the daemon's drift checks
	// (time.Duration's format).
	DriftEvery string `json:"drift_every"`
}

// Token reads the demo user's API token.
func (s Session) Token() (string, error) {
	b, err := os.ReadFile(s.TokenFile)
	if err != nil {
		return "", fmt.Errorf("reading the demo's API token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// WriteToken writes the demo user's API token to path, readable by the
// owner only.
func WriteToken(path, token string) error {
	return writeFileAtomic(path, []byte(token+"\n"), 0o600)
}

// WriteSession writes s to path (Layout.SessionFile), replacing it at
// once.
func WriteSession(path string, s Session) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}

// FindSession returns the session of the demo running on dataDir, whose
// layout is l. The error wraps ErrNoDemo (with ENOTFOUND) when no demo
// runs there: no session file, or its demo is gone (nothing holds the
// data directory). ECONFLICT when another Landform process than the
// demo holds the directory.
func FindSession(l Layout, dataDir string) (Session, error) {
	var s Session
	b, err := os.ReadFile(l.SessionFile)
	if errors.Is(err, fs.ErrNotExist) {
		return s, landform.Errorf(landform.ENOTFOUND, "%w in %s: start one with `landform demo` (in another terminal, from the same directory or with the same --data-dir)", ErrNoDemo, dataDir)
	}
	if err != nil {
		return s, fmt.Errorf("reading the demo's session: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil || s.URL == "" {
		return s, fmt.Errorf("the demo's session file %s is damaged: start the demo again", l.SessionFile)
	}
	lock, err := datadir.Acquire(dataDir, "landform demo drift")
	if err == nil {
		lock.Release()
		return s, landform.Errorf(landform.ENOTFOUND, "%w in %s: the demo that started at %s stopped; start it again with `landform demo`",
			ErrNoDemo, dataDir, s.StartedAt.Local().Format(time.Kitchen))
	}
	var inUse *datadir.InUseError
	if errors.As(err, &inUse) && inUse.Holder.PID != 0 && inUse.Holder.PID != s.PID {
		return s, landform.Errorf(landform.ECONFLICT, "%w: %s holds %s, not the demo", ErrNoDemo, inUse.Holder.Command, dataDir)
	}
	if !errors.As(err, &inUse) {
		return s, err
	}
	return s, nil
}

// writeFileAtomic writes data to path through a temporary file in its
// directory, so that a reader sees the old content or the new.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
