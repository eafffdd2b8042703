// Package fs keeps plan artifacts in a local directory, Landform's default
// plan store. Import it as planfs. Each run has its own subdirectory:
//
//	DIR/<runID>/plan.tfplan    the binary plan file
//	DIR/<runID>/plan.json      its `terraform show -json` output
//	DIR/<runID>/plan.txt       its plain-text rendering
//	DIR/<runID>/manifest.json  the sha256 and size of each of the three
//
// Put writes the parts, then the manifest, into a temporary directory beside
// the final one (".put-<runID>-…", each file synced) and renames it into
// place, so a run's directory is complete or absent, and of two concurrent
// Puts of one run exactly one wins. Delete renames the directory away
// (".del-<runID>-…") before removing it. A crash can leave such a dot-named
// directory behind; it never shadows an artifact.
//
// Get verifies every part against the manifest and returns an error wrapping
// planstore.ErrCorrupt rather than data that fails verification. Plans can
// hold secrets, so directories are created 0700 and files 0600.
package fs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/landform/landform"
	"github.com/landform/landform/planstore"
)

// Names of the files in a run's directory: the parts (planstore.Parts)
// and the manifest.
const (
	partPlan     = planstore.PartPlan
	partJSON     = planstore.PartJSON
	partText     = planstore.PartText
	manifestName = "manifest.json"
)

// Store keeps plan artifacts under one directory. It is safe for concurrent
// use, also by several processes sharing the directory.
type Store struct {
	dir string
}

// New returns a Store keeping artifacts in dir, which it creates (0700) when
// missing. Returns EINVALID for an empty dir.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, landform.Errorf(landform.EINVALID, "plan store directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating plan store directory: %w", err)
	}
	return &Store{dir: dir}, nil
}

// digest is a part's digest (planstore.DigestOf).
func digest(b []byte) planstore.Digest { return planstore.DigestOf(b) }

// Put stores a as the artifact of runID, sets a.SHA256 to the hex sha256 of
// a.Plan and returns it. Empty parts are stored as empty files.
//
// Returns EINVALID for an invalid run ID or a nil a, and ECONFLICT when runID
// already has an artifact (Delete it first); a is left unchanged on error.
func (s *Store) Put(ctx context.Context, runID string, a *landform.PlanArtifact) (string, error) {
	if err := checkRunID(runID); err != nil {
		return "", err
	}
	if a == nil {
		return "", landform.Errorf(landform.EINVALID, "plan artifact of run %s is nil", runID)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("storing plan artifact of run %s: %w", runID, err)
	}
	final := filepath.Join(s.dir, runID)
	if _, err := os.Lstat(final); err == nil {
		return "", conflict(runID)
	} else if !errors.Is(err, iofs.ErrNotExist) {
		return "", fmt.Errorf("storing plan artifact of run %s: %w", runID, err)
	}

	tmp, err := os.MkdirTemp(s.dir, ".put-"+runID+"-")
	if err != nil {
		return "", fmt.Errorf("storing plan artifact of run %s: %w", runID, err)
	}
	defer func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	m := planstore.NewManifest(runID, a)
	for i, data := range planstore.PartsOf(a) {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("storing plan artifact of run %s: %w", runID, err)
		}
		if err := writeFile(filepath.Join(tmp, planstore.Parts[i]), data); err != nil {
			return "", fmt.Errorf("storing plan artifact of run %s: %w", runID, err)
		}
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding manifest of run %s: %w", runID, err)
	}
	if err := writeFile(filepath.Join(tmp, manifestName), append(raw, '\n')); err != nil {
		return "", fmt.Errorf("storing plan artifact of run %s: %w", runID, err)
	}
	if err := syncDir(tmp); err != nil {
		return "", fmt.Errorf("storing plan artifact of run %s: %w", runID, err)
	}
	// Renaming a directory onto a non-empty one fails on every platform we
	// run on, which makes this the atomic check against a concurrent Put.
	if err := os.Rename(tmp, final); err != nil {
		if errors.Is(err, iofs.ErrExist) {
			return "", conflict(runID)
		}
		return "", fmt.Errorf("storing plan artifact of run %s: %w", runID, err)
	}
	tmp = ""
	if err := syncDir(s.dir); err != nil {
		return "", fmt.Errorf("storing plan artifact of run %s: %w", runID, err)
	}
	a.SHA256 = m.Parts[partPlan].SHA256
	return a.SHA256, nil
}

