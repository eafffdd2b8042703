package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/landform/landform/test/tftest"
)

const testcloudConfig = `
terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
    time      = { source = "hashicorp/time", version = "0.14.2" }
  }
}

provider "testcloud" {
  root = var.cloud_root
}

variable "cloud_root" { type = string }

resource "time_static" "created" {}

resource "testcloud_bucket" "logs" {
  name       = "logs"
  versioning = true
  tags       = { env = "test", created = time_static.created.rfc3339 }
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
`

// cloudWorkspace writes the testcloud config into a fresh directory and
// returns a terraform runner for it and the cloud's root directory.
func cloudWorkspace(t *testing.T, bin string) (*tftest.TF, string) {
	t.Helper()
	tools := tftest.Load(t)
	dir := t.TempDir()
	cloud := filepath.Join(t.TempDir(), "cloud")
	tftest.WriteFiles(t, dir, map[string]string{"main.tf": testcloudConfig})
	tf := tools.NewTF(t, bin, dir, "TF_VAR_cloud_root="+cloud)
	return tf, cloud
}

// terraformBinaries lists the terraform binaries the harness offers: the one
// setup chose and, when setup built one from source, that one too.
func terraformBinaries(t *testing.T) map[string]string {
	tools := tftest.Load(t)
	bins := map[string]string{"chosen": tools.Terraform}
	if tools.TerraformBuilt != "" && tools.TerraformBuilt != tools.Terraform {
		bins["built"] = tools.TerraformBuilt
	}
	return bins
}

func TestInitPlanApplyOffline(t *testing.T) {
	t.Parallel()
	for name, bin := range terraformBinaries(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tf, cloud := cloudWorkspace(t, bin)
			tf.Run("init", "-input=false", "-no-color")
			tf.Run("plan", "-input=false", "-no-color", "-out=plan.tfplan")
			plan := showPlan(t, tf, "plan.tfplan")
			if got := countActions(plan, tfjson.ActionCreate); got != 4 {
				t.Fatalf("plan creates %d resources, want 4", got)
			}
			tf.Run("apply", "-input=false", "-no-color", "plan.tfplan")

			for _, f := range []string{"bucket/logs.json", "secret/db-password.json"} {
				if _, err := os.Stat(filepath.Join(cloud, f)); err != nil {
					t.Errorf("object not in the cloud after apply: %v", err)
				}
			}
			instances, _ := filepath.Glob(filepath.Join(cloud, "instance", "*.json"))
			if len(instances) != 1 {
				t.Errorf("instances in the cloud: %v, want one", instances)
			}

			// A second plan of the same code is empty: reads are stable.
			_, _, err := tf.Exec("plan", "-input=false", "-no-color", "-detailed-exitcode")
			if err != nil {
				t.Errorf("plan after apply is not empty (detailed exit code): %v", err)
			}

			tf.Run("destroy", "-auto-approve", "-input=false", "-no-color")
			left, _ := filepath.Glob(filepath.Join(cloud, "*", "*.json"))
			if len(left) != 0 {
				t.Errorf("objects left after destroy: %v", left)
			}
		})
	}
}

