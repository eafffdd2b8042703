// Package planstoretest is the test suite every plan artifact store passes
// (planstore/fs, and later planstore/s3), so that they keep one contract:
//
//   - Put stores the three parts, sets and returns the hex sha256 of the plan
//     file, and refuses with ECONFLICT to overwrite a run's artifact;
//   - Get returns exactly what was put, or ENOTFOUND;
//   - Delete removes an artifact, succeeds when there is none, and frees the
//     run ID;
//   - an invalid run ID (empty, "..", a path separator) is EINVALID;
//   - HighestRunID returns the highest decimal run ID stored, 0 for none.
//
// Tests of corruption are backend-specific: each backend damages its own
// storage and checks that Get returns planstore.ErrCorrupt.
package planstoretest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/landform/landform"
)

// Store is what the suite exercises.
type Store interface {
	Put(ctx context.Context, runID string, a *landform.PlanArtifact) (string, error)
	Get(ctx context.Context, runID string) (*landform.PlanArtifact, error)
	Delete(ctx context.Context, runID string) error
	// HighestRunID returns the highest run ID stored that is a decimal
	// number, 0 when there is none; other IDs are ignored.
	HighestRunID(ctx context.Context) (int64, error)
}

// Run runs the suite. newStore returns a new, empty store for each subtest
// and registers its own cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("EmptyParts", func(t *testing.T) { testEmptyParts(t, newStore(t)) })
	t.Run("GetMissing", func(t *testing.T) { testGetMissing(t, newStore(t)) })
	t.Run("OverwriteRefused", func(t *testing.T) { testOverwriteRefused(t, newStore(t)) })
	t.Run("ConcurrentPuts", func(t *testing.T) { testConcurrentPuts(t, newStore(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("RunsAreSeparate", func(t *testing.T) { testRunsAreSeparate(t, newStore(t)) })
	t.Run("LargePlan", func(t *testing.T) { testLargePlan(t, newStore(t)) })
	t.Run("InvalidRunID", func(t *testing.T) { testInvalidRunID(t, newStore(t)) })
	t.Run("CancelledPut", func(t *testing.T) { testCancelledPut(t, newStore(t)) })
	t.Run("HighestRunID", func(t *testing.T) { testHighestRunID(t, newStore(t)) })
}

// Artifact returns a small artifact whose parts all depend on seed. Backends'
// own tests use it too.
func Artifact(seed string) *landform.PlanArtifact {
	plan := []byte("PK\x03\x04 binary plan " + seed + "\x00\xff\xfe")
	return &landform.PlanArtifact{
		Plan: plan,
		JSON: []byte(`{"format_version":"1.2","seed":"` + seed + `"}`),
		Text: "Plan: 1 to add, 0 to change, 0 to destroy. (" + seed + ") — ünïcode\n",
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// put stores a copy of a under runID and fails the test on error.
func put(t *testing.T, s Store, runID string, a *landform.PlanArtifact) string {
	t.Helper()
	sum, err := s.Put(t.Context(), runID, a)
	if err != nil {
		t.Fatalf("Put(%s): %v", runID, err)
	}
	return sum
}

// checkGet fails the test unless Get(runID) returns want's parts and the
// sha256 of want.Plan.
func checkGet(t *testing.T, s Store, runID string, want *landform.PlanArtifact) {
	t.Helper()
	got, err := s.Get(t.Context(), runID)
	if err != nil {
		t.Fatalf("Get(%s): %v", runID, err)
	}
	if !bytes.Equal(got.Plan, want.Plan) {
		t.Errorf("Get(%s): plan differs (%d bytes, want %d)", runID, len(got.Plan), len(want.Plan))
	}
	if !bytes.Equal(got.JSON, want.JSON) {
		t.Errorf("Get(%s): JSON differs (%d bytes, want %d)", runID, len(got.JSON), len(want.JSON))
	}
	if got.Text != want.Text {
		t.Errorf("Get(%s): text = %q, want %q", runID, got.Text, want.Text)
	}
	if wantSum := sha256Hex(want.Plan); got.SHA256 != wantSum {
		t.Errorf("Get(%s): SHA256 = %q, want %q", runID, got.SHA256, wantSum)
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := landform.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func testRoundTrip(t *testing.T, s Store) {
	a := Artifact("round-trip")
	sum := put(t, s, "42", a)
	want := sha256Hex(a.Plan)
	if sum != want {
		t.Errorf("Put returned %q, want sha256 of the plan %q", sum, want)
	}
	if a.SHA256 != want {
		t.Errorf("Put set a.SHA256 = %q, want %q", a.SHA256, want)
	}
	checkGet(t, s, "42", a)
}

func testEmptyParts(t *testing.T, s Store) {
	a := &landform.PlanArtifact{Plan: []byte("plan only")}
	put(t, s, "7", a)
	checkGet(t, s, "7", a)
}

func testGetMissing(t *testing.T, s Store) {
	_, err := s.Get(t.Context(), "404")
	wantCode(t, "Get of a missing run", err, landform.ENOTFOUND)
	if !strings.Contains(err.Error(), "404") {
		t.Errorf("error %q does not name the run", err)
	}
}

func testOverwriteRefused(t *testing.T, s Store) {
	first := Artifact("first")
	put(t, s, "1", first)
	second := Artifact("second")
	_, err := s.Put(t.Context(), "1", second)
	wantCode(t, "second Put of run 1", err, landform.ECONFLICT)
	checkGet(t, s, "1", first)
}

func testConcurrentPuts(t *testing.T, s Store) {
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Put(t.Context(), "5", Artifact("writer"))
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch landform.ErrorCode(err) {
		case "":
			won++
		case landform.ECONFLICT:
		default:
			t.Errorf("Put %d: %v, want success or ECONFLICT", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent Puts of one run succeeded, want exactly 1", won)
	}
	checkGet(t, s, "5", Artifact("writer"))
}

func testDelete(t *testing.T, s Store) {
	put(t, s, "9", Artifact("doomed"))
	if err := s.Delete(t.Context(), "9"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := s.Get(t.Context(), "9")
	wantCode(t, "Get after Delete", err, landform.ENOTFOUND)
	if err := s.Delete(t.Context(), "9"); err != nil {
		t.Errorf("Delete of a deleted run: %v, want nil", err)
	}
	again := Artifact("reborn")
	put(t, s, "9", again)
	checkGet(t, s, "9", again)
}

func testRunsAreSeparate(t *testing.T, s Store) {
	one, two := Artifact("one"), Artifact("two")
	put(t, s, "1", one)
	put(t, s, "2", two)
	checkGet(t, s, "1", one)
	checkGet(t, s, "2", two)
	if err := s.Delete(t.Context(), "1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	checkGet(t, s, "2", two)
}

func testLargePlan(t *testing.T, s Store) {
	rng := rand.New(rand.NewChaCha8([32]byte{'l', 'f'}))
	a := &landform.PlanArtifact{
		Plan: make([]byte, 8<<20+3),
		JSON: bytes.Repeat([]byte(`{"address":"terraform_data.x","change":{"actions":["create"]}},`), 40_000),
		Text: strings.Repeat("  + resource \"terraform_data\" \"x\" {}\n", 40_000),
	}
	for i := range a.Plan {
		a.Plan[i] = byte(rng.Uint32())
	}
	put(t, s, "1000", a)
	checkGet(t, s, "1000", a)
}

func testInvalidRunID(t *testing.T, s Store) {
	for _, id := range []string{"", ".", "..", "../1", "1/../2", "a/b", `a\b`, "/1", "1\x00"} {
		_, err := s.Put(t.Context(), id, Artifact("bad"))
		wantCode(t, "Put("+id+")", err, landform.EINVALID)
		_, err = s.Get(t.Context(), id)
		wantCode(t, "Get("+id+")", err, landform.EINVALID)
		err = s.Delete(t.Context(), id)
		wantCode(t, "Delete("+id+")", err, landform.EINVALID)
	}
}

func testCancelledPut(t *testing.T, s Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Put(ctx, "3", Artifact("cancelled")); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	_, err := s.Get(t.Context(), "3")
	wantCode(t, "Get after a cancelled Put", err, landform.ENOTFOUND)
}

// testHighestRunID: what the run IDs of a new database continue above.
func testHighestRunID(t *testing.T, s Store) {
	highest := func(want int64) {
		t.Helper()
		got, err := s.HighestRunID(t.Context())
		if err != nil {
			t.Fatalf("HighestRunID: %v", err)
		}
		if got != want {
			t.Errorf("HighestRunID = %d, want %d", got, want)
		}
	}
	highest(0)
	// Numbers, not text: 9 < 10 < 1000.
	for _, id := range []string{"9", "1000", "10"} {
		put(t, s, id, Artifact(id))
	}
	highest(1000)
	// Not a store's run ID: ignored.
	for _, id := range []string{"run-5000", "05000", "99999999999999999999", "abc"} {
		put(t, s, id, Artifact(id))
	}
	highest(1000)
	if err := s.Delete(t.Context(), "1000"); err != nil {
		t.Fatal(err)
	}
	highest(10)
}
