package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/landform/landform/test/bench"
	"github.com/landform/landform/test/tftest"
)

// planWorkspace is the directory of the planned workspace in its repo.
const planWorkspace = "envs/app"

// planFixture is a repo with one workspace whose state was applied at the
// previous version of its code, so that a plan refreshes every resource
// and adds one. The repo holds that workspace alone, or the workspace and
// the 2,000-workspace monorepo of bench.DefaultSpec.
type planFixture struct {
	tools     *tftest.Tools
	dir       string
	repo      string
	cloud     string
	data      string            // landform's --data-dir, kept between rounds
	files     map[string]string // the workspace's files at HEAD, lock file included
	resources int               // in the state, refreshed by every plan
}

// planConfig is the workspace's configuration with n resources (split
// between testcloud buckets, instances and secrets and terraform_data),
// its state in statePath, and with extra, one more bucket.
func planConfig(n int, statePath string, extra bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }

  backend "local" {
    path = %q
  }
}

# The cloud's root comes from TESTCLOUD_ROOT.
provider "testcloud" {}

variable "env" {
  type    = string
  default = "bench"
}
`, statePath)
	if n <= 10 {
		b.WriteString(`
resource "testcloud_bucket" "logs" {
  name       = "logs"
  versioning = true
  tags       = { env = var.env }
}

resource "testcloud_instance" "web" {
  name = "web"
  size = "small"
  tags = { bucket = testcloud_bucket.logs.id }
}

resource "testcloud_secret" "db" {
  name  = "db-password"
  value = "s3cr3t-hunter2-value"
}

resource "terraform_data" "release" {
  input = { version = "2026.11.23", env = var.env }
}

resource "terraform_data" "web_config" {
  input = testcloud_instance.web.ip
}
`)
	} else {
		q := n / 4
		fmt.Fprintf(&b, `
resource "testcloud_bucket" "data" {
  count = %d
  name  = "data-${count.index}"
  tags  = { env = var.env }
}

resource "testcloud_instance" "worker" {
  count = %d
  name  = "worker-${count.index}"
  tags  = { bucket = testcloud_bucket.data[count.index].id }
}

resource "testcloud_secret" "token" {
  count = %d
  name  = "token-${count.index}"
  value = "token-value-${count.index}"
}

resource "terraform_data" "config" {
  count = %d
  input = { worker = testcloud_instance.worker[count.index %% %d].ip, env = var.env }
}
`, q, q, q, n-3*q, q)
	}
	if extra {
		b.WriteString(`
resource "testcloud_bucket" "assets" {
  name = "assets"
  tags = { env = var.env }
}
`)
	}
	return b.String()
}

// planCase is one workspace size in one kind of repo.
type planCase struct {
	resources int
	monorepo  bool
}

var (
	planMu       sync.Mutex
	planFixtures = map[planCase]*planFixture{}
)

// getPlanFixture makes, once per process and case, the repo and the state:
// the previous version is applied with raw terraform, and its lock file is
// committed with the new version, as in a real infra repo.
func getPlanFixture(b *testing.B, c planCase) *planFixture {
	b.Helper()
	planMu.Lock()
	defer planMu.Unlock()
	if f := planFixtures[c]; f != nil {
		return f
	}
	n := c.resources
	ctx := context.Background()
	tools := tftest.Load(b)
	dir := fixtureDir(b, fmt.Sprintf("plan-%d", n))
	f := &planFixture{
		tools:     tools,
		dir:       dir,
		repo:      filepath.Join(dir, "repo"),
		cloud:     filepath.Join(dir, "cloud"),
		data:      filepath.Join(dir, "data"),
		resources: n,
	}
	state := filepath.Join(dir, "state", "terraform.tfstate")
	if c.monorepo {
		if _, err := bench.GenerateMonorepo(ctx, f.repo, bench.DefaultSpec()); err != nil {
			b.Fatal(err)
		}
	}
	for _, d := range []string{f.repo, f.cloud, filepath.Dir(state), f.data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}

	applyDir := filepath.Join(dir, "apply")
	tftest.WriteFiles(b, applyDir, map[string]string{"main.tf": planConfig(n, state, false)})
	env := f.rawEnv()
	for _, args := range [][]string{
		{"init", "-input=false", "-no-color"},
		{"apply", "-input=false", "-no-color", "-auto-approve"},
	} {
		if _, err := run(ctx, applyDir, env, tools.Terraform, args...); err != nil {
			b.Fatal(err)
		}
	}
	lock, err := os.ReadFile(filepath.Join(applyDir, ".terraform.lock.hcl"))
	if err != nil {
		b.Fatal(err)
	}
	f.files = map[string]string{
		"main.tf":             planConfig(n, state, true),
		".terraform.lock.hcl": string(lock),
	}

	repoFiles := map[string]string{}
	for name, content := range f.files {
		repoFiles[planWorkspace+"/"+name] = content
	}
	tftest.WriteFiles(b, f.repo, repoFiles)
	gitArgs := [][]string{
		{"add", "--all"},
		{"-c", "gc.auto=0", "commit", "--quiet", "--no-verify", "-m", "app: add the assets bucket"},
	}
	if !c.monorepo {
		gitArgs = append([][]string{{"init", "--quiet", "--initial-branch=main"}}, gitArgs...)
	}
	for _, args := range gitArgs {
		if _, err := bench.Git(ctx, f.repo, args...); err != nil {
			b.Fatal(err)
		}
	}
	planFixtures[c] = f
	return f
}

// rawEnv is the environment of raw terraform: the mirror CLI config with
// the shared plugin cache, and the cloud.
func (f *planFixture) rawEnv() []string {
	return tftest.Env(f.tools.CLIConfig, "TESTCLOUD_ROOT="+f.cloud)
}

// landformPlan runs `landform plan` of the workspace at HEAD and checks
// that it planned one addition. It runs with the sandbox off, as raw
// terraform does: the sandbox hides what lies outside the run's tree, the
// local backend's state and the cloud's directory among them (BenchmarkSandbox
// in package terraform measures what the sandbox costs).
func (f *planFixture) landformPlan(ctx context.Context, bin string) error {
	out, err := run(ctx, "", tftest.Env(f.tools.CLIConfig), bin,
		"--data-dir", f.data, "plan", "--repo", f.repo, "--workspace", planWorkspace, "--json",
		"--terraform-cli-config", f.tools.CLIConfig,
		"--terraform-binary", f.tools.Terraform,
		"--sandbox", "off",
		"--env", "TESTCLOUD_ROOT="+f.cloud)
	if err != nil {
		return err
	}
	var doc struct {
		Runs []struct {
			State   string         `json:"state"`
			Summary map[string]int `json:"summary"`
			Error   string         `json:"error"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return fmt.Errorf("landform plan: %w\n%s", err, out)
	}
	if len(doc.Runs) != 1 || doc.Runs[0].State != "planned" || doc.Runs[0].Summary["add"] != 1 ||
		doc.Runs[0].Summary["change"]+doc.Runs[0].Summary["destroy"]+doc.Runs[0].Summary["replace"] != 0 {
		return fmt.Errorf("landform plan did not plan one addition:\n%s", out)
	}
	return nil
}

