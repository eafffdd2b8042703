package datadir

import (
	"os"
	"strings"
	"testing"
)

func TestWorkRootIsPrivateAndOutsideTheDataDir(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	dataDir := t.TempDir()
	dir, remove, err := MakeWorkRoot(dataDir, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(dir, dataDir) {
		t.Errorf("work root %s is inside the data directory", dir)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("work root: %v, %v", fi, err)
	}
	if other := WorkRoot(t.TempDir()); other == dir {
		t.Error("two data directories share a work root")
	}
	remove()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("an empty work root was not removed: %v", err)
	}

	// Someone else's symlink in the shared temporary directory is refused.
	if err := os.Symlink(t.TempDir(), dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := MakeWorkRoot(dataDir, false); err == nil || !strings.Contains(err.Error(), "not a directory of this user's") {
		t.Errorf("a symlinked work root: %v", err)
	}
	if _, _, err := MakeWorkRoot(dataDir, true); err != nil {
		t.Errorf("clean replaces what was there: %v", err)
	}
}
