package policies_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/policies"
	"github.com/landform/landform/test/tftest"
)

// The configurations planned with real terraform and the testcloud
// provider: base is applied first; safe and bad are then planned against
// its state.
const (
	tfProviders = `
terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}
`
	tfBase = tfProviders + `
resource "testcloud_bucket" "logs" {
  name = "logs"
  tags = { owner = "ops", env = "prod" }
}
resource "testcloud_instance" "web" {
  name = "web"
  tags = { owner = "web", env = "prod" }
}
resource "testcloud_secret" "token" {
  name  = "token"
  value = "s3cr3t-value"
}
resource "terraform_data" "core" {
  input = "v1"
}
`
	// tfSafe adds a tagged bucket and retags the instance: no destroys, no
	// change to terraform_data.core.
	tfSafe = tfProviders + `
resource "testcloud_bucket" "logs" {
  name = "logs"
  tags = { owner = "ops", env = "prod" }
}
resource "testcloud_bucket" "assets" {
  name = "assets"
  tags = { owner = "web", env = "prod" }
}
resource "testcloud_instance" "web" {
  name = "web"
  tags = { owner = "web", env = "prod", tier = "front" }
}
resource "testcloud_secret" "token" {
  name  = "token"
  value = "s3cr3t-value"
}
resource "terraform_data" "core" {
  input = "v1"
}
`
	// tfBad destroys the logs bucket, replaces the instance (new name) and
	// the secret, updates terraform_data.core and creates an instance
	// without the env tag.
	tfBad = tfProviders + `
resource "testcloud_instance" "web" {
  name = "web2"
  tags = { owner = "web", env = "prod" }
}
resource "testcloud_instance" "worker" {
  name = "worker"
  tags = { owner = "batch" }
}
resource "testcloud_secret" "token" {
  name  = "token2"
  value = "s3cr3t-value"
}
resource "terraform_data" "core" {
  input = "v2"
}
`
)

// realPlans applies tfBase with terraform and the testcloud provider, then
// returns the JSON of the plans of tfSafe and tfBad against its state.
func realPlans(t *testing.T) (safe, bad []byte) {
	t.Helper()
	tools := tftest.Load(t)
	dir := t.TempDir()
	cloud := filepath.Join(dir, "cloud")
	ws := filepath.Join(dir, "ws")
	tftest.WriteFiles(t, ws, map[string]string{"main.tf": tfBase})
	tf := tools.NewTF(t, tools.Terraform, ws, "TESTCLOUD_ROOT="+cloud)
	tf.Run("init", "-no-color")
	tf.Run("apply", "-auto-approve", "-no-color")
	plan := func(config string) []byte {
		tftest.WriteFiles(t, ws, map[string]string{"main.tf": config})
		tf.Run("plan", "-no-color", "-out=plan.tfplan")
		return []byte(tf.Run("show", "-json", "plan.tfplan"))
	}
	return plan(tfSafe), plan(tfBad)
}

