package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/landform/landform"
)

// AuthStore keeps API tokens (their sha256), dashboard sessions, and
// counts runs for metrics.
type AuthStore interface {
	// CreateToken stores t and sets t.ID (and t.CreatedAt when zero);
	// EINVALID when t fails Check, ECONFLICT for a sha256 already stored.
	CreateToken(ctx context.Context, t *landform.APIToken) error
	// TokenBySHA256 returns the token of that sha256, expired or not;
	// ENOTFOUND when none.
	TokenBySHA256(ctx context.Context, sum string) (*landform.APIToken, error)
	// ListTokens returns the tokens oldest first, never nil.
	ListTokens(ctx context.Context) ([]*landform.APIToken, error)
	// RevokeToken deletes a token; ENOTFOUND for an unknown one.
	RevokeToken(ctx context.Context, id string) error

	// CreateSession stores a session; EINVALID when incomplete,
	// ECONFLICT for a sha256 already stored.
	CreateSession(ctx context.Context, s *landform.WebSession) error
	// Session returns the session of that sha256 unless it expired at
	// now; ENOTFOUND otherwise.
	Session(ctx context.Context, sum string, now time.Time) (*landform.WebSession, error)
	DeleteSession(ctx context.Context, sum string) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)

	// CountRuns counts runs by kind and state.
	CountRuns(ctx context.Context) ([]landform.RunCount, error)
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func testTokens(t *testing.T, s Store) {
	ctx := t.Context()
	exp := base.Add(time.Hour)
	a := &landform.APIToken{Identity: "alice", Role: landform.RoleApprover, SHA256: sum("a"), CreatedAt: base, CreatedBy: "cli"}
	b := &landform.APIToken{Identity: "ci", Role: landform.RoleViewer, SHA256: sum("b"), CreatedAt: base.Add(time.Minute), ExpiresAt: exp}
	for _, tok := range []*landform.APIToken{a, b} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatalf("CreateToken(%s): %v", tok.Identity, err)
		}
		if tok.ID == "" {
			t.Fatalf("CreateToken(%s) set no ID", tok.Identity)
		}
	}
	if a.ID == b.ID {
		t.Fatalf("two tokens got ID %s", a.ID)
	}
	dup := &landform.APIToken{Identity: "mallory", Role: landform.RoleAdmin, SHA256: sum("a")}
	if err := s.CreateToken(ctx, dup); landform.ErrorCode(err) != landform.ECONFLICT {
		t.Errorf("CreateToken(same sha256) = %v, want ECONFLICT", err)
	}
	for _, bad := range []*landform.APIToken{
		{Identity: "", Role: landform.RoleViewer, SHA256: sum("c")},
		{Identity: "x y", Role: landform.RoleViewer, SHA256: sum("c")},
		{Identity: "x", Role: "root", SHA256: sum("c")},
		{Identity: "x", Role: landform.RoleViewer, SHA256: "abc"},
		{Identity: "x", Role: landform.RoleViewer, SHA256: sum("c")[:63] + "G"},
	} {
		if err := s.CreateToken(ctx, bad); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("CreateToken(%+v) = %v, want EINVALID", bad, err)
		}
	}

	got, err := s.TokenBySHA256(ctx, sum("b"))
	if err != nil {
		t.Fatalf("TokenBySHA256: %v", err)
	}
	if got.ID != b.ID || got.Identity != "ci" || got.Role != landform.RoleViewer || got.SHA256 != sum("b") ||
		!got.CreatedAt.Equal(b.CreatedAt) || !got.ExpiresAt.Equal(exp) {
		t.Errorf("TokenBySHA256 = %+v, want %+v", got, b)
	}
	if got.Expired(exp.Add(-time.Second)) || !got.Expired(exp) {
		t.Errorf("Expired around %v is wrong", exp)
	}
	if _, err := s.TokenBySHA256(ctx, sum("nope")); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("TokenBySHA256(unknown) = %v, want ENOTFOUND", err)
	}
	list, err := s.ListTokens(ctx)
	if err != nil {
		t.Fatalf("ListTokens: %v", err)
	}
	var ids []string
	for _, tok := range list {
		ids = append(ids, tok.ID)
	}
	if !slices.Equal(ids, []string{a.ID, b.ID}) || list[0].CreatedBy != "cli" {
		t.Errorf("ListTokens = %v (%+v), want [%s %s]", ids, list[0], a.ID, b.ID)
	}
	if err := s.RevokeToken(ctx, a.ID); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if _, err := s.TokenBySHA256(ctx, sum("a")); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("a revoked token is still found: %v", err)
	}
	for _, id := range []string{a.ID, "999", "x", ""} {
		if err := s.RevokeToken(ctx, id); landform.ErrorCode(err) != landform.ENOTFOUND {
			t.Errorf("RevokeToken(%q) = %v, want ENOTFOUND", id, err)
		}
	}
	if list, err := s.ListTokens(ctx); err != nil || len(list) != 1 {
		t.Errorf("ListTokens after a revoke = %d tokens, %v; want 1", len(list), err)
	}
}

