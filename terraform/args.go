package terraform

import (
	"github.com/hashicorp/terraform-exec/tfexec"
)

// Options of each command, built apart from running them. terraform-exec
// turns them into arguments and adds its own to every command: -no-color,
// -input=false where the command has it, and on plan and apply
// -lock=true -parallelism=10 -refresh=true; plan also gets -lock-timeout=0s
// and -detailed-exitcode, whose answer Landform ignores: it reads changes and
// drift from the plan JSON (terraform 1.11's exit code reports drift where
// there is none, hashicorp/terraform#36403). TestJobCommands shows the
// resulting command lines.

// initOptions: init never upgrades providers past the lock file (tfexec's
// default, stated here because Landform depends on it).
func initOptions() []tfexec.InitOption {
	return []tfexec.InitOption{tfexec.Upgrade(false)}
}

// planOptions writes the plan to planFile.
func planOptions(planFile string, refreshOnly bool, varFiles []string) []tfexec.PlanOption {
	opts := []tfexec.PlanOption{tfexec.Out(planFile)}
	if refreshOnly {
		opts = append(opts, tfexec.RefreshOnly(true))
	}
	for _, f := range varFiles {
		opts = append(opts, tfexec.VarFile(f))
	}
	return opts
}

// applyOptions applies the saved plan planFile, nothing else: a saved plan
// carries its variables and targets.
func applyOptions(planFile string) []tfexec.ApplyOption {
	return []tfexec.ApplyOption{tfexec.DirOrPlan(planFile)}
}
