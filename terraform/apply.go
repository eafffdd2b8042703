package terraform

import (
	"context"
	"strings"
	"time"
)

// ApplyResult is a finished apply of a saved plan.
type ApplyResult struct {
	// Output is apply's output without colour; Summary its "Apply
	// complete! Resources: …" line ("" when it printed none).
	Output, Summary string
	Binary          *Binary
	Timings         Timings
}

// Apply applies the saved plan planFile (absolute, or relative to req.Dir)
// in the workspace req describes, as a Job: Init (the Terraform
// workspace's selection included) then `apply PLANFILE` — never
// -auto-approve without a plan file. The plan must have been made by a
// binary the same constraints choose.
//
// Errors as for Plan; a plan the state moved under matches
// landform.ErrStalePlan (ErrStalePlan).
func (e *Engine) Apply(ctx context.Context, req PlanRequest, planFile string) (*ApplyResult, error) {
	start := time.Now()
	j, err := e.initJob(ctx, req)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	out, err := j.Apply(ctx, planFile)
	if err != nil {
		return nil, err
	}
	res := &ApplyResult{Output: out, Summary: ApplySummary(out), Binary: j.Binary(), Timings: j.Timings()}
	res.Timings.Total = time.Since(start)
	e.logger.Debug("applied", "workspace", j.name, "binary", res.Binary.String(), "summary", res.Summary,
		"init", res.Timings.Init, "apply", res.Timings.Apply)
	return res, nil
}

// ApplySummary returns the "Apply complete! Resources: …" line of apply's
// output, "" when there is none.
func ApplySummary(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "Apply complete!") {
			return line
		}
	}
	return ""
}