func testSessions(t *testing.T, s Store) {
	ctx := t.Context()
	one := &landform.WebSession{SHA256: sum("s1"), Identity: "alice", Role: landform.RoleAdmin, CSRF: "c1",
		CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	two := &landform.WebSession{SHA256: sum("s2"), Identity: "bob", Role: landform.RoleViewer, CSRF: "c2",
		CreatedAt: base, ExpiresAt: base.Add(2 * time.Hour)}
	for _, ss := range []*landform.WebSession{one, two} {
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatalf("CreateSession(%s): %v", ss.Identity, err)
		}
	}
	if err := s.CreateSession(ctx, &landform.WebSession{SHA256: sum("s1"), Identity: "eve", Role: landform.RoleAdmin,
		CSRF: "x", ExpiresAt: base.Add(time.Hour)}); landform.ErrorCode(err) != landform.ECONFLICT {
		t.Errorf("CreateSession(same sha256) = %v, want ECONFLICT", err)
	}
	for _, bad := range []*landform.WebSession{
		{SHA256: sum("s3"), Role: landform.RoleAdmin, CSRF: "x", ExpiresAt: base},
		{SHA256: sum("s3"), Identity: "x", Role: "god", CSRF: "x", ExpiresAt: base},
		{SHA256: sum("s3"), Identity: "x", Role: landform.RoleAdmin, ExpiresAt: base},
		{SHA256: sum("s3"), Identity: "x", Role: landform.RoleAdmin, CSRF: "x"},
		{SHA256: "short", Identity: "x", Role: landform.RoleAdmin, CSRF: "x", ExpiresAt: base},
	} {
		if err := s.CreateSession(ctx, bad); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("CreateSession(%+v) = %v, want EINVALID", bad, err)
		}
	}
	got, err := s.Session(ctx, sum("s1"), base.Add(time.Minute))
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	if got.Identity != "alice" || got.Role != landform.RoleAdmin || got.CSRF != "c1" || !got.ExpiresAt.Equal(one.ExpiresAt) || !got.CreatedAt.Equal(base) {
		t.Errorf("Session = %+v, want %+v", got, one)
	}
	if _, err := s.Session(ctx, sum("s1"), one.ExpiresAt); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("Session at its expiry = %v, want ENOTFOUND", err)
	}
	if _, err := s.Session(ctx, sum("nope"), base); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("Session(unknown) = %v, want ENOTFOUND", err)
	}
	n, err := s.DeleteExpiredSessions(ctx, base.Add(90*time.Minute))
	if err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
	if _, err := s.Session(ctx, sum("s2"), base); err != nil {
		t.Errorf("the unexpired session went: %v", err)
	}
	if err := s.DeleteSession(ctx, sum("s2")); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	if _, err := s.Session(ctx, sum("s2"), base); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("a deleted session is still found: %v", err)
	}
	if err := s.DeleteSession(ctx, sum("s2")); err != nil {
		t.Errorf("DeleteSession twice: %v", err)
	}
}

func testCountRuns(t *testing.T, s Store) {
	ctx := t.Context()
	if got, err := s.CountRuns(ctx); err != nil || len(got) != 0 {
		t.Fatalf("CountRuns of an empty store = %v, %v", got, err)
	}
	for _, c := range []struct {
		kind  landform.RunKind
		state landform.RunState
	}{
		{landform.RunPlan, landform.StatePlanned}, {landform.RunPlan, landform.StatePlanned},
		{landform.RunPlan, landform.StateQueued}, {landform.RunDrift, landform.StateNoChanges},
	} {
		r := NewRun("a", "net")
		r.Kind, r.State = c.kind, c.state
		create(t, s, r)
	}
	got, err := s.CountRuns(ctx)
	if err != nil {
		t.Fatalf("CountRuns: %v", err)
	}
	want := map[landform.RunCount]bool{
		{Kind: landform.RunDrift, State: landform.StateNoChanges, Count: 1}: true,
		{Kind: landform.RunPlan, State: landform.StatePlanned, Count: 2}:    true,
		{Kind: landform.RunPlan, State: landform.StateQueued, Count: 1}:     true,
	}
	if len(got) != len(want) {
		t.Fatalf("CountRuns = %+v, want %v", got, want)
	}
	for _, c := range got {
		if !want[c] {
			t.Errorf("CountRuns has %+v, want %v", c, want)
		}
	}
}
