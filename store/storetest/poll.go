package storetest

import (
	"context"
	"testing"

	"github.com/landform/landform"
)

// PollStore keeps the last commit processed per (repo, ref).
type PollStore interface {
	// LastProcessed returns "" for a ref never processed.
	LastProcessed(ctx context.Context, repo, ref string) (string, error)
	// SetLastProcessed records sha; "" forgets the ref. EINVALID for an
	// empty repo or ref.
	SetLastProcessed(ctx context.Context, repo, ref, sha string) error
}

func testPollState(t *testing.T, s Store) {
	ctx := t.Context()
	const (
		main = "refs/heads/main"
		pr   = "refs/pull/12/head"
		sha1 = "1111111111111111111111111111111111111111"
		sha2 = "2222222222222222222222222222222222222222"
		sha3 = "3333333333333333333333333333333333333333"
	)
	want := func(repo, ref, sha string) {
		t.Helper()
		got, err := s.LastProcessed(ctx, repo, ref)
		if err != nil {
			t.Fatalf("LastProcessed(%s, %s): %v", repo, ref, err)
		}
		if got != sha {
			t.Errorf("LastProcessed(%s, %s) = %q, want %q", repo, ref, got, sha)
		}
	}
	set := func(repo, ref, sha string) {
		t.Helper()
		if err := s.SetLastProcessed(ctx, repo, ref, sha); err != nil {
			t.Fatalf("SetLastProcessed(%s, %s, %s): %v", repo, ref, sha, err)
		}
	}

	want("infra", main, "")
	set("infra", main, sha1)
	set("infra", pr, sha2)
	set("other", main, sha3)
	want("infra", main, sha1)
	want("infra", pr, sha2)
	want("other", main, sha3)
	want("other", pr, "")

	set("infra", main, sha2)
	want("infra", main, sha2)
	want("other", main, sha3)

	// The pull request is gone: forget its ref.
	set("infra", pr, "")
	want("infra", pr, "")
	set("infra", pr, "") // forgetting twice is fine
	want("infra", main, sha2)

	wantCode(t, "SetLastProcessed without a repo", s.SetLastProcessed(ctx, "", main, sha1), landform.EINVALID)
	wantCode(t, "SetLastProcessed without a ref", s.SetLastProcessed(ctx, "infra", "", sha1), landform.EINVALID)
}