// TestBuiltinsOnRealPlans runs each built-in, alone in a set with its
// parameters, over real plans: the safe one passes, the bad one is denied
// (or needs approvals).
func TestBuiltinsOnRealPlans(t *testing.T) {
	t.Parallel()
	safe, bad := realPlans(t)

	// The plans are what the cases assume.
	actions := planActions(t, bad)
	for addr, want := range map[string]string{
		"testcloud_bucket.logs":     "delete",
		"testcloud_instance.web":    "delete+create",
		"testcloud_secret.token":    "delete+create",
		"terraform_data.core":       "update",
		"testcloud_instance.worker": "create",
	} {
		if actions[addr] != want {
			t.Fatalf("bad plan: %s is %q, want %q (all: %v)", addr, actions[addr], want, actions)
		}
	}
	for addr, a := range planActions(t, safe) {
		if strings.Contains(a, "delete") || addr == "terraform_data.core" && a != "no-op" {
			t.Fatalf("safe plan: %s is %q", addr, a)
		}
	}

	tests := []struct {
		name      string
		params    map[string]any
		deny      []string // the bad plan's deny messages
		approvals []landform.ApprovalRequirement
	}{
		{
			name:   "protect_types",
			params: map[string]any{"types": []string{"testcloud_bucket", "testcloud_secret", "aws_db_instance"}},
			deny: []string{
				"testcloud_bucket.logs: destroy of a protected resource type (testcloud_bucket)",
				"testcloud_secret.token: replace of a protected resource type (testcloud_secret)",
			},
		},
		{
			name:   "max_destroys",
			params: map[string]any{"max": 2},
			deny: []string{"3 resources would be destroyed or replaced, more than the 2 allowed: " +
				"testcloud_bucket.logs, testcloud_instance.web, testcloud_secret.token"},
		},
		{
			name:   "required_tags",
			params: map[string]any{"keys": []string{"owner", "env"}},
			deny:   []string{"testcloud_instance.worker: missing required tags: env"},
		},
		{
			name:   "forbid_addresses",
			params: map[string]any{"addresses": []string{"terraform_data.core", "testcloud_secret.*", "testcloud_bucket.other"}},
			deny: []string{
				"terraform_data.core: update of a forbidden address (terraform_data.core)",
				"testcloud_secret.token: delete+create of a forbidden address (testcloud_secret.*)",
			},
		},
		{
			name:   "destroy_approvals",
			params: map[string]any{"count": 2, "from": []string{"platform", "dba"}},
			approvals: []landform.ApprovalRequirement{
				{Count: 2, From: []string{"dba", "platform"}, Set: "builtin", Package: "landform.destroy_approvals"},
			},
		},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := policies.NewSet("builtin", policies.Builtin(), map[string]any{tc.name: tc.params}, landform.EnforceDeny)
			if err != nil {
				t.Fatal(err)
			}
			d, err := set.Eval(ctx, policies.Input{Plan: safe})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Deny)+len(d.Warn)+len(d.RequireApprovals) != 0 {
				t.Errorf("safe plan: %+v", d)
			}

			d, err = set.Eval(ctx, policies.Input{Plan: bad})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range d.Deny {
				if m.Set != "builtin" || m.Package != "landform."+tc.name || m.Rule != "deny" {
					t.Errorf("message %+v: wrong set, package or rule", m)
				}
				got = append(got, m.Message)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.deny))
			if !slices.Equal(got, want) {
				t.Errorf("bad plan: deny\n got %q\nwant %q", got, want)
			}
			if len(d.Warn) != 0 {
				t.Errorf("bad plan: warn %+v", d.Warn)
			}
			if !equalApprovals(d.RequireApprovals, tc.approvals) {
				t.Errorf("bad plan: require_approvals %+v, want %+v", d.RequireApprovals, tc.approvals)
			}
		})
	}

	t.Run("no params, no decision", func(t *testing.T) {
		set, err := policies.NewSet("builtin", policies.Builtin(), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		d, err := set.Eval(ctx, policies.Input{Plan: bad})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Deny)+len(d.Warn)+len(d.RequireApprovals) != 0 {
			t.Errorf("built-ins without params decided %+v", d)
		}
	})

	t.Run("warn enforcement and warn param", func(t *testing.T) {
		params := map[string]any{
			"protect_types":     map[string]any{"types": []string{"testcloud_bucket"}, "warn": true},
			"max_destroys":      map[string]any{"max": 0},
			"destroy_approvals": map[string]any{"count": 1},
		}
		set, err := policies.NewSet("advisory", policies.Builtin(), params, landform.EnforceWarn)
		if err != nil {
			t.Fatal(err)
		}
		d, err := set.Eval(ctx, policies.Input{Plan: bad})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Deny) != 1 || len(d.Warn) != 1 || len(d.RequireApprovals) != 1 {
			t.Fatalf("decision %+v", d)
		}
		r := policies.Merge(d)
		if r.Denied() || len(r.Deny) != 0 || len(r.Warn) != 2 || len(r.RequireApprovals) != 1 {
			t.Errorf("merged %+v", r)
		}
		if r.Warn[0].Rule != "deny" || r.Warn[0].Package != "landform.max_destroys" || r.Warn[1].Package != "landform.protect_types" {
			t.Errorf("warnings %+v", r.Warn)
		}
	})
}

// planActions maps each resource_change's address to its actions joined
// with "+".
func planActions(t *testing.T, planJSON []byte) map[string]string {
	t.Helper()
	var p struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions []string `json:"actions"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(planJSON, &p); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, rc := range p.ResourceChanges {
		m[rc.Address] = strings.Join(rc.Change.Actions, "+")
	}
	return m
}

func equalApprovals(a, b []landform.ApprovalRequirement) bool {
	return slices.EqualFunc(a, b, func(x, y landform.ApprovalRequirement) bool {
		return x.Count == y.Count && x.Set == y.Set && x.Package == y.Package && slices.Equal(x.From, y.From)
	})
}