// Get returns the artifact of runID after verifying each part against the
// manifest.
//
// Returns EINVALID for an invalid run ID, ENOTFOUND when runID has no
// artifact, and an error wrapping planstore.ErrCorrupt, naming the run and the
// part, when the manifest or a part is missing, malformed, truncated or does
// not match its sha256.
func (s *Store) Get(ctx context.Context, runID string) (*landform.PlanArtifact, error) {
	if err := checkRunID(runID); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reading plan artifact of run %s: %w", runID, err)
	}
	dir := filepath.Join(s.dir, runID)
	raw, err := s.readPart(dir, runID, manifestName)
	if err != nil {
		return nil, err
	}
	m, err := parseManifest(raw, runID)
	if err != nil {
		return nil, corrupt(runID, manifestName, err.Error())
	}
	parts := make(map[string][]byte, 3)
	for _, name := range []string{partPlan, partJSON, partText} {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading plan artifact of run %s: %w", runID, err)
		}
		b, err := s.readPart(dir, runID, name)
		if err != nil {
			return nil, err
		}
		want, got := m.Parts[name], digest(b)
		if got.Size != want.Size {
			return nil, corrupt(runID, name, fmt.Sprintf("size %d, manifest says %d", got.Size, want.Size))
		}
		if got.SHA256 != want.SHA256 {
			return nil, corrupt(runID, name, fmt.Sprintf("sha256 %s, manifest says %s", got.SHA256, want.SHA256))
		}
		parts[name] = b
	}
	return &landform.PlanArtifact{
		Plan:   parts[partPlan],
		JSON:   parts[partJSON],
		Text:   string(parts[partText]),
		SHA256: m.Parts[partPlan].SHA256,
	}, nil
}

// readPart reads one file of the run directory dir. A missing file is
// ENOTFOUND when the whole directory is gone (never stored, or deleted
// meanwhile) and corruption otherwise.
func (s *Store) readPart(dir, runID, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err == nil {
		return b, nil
	}
	if !errors.Is(err, iofs.ErrNotExist) {
		return nil, fmt.Errorf("reading plan artifact of run %s: %w", runID, err)
	}
	if _, serr := os.Lstat(dir); errors.Is(serr, iofs.ErrNotExist) {
		return nil, landform.Errorf(landform.ENOTFOUND, "plan artifact of run %s not found", runID)
	}
	return nil, corrupt(runID, name, "missing")
}

// parseManifest is planstore.ParseManifest.
func parseManifest(raw []byte, runID string) (*planstore.Manifest, error) {
	return planstore.ParseManifest(raw, runID)
}

// Delete removes the artifact of runID. Deleting an absent artifact is not an
// error, so that a retried or repeated cleanup succeeds. Returns EINVALID for
// an invalid run ID.
func (s *Store) Delete(ctx context.Context, runID string) error {
	if err := checkRunID(runID); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting plan artifact of run %s: %w", runID, err)
	}
	// Move the directory out of the way first so that a concurrent Get sees
	// the whole artifact or none of it, never a half-deleted one.
	gone := filepath.Join(s.dir, ".del-"+runID+"-"+rand.Text())
	if err := os.Rename(filepath.Join(s.dir, runID), gone); err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("deleting plan artifact of run %s: %w", runID, err)
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("deleting plan artifact of run %s: %w", runID, err)
	}
	return nil
}

// HighestRunID returns the highest run ID that is a decimal number (as
// the store's run IDs are) among the artifacts in the directory, 0 when
// there is none: Landform's run IDs continue above it when the database
// was lost. The temporary directories a crash left behind count too, as
// their run IDs were handed out. Other IDs are ignored.
func (s *Store) HighestRunID(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("listing plan artifacts: %w", err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fmt.Errorf("listing plan artifacts: %w", err)
	}
	var highest int64
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		// .put-<runID>-<random> and .del-<runID>-<random>
		for _, prefix := range []string{".put-", ".del-"} {
			if rest, ok := strings.CutPrefix(name, prefix); ok {
				name, _, _ = strings.Cut(rest, "-")
			}
		}
		if n, ok := decimalID(name); ok {
			highest = max(highest, n)
		}
	}
	return highest, nil
}

// decimalID returns the number a run ID names when it is a canonical
// positive decimal number.
func decimalID(id string) (int64, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil && n > 0 && strconv.FormatInt(n, 10) == id
}

// checkRunID accepts IDs that are safe as one path segment (and as part of
// an object key): 1 to 128 letters, digits, '.', '-' and '_', starting with a
// letter or digit. That excludes separators, "..", and the dot-named
// temporary directories.
func checkRunID(id string) error {
	ok := id != "" && len(id) <= 128 && isAlnum(id[0])
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = isAlnum(c) || c == '.' || c == '-' || c == '_'
	}
	if !ok {
		return landform.Errorf(landform.EINVALID, "invalid run ID %q: want letters, digits, '.', '-' or '_', starting with a letter or digit", id)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func conflict(runID string) error {
	return landform.Errorf(landform.ECONFLICT, "plan artifact of run %s already exists", runID)
}

func corrupt(runID, part, detail string) error {
	return fmt.Errorf("plan artifact of run %s: %s: %s: %w", runID, part, detail, planstore.ErrCorrupt)
}

// writeFile creates path (which must not exist) with data and syncs it.
func writeFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
