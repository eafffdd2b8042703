package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/landform/landform/test/bench"
	"github.com/landform/landform/test/testcloud"
	"github.com/landform/landform/test/tftest"
)

// The drift sweep's size (issue 13): 40 workspaces of 25 resources, checked
// two at a time.
const (
	driftWorkspaces = 40
	driftResources  = 25
	driftParallel   = 2
)

// driftFixture is a repo of driftWorkspaces workspaces, live/ws-NN, each
// with driftResources testcloud resources applied: the local backend's
// state, terraform.tfstate in the workspace's directory, is committed with
// the code and the lock file, so every check refreshes every resource. A
// few workspaces drifted: one of their buckets was edited in the cloud.
type driftFixture struct {
	tools     *tftest.Tools
	cliConfig string // the mirror and the fixture's plugin cache, for both sides
	dir       string
	repo      string
	cloud     string
	data      string // landform's --data-dir, kept between rounds
	names     []string
	files     map[string]map[string]string // workspace → its files at HEAD
	drifted   []string                     // the workspaces edited in the cloud, sorted
}

var (
	driftFixLock sync.Mutex
	driftFix     *driftFixture
)

// driftConfig is workspace ws's configuration: testcloud buckets,
// instances tagged with a bucket's id and secrets, driftResources in all,
// named after ws so that the workspaces share one cloud.
func driftConfig(ws string) string {
	q := driftResources / 3
	return fmt.Sprintf(`terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }

  backend "local" {
    path = "terraform.tfstate"
  }
}

# The cloud's root comes from TESTCLOUD_ROOT.
provider "testcloud" {}

locals {
  ws = %q # the workspace's base name: the cloud's names are unique
}

resource "testcloud_bucket" "data" {
  count      = %d
  name       = "${local.ws}-data-${count.index}"
  versioning = true
  tags       = { env = "bench", ws = local.ws }
}

resource "testcloud_instance" "worker" {
  count = %d
  name  = "${local.ws}-worker-${count.index}"
  tags  = { bucket = testcloud_bucket.data[count.index].id }
}

resource "testcloud_secret" "token" {
  count = %d
  name  = "${local.ws}-token-${count.index}"
  value = "token-value-${count.index}"
}
`, filepath.Base(ws), driftResources-2*q, q, q)
}

