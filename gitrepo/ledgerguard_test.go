package gitrepo_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
)

// TestWriteLedgerNeverOverwritesAnotherRecord: a database lost and
// started again hands out run 1 once more; its record must not replace the
// record of the first run 1 already on the branch, on the remote (read
// after a fetch: the clone's ref is stale) as in a local repository. The
// other entries of the write are not held up by it, and an update of the
// same run (Replaces) goes in.
func TestWriteLedgerNeverOverwritesAnotherRecord(t *testing.T) {
	first := gitrepo.LedgerEntry{Message: "run 1", Files: []gitrepo.LedgerFile{
		{Path: "runs/app/1.json", Data: []byte(`{"id":"1","created_at":"2026-01-01T00:00:00Z"}` + "\n")},
		{Path: "runs/app/1.md", Data: []byte("# Run 1 of 2026-01-01\n")},
	}}
	again := gitrepo.LedgerEntry{Message: "run 1 again", Files: []gitrepo.LedgerFile{
		{Path: "runs/app/1.json", Data: []byte(`{"id":"1","created_at":"2026-06-01T00:00:00Z"}` + "\n")},
		{Path: "runs/app/1.md", Data: []byte("# Run 1 of 2026-06-01\n")},
	}}
	// sameRun allows an entry to replace the record of its own run: the
	// one created at created.
	sameRun := func(created string) func(map[string][]byte) bool {
		return func(existing map[string][]byte) bool {
			return strings.Contains(string(existing["runs/app/1.json"]), created)
		}
	}
	check := func(t *testing.T, l *gitrepo.Ledger, gitDir string) {
		t.Helper()
		ctx := context.Background()
		tip, err := l.Write(ctx, gitrepo.Signature{}, []gitrepo.LedgerEntry{entry("run 2", "runs/db/2.md"), again})
		var bad *gitrepo.EntryError
		if !errors.As(err, &bad) || bad.Index != 1 || landform.ErrorCode(err) != landform.ECONFLICT ||
			!strings.Contains(err.Error(), "runs/app/1.json") {
			t.Fatalf("Write over run 1's record = %s, %v; want an ECONFLICT EntryError for entry 1 naming runs/app/1.json", tip, err)
		}
		for _, p := range []string{"1.json", "1.md"} {
			want := string(first.Files[0].Data)
			if p == "1.md" {
				want = string(first.Files[1].Data)
			}
			if got := runGit(t, gitDir, "--git-dir", gitDir, "cat-file", "blob", ledger+":runs/app/"+p); got+"\n" != want {
				t.Errorf("runs/app/%s = %q, want the first run's record", p, got)
			}
		}
		// Without the refused entry the others are written.
		writeLedger(t, l, gitrepo.Signature{}, entry("run 2", "runs/db/2.md"))
		// Nor does an entry that only rewrites one of the two files pass.
		half := gitrepo.LedgerEntry{Message: "half", Files: again.Files[1:]}
		if _, err := l.Write(ctx, gitrepo.Signature{}, []gitrepo.LedgerEntry{half}); landform.ErrorCode(err) != landform.ECONFLICT {
			t.Errorf("Write over run 1's .md = %v, want ECONFLICT", err)
		}
		// The same run, updated: its entry allows it.
		updated := gitrepo.LedgerEntry{Message: "run 1 superseded", Files: []gitrepo.LedgerFile{
			{Path: "runs/app/1.json", Data: []byte(`{"id":"1","created_at":"2026-01-01T00:00:00Z","state":"superseded"}` + "\n")},
		}, Replaces: sameRun("2026-01-01")}
		writeLedger(t, l, gitrepo.Signature{}, updated)
		if got := runGit(t, gitDir, "--git-dir", gitDir, "cat-file", "blob", ledger+":runs/app/1.json"); !strings.Contains(got, "superseded") {
			t.Errorf("run 1's updated record: %q", got)
		}
		// Replaces refuses a record of another run.
		again.Replaces = sameRun("2026-06-01")
		if _, err := l.Write(ctx, gitrepo.Signature{}, []gitrepo.LedgerEntry{again}); landform.ErrorCode(err) != landform.ECONFLICT {
			t.Errorf("Write of another run 1 whose Replaces refuses = %v, want ECONFLICT", err)
		}
		again.Replaces = nil
	}

	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			s := newServed(t)
			remote := filepath.Join(s.base, "repo.git")
			prefix, opts := p.serve(t, s.base)
			// The first run 1 was recorded by another clone (the daemon
			// before its data directory was lost).
			before := openRemote(t, prefix+"repo.git", append(opts, gitrepo.WithDataDir(t.TempDir()))...)
			writeLedger(t, newLedger(t, before, ""), gitrepo.Signature{}, entry("run 0", "runs/app/0.md"))
			r := openRemote(t, prefix+"repo.git", append(opts, gitrepo.WithDataDir(t.TempDir()))...)
			l := newLedger(t, r, "")
			writeLedger(t, l, gitrepo.Signature{}, entry("run 3", "runs/app/3.md")) // the clone's ref, soon stale
			writeLedger(t, newLedger(t, before, ""), gitrepo.Signature{}, first)
			check(t, l, remote)
		})
	}
	t.Run("local", func(t *testing.T) {
		w := newWorkRepo(t)
		w.write("main.tf", "# main\n")
		w.commit("first")
		l := newLedger(t, openRepo(t, w.dir), "")
		writeLedger(t, l, gitrepo.Signature{}, first)
		check(t, l, filepath.Join(w.dir, ".git"))
	})
}
