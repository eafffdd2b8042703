package terraform

import (
	"slices"
	"testing"

	"github.com/landform/landform"
)

func TestWorkspacePlan(t *testing.T) {
	ws := landform.Workspace{
		Name: "envs/prod@blue", Dir: "envs/prod", TFWorkspace: "blue", TerraformVersion: ">= 1.5",
		VarFiles: []string{"prod.tfvars"}, Env: map[string]string{"TF_VAR_a": "ws", "TF_VAR_b": "ws"},
	}
	server := map[string]string{"TF_VAR_a": "server", "TF_VAR_c": "server"}
	req := WorkspacePlan(ws, "/w/tree", "/w/scratch", []string{"~> 1.11"}, server)
	if req.Dir != "/w/tree/envs/prod" || req.PlanFile != "/w/scratch/plan.tfplan" || req.DataDir != "/w/scratch/.terraform" ||
		req.Root != "/w/tree" || req.Scratch != "/w/scratch" || req.TFWorkspace != "blue" || req.Name != ws.Name {
		t.Errorf("request: %+v", req)
	}
	if !slices.Equal(req.Constraints, []string{"~> 1.11", ">= 1.5"}) {
		t.Errorf("constraints %v", req.Constraints)
	}
	if req.Env["TF_VAR_a"] != "ws" || req.Env["TF_VAR_b"] != "ws" || req.Env["TF_VAR_c"] != "server" {
		t.Errorf("env %v: the workspace's own values win over the server's", req.Env)
	}
	if server["TF_VAR_b"] != "" {
		t.Error("the server's map was changed")
	}
}
