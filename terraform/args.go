package terraform

import (
	"github.com/hashicorp/go-version"
)

// Argument lists, built apart from running them so that tests need no
// binary. Every command gets -no-color: Landform stores and shows the text.

// initArgs: `init` never asks, never upgrades providers past the lock file.
func initArgs() []string {
	return []string{"init", "-input=false", "-no-color", "-upgrade=false"}
}

// workspaceSelectOrCreate is the first version whose `workspace select` has
// -or-create (OpenTofu forked later and has it too).
var workspaceSelectOrCreate = version.Must(version.NewVersion("1.4.0"))

// workspaceArgs selects tfws, creating it when missing. Older terraform
// lacks -or-create: then it selects only, and workspaceNewArgs creates.
func workspaceArgs(b *Binary, tfws string) []string {
	if b.Kind == KindTofu || b.Version.GreaterThanOrEqual(workspaceSelectOrCreate) {
		return []string{"workspace", "select", "-or-create=true", "-no-color", tfws}
	}
	return []string{"workspace", "select", "-no-color", tfws}
}

func workspaceNewArgs(tfws string) []string {
	return []string{"workspace", "new", "-no-color", tfws}
}

// planArgs writes the plan to planFile. There is no -detailed-exitcode:
// Landform reads changes and drift from the plan JSON (terraform 1.11's exit
// code reports drift where there is none, hashicorp/terraform#36403).
func planArgs(planFile string, refreshOnly bool, varFiles []string) []string {
	args := []string{"plan", "-input=false", "-no-color", "-out=" + planFile}
	if refreshOnly {
		args = append(args, "-refresh-only")
	}
	for _, f := range varFiles {
		args = append(args, "-var-file="+f)
	}
	return args
}

func showArgs(planFile string) []string {
	return []string{"show", "-json", "-no-color", planFile}
}