// rawPlan runs terraform init and plan in dir, a fresh copy of the
// workspace, and with show also `plan -out` and `show -json`.
func (f *planFixture) rawPlan(ctx context.Context, dir string, show bool) error {
	env := f.rawEnv()
	tf := f.tools.Terraform
	if _, err := run(ctx, dir, env, tf, "init", "-input=false", "-no-color"); err != nil {
		return err
	}
	planArgs := []string{"plan", "-input=false", "-no-color"}
	if show {
		planArgs = append(planArgs, "-out=plan.tfplan")
	}
	out, err := run(ctx, dir, env, tf, planArgs...)
	if err != nil {
		return err
	}
	if !strings.Contains(string(out), "Plan: 1 to add, 0 to change, 0 to destroy.") {
		return fmt.Errorf("terraform plan did not plan one addition:\n%s", out)
	}
	if show {
		js, err := run(ctx, dir, env, tf, "show", "-json", "-no-color", "plan.tfplan")
		if err != nil {
			return err
		}
		if !json.Valid(js) {
			return fmt.Errorf("terraform show -json printed no JSON")
		}
	}
	return nil
}

// BenchmarkPlanOverhead measures `landform plan` of one workspace, run as
// a process, against raw terraform in a fresh copy of the same workspace,
// with the same binary, CLI config and plugin cache:
//
//   - raw: terraform init && terraform plan;
//   - raw+show: terraform init && terraform plan -out=f && terraform show
//     -json f, which is what Landform runs (it stores the plan file and
//     its JSON and reads the summary from the JSON).
//
// Landform runs with the sandbox off, like raw terraform (see
// landformPlan). It also opens the repo, reads its configuration, exports
// the commit, and stores the run and the artifacts in its data directory.
// Every round runs the three in a rotating order; the plans refresh the
// applied resources and add one. Reported: the medians of the wall times
// ("landform-ms", "raw-ms", "raw+show-ms") and their ratios ("x-raw",
// "x-raw+show"), and the medians of the CPU time of each side's processes
// ("landform-cpu-ms", "raw+show-cpu-ms") and their ratio
// ("cpu-x-raw+show"). b's own timer (ns/op) counts Landform only.
//
// In the "monorepo" case the workspace sits in the 2,000-workspace
// monorepo: Landform then also reads that whole configuration and exports
// that whole commit, while raw terraform still plans a copy of the one
// directory.
func BenchmarkPlanOverhead(b *testing.B) {
	for _, c := range []planCase{{5, false}, {150, false}, {5, true}} {
		name := fmt.Sprintf("resources=%d", c.resources)
		if c.monorepo {
			name = "monorepo/" + name
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			f := getPlanFixture(b, c)
			bin := landformBinary(b)
			rawRound := 0
			// raw plans in a fresh copy of the workspace, written untimed.
			raw := func(show bool) func() (sample, error) {
				return func() (sample, error) {
					rawRound++
					dir := filepath.Join(f.dir, fmt.Sprintf("raw-%d", rawRound))
					tftest.WriteFiles(b, dir, f.files)
					defer os.RemoveAll(dir)
					return timed(func() error { return f.rawPlan(ctx, dir, show) })
				}
			}
			sides := []side{
				{"landform", func() (sample, error) {
					b.StartTimer()
					defer b.StopTimer()
					return timed(func() error { return f.landformPlan(ctx, bin) })
				}},
				{"raw", raw(false)},
				{"raw+show", raw(true)},
			}
			times := rotate(b, sides, nil)
			lf, r, rs := medians(times["landform"]), medians(times["raw"]), medians(times["raw+show"])
			b.ReportMetric(ms(lf.wall), "landform-ms")
			b.ReportMetric(ms(r.wall), "raw-ms")
			b.ReportMetric(ms(rs.wall), "raw+show-ms")
			b.ReportMetric(float64(lf.wall)/float64(r.wall), "x-raw")
			b.ReportMetric(float64(lf.wall)/float64(rs.wall), "x-raw+show")
			b.ReportMetric(ms(lf.cpu), "landform-cpu-ms")
			b.ReportMetric(ms(rs.cpu), "raw+show-cpu-ms")
			b.ReportMetric(float64(lf.cpu)/float64(rs.cpu), "cpu-x-raw+show")
		})
	}
}
