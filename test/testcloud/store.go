package testcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// ErrNotFound is returned, wrapped, when an object does not exist. Callers
// use errors.Is.
var ErrNotFound = errors.New("object not found")

// ErrExists is what an *ExistsError matches with errors.Is.
var ErrExists = errors.New("object already exists")

// ErrInvalidID is returned, wrapped, for an id that cannot be a file name.
var ErrInvalidID = errors.New("invalid object id")

// ExistsError reports that Create found an object with the same id or name.
type ExistsError struct {
	Kind string // object type, e.g. "bucket"
	Name string // the name that is taken
	ID   string // id of the object that holds it
	Path string // that object's file
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s %q already exists (%s)", e.Kind, e.Name, e.Path)
}

// Is makes errors.Is(err, ErrExists) true.
func (e *ExistsError) Is(target error) bool { return target == ErrExists }

// validID matches the ids the store accepts: a file name without path
// separators, not starting with a dot.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Store is the testcloud "cloud": a directory in which every object is the
// JSON file ROOT/<kind>/<id>.json. Writes are atomic (temporary file, then
// rename or link), so a reader never sees a half-written object. A Store is
// safe for concurrent use within one process; Create across processes is
// safe for the id but not for the name scan of kinds whose ids are not
// their names.
type Store struct {
	root string
	mu   sync.Mutex // serialises Create's name check and write
}

// NewStore returns the store kept in root, creating the directory if it is
// missing. root is made absolute so errors name full paths.
func NewStore(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving cloud root %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("creating cloud root: %w", err)
	}
	return &Store{root: abs}, nil
}

// Root returns the store's absolute directory.
func (s *Store) Root() string { return s.root }

// Path returns the file that holds kind/id, whether or not it exists.
func (s *Store) Path(kind, id string) string {
	return filepath.Join(s.root, kind, id+".json")
}

// Get decodes the object kind/id into v. It returns an error wrapping
// ErrNotFound when the file does not exist, and an error naming the file
// when it cannot be read or is not valid JSON.
func (s *Store) Get(ctx context.Context, kind, id string, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	path := s.Path(kind, id)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %q (%s): %w", kind, id, path, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	return nil
}

// Put writes v as the object kind/id, replacing any existing object
// atomically.
func (s *Store) Put(ctx context.Context, kind, id string, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tmp, err := s.writeTemp(kind, id, v)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, s.Path(kind, id)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", s.Path(kind, id), err)
	}
	return nil
}

// Create writes v as the new object kind/id. name is the object's unique
// name within its kind; when it differs from id, Create also scans the
// kind's objects for one with the same "name" field. It returns an
// *ExistsError (errors.Is ErrExists) when the id or the name is taken, and
// never replaces an existing file.
func (s *Store) Create(ctx context.Context, kind, id, name string, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if name != id {
		if err := s.checkName(ctx, kind, name); err != nil {
			return err
		}
	}
	tmp, err := s.writeTemp(kind, id, v)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	// A hard link, unlike a rename, fails when the target exists.
	path := s.Path(kind, id)
	err = os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		return &ExistsError{Kind: kind, Name: name, ID: id, Path: path}
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Delete removes the object kind/id. A missing object is not an error.
func (s *Store) Delete(ctx context.Context, kind, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	err := os.Remove(s.Path(kind, id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting %s %q: %w", kind, id, err)
	}
	return nil
}

// List returns the ids of kind's objects in lexical order; none when the
// kind's directory does not exist.
func (s *Store) List(ctx context.Context, kind string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(s.root, kind))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s objects: %w", kind, err)
	}
	var ids []string
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && e.Type().IsRegular() && validID.MatchString(id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// checkName returns an *ExistsError when an object of kind has the given
// name.
func (s *Store) checkName(ctx context.Context, kind, name string) error {
	ids, err := s.List(ctx, kind)
	if err != nil {
		return err
	}
	for _, id := range ids {
		var obj struct {
			Name string `json:"name"`
		}
		if err := s.Get(ctx, kind, id, &obj); err != nil {
			if errors.Is(err, ErrNotFound) {
				continue // deleted while we looked
			}
			return err
		}
		if obj.Name == name {
			return &ExistsError{Kind: kind, Name: name, ID: id, Path: s.Path(kind, id)}
		}
	}
	return nil
}

// writeTemp writes v as indented JSON to a new temporary file beside
// kind/id's file and returns its name. The name starts with a dot, so List
// never reports it.
func (s *Store) writeTemp(kind, id string, v any) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding %s %q: %w", kind, id, err)
	}
	dir := filepath.Join(s.root, kind)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+id+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("writing %s %q: %w", kind, id, err)
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing %s %q: %w", kind, id, err)
	}
	return f.Name(), nil
}

func checkID(id string) error {
	if !validID.MatchString(id) {
		return fmt.Errorf("%q: %w: use letters, digits, '.', '_' and '-', starting with a letter or digit", id, ErrInvalidID)
	}
	return nil
}
