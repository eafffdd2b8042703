package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/landform/landform"
	"github.com/landform/landform/test/testcloud"
	"github.com/landform/landform/test/tftest"
)

func TestDriftedResources(t *testing.T) {
	t.Parallel()
	want := []landform.DriftedResource{
		{Address: "testcloud_bucket.logs", Kind: landform.DriftDeleted, Action: "delete"},
		{Address: "testcloud_instance.web", Kind: landform.DriftChanged, Action: "update",
			Attributes: []landform.AttributeChange{{Path: "size", Before: "small", After: "large"}}},
	}
	if got := DriftedResources(parsePlan(t, planJSON)); !reflect.DeepEqual(got, want) {
		t.Errorf("DriftedResources = %+v, want %+v", got, want)
	}
	if got := DriftedResources(parsePlan(t, `{"format_version":"1.2"}`)); len(got) != 0 {
		t.Errorf("DriftedResources of a plan without drift = %+v", got)
	}
	if got := DriftedResources(nil); len(got) != 0 {
		t.Errorf("DriftedResources(nil) = %+v", got)
	}
}

// change parses a plan's change object.
func change(t *testing.T, doc string) *tfjson.Change {
	t.Helper()
	var c tfjson.Change
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestAttributeChanges(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxDriftValueBytes) // 2 bytes a rune
	for _, tc := range []struct {
		name, change string
		want         []landform.AttributeChange
	}{
		{
			name: "nested objects, lists, added and removed keys",
			change: `{"actions":["update"],
			  "before":{"name":"a","size":"small","tags":{"env":"test","gone":"x"},"rules":[{"port":80},{"port":443}],"n":1},
			  "after": {"name":"a","size":"large","tags":{"env":"prod","new":"y"},"rules":[{"port":8080}],"n":1}}`,
			want: []landform.AttributeChange{
				{Path: "rules[0].port", Before: 80.0, After: 8080.0},
				{Path: "rules[1].port", Before: 443.0, After: nil},
				{Path: "size", Before: "small", After: "large"},
				{Path: "tags.env", Before: "test", After: "prod"},
				{Path: "tags.gone", Before: "x", After: nil},
				{Path: "tags.new", Before: nil, After: "y"},
			},
		},
		{
			name:   "null and absent are the same; a key that is not an identifier is quoted",
			change: `{"actions":["update"],"before":{"a":null,"labels":{}},"after":{"labels":{"app.kubernetes.io/name":"web"}}}`,
			want:   []landform.AttributeChange{{Path: `labels["app.kubernetes.io/name"]`, Before: nil, After: "web"}},
		},
		{
			name:   "a type change is one leaf",
			change: `{"actions":["update"],"before":{"x":{"a":1}},"after":{"x":"flat"}}`,
			want:   []landform.AttributeChange{{Path: "x", Before: map[string]any{"a": 1.0}, After: "flat"}},
		},
		{
			name: "sensitive leaves and parents are masked on both sides",
			change: `{"actions":["update"],
			  "before":{"value":"old-secret","conn":{"password":"p1","user":"u1"},"plain":"a"},
			  "after": {"value":"new-secret","conn":{"password":"p2","user":"u2"},"plain":"b"},
			  "before_sensitive":{"value":true},
			  "after_sensitive":{"conn":true}}`,
			want: []landform.AttributeChange{
				{Path: "conn.password", Before: landform.SensitiveValue, After: landform.SensitiveValue, Sensitive: true},
				{Path: "conn.user", Before: landform.SensitiveValue, After: landform.SensitiveValue, Sensitive: true},
				{Path: "plain", Before: "a", After: "b"},
				{Path: "value", Before: landform.SensitiveValue, After: landform.SensitiveValue, Sensitive: true},
			},
		},
		{
			name:   "a long value is cut at a rune",
			change: `{"actions":["update"],"before":{"s":"short"},"after":{"s":"` + long + `"}}`,
			want: []landform.AttributeChange{{Path: "s", Before: "short",
				After: strings.Repeat("é", MaxDriftValueBytes/2) + "… (2048 bytes)"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AttributeChanges(change(t, tc.change))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("AttributeChanges =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}

	// A huge object: at most MaxDriftAttributes entries, the last saying
	// how many more there are.
	before, after := map[string]any{}, map[string]any{}
	for i := range 120 {
		k := fmt.Sprintf("k%03d", i)
		before[k], after[k] = i, i+1
	}
	got := AttributeChanges(&tfjson.Change{Before: before, After: after})
	if len(got) != MaxDriftAttributes || got[0].Path != "k000" || got[len(got)-2].Path != "k048" {
		t.Fatalf("capped list: %d entries, %+v … %+v", len(got), got[0], got[len(got)-2])
	}
	if last := got[len(got)-1]; last.Path != "…" || last.After != "71 more attributes" {
		t.Errorf("last entry = %+v", last)
	}
}

// TestUnappliedResources is the rule of what the drift explains, on
// hand-written plans.
func TestUnappliedResources(t *testing.T) {
	t.Parallel()
	refresh := parsePlan(t, `{"format_version":"1.2","resource_drift":[
	  {"address":"x.changed","change":{"actions":["update"],
	    "before":{"id":"1","size":"small","tags":{"env":"test"}},"after":{"id":"1","size":"large","tags":{"env":"test"}}}},
	  {"address":"x.deleted","change":{"actions":["delete"],"before":{"id":"2","name":"d","size":"small"},"after":null}},
	  {"address":"x.quiet","change":{"actions":["no-op"],"before":{"size":"small"},"after":{"size":"small"}}}
	]}`)
	for _, tc := range []struct {
		name, change string
		want         string // "" when explained by the drift, else the action
	}{
		{"drifted attribute set back", `{"address":"x.changed","change":{"actions":["update"],
		  "before":{"id":"1","size":"large","tags":{"env":"test"}},"after":{"id":"1","size":"small","tags":{"env":"test"}}}}`, ""},
		{"set back and another attribute changed", `{"address":"x.changed","change":{"actions":["update"],
		  "before":{"id":"1","size":"large","tags":{"env":"test"}},"after":{"id":"1","size":"small","tags":{"env":"prod"}}}}`, "update"},
		{"drifted attribute set to a third value", `{"address":"x.changed","change":{"actions":["update"],
		  "before":{"id":"1","size":"large","tags":{"env":"test"}},"after":{"id":"1","size":"medium","tags":{"env":"test"}}}}`, "update"},
		{"drifted resource deleted by the code", `{"address":"x.changed","change":{"actions":["delete"],
		  "before":{"id":"1","size":"large","tags":{"env":"test"}},"after":null}}`, "delete"},
		{"drifted resource replaced to set it back, unknowns skipped", `{"address":"x.changed","change":{"actions":["delete","create"],
		  "before":{"id":"1","size":"large","tags":{"env":"test"}},"after":{"size":"small","tags":{"env":"test"}},"after_unknown":{"id":true}}}`, ""},
		{"deleted object re-created as it was", `{"address":"x.deleted","change":{"actions":["create"],
		  "before":null,"after":{"name":"d","size":"small"},"after_unknown":{"id":true}}}`, ""},
		{"deleted object re-created differently", `{"address":"x.deleted","change":{"actions":["create"],
		  "before":null,"after":{"name":"d","size":"large"},"after_unknown":{"id":true}}}`, "create"},
		{"a resource that did not drift", `{"address":"x.other","change":{"actions":["update"],"before":{"a":1},"after":{"a":2}}}`, "update"},
		{"a no-op drift explains nothing", `{"address":"x.quiet","change":{"actions":["update"],"before":{"size":"small"},"after":{"size":"large"}}}`, "update"},
		{"created", `{"address":"x.new","change":{"actions":["create"],"before":null,"after":{"a":1}}}`, "create"},
		{"forgotten", `{"address":"x.old","change":{"actions":["forget"],"before":{"a":1},"after":null}}`, "forget"},
		{"imported", `{"address":"x.imp","change":{"actions":["no-op"],"before":{"a":1},"after":{"a":1},"importing":{"id":"i"}}}`, "import"},
		{"no-op", `{"address":"x.same","change":{"actions":["no-op"],"before":{"a":1},"after":{"a":1}}}`, ""},
		{"read", `{"address":"data.x.y","mode":"data","change":{"actions":["read"],"before":null,"after":{"a":1}}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := parsePlan(t, `{"format_version":"1.2","resource_changes":[`+tc.change+`]}`)
			got := UnappliedResources(p, refresh)
			var want []landform.DriftedResource
			if tc.want != "" {
				want = []landform.DriftedResource{{Address: p.ResourceChanges[0].Address, Kind: landform.DriftUnapplied, Action: tc.want}}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("UnappliedResources = %+v, want %+v", got, want)
			}
		})
	}
}

// The drift checks below run real terraform and the testcloud provider:
// each applies a workspace with the engine, moves the test cloud or the
// code behind terraform's back, and checks Engine.Drift.

// driftWorkspace writes main (testcloud resources) into a new workspace
// whose state is the local backend's state/drift.tfstate and whose test
// cloud is the directory cloud, both inside the workspace where the
// sandbox lets terraform and the provider write, and applies it with the
// engine. It returns the request for the workspace's drift checks (its own
// scratch and data directories) and the cloud's store.
func driftWorkspace(t *testing.T, e *Engine, main string) (PlanRequest, *testcloud.Store) {
	t.Helper()
	needTestcloud(t)
	dir := workspaceDir(t, map[string]string{
		"main.tf": testcloudProvider + `terraform {
  backend "local" { path = "state/drift.tfstate" }
}
` + main,
	})
	cloud := filepath.Join(dir, "cloud")
	scratch := t.TempDir()
	req := PlanRequest{Dir: dir, Name: "envs/drift", Env: map[string]string{testcloud.RootEnv: cloud},
		Scratch: scratch, DataDir: filepath.Join(scratch, "data")}
	ctx := testContext(t)
	res, err := e.Plan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(ctx, req, res.PlanFile); err != nil {
		t.Fatal(err)
	}
	store, err := testcloud.NewStore(cloud)
	if err != nil {
		t.Fatal(err)
	}
	return req, store
}

// editObject changes the test cloud's object kind/id behind terraform's
// back.
func editObject(t *testing.T, s *testcloud.Store, kind, id string, edit func(obj map[string]any)) {
	t.Helper()
	ctx := context.Background()
	var obj map[string]any
	if err := s.Get(ctx, kind, id, &obj); err != nil {
		t.Fatal(err)
	}
	edit(obj)
	if err := s.Put(ctx, kind, id, obj); err != nil {
		t.Fatal(err)
	}
}

// instanceID finds the id of the test cloud's instance called name.
func instanceID(t *testing.T, s *testcloud.Store, name string) string {
	t.Helper()
	ctx := context.Background()
	ids, err := s.List(ctx, "instance")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		var obj struct{ Name string }
		if err := s.Get(ctx, "instance", id, &obj); err == nil && obj.Name == name {
			return id
		}
	}
	t.Fatalf("no instance %q in %v", name, ids)
	return ""
}

func checkDrift(t *testing.T, res *DriftResult, drifted bool, want []landform.DriftedResource) {
	t.Helper()
	if res.Drifted != drifted || !reflect.DeepEqual(res.Resources, want) {
		got, _ := json.MarshalIndent(res.Resources, "", "  ")
		wantJSON, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("drifted %v, resources\n%s\nwant drifted %v, resources\n%s", res.Drifted, got, drifted, wantJSON)
	}
}

const driftBucketAndInstance = `
resource "testcloud_bucket" "logs" {
  name       = "logs"
  versioning = true
  tags       = { env = "test" }
}
resource "testcloud_instance" "web" { name = "web" }
`

// TestDriftChanged: objects edited in the cloud are changed outside
// Terraform, attribute by attribute; the normal plan only sets them back,
// so nothing is unapplied. Both plans are files of the scratch directory,
// and neither wrote the state.
func TestDriftChanged(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	req, cloud := driftWorkspace(t, e, driftBucketAndInstance)
	editObject(t, cloud, "bucket", "logs", func(obj map[string]any) {
		obj["versioning"] = false
		obj["tags"] = map[string]any{"env": "prod", "owner": "ops"}
	})
	editObject(t, cloud, "instance", instanceID(t, cloud, "web"), func(obj map[string]any) { obj["size"] = "large" })
	statePath := filepath.Join(req.Dir, "state", "drift.tfstate")
	state, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}

	res, err := e.Drift(testContext(t), req)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("timings: %+v", res.Timings)
	checkDrift(t, res, true, []landform.DriftedResource{
		{Address: "testcloud_bucket.logs", Kind: landform.DriftChanged, Action: "update", Attributes: []landform.AttributeChange{
			{Path: "tags.env", Before: "test", After: "prod"},
			{Path: "tags.owner", Before: nil, After: "ops"},
			{Path: "versioning", Before: true, After: false},
		}},
		{Address: "testcloud_instance.web", Kind: landform.DriftChanged, Action: "update", Attributes: []landform.AttributeChange{
			{Path: "size", Before: "small", After: "large"},
		}},
	})
	if !res.RefreshOnly.Changes || res.RefreshOnly.Summary != (landform.PlanSummary{}) {
		t.Errorf("refresh-only plan: changes %v, summary %+v", res.RefreshOnly.Changes, res.RefreshOnly.Summary)
	}
	if want := (landform.PlanSummary{Change: 2}); res.Plan.Summary != want || !res.Plan.Changes {
		t.Errorf("normal plan: summary %+v, changes %v; want %+v", res.Plan.Summary, res.Plan.Changes, want)
	}
	for _, p := range []struct {
		res  *PlanResult
		file string
	}{{res.RefreshOnly, driftRefreshOnlyFile}, {res.Plan, driftPlanFile}} {
		onDisk, err := os.ReadFile(p.res.PlanFile)
		if p.res.PlanFile != filepath.Join(req.Scratch, p.file) || err != nil || !bytes.Equal(onDisk, p.res.Artifact.Plan) {
			t.Errorf("plan file %s (%v) is not the artifact, or not %s in the scratch directory", p.res.PlanFile, err, p.file)
		}
	}
	if after, err := os.ReadFile(statePath); err != nil || !bytes.Equal(after, state) {
		t.Errorf("the drift check wrote the state (%v)", err)
	}

	// The normal plan's artifact is the remediation: applied, it leaves
	// nothing drifted.
	if _, err := e.Apply(testContext(t), req, res.Plan.PlanFile); err != nil {
		t.Fatal(err)
	}
	res, err = e.Drift(testContext(t), req)
	if err != nil {
		t.Fatal(err)
	}
	checkDrift(t, res, false, []landform.DriftedResource{})
}

// TestDriftDeleted: an object deleted in the cloud is deleted outside
// Terraform; the normal plan re-creates it as it was, which is no
// unapplied code.
func TestDriftDeleted(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	req, cloud := driftWorkspace(t, e, driftBucketAndInstance)
	if err := cloud.Delete(context.Background(), "instance", instanceID(t, cloud, "web")); err != nil {
		t.Fatal(err)
	}
	res, err := e.Drift(testContext(t), req)
	if err != nil {
		t.Fatal(err)
	}
	checkDrift(t, res, true, []landform.DriftedResource{
		{Address: "testcloud_instance.web", Kind: landform.DriftDeleted, Action: "delete"},
	})
	if want := (landform.PlanSummary{Add: 1}); res.Plan.Summary != want {
		t.Errorf("normal plan: summary %+v, want %+v", res.Plan.Summary, want)
	}
}

// TestDriftUnapplied: code changed but not applied is unapplied, with the
// plan's action, and is no drift. Then a drifted instance whose code also
// changes another attribute is both changed and unapplied.
func TestDriftUnapplied(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	req, cloud := driftWorkspace(t, e, driftBucketAndInstance+`resource "testcloud_instance" "db" { name = "db" }
`)
	tftest.WriteFiles(t, req.Dir, map[string]string{"changes.tf": `
resource "testcloud_bucket" "extra" { name = "extra" }
`})
	// web: only the code changes; db: only the cloud, for now.
	main := filepath.Join(req.Dir, "main.tf")
	replaceInFile(t, main, `resource "testcloud_instance" "web" { name = "web" }`,
		`resource "testcloud_instance" "web" {
  name = "web"
  size = "large"
}`)
	res, err := e.Drift(testContext(t), req)
	if err != nil {
		t.Fatal(err)
	}
	checkDrift(t, res, false, []landform.DriftedResource{
		{Address: "testcloud_bucket.extra", Kind: landform.DriftUnapplied, Action: "create"},
		{Address: "testcloud_instance.web", Kind: landform.DriftUnapplied, Action: "update"},
	})

	editObject(t, cloud, "instance", instanceID(t, cloud, "db"), func(obj map[string]any) { obj["size"] = "medium" })
	res, err = e.Drift(testContext(t), req)
	if err != nil {
		t.Fatal(err)
	}
	changedDB := landform.DriftedResource{Address: "testcloud_instance.db", Kind: landform.DriftChanged, Action: "update",
		Attributes: []landform.AttributeChange{{Path: "size", Before: "small", After: "medium"}}}
	checkDrift(t, res, true, []landform.DriftedResource{
		changedDB,
		{Address: "testcloud_bucket.extra", Kind: landform.DriftUnapplied, Action: "create"},
		{Address: "testcloud_instance.web", Kind: landform.DriftUnapplied, Action: "update"},
	})

	replaceInFile(t, main, `resource "testcloud_instance" "db" { name = "db" }`,
		`resource "testcloud_instance" "db" {
  name = "db"
  tags = { role = "database" }
}`)
	res, err = e.Drift(testContext(t), req)
	if err != nil {
		t.Fatal(err)
	}
	checkDrift(t, res, true, []landform.DriftedResource{
		changedDB,
		{Address: "testcloud_bucket.extra", Kind: landform.DriftUnapplied, Action: "create"},
		{Address: "testcloud_instance.db", Kind: landform.DriftUnapplied, Action: "update"},
		{Address: "testcloud_instance.web", Kind: landform.DriftUnapplied, Action: "update"},
	})
}

func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s lacks %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDriftClean: nothing touched is clean. So is a workspace where one
// resource's attribute comes from another's since the last apply, with the
// same value: terraform 1.11's `plan -refresh-only -detailed-exitcode`
// exits 2 there, "No changes" (hashicorp/terraform#36403), and Drift,
// which reads resource_drift, still says clean.
func TestDriftClean(t *testing.T) {
	t.Parallel()
	e, tools := newTestEngine(t)
	req, _ := driftWorkspace(t, e, driftBucketAndInstance+`resource "testcloud_instance" "app" {
  name = "app"
  tags = { env = "test" }
}
`)
	res, err := e.Drift(testContext(t), req)
	if err != nil {
		t.Fatal(err)
	}
	checkDrift(t, res, false, []landform.DriftedResource{})
	if res.RefreshOnly.Changes || res.Plan.Changes {
		t.Errorf("changes: refresh-only %v, plan %v", res.RefreshOnly.Changes, res.Plan.Changes)
	}

	// app's tag now comes from the bucket's: the same value.
	replaceInFile(t, filepath.Join(req.Dir, "main.tf"), `tags = { env = "test" }
}
`, `tags = { env = testcloud_bucket.logs.tags["env"] }
}
`)
	tf := tools.NewTF(t, tools.Terraform, req.Dir, testcloud.RootEnv+"="+req.Env[testcloud.RootEnv])
	tf.Run("init", "-input=false", "-no-color")
	stdout, stderr, err := tf.Exec("plan", "-refresh-only", "-detailed-exitcode", "-input=false", "-no-color")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(stdout, "No changes.") {
		t.Fatalf("terraform plan -refresh-only -detailed-exitcode: %v, want exit 2 with No changes\n%s%s", err, stdout, stderr)
	}
	res, err = e.Drift(testContext(t), req)
	if err != nil {
		t.Fatal(err)
	}
	checkDrift(t, res, false, []landform.DriftedResource{})
	if res.RefreshOnly.Changes || res.Plan.Changes || len(res.RefreshOnly.JSON.ResourceDrift) != 0 {
		t.Errorf("changes: refresh-only %v, plan %v; resource_drift %d", res.RefreshOnly.Changes, res.Plan.Changes,
			len(res.RefreshOnly.JSON.ResourceDrift))
	}
}

// TestDriftSensitive: a secret's value changed outside Terraform is
// reported changed, its value masked; neither value is anywhere in the
// report.
func TestDriftSensitive(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	const original, drifted = "original-s3cr3t-7f3a", "drifted-s3cr3t-9c1e"
	req, cloud := driftWorkspace(t, e, `resource "testcloud_secret" "db" {
  name  = "db"
  value = "`+original+`"
}
`)
	editObject(t, cloud, "secret", "db", func(obj map[string]any) { obj["value"] = drifted })
	res, err := e.Drift(testContext(t), req)
	if err != nil {
		t.Fatal(err)
	}
	checkDrift(t, res, true, []landform.DriftedResource{
		{Address: "testcloud_secret.db", Kind: landform.DriftChanged, Action: "update", Attributes: []landform.AttributeChange{
			{Path: "value", Before: landform.SensitiveValue, After: landform.SensitiveValue, Sensitive: true},
		}},
	})
	report, err := json.Marshal(landform.WorkspaceDrift{Workspace: req.Name, Drifted: res.Drifted, Resources: res.Resources})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{string(report), res.RefreshOnly.Artifact.Text, res.Plan.Artifact.Text} {
		if strings.Contains(s, original) || strings.Contains(s, drifted) {
			t.Errorf("a secret value is shown:\n%s", s)
		}
	}
}
