package terraform

import (
	"fmt"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/landform/landform"
)

// Summarize counts the resource changes of a plan: create → Add, update →
// Change, delete → Destroy, and a replacement (delete and create, in either
// order) → Replace only. No-op, read and forget are not counted. Terraform's
// own "Plan: N to add, M to change, K to destroy" line counts a replacement
// in both "add" and "destroy"; this summary does not.
func Summarize(p *tfjson.Plan) landform.PlanSummary {
	var s landform.PlanSummary
	if p == nil {
		return s
	}
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil {
			continue
		}
		a := rc.Change.Actions
		switch {
		case a.Replace():
			s.Replace++
		case a.Create():
			s.Add++
		case a.Update():
			s.Change++
		case a.Delete():
			s.Destroy++
		}
	}
	return s
}

// ResourceActions returns the planned action of every resource a plan
// (`terraform show -json` of it) changes, by address: "create", "update",
// "delete", "replace" (delete and create, in either order), "read", or the
// actions joined by "-". No-ops are left out.
func ResourceActions(planJSON []byte) (map[string]string, error) {
	var p tfjson.Plan
	if err := p.UnmarshalJSON(planJSON); err != nil {
		return nil, fmt.Errorf("reading the plan's JSON: %w", err)
	}
	out := map[string]string{}
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Change.Actions.NoOp() {
			continue
		}
		out[rc.Address] = actionName(rc.Change.Actions)
	}
	return out, nil
}

func actionName(a tfjson.Actions) string {
	switch {
	case a.Replace():
		return "replace"
	case len(a) == 1:
		return string(a[0])
	}
	parts := make([]string, len(a))
	for i, x := range a {
		parts[i] = string(x)
	}
	return strings.Join(parts, "-")
}

// hasChanges reports whether applying the plan would change anything:
// resources (imports and forgets included), outputs, or for a refresh-only
// plan the drift it records.
func hasChanges(p *tfjson.Plan, refreshOnly bool) bool {
	if p == nil {
		return false
	}
	if refreshOnly && len(driftChanges(p)) > 0 {
		return true
	}
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil {
			continue
		}
		if (!rc.Change.Actions.NoOp() && !rc.Change.Actions.Read()) || rc.Change.Importing != nil {
			return true
		}
	}
	for _, oc := range p.OutputChanges {
		if oc != nil && !oc.Actions.NoOp() {
			return true
		}
	}
	return false
}
