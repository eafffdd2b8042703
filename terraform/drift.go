package terraform

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/landform/landform"
	"github.com/landform/landform/internal/runes"
)

// The plan files of a drift check, in the job's scratch directory.
const (
	driftRefreshOnlyFile = "drift-refresh-only.tfplan"
	driftPlanFile        = "drift-plan.tfplan"
)

// Bounds of what a drift check reports of one resource, so that a huge
// object cannot bloat a report.
const (
	// MaxDriftAttributes is how many attribute changes a resource lists;
	// past it, the last entry is the path "…" whose After says how many
	// more there are.
	MaxDriftAttributes = 50
	// MaxDriftValueBytes caps a value as JSON: a longer one becomes a
	// string, its start and "… (N bytes)".
	MaxDriftValueBytes = 1024
)

// DriftResult is a finished drift check of one workspace.
type DriftResult struct {
	// RefreshOnly is the refresh-only plan (plan -refresh-only -out + show
	// -json); Plan the normal plan made after it, in the same job (same
	// init, same data dir): its artifact is what a remediation applies
	// after approval.
	RefreshOnly, Plan *PlanResult
	// Resources are the resources changed and deleted outside Terraform
	// (RefreshOnly.Drift, see DriftedResources), then those of code not
	// yet applied (see UnappliedResources), each group sorted by address.
	Resources []landform.DriftedResource
	// Drifted is whether the refresh-only plan's resource_drift has any
	// entry but no-ops: never terraform's exit code, which says 2 when
	// nothing drifted (hashicorp/terraform#36403, TestDriftClean).
	Drifted bool
	Binary  *Binary
	// Timings are the job's: Plan and Show are the sums over both plans,
	// Total the whole check.
	Timings Timings
}

// Drift checks a workspace for drift as one Job: Init, a refresh-only plan
// into the job's scratch directory (drift-refresh-only.tfplan) and its JSON,
// then a normal plan (drift-plan.tfplan) and its JSON. Neither plan writes
// state. req.RefreshOnly and req.PlanFile are ignored; when req.Scratch is
// empty the job's temporary scratch directory, and so the PlanFile of both
// results, is gone when Drift returns (the artifacts hold the plans). The
// plans' Timings are the job's at the end of each (the init they share is
// in both).
//
// Errors as for Plan.
func (e *Engine) Drift(ctx context.Context, req PlanRequest) (*DriftResult, error) {
	start := time.Now()
	j, err := e.initJob(ctx, req)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	res := &DriftResult{Binary: j.Binary()}
	if res.RefreshOnly, err = j.plan(ctx, filepath.Join(j.scratch, driftRefreshOnlyFile), true); err != nil {
		return nil, err
	}
	res.RefreshOnly.Timings.Total = time.Since(start)
	refreshTimings := j.Timings()
	if res.Plan, err = j.plan(ctx, filepath.Join(j.scratch, driftPlanFile), false); err != nil {
		return nil, err
	}
	res.Plan.Timings.Total = time.Since(start)

	drift := res.RefreshOnly.Drift
	res.Drifted = len(drift) > 0
	res.Resources = slices.Concat(drift, UnappliedResources(res.Plan.JSON, res.RefreshOnly.JSON))
	if res.Resources == nil {
		res.Resources = []landform.DriftedResource{}
	}
	res.Timings = j.Timings()
	res.Timings.Plan += refreshTimings.Plan
	res.Timings.Show += refreshTimings.Show
	res.Timings.Total = time.Since(start)
	e.logger.Debug("checked drift", "workspace", j.name, "binary", res.Binary.String(), "drifted", res.Drifted,
		"resources", len(res.Resources), "init", res.Timings.Init, "plan", res.Timings.Plan, "show", res.Timings.Show)
	return res, nil
}

// driftChanges are the entries of a plan's resource_drift that are not
// no-ops.
func driftChanges(p *tfjson.Plan) []*tfjson.ResourceChange {
	if p == nil {
		return nil
	}
	var out []*tfjson.ResourceChange
	for _, rc := range p.ResourceDrift {
		if rc != nil && rc.Change != nil && !rc.Change.Actions.NoOp() {
			out = append(out, rc)
		}
	}
	return out
}

