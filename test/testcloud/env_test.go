package testcloud

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// readEnv runs testcloud_env's Read for the variable name and returns the
// state it sets.
func readEnv(t *testing.T, name string) envModel {
	t.Helper()
	ctx := context.Background()
	d := newEnvDataSource()
	var sr datasource.SchemaResponse
	d.Schema(ctx, datasource.SchemaRequest{}, &sr)
	typ := sr.Schema.Type().TerraformType(ctx)
	config := tftypes.NewValue(typ, map[string]tftypes.Value{
		"id":    tftypes.NewValue(tftypes.String, nil),
		"name":  tftypes.NewValue(tftypes.String, name),
		"value": tftypes.NewValue(tftypes.String, nil),
		"set":   tftypes.NewValue(tftypes.Bool, nil),
	})
	req := datasource.ReadRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: config}}
	resp := datasource.ReadResponse{State: tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)}}
	d.Read(ctx, req, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("Read: %v", resp.Diagnostics)
	}
	var m envModel
	if diags := resp.State.Get(ctx, &m); diags.HasError() {
		t.Fatalf("state: %v", diags)
	}
	return m
}

func TestEnvDataSource(t *testing.T) {
	t.Setenv("TESTCLOUD_ENV_SET", "a value")
	t.Setenv("TESTCLOUD_ENV_EMPTY", "")
	for _, tc := range []struct {
		name  string
		value string
		set   bool
	}{
		{"TESTCLOUD_ENV_SET", "a value", true},
		{"TESTCLOUD_ENV_EMPTY", "", true},
		{"TESTCLOUD_ENV_UNSET_8f3a", "", false},
	} {
		m := readEnv(t, tc.name)
		if m.ID.ValueString() != tc.name || m.Value.ValueString() != tc.value || m.Set.ValueBool() != tc.set {
			t.Errorf("testcloud_env %s = id %s, value %q, set %v; want value %q, set %v",
				tc.name, m.ID, m.Value, m.Set, tc.value, tc.set)
		}
	}
}
