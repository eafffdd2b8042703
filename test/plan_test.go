package test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/landform/landform/test/tftest"
)

type planDoc struct {
	Runs []struct {
		ID        string `json:"id"`
		Workspace string `json:"workspace"`
		Dir       string `json:"dir"`
		Commit    string `json:"commit"`
		State     string `json:"state"`
		Summary   struct {
			Add     int `json:"add"`
			Change  int `json:"change"`
			Destroy int `json:"destroy"`
			Replace int `json:"replace"`
		} `json:"summary"`
		Error string `json:"error"`
	} `json:"runs"`
}

// planEnv is a data directory, a cloud and the flags every plan of a test
// passes to landform.
type planEnv struct {
	dataDir string
	flags   []string
}

func newPlanEnv(t *testing.T) planEnv {
	tools := tftest.Load(t)
	dataDir := t.TempDir()
	return planEnv{
		dataDir: dataDir,
		flags: []string{
			"--terraform-cli-config", tools.MirrorConfig(t),
			"--terraform-binary", tools.Terraform,
			"--env", "TESTCLOUD_ROOT=" + filepath.Join(t.TempDir(), "cloud"),
		},
	}
}

func (e planEnv) args(cmd string, args ...string) []string {
	out := append([]string{"--data-dir", e.dataDir, cmd}, args...)
	if cmd == "plan" {
		out = append(out, e.flags...)
	}
	return out
}

var planLine = regexp.MustCompile(`Plan: (\d+) to add, (\d+) to change, (\d+) to destroy`)