// getDriftFixture makes the fixture once per process: each workspace is
// applied with raw terraform in the repo's working tree,
// then its code, lock file and state are committed, and every tenth
// workspace's first bucket loses its versioning in the cloud.
func getDriftFixture(b *testing.B) *driftFixture {
	b.Helper()
	driftFixLock.Lock()
	defer driftFixLock.Unlock()
	if driftFix != nil {
		return driftFix
	}
	ctx := context.Background()
	tools := tftest.Load(b)
	dir := fixtureDir(b, "drift")
	f := &driftFixture{
		tools: tools,
		dir:   dir,
		repo:  filepath.Join(dir, "repo"),
		cloud: filepath.Join(dir, "cloud"),
		data:  filepath.Join(dir, "data"),
		files: map[string]map[string]string{},
	}
	for _, d := range []string{f.repo, f.cloud, f.data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	for i := range driftWorkspaces {
		f.names = append(f.names, fmt.Sprintf("live/ws-%02d", i))
	}
	tftest.WriteFiles(b, f.repo, map[string]string{
		".gitignore": ".terraform/\n*.tfplan\n.terraform.tfstate.lock.info\n",
		"README.md":  "Drift sweep benchmark fixture.\n",
	})
	// The fixture's own CLI config: the mirror and a plugin cache of its
	// own, which no other process on the machine fills meanwhile.
	cache := filepath.Join(dir, "plugin-cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		b.Fatal(err)
	}
	f.cliConfig = filepath.Join(dir, "terraformrc")
	tftest.WriteFiles(b, dir, map[string]string{"terraformrc": fmt.Sprintf(`plugin_cache_dir = %q
disable_checkpoint = true
provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.terraform.io/*/*", "registry.opentofu.org/*/*"]
  }
}
`, cache, tools.Mirror)})
	env := f.rawEnv()
	for _, ws := range f.names {
		wsDir := filepath.Join(f.repo, ws)
		tftest.WriteFiles(b, wsDir, map[string]string{"main.tf": driftConfig(ws)})
		for _, args := range [][]string{
			{"init", "-input=false", "-no-color"},
			{"apply", "-input=false", "-no-color", "-auto-approve"},
		} {
			if _, err := run(ctx, wsDir, env, tools.Terraform, args...); err != nil {
				b.Fatalf("%s: %v", ws, err)
			}
		}
		if err := os.RemoveAll(filepath.Join(wsDir, ".terraform")); err != nil {
			b.Fatal(err)
		}
	}
	for _, ws := range f.names {
		files := map[string]string{}
		for _, name := range []string{"main.tf", ".terraform.lock.hcl", "terraform.tfstate"} {
			data, err := os.ReadFile(filepath.Join(f.repo, ws, name))
			if err != nil {
				b.Fatal(err)
			}
			files[name] = string(data)
		}
		f.files[ws] = files
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=main"},
		{"add", "--all"},
		{"-c", "gc.auto=0", "commit", "--quiet", "--no-verify", "-m", "40 workspaces, applied"},
	} {
		if _, err := bench.Git(ctx, f.repo, args...); err != nil {
			b.Fatal(err)
		}
	}

	store, err := testcloud.NewStore(f.cloud)
	if err != nil {
		b.Fatal(err)
	}
	for i := 3; i < driftWorkspaces; i += 10 {
		ws := f.names[i]
		id := filepath.Base(ws) + "-data-0" // a bucket's id is its name
		var obj map[string]any
		if err := store.Get(ctx, "bucket", id, &obj); err != nil {
			b.Fatalf("%s: %v", ws, err)
		}
		obj["versioning"] = false
		if err := store.Put(ctx, "bucket", id, obj); err != nil {
			b.Fatal(err)
		}
		f.drifted = append(f.drifted, ws)
	}
	driftFix = f
	return f
}

// rawEnv is the environment of raw terraform: the mirror CLI config with
// the shared plugin cache, and the cloud.
func (f *driftFixture) rawEnv() []string {
	return tftest.Env(f.cliConfig, "TESTCLOUD_ROOT="+f.cloud)
}

// landformDrift runs `landform drift --repo R --parallel 2 --json` over
// every workspace and checks the report: every workspace checked, exactly
// the edited ones drifted (one resource each), nothing unapplied. It runs
// with the sandbox off, as raw terraform does (the sandbox would hide the
// cloud's directory; BenchmarkSandbox in package terraform measures it).
func (f *driftFixture) landformDrift(ctx context.Context, bin string) error {
	out, err := run(ctx, "", tftest.Env(f.cliConfig), bin,
		"--data-dir", f.data, "drift", "--repo", f.repo, "--parallel", fmt.Sprint(driftParallel), "--json",
		"--terraform-cli-config", f.cliConfig,
		"--terraform-binary", f.tools.Terraform,
		"--sandbox", "off",
		"--env", "TESTCLOUD_ROOT="+f.cloud)
	if err != nil {
		return err
	}
	var doc struct {
		Workspaces []struct {
			Dir       string `json:"dir"`
			Status    string `json:"status"`
			Drifted   bool   `json:"drifted"`
			Resources []struct {
				Address string `json:"address"`
				Kind    string `json:"kind"`
			} `json:"resources"`
		} `json:"workspaces"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return fmt.Errorf("landform drift: %w\n%s", err, out)
	}
	if len(doc.Workspaces) != driftWorkspaces {
		return fmt.Errorf("landform drift reported %d workspaces, want %d:\n%s", len(doc.Workspaces), driftWorkspaces, out)
	}
	var drifted []string
	for _, w := range doc.Workspaces {
		if w.Drifted {
			drifted = append(drifted, w.Dir)
			if len(w.Resources) != 1 || w.Resources[0].Address != "testcloud_bucket.data[0]" || w.Resources[0].Kind != "changed" {
				return fmt.Errorf("landform drift: %s: resources %+v, want testcloud_bucket.data[0] changed", w.Dir, w.Resources)
			}
		} else if len(w.Resources) != 0 {
			return fmt.Errorf("landform drift: %s (%s): resources %+v, want none", w.Dir, w.Status, w.Resources)
		}
	}
	slices.Sort(drifted)
	if !slices.Equal(drifted, f.drifted) {
		return fmt.Errorf("landform drift: drifted %v, want %v", drifted, f.drifted)
	}
	return nil
}

// rawSweep runs, in sequence, terraform init and terraform plan
// -refresh-only in root/<workspace> for every workspace, fresh copies, and
// checks that exactly the edited workspaces report changes outside
// Terraform.
func (f *driftFixture) rawSweep(ctx context.Context, root string) error {
	env := f.rawEnv()
	tf := f.tools.Terraform
	for _, ws := range f.names {
		dir := filepath.Join(root, ws)
		if _, err := run(ctx, dir, env, tf, "init", "-input=false", "-no-color"); err != nil {
			return err
		}
		out, err := run(ctx, dir, env, tf, "plan", "-refresh-only", "-input=false", "-no-color")
		if err != nil {
			return err
		}
		drifted := strings.Contains(string(out), "Terraform detected the following changes made outside of Terraform")
		if want := slices.Contains(f.drifted, ws); drifted != want {
			return fmt.Errorf("terraform plan -refresh-only in %s: drifted %v, want %v:\n%s", ws, drifted, want, out)
		}
	}
	return nil
}

// rawDriftSteps runs, in sequence, the terraform commands Engine.Drift
// runs for each workspace in root/<workspace>: init, plan -refresh-only
// -out, show -json, plan -out, show -json. It is the reference that splits
// Landform's ratio into the work per workspace (this ÷ the baseline) and
// what running two at a time recovers (Landform ÷ this).
func (f *driftFixture) rawDriftSteps(ctx context.Context, root string) error {
	env := f.rawEnv()
	tf := f.tools.Terraform
	for _, ws := range f.names {
		dir := filepath.Join(root, ws)
		for _, args := range [][]string{
			{"init", "-input=false", "-no-color"},
			{"plan", "-refresh-only", "-input=false", "-no-color", "-out=drift-refresh-only.tfplan"},
			{"show", "-json", "-no-color", "drift-refresh-only.tfplan"},
			{"plan", "-input=false", "-no-color", "-out=drift-plan.tfplan"},
			{"show", "-json", "-no-color", "drift-plan.tfplan"},
		} {
			if _, err := run(ctx, dir, env, tf, args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// BenchmarkDriftSweep measures issue 13's drift sweep: `landform drift
// --repo R --parallel 2 --json` over 40 workspaces of 25 testcloud
// resources each (the real path: export, Runner.DriftBatch, Engine.Drift's
// init, refresh-only plan and show, normal plan and show, the store),
// run as a process, against the same refresh-only plans run by hand in
// sequence: `terraform init && terraform plan -refresh-only` in a fresh
// copy of each workspace (copied untimed), with the same binary, CLI
// config, plugin cache and cloud. Both find the same drifted workspaces,
// checked every round. One untimed warm-up round of each side comes
// first. Reported: the medians of the wall times
// ("landform-ms", "baseline-ms"), their ratio ("ratio"; issue 13's target
// is at most 1/parallel × 1.2 = 0.6), and the medians of the CPU time of
// each side's processes ("landform-cpu-ms", "baseline-cpu-ms"). A third,
// reference side runs Engine.Drift's five terraform commands per workspace
// by hand in sequence ("steps-ms", "steps-cpu-ms"; see rawDriftSteps). The
// three rotate (A B C, B C A, ...). b's own timer (ns/op) counts Landform
// only.
//
// The resources are testcloud's, not terraform_data: terraform_data lives
// in terraform itself and its refresh returns the state unread, while a
// testcloud refresh is what a cloud provider's is, a provider process
// started per command and one read RPC per resource answered from outside
// the state (a JSON file per object in the cloud's directory).
//
// Each sweep takes tens of seconds: run it with -benchtime 3x or so.
func BenchmarkDriftSweep(b *testing.B) {
	ctx := context.Background()
	f := getDriftFixture(b)
	bin := landformBinary(b)
	round := 0
	// raw runs sweep in fresh copies of the workspaces, written untimed.
	raw := func(sweep func(context.Context, string) error) func() (sample, error) {
		return func() (sample, error) {
			round++
			root := filepath.Join(f.dir, fmt.Sprintf("raw-%d", round))
			for ws, files := range f.files {
				tftest.WriteFiles(b, filepath.Join(root, ws), files)
			}
			defer os.RemoveAll(root)
			return timed(func() error { return sweep(ctx, root) })
		}
	}
	sides := []side{
		{"landform", func() (sample, error) {
			b.StartTimer()
			defer b.StopTimer()
			return timed(func() error { return f.landformDrift(ctx, bin) })
		}},
		{"baseline", raw(f.rawSweep)},
		{"engine-steps", raw(f.rawDriftSteps)},
	}
	times := rotate(b, sides, func(i int, s side, d sample) {
		// Each round on stderr: b.Log's output of a benchmark is cut short.
		fmt.Fprintf(os.Stderr, "drift sweep, round %d of %d: %s %.0f ms (cpu %.0f ms)\n", i+1, b.N, s.name, ms(d.wall), ms(d.cpu))
	})
	lf, base, steps := medians(times["landform"]), medians(times["baseline"]), medians(times["engine-steps"])
	b.ReportMetric(ms(lf.wall), "landform-ms")
	b.ReportMetric(ms(base.wall), "baseline-ms")
	b.ReportMetric(float64(lf.wall)/float64(base.wall), "ratio")
	b.ReportMetric(ms(lf.cpu), "landform-cpu-ms")
	b.ReportMetric(ms(base.cpu), "baseline-cpu-ms")
	b.ReportMetric(ms(steps.wall), "steps-ms")
	b.ReportMetric(ms(steps.cpu), "steps-cpu-ms")
}
