package policies

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/landform/landform"
)

// Limits on what LoadDir and Test read: policy directories are repository
// content, which Landform does not trust.
const (
	// MaxFileSize is the largest .rego file read.
	MaxFileSize = 1 << 20
	// MaxTotalSize is the most .rego bytes read from one directory tree.
	MaxTotalSize = 8 << 20
	// MaxFiles is the most .rego files read from one directory tree.
	MaxFiles = 1000
)

// LoadDir returns the policy modules of the directory tree dir in fsys: its
// .rego files except the *_test.rego ones, keyed by their path relative to
// dir ("/"-separated), with their source.
//
// It returns EINVALID when a file is larger than MaxFileSize, the files
// together are larger than MaxTotalSize or more than MaxFiles, a .rego file
// or a directory on the way is a symbolic link (not followed: it could
// point outside the repository), or the tree holds no policy module — a
// policy directory that loads nothing must not pass every plan. It returns
// ENOTFOUND when dir does not exist.
func LoadDir(fsys fs.FS, dir string) (map[string]string, error) {
	mods, err := readDir(fsys, dir, false)
	if err != nil {
		return nil, err
	}
	if len(mods) == 0 {
		return nil, landform.Errorf(landform.EINVALID, "policy directory %s: no .rego policy files", dir)
	}
	return mods, nil
}

// readDir reads the .rego files under dir, the *_test.rego ones too when
// tests is set, within the limits above.
func readDir(fsys fs.FS, dir string, tests bool) (map[string]string, error) {
	dir = path.Clean(dir)
	mods := map[string]string{}
	var files, total int
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// A link to a directory or a .rego file would hide policies
			// if skipped and could read outside the repository if
			// followed: refuse it. Other links are not read.
			info, statErr := fs.Stat(fsys, p)
			if strings.HasSuffix(p, ".rego") || (statErr == nil && info.IsDir()) {
				return landform.Errorf(landform.EINVALID, "policy directory %s: %s is a symbolic link, which is not followed", dir, p)
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") || (!tests && isTestFile(p)) {
			return nil
		}
		if !d.Type().IsRegular() {
			return landform.Errorf(landform.EINVALID, "policy directory %s: %s is not a regular file", dir, p)
		}
		files++
		if files > MaxFiles {
			return landform.Errorf(landform.EINVALID, "policy directory %s: more than %d .rego files", dir, MaxFiles)
		}
		src, err := readLimited(fsys, p, MaxFileSize)
		if err != nil {
			return err
		}
		total += len(src)
		if total > MaxTotalSize {
			return landform.Errorf(landform.EINVALID, "policy directory %s: .rego files larger than %d bytes in all", dir, MaxTotalSize)
		}
		name := p
		if dir != "." {
			name = strings.TrimPrefix(p, dir+"/")
		}
		mods[name] = string(src)
		return nil
	})
	if err != nil {
		var le *landform.Error
		switch {
		case errors.As(err, &le):
			return nil, err
		case errors.Is(err, fs.ErrNotExist):
			return nil, landform.Errorf(landform.ENOTFOUND, "policy directory %s: %w", dir, err)
		default:
			return nil, fmt.Errorf("reading policy directory %s: %w", dir, err)
		}
	}
	return mods, nil
}

// readLimited reads the file p, failing with EINVALID when it holds more
// than max bytes.
func readLimited(fsys fs.FS, p string, max int64) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if int64(len(src)) > max {
		return nil, landform.Errorf(landform.EINVALID, "policy file %s is larger than %d bytes", p, max)
	}
	return src, nil
}
