package fs_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/planstore"
	planfs "github.com/landform/landform/planstore/fs"
	"github.com/landform/landform/planstore/planstoretest"
	"github.com/landform/landform/runner"
)

var _ runner.PlanStore = (*planfs.Store)(nil)

func TestSuite(t *testing.T) {
	planstoretest.Run(t, func(t *testing.T) planstoretest.Store {
		return newStore(t, t.TempDir())
	})
}

func newStore(t *testing.T, dir string) *planfs.Store {
	t.Helper()
	s, err := planfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stored returns a store in a temp dir holding the artifact of run 42, and
// that run's directory.
func stored(t *testing.T) (*planfs.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s := newStore(t, dir)
	if _, err := s.Put(t.Context(), "42", planstoretest.Artifact("stored")); err != nil {
		t.Fatal(err)
	}
	return s, filepath.Join(dir, "42")
}

// wantCorrupt fails the test unless Get of run 42 is an ErrCorrupt naming
// the run and part.
func wantCorrupt(t *testing.T, s *planfs.Store, part string) {
	t.Helper()
	a, err := s.Get(t.Context(), "42")
	if !errors.Is(err, planstore.ErrCorrupt) {
		t.Fatalf("Get = %v, want ErrCorrupt", err)
	}
	if a != nil {
		t.Error("Get returned data along with the corruption error")
	}
	if msg := err.Error(); !strings.Contains(msg, "run 42") || !strings.Contains(msg, part) {
		t.Errorf("error %q does not name run 42 and %s", msg, part)
	}
}

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	if _, err := s.Put(t.Context(), "42", planstoretest.Artifact("layout")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "42" {
		t.Errorf("store directory holds %v, want only 42 (no temporary leftovers)", entries)
	}
	runDir := filepath.Join(dir, "42")
	if fi, err := os.Stat(runDir); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o700 {
		t.Errorf("run directory has mode %v, want 0700", fi.Mode().Perm())
	}
	for _, name := range []string{"plan.tfplan", "plan.json", "plan.txt", "manifest.json"} {
		fi, err := os.Stat(filepath.Join(runDir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}

	if err := s.Delete(t.Context(), "42"); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("store directory holds %v after Delete, want nothing", entries)
	}
}

func TestCorruptPart(t *testing.T) {
	for _, part := range []string{"plan.tfplan", "plan.json", "plan.txt"} {
		t.Run(part, func(t *testing.T) {
			s, runDir := stored(t)
			path := filepath.Join(runDir, part)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0x01
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			wantCorrupt(t, s, part)
		})
	}
}

func TestTruncatedPart(t *testing.T) {
	for _, size := range []int64{0, 5} {
		s, runDir := stored(t)
		if err := os.Truncate(filepath.Join(runDir, "plan.tfplan"), size); err != nil {
			t.Fatal(err)
		}
		wantCorrupt(t, s, "plan.tfplan")
	}
}

func TestMissingFile(t *testing.T) {
	for _, name := range []string{"manifest.json", "plan.tfplan", "plan.json", "plan.txt"} {
		t.Run(name, func(t *testing.T) {
			s, runDir := stored(t)
			if err := os.Remove(filepath.Join(runDir, name)); err != nil {
				t.Fatal(err)
			}
			wantCorrupt(t, s, name)
		})
	}
}

// TestCorruptManifest flips each byte of the manifest in turn: whatever the
// byte, Get must fail.
func TestCorruptManifest(t *testing.T) {
	s, runDir := stored(t)
	path := filepath.Join(runDir, "manifest.json")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range orig {
		b := append([]byte(nil), orig...)
		b[i] ^= 0xff
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(t.Context(), "42"); !errors.Is(err, planstore.ErrCorrupt) {
			t.Fatalf("byte %d of the manifest flipped: Get = %v, want ErrCorrupt", i, err)
		}
	}
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), "42"); err != nil {
		t.Fatalf("restored manifest: %v", err)
	}
}

// TestManifestOfAnotherRun catches an artifact moved under another run's ID.
func TestManifestOfAnotherRun(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	if _, err := s.Put(t.Context(), "41", planstoretest.Artifact("other")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "41"), filepath.Join(dir, "42")); err != nil {
		t.Fatal(err)
	}
	wantCorrupt(t, s, "manifest.json")
}

func TestNewInvalid(t *testing.T) {
	_, err := planfs.New("")
	if code := landform.ErrorCode(err); code != landform.EINVALID {
		t.Errorf("New(\"\") = %v, want EINVALID", err)
	}
}

func TestNewCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "plans")
	s := newStore(t, dir)
	if _, err := s.Put(t.Context(), "1", planstoretest.Artifact("x")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o700 {
		t.Errorf("store directory has mode %v, want 0700", fi.Mode().Perm())
	}
}

// TestHighestRunIDCountsCrashLeftovers: a Put or Delete cut off by a crash
// leaves a dot-named directory; its run ID was handed out, so it counts.
func TestHighestRunIDCountsCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	for _, name := range []string{"12", ".put-2000-Q2X7", ".del-3000-ZZ9", ".put-x-1", "notes"} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "4000"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.HighestRunID(t.Context())
	if err != nil || got != 3000 {
		t.Errorf("HighestRunID = %d, %v; want 3000 (a delete cut off; a file is no artifact)", got, err)
	}
}
