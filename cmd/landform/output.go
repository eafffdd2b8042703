package main

import (
	"encoding/json"
	"io"

	"github.com/landform/landform"
	"github.com/landform/landform/modules"
)

// writeJSON prints v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// workspaceJSON is one entry of the workspaces/affected JSON documents.
type workspaceJSON struct {
	Name      string   `json:"name"`
	Dir       string   `json:"dir"`
	Workspace string   `json:"workspace,omitempty"`
	Reasons   []string `json:"reasons"`
	// Unresolved are the file references of the configuration that
	// could not be worked out fully, and what they were counted as.
	Unresolved []modules.Unresolved `json:"unresolved,omitempty"`
	Error      string               `json:"error,omitempty"`
}

func newWorkspaceJSON(ws landform.Workspace, reasons []string, ix *modules.Index) workspaceJSON {
	if reasons == nil {
		reasons = []string{}
	}
	out := workspaceJSON{Name: ws.Name, Dir: ws.Dir, Reasons: reasons}
	if ws.TFWorkspace != "" && ws.TFWorkspace != landform.DefaultTFWorkspace {
		out.Workspace = ws.TFWorkspace
	}
	if ix != nil {
		if err := ix.Err(ws.Dir); err != nil {
			out.Error = err.Error()
		}
		out.Unresolved = ix.Unresolved(ws.Dir)
	}
	return out
}
