package test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/landform/landform/test/tftest"
)

// The sandbox tests: a pull request's Terraform is its author's code, so
// terraform runs in a bubblewrap sandbox that sees its own run's exported
// tree and scratch directory and not the rest of Landform's data: not the
// database, the stored plans, other runs' trees, the repositories, nor the
// daemon's environment beyond what the server config passes.

const sandboxTestProvider = `terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}
`

// workRootOf is where landform puts the runs' work directories for the
// data directory dataDir (see cmd/landform's workRoot).
func workRootOf(dataDir string) string {
	sum := sha256.Sum256([]byte(dataDir))
	return filepath.Join(os.TempDir(), fmt.Sprintf("landform-%d-%s", os.Getuid(), hex.EncodeToString(sum[:8])))
}

// planOutputs reads the output values of run id's stored plan JSON.
func planOutputs(t *testing.T, dataDir, id string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dataDir, "plans", id, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p tfjson.Plan
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if p.PlannedValues != nil {
		for k, o := range p.PlannedValues.Outputs {
			out[k] = o.Value
		}
	}
	return out
}

// TestSandboxHidesLandformData plans, with the sandbox and without it, a
// workspace that looks for the database, a stored plan, another run's
// tree (by absolute path and by escaping its own tree with ../) and the
// repository. Sandboxed it sees none of them; unsandboxed it sees them all
// but the old relative escape into the data directory: the runs' work
// directories are no longer in it.
func TestSandboxHidesLandformData(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"required", "off"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			env := newPlanEnv(t)
			workRoot := workRootOf(env.dataDir)
			t.Cleanup(func() { os.RemoveAll(workRoot) })
			// Another run's tree, as the daemon would have it while this
			// run plans.
			other := filepath.Join(workRoot, "run-999-other", "tree", "secret.txt")
			tftest.WriteFiles(t, filepath.Dir(other), map[string]string{"secret.txt": "another PR's code"})

			repo := tftest.NewGitRepo(t)
			repo.Write(map[string]string{"envs/probe/main.tf": fmt.Sprintf(`
output "own"           { value = fileexists("${path.module}/main.tf") }
output "db"            { value = fileexists(%q) }
output "plans"         { value = fileexists(%q) }
output "escape_plans"  { value = fileexists("${path.module}/../../../../plans/1/plan.json") }
output "other_run_abs" { value = fileexists(%q) }
output "other_run_rel" { value = fileexists("${path.module}/../../../../run-999-other/tree/secret.txt") }
output "repo"          { value = fileexists(%q) }
`, filepath.Join(env.dataDir, "landform.db"), filepath.Join(env.dataDir, "plans", "1", "plan.json"),
				other, filepath.Join(repo.Dir, ".git", "HEAD"))}).Commit("probe")

			var doc planDoc
			for range 2 { // the second run looks for the first one's plan
				landformJSON(t, 0, &doc, env.args("plan", "--repo", repo.Dir, "--all", "--json", "--sandbox", mode)...)
			}
			if len(doc.Runs) != 1 || doc.Runs[0].State != "planned" {
				t.Fatalf("runs = %+v, want one planned run", doc.Runs)
			}
			// What it looked for is there.
			for _, p := range []string{filepath.Join(env.dataDir, "landform.db"), filepath.Join(env.dataDir, "plans", "1", "plan.json"), other} {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("the probe's target is missing: %v", err)
				}
			}
			if fi, err := os.Stat(workRoot); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("work root %s: %v, %v; want a 0700 directory", workRoot, fi, err)
			}
			if _, err := os.Stat(filepath.Join(env.dataDir, "work")); err == nil {
				t.Errorf("the data directory has a work directory")
			}

			visible := mode == "off"
			want := map[string]any{
				"own": true, "db": visible, "plans": visible, "escape_plans": false,
				"other_run_abs": visible, "other_run_rel": visible, "repo": visible,
			}
			if got := planOutputs(t, env.dataDir, doc.Runs[0].ID); !reflect.DeepEqual(got, want) {
				t.Errorf("sandbox %s: the configuration saw %v, want %v", mode, got, want)
			}
		})
	}
}