// DriftedResources lists the resources whose real objects changed outside
// Terraform, from the plan's resource_drift (no-ops left out), sorted by
// address: a delete is DriftDeleted, anything else DriftChanged with the
// attributes that moved (see AttributeChanges). Action is terraform's,
// "update" or "delete". A workspace has drifted when the list is not
// empty; never decide it by plan's -detailed-exitcode (terraform 1.11
// reports drift there when there is none, hashicorp/terraform#36403).
func DriftedResources(p *tfjson.Plan) []landform.DriftedResource {
	var out []landform.DriftedResource
	for _, rc := range driftChanges(p) {
		r := landform.DriftedResource{Address: rc.Address, Kind: landform.DriftChanged, Action: actionName(rc.Change.Actions)}
		if rc.Change.Actions.Delete() {
			r.Kind = landform.DriftDeleted
		} else {
			r.Attributes = AttributeChanges(rc.Change)
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b landform.DriftedResource) int {
		return cmp.Compare(a.Address, b.Address)
	})
	return out
}

// UnappliedResources lists the changes of the normal plan p that the drift
// of the refresh-only plan refresh does not explain, as DriftUnapplied with
// the plan's action ("create", "update", "delete", "replace", "forget", or
// "import" for an import without other change), sorted by address. Reads
// and no-ops are left out. Attributes are not listed (they are the plan's).
//
// The rule: a change of a resource that did not drift is unapplied code. A
// change of a resource that drifted (changed or deleted outside Terraform)
// is explained by the drift, and left out, when every attribute the plan
// sets to a known value different from the real one (the plan's before) is
// set back to its value in the state before the refresh (the drift's
// before): the plan only undoes what moved outside. Attributes unknown
// until apply (computed ones of a replacement or re-creation) are not
// compared. So a drifted attribute the plan sets back, or a deleted object
// the plan re-creates as it was, is drift only; when the plan also changes
// an attribute that did not drift, sets a drifted one to a third value, or
// deletes the resource, the resource is listed both as drifted and as
// unapplied. A resource that did not drift itself but changes because one it
// refers to did (a re-created object's new id) counts as unapplied: the
// plan JSON does not say why a value is unknown.
func UnappliedResources(p, refresh *tfjson.Plan) []landform.DriftedResource {
	if p == nil {
		return nil
	}
	prior := map[string]*tfjson.ResourceChange{}
	for _, rc := range driftChanges(refresh) {
		if rc.DeposedKey == "" {
			prior[rc.Address] = rc
		}
	}
	var out []landform.DriftedResource
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Change.Actions.Read() {
			continue
		}
		action := actionName(rc.Change.Actions)
		if rc.Change.Actions.NoOp() {
			if rc.Change.Importing == nil {
				continue
			}
			action = "import"
		}
		if d, ok := prior[rc.Address]; ok && rc.DeposedKey == "" && restores(rc.Change, d.Change.Before) {
			continue
		}
		out = append(out, landform.DriftedResource{Address: rc.Address, Kind: landform.DriftUnapplied, Action: action})
	}
	slices.SortStableFunc(out, func(a, b landform.DriftedResource) int {
		return cmp.Compare(a.Address, b.Address)
	})
	return out
}

// restores reports whether the planned change c sets every attribute it
// changes to a known value back to its value in prior (see
// UnappliedResources).
func restores(c *tfjson.Change, prior any) bool {
	if c.After == nil { // a delete or forget: never a restore
		return false
	}
	ok := true
	eachDiff(nil, c.Before, c.After, func(path []any, _, after any) {
		if ok && !marked(c.AfterUnknown, path) && !reflect.DeepEqual(after, lookup(prior, path)) {
			ok = false
		}
	})
	return ok
}

