package gitrepo_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/landform/landform/gitrepo"
)

// TestLedgerFiles reads what the remote's ledger branch holds now, also
// what another clone wrote since: no branch, no files.
func TestLedgerFiles(t *testing.T) {
	ctx := context.Background()
	files := func(t *testing.T, l *gitrepo.Ledger, dir string, want ...string) {
		t.Helper()
		got, err := l.Files(ctx, dir)
		if err != nil {
			t.Fatalf("Files(%q): %v", dir, err)
		}
		if want == nil {
			want = []string{}
		}
		if got == nil || !slices.Equal(got, want) {
			t.Errorf("Files(%q) = %q, want %q", dir, got, want)
		}
	}
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			s := newServed(t)
			prefix, opts := p.serve(t, s.base)
			reader := newLedger(t, openRemote(t, prefix+"repo.git", append(opts, gitrepo.WithDataDir(t.TempDir()))...), "")
			files(t, reader, "runs")

			writer := newLedger(t, openRemote(t, prefix+"repo.git", append(opts, gitrepo.WithDataDir(t.TempDir()))...), "")
			writeLedger(t, writer, gitrepo.Signature{}, entry("runs", "runs/envs/prod/12.json", "runs/envs/prod/12.md", "runs/_/3.json", "drift/x.md"))
			files(t, reader, "runs", "runs/_/3.json", "runs/envs/prod/12.json", "runs/envs/prod/12.md")
			files(t, reader, "", "drift/x.md", "runs/_/3.json", "runs/envs/prod/12.json", "runs/envs/prod/12.md")
			files(t, reader, "nope")
		})
	}
	t.Run("local", func(t *testing.T) {
		w := newWorkRepo(t)
		w.write("main.tf", "# main\n")
		w.commit("first")
		l := newLedger(t, openRepo(t, w.dir), "")
		files(t, l, "runs")
		writeLedger(t, l, gitrepo.Signature{}, entry("run 7", "runs/a/7.json"))
		files(t, newLedger(t, openRepo(t, filepath.Join(w.dir)), ""), "runs", "runs/a/7.json")
	})
}
