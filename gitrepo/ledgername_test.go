package gitrepo_test

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/report"
)

// ledgerEntries renders the ledger files of a run (ID id) of each
// workspace of r, one entry per run.
func ledgerEntries(r *config.Repo, id int) []gitrepo.LedgerEntry {
	var out []gitrepo.LedgerEntry
	for _, w := range r.Workspaces {
		run := &landform.Run{ID: fmt.Sprint(id), Repo: "infra", Workspace: w.Name, Dir: w.Dir,
			Kind: landform.RunPlan, State: landform.StatePlanned}
		id++
		e := gitrepo.LedgerEntry{Message: report.LedgerMessage([]*landform.Run{run})}
		for _, f := range report.LedgerFiles(run) {
			e.Files = append(e.Files, gitrepo.LedgerFile{Path: f.Path, Data: f.Data})
		}
		out = append(out, e)
	}
	return out
}

// TestLedgerRecordsEveryValidWorkspace: the workspaces a repo config
// accepts are recorded by the ledger writer, in one batch, each under
// runs/<name>/, and git fsck finds nothing wrong with the branch.
func TestLedgerRecordsEveryValidWorkspace(t *testing.T) {
	const repoConfig = `workspaces:
  - dir: envs/prod
  - dir: envs/prod
    workspace: blue
  - dir: envs
  - dir: global/dns
  - dir: .
  - dir: .
    workspace: green
  - dir: a/.github/x
  - dir: münchen/app
  - name: 12
    dir: twelve
  - name: _
    dir: underscore
`
	r, err := config.ParseRepo(config.RepoFile, []byte(repoConfig), config.RepoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorkRepo(t)
	w.commit("empty")
	l := newLedger(t, openRepo(t, w.dir), "")
	writeLedger(t, l, gitrepo.Signature{}, ledgerEntries(r, 1)...)
	wantLinear(t, w.dir+"/.git")
	files := strings.Join(ledgerFiles(t, w.dir+"/.git"), "\n")
	for _, want := range []string{"runs/envs/prod/1.md", "runs/envs/prod@blue/2.json", "runs/envs/3.md", "runs/_/5.md", "runs/.@green/6.md", "runs/a/.github/x/7.md", "runs/12/9.md"} {
		if !strings.Contains(files, want) {
			t.Errorf("ledger lacks %s:\n%s", want, files)
		}
	}
	// The second batch goes on top of the first.
	writeLedger(t, l, gitrepo.Signature{}, ledgerEntries(r, 100)...)
}

// FuzzWorkspaceNameLedger checks that validation and the writer agree:
// every workspace name a repo config accepts, given as name or defaulted
// from dir and workspace, has ledger files at runs/<name>/ (runs/_/ for
// the root) whose paths the ledger writer accepts.
func FuzzWorkspaceNameLedger(f *testing.F) {
	for _, s := range [][3]string{
		{"", "envs/prod", ""}, {"", "envs/prod", "blue"}, {"global/dns", "x", ""}, {"", ".", ""}, {"", ".", "blue"},
		{".git/hooks", "a", ""}, {"a/.GIT/b", "a", ""}, {"../x", "a", ""}, {"x\ny", "a", ""}, {"-rf", "a", ""},
		{"", ".git/hooks", ""}, {"", "-rf", ""}, {"", "a/1.md", ""}, {"", "a", "1.md"}, {"", "a/GIT~1", ""}, {"", "a\u200c", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, name, dir, tfws string) {
		ws := map[string]string{"dir": dir}
		if name != "" {
			ws["name"] = name
		}
		if tfws != "" {
			ws["workspace"] = tfws
		}
		data, err := yaml.Marshal(map[string]any{"workspaces": []any{ws}})
		if err != nil {
			return
		}
		r, err := config.ParseRepo(config.RepoFile, data, config.RepoOptions{})
		if err != nil {
			return
		}
		for _, w := range r.Workspaces {
			run := &landform.Run{ID: "42", Workspace: w.Name}
			want := "runs/" + w.Name + "/42"
			if w.Name == "." {
				want = "runs/_/42"
			}
			if got := report.LedgerPath(run); got != want {
				t.Fatalf("workspace %q accepted, but LedgerPath = %q, want %q", w.Name, got, want)
			}
			for _, file := range report.LedgerFiles(run) {
				if err := gitrepo.ValidLedgerPath(file.Path); err != nil {
					t.Fatalf("workspace %q accepted, but the ledger writer refuses its files: %v", w.Name, err)
				}
			}
		}
	})
}
