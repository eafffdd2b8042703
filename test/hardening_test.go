package test

import (
	"strings"
	"testing"

	"github.com/landform/landform/test/tftest"
)

// A value Landform hands terraform never reaches the stored error, `show`
// or the CLI's output, even when terraform echoes it in a diagnostic.
func TestPlanErrorsAreRedacted(t *testing.T) {
	t.Parallel()
	env := newPlanEnv(t)
	const secret = "sup3r-s3cret-value"
	repo := tftest.NewGitRepo(t).Write(map[string]string{
		"app/main.tf": `variable "pw" { type = string }
resource "terraform_data" "x" { input = file(var.pw) }
`,
	})
	repo.Commit("reads a file named by a variable")

	var doc planDoc
	res := landformJSON(t, 1, &doc, env.args("plan", "--repo", repo.Dir, "--all", "--json", "--env", "TF_VAR_pw="+secret)...)
	if len(doc.Runs) != 1 || doc.Runs[0].State != "errored" {
		t.Fatalf("runs = %+v, want one errored run", doc.Runs)
	}
	if !strings.Contains(doc.Runs[0].Error, "***") {
		t.Errorf("error %q shows no mask where terraform echoed the value", doc.Runs[0].Error)
	}
	shown := landform(t, env.args("show", doc.Runs[0].ID)...)
	for name, out := range map[string]string{"plan --json": res.Stdout, "plan's stderr": res.Stderr, "show": shown.Stdout + shown.Stderr} {
		if strings.Contains(out, secret) {
			t.Errorf("%s holds the value of TF_VAR_pw:\n%s", name, out)
		}
	}
}

// --parallel takes 1 to 256; 0, negative and huge values are errors, not
// silently the default.
func TestPlanParallelIsChecked(t *testing.T) {
	t.Parallel()
	env := newPlanEnv(t)
	repo := tftest.NewGitRepo(t).Write(map[string]string{"app/main.tf": `resource "terraform_data" "x" {}` + "\n"})
	repo.Commit("one workspace")
	for _, n := range []string{"0", "-1", "100000"} {
		res := landform(t, env.args("plan", "--repo", repo.Dir, "--all", "--parallel", n)...)
		if res.Code != 1 || !strings.Contains(res.Stderr, "--parallel: must be between 1 and 256, not "+n) {
			t.Errorf("--parallel %s: exit %d, stderr %q", n, res.Code, res.Stderr)
		}
	}
}
