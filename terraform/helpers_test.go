package terraform

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform/test/tftest"
)

// newTestEngine returns an engine for real terraform runs: its own work
// directory, the provider mirror as the operator's CLI config (with a plugin
// cache of the test's own), no installs.
func newTestEngine(t *testing.T, opts ...Option) (*Engine, *tftest.Tools) {
	t.Helper()
	tools := tftest.Load(t)
	base := []Option{
		WithWorkDir(t.TempDir()),
		WithCLIConfig(tools.MirrorConfig(t)),
		WithLogger(testLogger(t)),
	}
	e, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e, tools
}

// testLogger writes the engine's log to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// testContext is cancelled at the test's end or after two minutes.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// workspaceDir writes files into a new directory.
func workspaceDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ws")
	tftest.WriteFiles(t, dir, files)
	return dir
}

// hasProvider reports whether the mirror holds a provider, e.g.
// "landform/testcloud".
func hasProvider(tools *tftest.Tools, source string) bool {
	matches, _ := filepath.Glob(filepath.Join(tools.Mirror, "registry.terraform.io", source, "*"))
	return len(matches) > 0
}

var planLineRe = regexp.MustCompile(`Plan: (\d+) to add, (\d+) to change, (\d+) to destroy`)

// printedCounts reads terraform's own "Plan: ..." line from plan text.
func printedCounts(t *testing.T, text string) (add, change, destroy int) {
	t.Helper()
	m := planLineRe.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no Plan: line in plan text:\n%s", text)
	}
	add, _ = strconv.Atoi(m[1])
	change, _ = strconv.Atoi(m[2])
	destroy, _ = strconv.Atoi(m[3])
	return add, change, destroy
}

// processesIn lists the pids of live processes whose working directory is
// dir (Linux /proc).
func processesIn(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", ent.Name(), "cwd"))
		if err == nil && cwd == dir {
			pids = append(pids, pid)
		}
	}
	return pids
}

// syncBuffer is a goroutine-safe bytes.Buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
