package gitrepo_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
)

// A person puts a file where the ledger later wants a directory, the
// writer's clone fetches it, and the person repairs the branch by force-
// pushing another history: the next Write builds on what the remote has,
// not on the clone's stale ref (which no restart used to fix).
func TestWriteLedgerRebuildsOnAForcePushedBranch(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			ctx := context.Background()
			s := newServed(t)
			remote := filepath.Join(s.base, "repo.git")
			prefix, opts := p.serve(t, s.base)
			data := t.TempDir()
			r := openRemote(t, prefix+"repo.git", append(opts, gitrepo.WithDataDir(data))...)
			l := newLedger(t, r, "")

			// A person's commit with a file runs/db, then a write of
			// Landform on top of it: the clone's ref now has that file.
			bad, err := externalCommit(remote, "", "runs/db")
			if err != nil {
				t.Fatal(err)
			}
			runGit(t, remote, "--git-dir", remote, "update-ref", "refs/heads/"+ledger, bad)
			writeLedger(t, l, gitrepo.Signature{}, entry("app 1", "runs/app/1.md"))

			// The ledger wants runs/db/ as a directory: a real conflict
			// with the branch, reported as one.
			_, err = l.Write(ctx, gitrepo.Signature{}, []gitrepo.LedgerEntry{entry("db 2", "runs/db/2.md")})
			wantCode(t, err, landform.ECONFLICT, "ledger path runs/db is a file")

			// The person repairs the branch: a history of its own, without
			// the file.
			fixed, err := externalCommit(remote, "", "manual/fixed.md")
			if err != nil {
				t.Fatal(err)
			}
			runGit(t, remote, "--git-dir", remote, "update-ref", "refs/heads/"+ledger, fixed)

			// A new writer, as after a restart, on the same clone.
			r2 := openRemote(t, prefix+"repo.git", append(opts, gitrepo.WithDataDir(data))...)
			sha := writeLedger(t, newLedger(t, r2, ""), gitrepo.Signature{}, entry("db 2", "runs/db/2.md"))
			if got := runGit(t, remote, "--git-dir", remote, "rev-parse", sha+"^"); got != fixed {
				t.Errorf("the write's parent is %s, want the force-pushed tip %s", got, fixed)
			}
			if diff := cmp.Diff([]string{"manual/fixed.md", "runs/db/2.md"}, ledgerFiles(t, remote)); diff != "" {
				t.Errorf("ledger files (-want +got):\n%s", diff)
			}
			wantLinear(t, remote)

			// The branch deleted on the remote while the clone still has
			// a ref with a file in the way: the write starts it again.
			r3 := openRemote(t, prefix+"repo.git", append(opts, gitrepo.WithDataDir(t.TempDir()))...)
			l3 := newLedger(t, r3, "")
			writeLedger(t, l3, gitrepo.Signature{}, entry("x", "runs/web"))
			runGit(t, remote, "--git-dir", remote, "update-ref", "-d", "refs/heads/"+ledger)
			sha = writeLedger(t, l3, gitrepo.Signature{}, entry("web 3", "runs/web/3.md"))
			if got := runGit(t, remote, "--git-dir", remote, "rev-list", "--count", sha); got != "1" {
				t.Errorf("after the branch was deleted: %s commits, want a new root", got)
			}
			if diff := cmp.Diff([]string{"runs/web/3.md"}, ledgerFiles(t, remote)); diff != "" {
				t.Errorf("ledger files (-want +got):\n%s", diff)
			}
		})
	}
}

// A failed write leaves the clone's ref where the remote's branch is, so
// the next write does not start from a commit the remote no longer has.
func TestWriteLedgerFailureResetsTheClonesRef(t *testing.T) {
	ctx := context.Background()
	s := newServed(t)
	remote := filepath.Join(s.base, "repo.git")
	prefix, opts := protocols[0].serve(t, s.base)
	r := openRemote(t, prefix+"repo.git", append(opts, gitrepo.WithDataDir(t.TempDir()))...)
	l := newLedger(t, r, "")
	writeLedger(t, l, gitrepo.Signature{}, entry("one", "runs/a/1.md"))

	// Someone force-pushes a history with a file where this write wants
	// a directory: the write fails, and the clone follows the remote.
	other, err := externalCommit(remote, "", "runs/a")
	if err != nil {
		t.Fatal(err)
	}
	runGit(t, remote, "--git-dir", remote, "update-ref", "refs/heads/"+ledger, other)
	_, err = l.Write(ctx, gitrepo.Signature{}, []gitrepo.LedgerEntry{entry("two", "runs/a/2.md")})
	wantCode(t, err, landform.ECONFLICT, "runs/a")
	if got, err := r.Resolve(ledger); err != nil || got != other {
		t.Errorf("the clone's ledger ref after a failed write: %s, %v; want the remote's %s", got, err, other)
	}
}

// An entry that cannot be written whatever the branch holds is named by
// its index, so a caller can set that one aside and write the others.
func TestWriteLedgerNamesTheEntryAtFault(t *testing.T) {
	ctx := context.Background()
	w := newWorkRepo(t)
	w.commit("empty")
	l := newLedger(t, openRepo(t, w.dir), "")
	for _, tc := range []struct {
		name    string
		entries []gitrepo.LedgerEntry
		index   int
	}{
		{"a .git path", []gitrepo.LedgerEntry{entry("ok", "runs/a/1.md"), entry("bad", "runs/.git/hooks/2.md"), entry("ok", "runs/b/3.md")}, 1},
		{"no files", []gitrepo.LedgerEntry{entry("ok", "runs/a/1.md"), {Message: "empty"}}, 1},
		{"a file under another entry's file", []gitrepo.LedgerEntry{entry("ok", "runs/c"), entry("ok", "runs/b/1.md"), entry("bad", "runs/c/1.md")}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Write(ctx, gitrepo.Signature{}, tc.entries)
			var ee *gitrepo.EntryError
			if !errors.As(err, &ee) || ee.Index != tc.index {
				t.Fatalf("Write: %v; want an EntryError of entry %d", err, tc.index)
			}
			wantCode(t, err, landform.EINVALID)
			// Without it, the others are written.
			rest := slices.Delete(slices.Clone(tc.entries), tc.index, tc.index+1)
			writeLedger(t, l, gitrepo.Signature{}, rest...)
		})
	}
}