// AttributeChanges lists the leaf attributes whose values differ between
// c's before and after (a key only on one side included, null and absent
// being the same), in path order: keys sorted, list elements by index
// ("tags.env", "rules[0].port", `labels["app.kubernetes.io/name"]`). A
// value that before_sensitive or after_sensitive marks, itself or through
// a parent, is SensitiveValue on both sides, Sensitive set. Values are
// capped at MaxDriftValueBytes and the list at MaxDriftAttributes.
func AttributeChanges(c *tfjson.Change) []landform.AttributeChange {
	if c == nil {
		return nil
	}
	var out []landform.AttributeChange
	n := 0
	eachDiff(nil, c.Before, c.After, func(path []any, before, after any) {
		n++
		if len(out) >= MaxDriftAttributes {
			return
		}
		a := landform.AttributeChange{Path: pathString(path), Before: capValue(before), After: capValue(after)}
		if marked(c.BeforeSensitive, path) || marked(c.AfterSensitive, path) {
			a.Before, a.After, a.Sensitive = landform.SensitiveValue, landform.SensitiveValue, true
		}
		out = append(out, a)
	})
	if n > len(out) {
		out[len(out)-1] = landform.AttributeChange{Path: "…", After: fmt.Sprintf("%d more attributes", n-len(out)+1)}
	}
	return out
}

// eachDiff calls fn for each leaf under path where the JSON values b and a
// differ: objects are compared key by key (sorted), lists element by
// element, a missing key or element counts as null, and a leaf is a scalar
// or a value whose type differs from the other side's (then both whole).
func eachDiff(path []any, b, a any, fn func(path []any, before, after any)) {
	bm, bIsMap := b.(map[string]any)
	am, aIsMap := a.(map[string]any)
	bl, bIsList := b.([]any)
	al, aIsList := a.([]any)
	switch {
	case (bIsMap || b == nil) && (aIsMap || a == nil) && (bIsMap || aIsMap):
		keys := make([]string, 0, len(bm)+len(am))
		for k := range bm {
			keys = append(keys, k)
		}
		for k := range am {
			if _, ok := bm[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			eachDiff(append(path[:len(path):len(path)], k), bm[k], am[k], fn)
		}
	case (bIsList || b == nil) && (aIsList || a == nil) && (bIsList || aIsList):
		for i := range max(len(bl), len(al)) {
			var x, y any
			if i < len(bl) {
				x = bl[i]
			}
			if i < len(al) {
				y = al[i]
			}
			eachDiff(append(path[:len(path):len(path)], i), x, y, fn)
		}
	case !reflect.DeepEqual(b, a):
		fn(path, b, a)
	}
}

// marked reports whether the marks tree (before_sensitive, after_unknown:
// true, or objects and lists of marks mirroring the value) marks path or a
// parent of it.
func marked(marks any, path []any) bool {
	for _, step := range path {
		if marks == true {
			return true
		}
		marks = child(marks, step)
	}
	return marks == true
}

// lookup returns the value at path in v, nil when there is none.
func lookup(v any, path []any) any {
	for _, step := range path {
		v = child(v, step)
	}
	return v
}

func child(v, step any) any {
	switch s := step.(type) {
	case string:
		if m, ok := v.(map[string]any); ok {
			return m[s]
		}
	case int:
		if l, ok := v.([]any); ok && s < len(l) {
			return l[s]
		}
	}
	return nil
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// pathString writes path as "tags.env", "rules[0].port", or
// `labels["app.kubernetes.io/name"]` for a key that is not an identifier.
func pathString(path []any) string {
	var b strings.Builder
	for _, step := range path {
		switch s := step.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		case string:
			if !identRe.MatchString(s) {
				b.WriteString("[" + strconv.Quote(s) + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		}
	}
	return b.String()
}

// capValue returns v, or when v is longer than MaxDriftValueBytes (a
// string itself, anything else as JSON) a string of its start and "… (N
// bytes)".
func capValue(v any) any {
	s, ok := v.(string)
	if !ok {
		data, err := json.Marshal(v)
		if err != nil {
			return v
		}
		s = string(data)
	}
	if len(s) <= MaxDriftValueBytes {
		return v
	}
	return fmt.Sprintf("%s… (%d bytes)", runes.Prefix(s, MaxDriftValueBytes), len(s))
}
