package logtail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	if got := Read(path, 3); !strings.HasPrefix(got, "(no log: ") {
		t.Errorf("missing file: %q", got)
	}
	if err := os.WriteFile(path, []byte("a\nb\nc\nd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Read(path, 3); got != "b\nc\nd" {
		t.Errorf("last 3 lines: %q", got)
	}
	if got := Read(path, 10); got != "a\nb\nc\nd" {
		t.Errorf("all lines: %q", got)
	}
}
