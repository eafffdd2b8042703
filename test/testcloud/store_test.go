package testcloud

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type testObject struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Size int    `json:"size"`
}

func newTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := NewStore(filepath.Join(t.TempDir(), "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewStoreCreatesRoot(t *testing.T) {
	s := newTestStore(t)
	if fi, err := os.Stat(s.Root()); err != nil || !fi.IsDir() {
		t.Fatalf("root %s not created: %v", s.Root(), err)
	}
	if !filepath.IsAbs(s.Root()) {
		t.Errorf("Root() = %q, want an absolute path", s.Root())
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	want := testObject{ID: "a", Name: "a", Size: 1}
	if err := s.Put(ctx, "thing", "a", want); err != nil {
		t.Fatal(err)
	}
	want.Size = 2
	if err := s.Put(ctx, "thing", "a", want); err != nil {
		t.Fatal(err)
	}
	var got testObject
	if err := s.Get(ctx, "thing", "a", &got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Get = %+v, want %+v", got, want)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "thing", "a.json")); err != nil {
		t.Errorf("object not at ROOT/thing/a.json: %v", err)
	}
}

// TestPutLeavesNoTemporaryFiles checks that writes go through a temporary
// file that is renamed into place: after any number of writes the kind's
// directory holds exactly the object files.
func TestPutLeavesNoTemporaryFiles(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for i := range 5 {
		if err := s.Put(ctx, "thing", "a", testObject{Size: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Create(ctx, "thing", "b", "b", testObject{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "thing", "b", "b", testObject{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	entries, err := os.ReadDir(filepath.Join(s.Root(), "thing"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"a.json", "b.json"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %v, want %v", names, want)
	}
}

// TestPutIsAtomic checks that a reader holding the old file keeps seeing a
// whole old object while Put replaces it: the file is renamed over, never
// rewritten in place.
func TestPutIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if err := s.Put(ctx, "thing", "a", testObject{Name: "old"}); err != nil {
		t.Fatal(err)
	}
	old, err := os.Open(s.Path("thing", "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := s.Put(ctx, "thing", "a", testObject{Name: "new"}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _ := old.Read(buf)
	if !strings.Contains(string(buf[:n]), `"old"`) {
		t.Errorf("open handle sees %q, want the old object", buf[:n])
	}
}

func TestGetMissingIsNotFound(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	var obj testObject
	err := s.Get(ctx, "thing", "nope", &obj)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing object: %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), s.Path("thing", "nope")) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestGetCorruptFile(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	path := s.Path("thing", "bad")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"id": "bad",`), 0o644); err != nil {
		t.Fatal(err)
	}
	var obj testObject
	err := s.Get(ctx, "thing", "bad", &obj)
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a corrupt file: %v, want a decoding error", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if err := s.Create(ctx, "thing", "i-1", "web", testObject{ID: "i-1", Name: "web"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		id, obj  string
		existsID string // "" when Create must succeed
	}{
		{name: "same id", id: "i-1", obj: "other", existsID: "i-1"},
		{name: "same name, other id", id: "i-2", obj: "web", existsID: "i-1"},
		{name: "new id and name", id: "i-3", obj: "db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Create(ctx, "thing", tt.id, tt.obj, testObject{ID: tt.id, Name: tt.obj})
			if tt.existsID == "" {
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrExists) {
				t.Fatalf("Create: %v, want ErrExists", err)
			}
			exists, ok := errors.AsType[*ExistsError](err)
			if !ok || exists.ID != tt.existsID || exists.Path != s.Path("thing", tt.existsID) {
				t.Errorf("Create: %#v, want an *ExistsError for %s", err, tt.existsID)
			}
		})
	}
	var got testObject
	if err := s.Get(ctx, "thing", "i-1", &got); err != nil || got.Name != "web" {
		t.Errorf("the existing object changed: %+v, %v", got, err)
	}
}

func TestDeleteAndList(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if ids, err := s.List(ctx, "thing"); err != nil || len(ids) != 0 {
		t.Fatalf("List of an empty kind = %v, %v", ids, err)
	}
	for _, id := range []string{"b", "a"} {
		if err := s.Put(ctx, "thing", id, testObject{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "thing", "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "thing", "b"); err != nil {
		t.Errorf("Delete of a missing object: %v, want nil", err)
	}
	ids, err := s.List(ctx, "thing")
	if err != nil || !slices.Equal(ids, []string{"a"}) {
		t.Errorf("List = %v, %v, want [a]", ids, err)
	}
}

func TestInvalidID(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for _, id := range []string{"", "../escape", "a/b", ".hidden"} {
		if err := s.Put(ctx, "thing", id, testObject{}); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Put(%q): %v, want ErrInvalidID", id, err)
		}
		if err := s.Get(ctx, "thing", id, &testObject{}); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Get(%q): %v, want ErrInvalidID", id, err)
		}
	}
}