func TestPlanAllWithRealTerraform(t *testing.T) {
	t.Parallel()
	env := newPlanEnv(t)
	repo := tftest.NewGitRepo(t)
	files := monorepoFiles()
	files["envs/broken/main.tf"] = "resource \"terraform_data\" \"x\" {\n  input = \n}\n"
	commit := repo.Write(files).Commit("initial")

	var doc planDoc
	res := landformJSON(t, 1, &doc, env.args("plan", "--repo", repo.Dir, "--all", "--json", "--parallel", "3")...)

	states := map[string]string{}
	for _, run := range doc.Runs {
		states[run.Workspace] = run.State
		if run.Commit != commit {
			t.Errorf("%s: commit %s, want %s", run.Workspace, run.Commit, commit)
		}
		if run.State == "errored" {
			continue
		}
		// The summary equals the counts terraform printed in the plan.
		show := landform(t, env.args("show", run.ID)...)
		m := planLine.FindStringSubmatch(show.Stdout)
		if m == nil {
			t.Errorf("%s: no Plan: line in the stored plan text:\n%s", run.Workspace, show.Stdout)
			continue
		}
		add, _ := strconv.Atoi(m[1])
		change, _ := strconv.Atoi(m[2])
		destroy, _ := strconv.Atoi(m[3])
		s := run.Summary
		if add != s.Add+s.Replace || change != s.Change || destroy != s.Destroy+s.Replace {
			t.Errorf("%s: summary %+v, terraform printed %q", run.Workspace, s, m[0])
		}
		if s.Add == 0 {
			t.Errorf("%s: nothing to add in a first plan: %+v", run.Workspace, s)
		}
	}
	want := map[string]string{
		"envs/broken": "errored", "envs/dev": "planned", "envs/prod": "planned",
		"envs/prod/dns": "planned", "envs/staging": "planned", "global/iam": "planned",
	}
	for name, st := range want {
		if states[name] != st {
			t.Errorf("%s: state %q, want %q (all: %v)", name, states[name], st, states)
		}
	}
	if len(doc.Runs) != len(want) {
		t.Errorf("%d runs, want %d", len(doc.Runs), len(want))
	}
	for _, run := range doc.Runs {
		if run.Workspace == "envs/broken" && !strings.Contains(run.Error, "main.tf line 2") {
			t.Errorf("errored run does not name the file and line:\n%s", run.Error)
		}
	}
	// One progress line per workspace on stderr.
	if n := strings.Count(res.Stderr, "/6] "); n != 6 {
		t.Errorf("%d progress lines, want 6:\n%s", n, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "envs/prod  planned  +") {
		t.Errorf("progress lines lack the summary:\n%s", res.Stderr)
	}

	// runs lists them newest first; show prints one.
	var runs planDoc
	landformJSON(t, 0, &runs, env.args("runs", "--json")...)
	if len(runs.Runs) != 6 || runs.Runs[0].ID < runs.Runs[5].ID {
		t.Errorf("runs: %d runs, first %s last %s", len(runs.Runs), runs.Runs[0].ID, runs.Runs[5].ID)
	}
}

func TestPlanAffectedOnly(t *testing.T) {
	t.Parallel()
	env := newPlanEnv(t)
	repo := tftest.NewGitRepo(t)
	repo.Write(monorepoFiles()).Commit("initial")
	repo.Write(map[string]string{"modules/net/extra.tf": `resource "terraform_data" "extra" {}` + "\n"})
	repo.Remove("global/iam")
	repo.Commit("net gains a resource, iam goes")

	var doc planDoc
	res := landformJSON(t, 0, &doc, env.args("plan", "--repo", repo.Dir, "--base", "HEAD~1", "--head", "HEAD", "--json")...)
	var got []string
	for _, run := range doc.Runs {
		got = append(got, run.Workspace+":"+run.State)
	}
	if strings.Join(got, " ") != "envs/prod:planned envs/staging:planned" {
		t.Errorf("runs = %v", got)
	}
	if !strings.Contains(res.Stderr, "global/iam  deleted") {
		t.Errorf("the deleted workspace is not reported:\n%s", res.Stderr)
	}

	// --workspace narrows the affected set.
	landformJSON(t, 0, &doc, env.args("plan", "--repo", repo.Dir, "--base", "HEAD~1", "--workspace", "envs/staging", "--json")...)
	if len(doc.Runs) != 1 || doc.Runs[0].Workspace != "envs/staging" {
		t.Errorf("--workspace envs/staging planned %+v", doc.Runs)
	}
}

func TestCorruptedPlanIsDetected(t *testing.T) {
	t.Parallel()
	env := newPlanEnv(t)
	repo := tftest.NewGitRepo(t)
	repo.Write(map[string]string{"main.tf": `resource "terraform_data" "x" { input = "a" }` + "\n"}).Commit("one")

	var doc planDoc
	landformJSON(t, 0, &doc, env.args("plan", "--repo", repo.Dir, "--all", "--json")...)
	if len(doc.Runs) != 1 || doc.Runs[0].State != "planned" {
		t.Fatalf("runs: %+v", doc.Runs)
	}
	id := doc.Runs[0].ID
	if res := landform(t, env.args("show", id)...); res.Code != 0 || !strings.Contains(res.Stdout, "terraform_data.x") {
		t.Fatalf("show %s: exit %d\n%s%s", id, res.Code, res.Stdout, res.Stderr)
	}
	planFile := filepath.Join(env.dataDir, "plans", id, "plan.tfplan")
	data, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(planFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	res := landform(t, env.args("show", id)...)
	if res.Code != 1 || !strings.Contains(res.Stderr, "corrupt") {
		t.Fatalf("show of a corrupted plan: exit %d, stderr %q", res.Code, res.Stderr)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	repo := tftest.NewGitRepo(t)
	repo.Write(map[string]string{"main.tf": "# ok\n"}).Commit("one")
	broken := tftest.NewGitRepo(t)
	broken.Write(map[string]string{
		".landform.yaml": "version: 1\nworkspaces:\n  - dir: envs/prod\n    wokspace: blue\n",
		"main.tf":        "# ok\n",
	}).Commit("broken config")
	notRepo := t.TempDir()

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"not a git repo", []string{"workspaces", "--repo", notRepo}, "not a git repository: " + notRepo},
		{"missing path", []string{"workspaces", "--repo", filepath.Join(notRepo, "nope")}, "not a git repository"},
		{"unknown revision", []string{"affected", "--repo", repo.Dir, "--base", "no-such-branch"}, "unknown revision no-such-branch"},
		{"broken .landform.yaml", []string{"workspaces", "--repo", broken.Dir}, `.landform.yaml:4:5: workspaces[0]: unknown field "wokspace"`},
		{"plan needs a selection", []string{"plan", "--repo", repo.Dir}, "say what to plan"},
		{"unknown workspace", []string{"plan", "--repo", repo.Dir, "--workspace", "nope", "--data-dir", t.TempDir()}, `no workspace "nope"`},
	} {
		res := landform(t, append([]string{"--data-dir", t.TempDir()}, tc.args...)...)
		if res.Code != 1 || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 and %q", tc.name, res.Code, res.Stderr, tc.want)
		}
	}
}

func TestWorkspacesOfARemoteURL(t *testing.T) {
	t.Parallel()
	srv := tftest.StartGitServer(t)
	srv.NewBare("infra")
	work := newPushRepo(t, srv.URL("infra"), infraFiles())
	dataDir := t.TempDir()
	var doc affectedDoc
	landformJSON(t, 0, &doc, "--data-dir", dataDir, "workspaces", "--repo", srv.URL("infra"), "--json")
	if len(doc.Workspaces) != 2 {
		t.Fatalf("workspaces of the URL: %+v", doc.Workspaces)
	}
	// The clone is kept in the data directory and brought up to date.
	work.change("refs/heads/main", map[string]string{"envs/c/main.tf": `resource "terraform_data" "c" {}` + "\n"})
	landformJSON(t, 0, &doc, "--data-dir", dataDir, "affected", "--repo", srv.URL("infra"), "--base", "HEAD~1", "--json")
	if len(doc.Workspaces) != 1 || doc.Workspaces[0].Name != "envs/c" {
		t.Errorf("affected after a push: %+v", doc.Workspaces)
	}
	if entries, _ := filepath.Glob(filepath.Join(dataDir, "repos", "*")); len(entries) != 1 {
		t.Errorf("clone cache: %v, want one clone", entries)
	}
}
