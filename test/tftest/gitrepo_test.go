package tftest

import (
	"os"
	"strings"
	"testing"
)

func TestGitRepoBuilder(t *testing.T) {
	r := NewGitRepo(t)
	first := r.Write(map[string]string{"envs/prod/main.tf": "# prod\n", "README.md": "hi\n"}).Commit("first")
	r.Branch("feature")
	second := r.Move("envs/prod/main.tf", "envs/prod/app.tf").Remove("README.md").Commit("second")

	if first == second || len(first) != 40 {
		t.Fatalf("commit SHAs %q, %q", first, second)
	}
	if got := r.Git("rev-parse", "--abbrev-ref", "HEAD"); got != "feature" {
		t.Errorf("branch = %q, want feature", got)
	}
	changes := r.Git("diff", "--name-status", "-M", first, second)
	for _, want := range []string{"R100\tenvs/prod/main.tf\tenvs/prod/app.tf", "D\tREADME.md"} {
		if !strings.Contains(changes, want) {
			t.Errorf("diff %s..%s lacks %q:\n%s", first, second, want, changes)
		}
	}
	r.Checkout("main")
	if _, err := os.Stat(r.Dir + "/README.md"); err != nil {
		t.Errorf("main lost README.md: %v", err)
	}
}

func TestEnvReplacesTFVariables(t *testing.T) {
	t.Setenv("TF_CLI_CONFIG_FILE", "/nonexistent/.terraformrc")
	t.Setenv("TF_LOG", "TRACE")
	env := Env("/tmp/mine.tfrc", "EXTRA=1")
	var cfgs []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "TF_CLI_CONFIG_FILE=") {
			cfgs = append(cfgs, kv)
		}
		if strings.HasPrefix(kv, "TF_LOG=") {
			t.Errorf("TF_LOG leaked into the child environment")
		}
	}
	if len(cfgs) != 1 || cfgs[0] != "TF_CLI_CONFIG_FILE=/tmp/mine.tfrc" {
		t.Errorf("TF_CLI_CONFIG_FILE entries: %v", cfgs)
	}
	if env[len(env)-1] != "EXTRA=1" {
		t.Errorf("extra env not last: %v", env[len(env)-3:])
	}
}
