package landform

import (
	"fmt"
	"strings"
	"time"
)

// What a drift check found: how the real infrastructure moved away from
// the state and the code of a workspace.

// Drift kinds of a resource.
const (
	// DriftChanged: the real object changed outside Terraform (a
	// resource_drift update of the refresh-only plan).
	DriftChanged = "changed"
	// DriftDeleted: the real object is gone (a resource_drift delete).
	DriftDeleted = "deleted"
	// DriftUnapplied: the code says something the state does not have yet
	// (a change of the normal plan that the drift does not explain).
	DriftUnapplied = "unapplied"
)

// SensitiveValue is what a drift report shows instead of a sensitive
// value.
const SensitiveValue = "(sensitive)"

// AttributeChange is one attribute of a resource that moved: its path
// ("tags.env", "rules[0].port") and its values before and after as JSON
// values; sensitive ones are SensitiveValue.
type AttributeChange struct {
	Path      string `json:"path"`
	Before    any    `json:"before"`
	After     any    `json:"after"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// DriftedResource is one resource of a drift check.
type DriftedResource struct {
	Address string `json:"address"`
	// Kind is DriftChanged, DriftDeleted or DriftUnapplied.
	Kind string `json:"kind"`
	// Action is terraform's: "update", "delete" (drift), "create",
	// "update", "delete", "replace" (unapplied code).
	Action string `json:"action"`
	// Attributes are the attributes that moved (changed outside
	// Terraform), sorted by path.
	Attributes []AttributeChange `json:"attributes,omitempty"`
}

// WorkspaceDrift is the drift of one workspace at one commit.
type WorkspaceDrift struct {
	Repo      string `json:"repo"`
	Workspace string `json:"name"`
	Dir       string `json:"dir"`
	Commit    string `json:"commit,omitempty"`
	RunID     string `json:"run,omitempty"`
	// Drifted is whether anything changed or was deleted outside
	// Terraform.
	Drifted bool `json:"drifted"`
	// Resources are the resources changed and deleted outside Terraform,
	// then those of unapplied code, each sorted by address.
	Resources []DriftedResource `json:"resources"`
	// Error is why the check failed ("" when it did not).
	Error     string    `json:"error,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
	// DriftedSince is when the workspace was first found drifted after
	// its last clean check (zero when it is clean), from the history.
	DriftedSince time.Time `json:"drifted_since,omitzero"`
	// Remediation is the plan run queued to bring reality back to the
	// code (remediation: plan or auto), "" for none.
	Remediation string `json:"remediation_run,omitempty"`
}

// Count returns how many resources of kind the workspace has.
func (w *WorkspaceDrift) Count(kind string) int {
	n := 0
	for _, r := range w.Resources {
		if r.Kind == kind {
			n++
		}
	}
	return n
}

// Status is "drifted", "unapplied" (code not applied, no drift), "error"
// or "clean".
func (w *WorkspaceDrift) Status() string {
	switch {
	case w.Error != "":
		return "error"
	case w.Drifted:
		return "drifted"
	case w.Count(DriftUnapplied) > 0:
		return "unapplied"
	}
	return "clean"
}

// DriftReport is a drift sweep of a repository: every workspace checked.
type DriftReport struct {
	Repo       string           `json:"repo"`
	Commit     string           `json:"commit,omitempty"`
	CheckedAt  time.Time        `json:"checked_at,omitzero"`
	Workspaces []WorkspaceDrift `json:"workspaces"`
}

// Summary is the report's one line: "3 of 41 workspaces drifted: 5
// resources changed, 1 deleted, 2 workspaces with unapplied code" (and
// "…, 1 failed to check").
func (r *DriftReport) Summary() string {
	var drifted, changed, deleted, unapplied, failed int
	for i := range r.Workspaces {
		w := &r.Workspaces[i]
		if w.Drifted {
			drifted++
		}
		changed += w.Count(DriftChanged)
		deleted += w.Count(DriftDeleted)
		if w.Count(DriftUnapplied) > 0 {
			unapplied++
		}
		if w.Error != "" {
			failed++
		}
	}
	s := fmt.Sprintf("%d of %d workspaces drifted", drifted, len(r.Workspaces))
	var parts []string
	if drifted > 0 {
		parts = append(parts, fmt.Sprintf("%d %s changed", changed, plural(changed, "resource", "resources")), fmt.Sprintf("%d deleted", deleted))
	}
	if unapplied > 0 {
		parts = append(parts, fmt.Sprintf("%d %s with unapplied code", unapplied, plural(unapplied, "workspace", "workspaces")))
	}
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed to check", failed))
	}
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Drift schedules with a meaning of their own (besides cron specs and
// descriptors).
const (
	// DriftNightly is 02:00 every day (in the schedule's time zone).
	DriftNightly = "@nightly"
	// DriftOff turns drift checks off.
	DriftOff = "off"
)

// Remediations: what a drift check that found drift does next.
const (
	// RemediationNone reports the drift, nothing more.
	RemediationNone = "none"
	// RemediationPlan queues a plan of the workspace, which waits for
	// approval like any other.
	RemediationPlan = "plan"
	// RemediationAuto queues a plan and applies it without a person when
	// its policies pass; only with the operator's explicit opt-in
	// (auto_apply), else as RemediationPlan.
	RemediationAuto = "auto"
)

// DriftRemediations are the remediations, the default first.
var DriftRemediations = []string{RemediationNone, RemediationPlan, RemediationAuto}