// TestSandboxRelativeDataDir plans with the default data directory,
// ./.landform, relative to the working directory (terraform used to
// resolve the plan file and its data directory against the workspace).
func TestSandboxRelativeDataDir(t *testing.T) {
	t.Parallel()
	tools := tftest.Load(t)
	repo := tftest.NewGitRepo(t)
	repo.Write(map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "x" }` + "\n"}).Commit("a")
	cwd := t.TempDir()
	t.Cleanup(func() { os.RemoveAll(workRootOf(filepath.Join(cwd, ".landform"))) })
	res := landformIn(t, cwd, nil, "plan", "--repo", repo.Dir, "--all", "--json",
		"--terraform-cli-config", tools.MirrorConfig(t), "--terraform-binary", tools.Terraform)
	var doc planDoc
	if res.Code != 0 || json.Unmarshal([]byte(res.Stdout), &doc) != nil || len(doc.Runs) != 1 || doc.Runs[0].State != "planned" {
		t.Fatalf("plan with ./.landform: exit %d\nstdout:\n%s\nstderr:\n%s", res.Code, res.Stdout, res.Stderr)
	}
	if _, err := os.Stat(filepath.Join(cwd, ".landform", "landform.db")); err != nil {
		t.Error(err)
	}
}

// TestSandboxServeRefusesWithoutBwrap: with the sandbox required (the
// default), a daemon on a machine without bwrap does not start, and says
// what to do; with `sandbox: off` it starts.
func TestSandboxServeRefusesWithoutBwrap(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	t.Cleanup(func() { os.RemoveAll(workRootOf(dataDir)) })
	noBwrap := []string{"PATH=" + t.TempDir()}
	repos := repoYAML("infra", "https://git.example.com/org/infra.git")
	res := landformIn(t, t.TempDir(), noBwrap, "serve", "--config", daemonConfig(t, dataDir, repos))
	if res.Code != 1 || !strings.Contains(res.Stderr, "install bubblewrap") || !strings.Contains(res.Stderr, "sandbox: off") {
		t.Errorf("serve without bwrap: exit %d, stderr:\n%s\nwant exit 1 and a message saying to install bubblewrap or set sandbox: off", res.Code, res.Stderr)
	}

	cfg := daemonConfig(t, dataDir, repos)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, append([]byte("sandbox: off\n"), data...), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(landformBin, "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), noBwrap...)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, 30*time.Second, "the daemon with sandbox: off to serve", func() bool {
		return strings.Contains(logs.String(), "landform serving")
	})
}

// TestSandboxEnvironment runs the daemon with a secret and a variable it
// passes (terraform.pass_env) in its environment: the plan's provider sees
// the passed one and the configured env, not the secret, and HOME is a
// directory of the run's own. Not parallel: it sets the test process's
// environment, which the daemon inherits.
func TestSandboxEnvironment(t *testing.T) {
	t.Setenv("LANDFORM_TEST_DAEMON_SECRET", "hunter2")
	t.Setenv("LANDFORM_TEST_PASSED", "passed-value")
	files := map[string]string{"envs/env/main.tf": sandboxTestProvider + `
data "testcloud_env" "secret" { name = "LANDFORM_TEST_DAEMON_SECRET" }
data "testcloud_env" "passed" { name = "LANDFORM_TEST_PASSED" }
data "testcloud_env" "configured" { name = "TESTCLOUD_ROOT" }
data "testcloud_env" "home" { name = "HOME" }
output "secret_set" { value = data.testcloud_env.secret.set }
output "secret"     { value = data.testcloud_env.secret.value }
output "passed"     { value = data.testcloud_env.passed.value }
output "configured" { value = data.testcloud_env.configured.set }
output "home"       { value = data.testcloud_env.home.value }
`}
	srv := tftest.StartGitServer(t)
	srv.NewBare("infra")
	work := newPushRepo(t, srv.URL("infra"), files)
	dataDir := t.TempDir()
	t.Cleanup(func() { os.RemoveAll(workRootOf(dataDir)) })
	d := startDaemon(t, daemonConfig(t, dataDir, repoYAML("infra", srv.URL("infra"), "ledger: false"),
		"  pass_env: [LANDFORM_TEST_PASSED]"), dataDir)
	d.waitLog(30*time.Second, "watching branch", "infra")
	work.change("refs/heads/main", map[string]string{"envs/env/main.tf": files["envs/env/main.tf"] + "# changed\n"})
	runs := d.waitRuns(90*time.Second, "the plan to finish", func(rs []daemonRun) bool {
		return len(rs) > 0 && rs[0].State != "queued" && rs[0].State != "running"
	})
	if runs[0].State != "planned" {
		t.Fatalf("run = %s, want planned", toJSON(runs[0]))
	}
	got := planOutputs(t, dataDir, runs[0].ID)
	home, _ := got["home"].(string)
	delete(got, "home")
	want := map[string]any{"secret_set": false, "secret": "", "passed": "passed-value", "configured": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the provider saw %v, want %v", got, want)
	}
	if !strings.HasPrefix(home, workRootOf(dataDir)+"/run-"+runs[0].ID+"-") || !strings.HasSuffix(home, "/scratch/home") {
		t.Errorf("HOME = %q, want a directory of the run's own under %s", home, workRootOf(dataDir))
	}
}

// TestSandboxKilledLandformLeavesNoProcess kills (SIGKILL) a one-shot
// `landform plan` while its provider is blocked in a read that ignores
// terraform's stop request, and checks that terraform and the provider die
// with it: bwrap dies with Landform (terraform-exec's Pdeathsig), terraform
// with bwrap (--die-with-parent), and everything else with terraform, the
// first process of the sandbox's PID namespace.
func TestSandboxKilledLandformLeavesNoProcess(t *testing.T) {
	t.Parallel()
	env := newPlanEnv(t)
	workRoot := workRootOf(env.dataDir)
	t.Cleanup(func() { os.RemoveAll(workRoot) })
	id := rand.Text()
	marker := "LANDFORM_TEST_KILL=" + id
	t.Cleanup(func() { // whatever a failure leaves
		for _, pid := range processesWithEnv(marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	repo := tftest.NewGitRepo(t)
	repo.Write(map[string]string{"envs/hang/main.tf": sandboxTestProvider + `
data "testcloud_hang" "h" {
  name          = "stuck"
  seconds       = 3600
  ignore_cancel = true
}
`}).Commit("hang")

	// The cloud is relative to the provider's working directory, the
	// workspace in the run's exported tree, so the test sees the marker
	// the provider writes when it blocks.
	args := append(env.args("plan", "--repo", repo.Dir, "--all"), "--env", "TESTCLOUD_ROOT=cloud", "--env", marker)
	cmd := exec.Command(landformBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })

	var before []int
	waitFor(t, 2*time.Minute, "the provider to block in its read", func() bool {
		select {
		case <-exited:
			t.Fatalf("landform plan exited before the provider blocked:\n%s", out.String())
		default:
		}
		hung, _ := filepath.Glob(filepath.Join(workRoot, "run-*", "tree", "envs", "hang", "cloud", "hang", "stuck.json"))
		before = processesWithEnv(marker)
		names := exeNames(before)
		return len(hung) == 1 && slices.Contains(names, "terraform") && slices.Contains(names, "terraform-provider-testcloud")
	})
	t.Logf("before the kill: %v", exeNames(before))

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	waitFor(t, 10*time.Second, "terraform and the provider to die with landform", func() bool {
		for _, pid := range before {
			if processAlive(pid) {
				return false
			}
		}
		return len(processesWithEnv(marker)) == 0
	})
}

// processesWithEnv lists the live processes whose environment holds entry
// ("KEY=value").
func processesWithEnv(entry string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		environ, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, e := range bytes.Split(environ, []byte{0}) {
			if string(e) == entry && processAlive(pid) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// processAlive reports whether pid is a live process (not gone, not a
// zombie).
func processAlive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(stat)
	rest := strings.TrimSpace(s[strings.LastIndexByte(s, ')')+1:])
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// exeNames returns the executables' base names of pids.
func exeNames(pids []int) []string {
	var names []string
	for _, pid := range pids {
		if exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe")); err == nil {
			names = append(names, filepath.Base(exe))
		}
	}
	return names
}
