package terraform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/test/tftest"
)

const timeProvider = `terraform {
  required_providers {
    time = {
      source  = "hashicorp/time"
      version = "0.14.2"
    }
  }
}
`

func TestPlanCreates(t *testing.T) {
	t.Parallel()
	e, tools := newTestEngine(t)
	dir := workspaceDir(t, map[string]string{
		"main.tf": timeProvider + `
resource "terraform_data" "a" {
  input = "x"
}
resource "time_static" "t" {}
resource "time_offset" "o" {
  offset_days = 1
}
output "a" {
  value = terraform_data.a.output
}
`,
	})
	res, err := e.Plan(testContext(t), PlanRequest{Dir: dir, Name: "envs/dev"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("timings: %+v", res.Timings)

	if res.Binary.Path != tools.Terraform {
		t.Errorf("binary = %s, want PATH terraform %s", res.Binary, tools.Terraform)
	}
	want := landform.PlanSummary{Add: 3}
	if res.Summary != want {
		t.Errorf("summary = %+v, want %+v", res.Summary, want)
	}
	add, change, destroy := printedCounts(t, res.Artifact.Text)
	if add != res.Summary.Add+res.Summary.Replace || change != res.Summary.Change || destroy != res.Summary.Destroy+res.Summary.Replace {
		t.Errorf("summary %+v disagrees with terraform's %d to add, %d to change, %d to destroy", res.Summary, add, change, destroy)
	}
	if !res.Changes || len(res.Drift) != 0 {
		t.Errorf("changes = %v, drift = %v", res.Changes, res.Drift)
	}

	// The artifact: the plan file's bytes and their hash, the JSON, the text.
	onDisk, err := os.ReadFile(filepath.Join(dir, DefaultPlanFile))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(onDisk)
	if !reflect.DeepEqual(onDisk, res.Artifact.Plan) || res.Artifact.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("artifact SHA256 %s does not match the plan file", res.Artifact.SHA256)
	}
	if res.PlanFile != filepath.Join(dir, DefaultPlanFile) {
		t.Errorf("plan file = %s", res.PlanFile)
	}
	if !json.Valid(res.Artifact.JSON) || res.JSON == nil || len(res.JSON.ResourceChanges) != 3 {
		t.Errorf("plan JSON not as expected: %.200s", res.Artifact.JSON)
	}
	if strings.Contains(res.Artifact.Text, "\x1b[") {
		t.Errorf("plan text has ANSI escapes:\n%q", res.Artifact.Text)
	}
	for _, s := range []string{"terraform_data.a will be created", "time_offset.o will be created"} {
		if !strings.Contains(res.Artifact.Text, s) {
			t.Errorf("plan text lacks %q:\n%s", s, res.Artifact.Text)
		}
	}
	// The shared plugin cache got the provider, and .terraform links to it.
	if m, _ := filepath.Glob(filepath.Join(e.PluginCacheDir(), "registry.terraform.io/hashicorp/time/0.14.2/*")); len(m) == 0 {
		t.Errorf("plugin cache %s has no time provider", e.PluginCacheDir())
	}
}

// TestPlanUpdatesAndReplaces applies a configuration with terraform itself,
// changes it, and checks the summary of the next plan against terraform's
// own line, which counts a replacement as one add and one destroy.
func TestPlanUpdatesAndReplaces(t *testing.T) {
	t.Parallel()
	e, tools := newTestEngine(t)
	dir := workspaceDir(t, map[string]string{
		"main.tf": `
resource "terraform_data" "replace" { triggers_replace = "1" }
resource "terraform_data" "replace_cbd" {
  triggers_replace = "1"
  lifecycle { create_before_destroy = true }
}
resource "terraform_data" "update" { input = "v1" }
resource "terraform_data" "delete" { input = "x" }
resource "terraform_data" "same" { input = "x" }
`,
	})
	tf := tools.NewTF(t, tools.Terraform, dir)
	tf.Run("init", "-no-color")
	tf.Run("apply", "-auto-approve", "-no-color")

	tftest.WriteFiles(t, dir, map[string]string{"main.tf": `
resource "terraform_data" "replace" { triggers_replace = "2" }
resource "terraform_data" "replace_cbd" {
  triggers_replace = "2"
  lifecycle { create_before_destroy = true }
}
resource "terraform_data" "update" { input = "v2" }
resource "terraform_data" "same" { input = "x" }
resource "terraform_data" "create" { input = "x" }
`})
	ctx := testContext(t)
	res, err := e.Plan(ctx, PlanRequest{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	want := landform.PlanSummary{Add: 1, Change: 1, Destroy: 1, Replace: 2}
	if res.Summary != want {
		t.Errorf("summary = %+v, want %+v", res.Summary, want)
	}
	add, change, destroy := printedCounts(t, res.Artifact.Text)
	if add != 3 || change != 1 || destroy != 3 {
		t.Errorf("terraform printed %d/%d/%d, want 3 to add, 1 to change, 3 to destroy", add, change, destroy)
	}

	// A refresh-only plan of the same state: nothing drifted.
	res, err = e.Plan(ctx, PlanRequest{Dir: dir, RefreshOnly: true, PlanFile: filepath.Join(t.TempDir(), "drift.tfplan")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changes || len(res.Drift) != 0 || res.Summary != (landform.PlanSummary{}) {
		t.Errorf("refresh-only plan: changes %v, drift %v, summary %+v", res.Changes, res.Drift, res.Summary)
	}
}

// TestPlanDrift edits and deletes testcloud objects behind terraform's back.
func TestPlanDrift(t *testing.T) {
	t.Parallel()
	e, tools := newTestEngine(t)
	if !hasProvider(tools, "landform/testcloud") {
		t.Fatal("landform/testcloud is not in the mirror; run scripts/setup")
	}
	dir := workspaceDir(t, map[string]string{
		"main.tf": `
terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}
resource "testcloud_instance" "web" { name = "web" }
resource "testcloud_instance" "db" { name = "db" }
resource "testcloud_instance" "cache" { name = "cache" }
`,
	})
	cloud := filepath.Join(dir, "cloud") // where the sandbox lets the provider read
	tf := tools.NewTF(t, tools.Terraform, dir, "TESTCLOUD_ROOT="+cloud)
	tf.Run("init", "-no-color")
	tf.Run("apply", "-auto-approve", "-no-color")

	id := func(addr string) string {
		out := tf.Run("state", "show", "-no-color", addr)
		for _, l := range strings.Split(out, "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && strings.TrimSpace(k) == "id" {
				return strings.Trim(strings.TrimSpace(v), `"`)
			}
		}
		t.Fatalf("no id in state show %s:\n%s", addr, out)
		return ""
	}
	webFile := filepath.Join(cloud, "instance", id("testcloud_instance.web")+".json")
	data, err := os.ReadFile(webFile)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	obj["size"] = "large"
	data, _ = json.Marshal(obj)
	if err := os.WriteFile(webFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(cloud, "instance", id("testcloud_instance.db")+".json")); err != nil {
		t.Fatal(err)
	}

	res, err := e.Plan(testContext(t), PlanRequest{Dir: dir, RefreshOnly: true, Env: map[string]string{"TESTCLOUD_ROOT": cloud}})
	if err != nil {
		t.Fatal(err)
	}
	want := []landform.DriftedResource{
		{Address: "testcloud_instance.db", Kind: landform.DriftDeleted, Action: "delete"},
		{Address: "testcloud_instance.web", Kind: landform.DriftChanged, Action: "update",
			Attributes: []landform.AttributeChange{{Path: "size", Before: "small", After: "large"}}},
	}
	if !reflect.DeepEqual(res.Drift, want) || !res.Changes {
		t.Errorf("drift = %+v (changes %v), want %+v", res.Drift, res.Changes, want)
	}
}

func TestPlanWorkspace(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	dir := workspaceDir(t, map[string]string{
		"main.tf": `resource "terraform_data" "a" { input = terraform.workspace }`,
	})
	res, err := e.Plan(testContext(t), PlanRequest{Dir: dir, TFWorkspace: "blue", VarFiles: nil})
	if err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile(filepath.Join(dir, ".terraform", "environment"))
	if err != nil || string(env) != "blue" {
		t.Errorf(".terraform/environment = %q, %v", env, err)
	}
	if !strings.Contains(res.Artifact.Text, `"blue"`) {
		t.Errorf("plan text does not show the workspace name:\n%s", res.Artifact.Text)
	}
	if res.Timings.Workspace == 0 {
		t.Error("no workspace step timed")
	}
}

func TestPlanVarFilesAndEnv(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	dir := workspaceDir(t, map[string]string{
		"main.tf": `
variable "from_file" {}
variable "from_env" {}
resource "terraform_data" "a" { input = "${var.from_file}-${var.from_env}" }
`,
		"env/prod.tfvars": `from_file = "filevalue"`,
	})
	res, err := e.Plan(testContext(t), PlanRequest{
		Dir: dir, VarFiles: []string{"env/prod.tfvars"}, Env: map[string]string{"TF_VAR_from_env": "envvalue"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Artifact.Text, `"filevalue-envvalue"`) {
		t.Errorf("plan text lacks the variables:\n%s", res.Artifact.Text)
	}
}

func TestPlanErrors(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	for _, tc := range []struct {
		name  string
		main  string
		wants []string
	}{
		{
			name:  "syntax error fails init",
			main:  "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n",
			wants: []string{"terraform init in envs/bad: ", "Error: Unclosed configuration block", "on main.tf line 1"},
		},
		{
			name:  "unsupported argument fails plan",
			main:  "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n  bogus = 1\n}\n",
			wants: []string{"terraform plan in envs/bad: ", "Error: Unsupported argument", "on main.tf line 3", "bogus = 1"},
		},
		{
			name: "provider validation error",
			main: timeProvider + "\nresource \"time_rotating\" \"r\" {\n  rfc3339       = \"not a time\"\n  rotation_days = 1\n}\n",
			wants: []string{"terraform plan in envs/bad: ", "Error: Invalid RFC3339 String Value", "on main.tf line 11",
				`rfc3339       = "not a time"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := workspaceDir(t, map[string]string{"main.tf": tc.main})
			_, err := e.Plan(testContext(t), PlanRequest{Dir: dir, Name: "envs/bad"})
			if err == nil {
				t.Fatal("plan succeeded")
			}
			msg := landform.ErrorMessage(err)
			for _, w := range tc.wants {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, "\x1b[") {
				t.Errorf("error has ANSI escapes: %q", msg)
			}
			var serr *StepError
			if !errors.As(err, &serr) || serr.ExitCode != 1 || serr.Stderr == "" || landform.ErrorCode(err) != landform.EINVALID {
				t.Errorf("error is not a StepError with stderr and EINVALID: %#v", err)
			}
		})
	}
}

// TestPlanCancel cancels a plan stuck on its state backend (an HTTP backend
// whose lock request never answers, and which terraform does not abandon on
// SIGINT) and checks that the engine returns promptly and leaves no
// terraform or provider process behind.
func TestPlanCancel(t *testing.T) {
	t.Parallel()
	const grace = 500 * time.Millisecond
	e, _ := newTestEngine(t, WithInterruptGrace(grace))

	locked := make(chan struct{})
	stop := make(chan struct{})
	var lockOnce atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case "LOCK":
			if lockOnce.CompareAndSwap(false, true) {
				close(locked)
			}
			select { // hang until terraform goes away
			case <-r.Context().Done():
			case <-stop:
			}
		case http.MethodGet:
			w.WriteHeader(http.StatusNotFound) // no state yet
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	t.Cleanup(func() {
		close(stop)
		srv.Close()
	})

	dir := workspaceDir(t, map[string]string{
		"main.tf": timeProvider + `
terraform {
  backend "http" {
    address        = "` + srv.URL + `/state"
    lock_address   = "` + srv.URL + `/state"
    unlock_address = "` + srv.URL + `/state"
  }
}
resource "time_static" "t" {}
`,
	})
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	type result struct {
		res *PlanResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := e.Plan(ctx, PlanRequest{Dir: dir})
		done <- result{res, err}
	}()
	select {
	case <-locked:
	case r := <-done:
		t.Fatalf("plan ended before it locked the state: %v", r.err)
	case <-time.After(time.Minute):
		t.Fatal("plan never locked the state")
	}
	cancelled := time.Now()
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(grace + 5*time.Second):
		t.Fatal("plan did not return after cancel")
	}
	took := time.Since(cancelled)
	t.Logf("plan returned %s after cancel: %v", took, r.err)
	if took > grace+3*time.Second {
		t.Errorf("plan took %s to stop", took)
	}
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", r.err)
	}
	var serr *StepError
	if !errors.As(r.err, &serr) || serr.Step != "plan" {
		t.Errorf("error is not the plan step's: %#v", r.err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(processesIn(dir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if pids := processesIn(dir); len(pids) > 0 {
		t.Errorf("processes left running in %s: %v", dir, pids)
	}
}

func TestPlanInvalidRequest(t *testing.T) {
	t.Parallel()
	e, err := New(WithWorkDir(t.TempDir()), WithCLIConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []PlanRequest{{}, {Dir: filepath.Join(t.TempDir(), "missing")}} {
		if _, err := e.Plan(t.Context(), req); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("Plan(%+v) = %v, want EINVALID", req, err)
		}
	}
	dir := workspaceDir(t, map[string]string{"main.tf": ""})
	_, err = e.Plan(t.Context(), PlanRequest{Dir: dir, Env: map[string]string{"TF_WORKSPACE": "x"}})
	if landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("Plan with TF_WORKSPACE in env = %v, want EINVALID", err)
	}
}
