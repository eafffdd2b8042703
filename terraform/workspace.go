package terraform

import (
	"maps"
	"path/filepath"

	"github.com/landform/landform"
)

// WorkspacePlan is the plan request of a workspace whose commit is
// exported at root, with a private scratch directory: the configuration
// is root/ws.Dir; the plan file and terraform's data directory go into
// scratch (so that jobs sharing a tree never share .terraform); the
// binary must satisfy the configuration's required versions and the
// workspace's terraform_version; the environment is env (the server's)
// overridden by the workspace's own.
func WorkspacePlan(ws landform.Workspace, root, scratch string, required []string, env map[string]string) PlanRequest {
	merged := maps.Clone(env)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, ws.Env)
	constraints := append([]string(nil), required...)
	if ws.TerraformVersion != "" {
		constraints = append(constraints, ws.TerraformVersion)
	}
	return PlanRequest{
		Dir:         filepath.Join(root, filepath.FromSlash(ws.Dir)),
		Name:        ws.Name,
		TFWorkspace: ws.TFWorkspace,
		VarFiles:    ws.VarFiles,
		Env:         merged,
		Constraints: constraints,
		PlanFile:    filepath.Join(scratch, "plan.tfplan"),
		DataDir:     filepath.Join(scratch, ".terraform"),
		Root:        root,
		Scratch:     scratch,
	}
}