func TestRefreshOnlyPlanReportsDrift(t *testing.T) {
	t.Parallel()
	tools := tftest.Load(t)
	tf, cloud := cloudWorkspace(t, tools.Terraform)
	tf.Run("init", "-input=false", "-no-color")
	tf.Run("apply", "-auto-approve", "-input=false", "-no-color")

	// No edits: no drift.
	tf.Run("plan", "-refresh-only", "-input=false", "-no-color", "-out=clean.tfplan")
	if drift := driftActions(showPlan(t, tf, "clean.tfplan")); len(drift) != 0 {
		t.Fatalf("drift without any outside edit: %v", drift)
	}

	// Edit the bucket and delete the instance behind Terraform's back.
	bucketFile := filepath.Join(cloud, "bucket", "logs.json")
	var bucket map[string]any
	data, err := os.ReadFile(bucketFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &bucket); err != nil {
		t.Fatal(err)
	}
	bucket["versioning"] = false
	data, _ = json.Marshal(bucket)
	if err := os.WriteFile(bucketFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	instances, _ := filepath.Glob(filepath.Join(cloud, "instance", "*.json"))
	if len(instances) != 1 {
		t.Fatalf("instances: %v", instances)
	}
	if err := os.Remove(instances[0]); err != nil {
		t.Fatal(err)
	}

	tf.Run("plan", "-refresh-only", "-input=false", "-no-color", "-out=drift.tfplan")
	got := driftActions(showPlan(t, tf, "drift.tfplan"))
	want := []string{"testcloud_bucket.logs update", "testcloud_instance.web delete"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("resource_drift = %v, want %v", got, want)
	}
}

func TestSecretValueNeverShown(t *testing.T) {
	t.Parallel()
	tools := tftest.Load(t)
	tf, _ := cloudWorkspace(t, tools.Terraform)
	const secret = "s3cr3t-hunter2-value"
	var outputs []string
	outputs = append(outputs, tf.Run("init", "-input=false", "-no-color"))
	outputs = append(outputs, tf.Run("plan", "-input=false", "-no-color", "-out=plan.tfplan"))
	outputs = append(outputs, tf.Run("show", "-no-color", "plan.tfplan"))
	outputs = append(outputs, tf.Run("apply", "-input=false", "-no-color", "plan.tfplan"))
	outputs = append(outputs, tf.Run("show", "-no-color"))
	outputs = append(outputs, tf.Run("state", "show", "-no-color", "testcloud_secret.db"))
	for i, out := range outputs {
		if strings.Contains(out, secret) {
			t.Errorf("output %d shows the secret value:\n%s", i, out)
		}
	}
	if !strings.Contains(outputs[4], "(sensitive value)") {
		t.Errorf("terraform show does not mark the value sensitive:\n%s", outputs[4])
	}
}

func TestImportAndDuplicateCreate(t *testing.T) {
	t.Parallel()
	tools := tftest.Load(t)
	tf, cloud := cloudWorkspace(t, tools.Terraform)
	tftest.WriteFiles(t, filepath.Join(cloud, "bucket"), map[string]string{
		"logs.json": `{"id":"logs","name":"logs","versioning":true,"tags":{"env":"test"}}`,
	})
	tf.Run("init", "-input=false", "-no-color")

	// Creating a bucket whose name exists in the cloud fails, clearly.
	_, stderr, err := tf.Exec("apply", "-auto-approve", "-input=false", "-no-color", "-target=testcloud_bucket.logs")
	if err == nil || !strings.Contains(stderr, "already exists") {
		t.Fatalf("creating an existing bucket: err %v, stderr:\n%s", err, stderr)
	}

	// Importing it by id adopts it.
	tf.Run("import", "-input=false", "-no-color", "testcloud_bucket.logs", "logs")
	state := tf.Run("state", "show", "-no-color", "testcloud_bucket.logs")
	if !strings.Contains(state, `name       = "logs"`) || !strings.Contains(state, "versioning = true") {
		t.Fatalf("imported state:\n%s", state)
	}
}

func showPlan(t *testing.T, tf *tftest.TF, planFile string) *tfjson.Plan {
	t.Helper()
	var plan tfjson.Plan
	if err := json.Unmarshal([]byte(tf.Run("show", "-json", planFile)), &plan); err != nil {
		t.Fatalf("decoding plan JSON: %v", err)
	}
	return &plan
}

func countActions(plan *tfjson.Plan, action tfjson.Action) int {
	n := 0
	for _, rc := range plan.ResourceChanges {
		if rc.Change != nil && len(rc.Change.Actions) == 1 && rc.Change.Actions[0] == action {
			n++
		}
	}
	return n
}

// driftActions lists "address action" for each entry of resource_drift,
// sorted.
func driftActions(plan *tfjson.Plan) []string {
	var out []string
	for _, rc := range plan.ResourceDrift {
		var acts []string
		for _, a := range rc.Change.Actions {
			acts = append(acts, string(a))
		}
		out = append(out, rc.Address+" "+strings.Join(acts, "+"))
	}
	sort.Strings(out)
	return out
}
