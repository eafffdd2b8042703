package landform

import "time"

// What policies (OPA Rego over a plan's JSON) decided about a run.

// Policy enforcement levels of a policy set.
const (
	// EnforceDeny: the set's deny messages block the run (policy_failed).
	EnforceDeny = "deny"
	// EnforceWarn: the set's deny messages are shown as warnings only.
	EnforceWarn = "warn"
)

// PolicyMessage is one message a policy rule produced.
type PolicyMessage struct {
	// Set is the policy set ("builtin", a configured set's name).
	Set string `json:"set"`
	// Package is the Rego package that produced it ("landform.tags").
	Package string `json:"package"`
	// Rule is "deny" or "warn".
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// ApprovalRequirement raises the approvals a run needs: Count approvals
// from members of From (users or groups; empty means anyone allowed to
// approve).
type ApprovalRequirement struct {
	Count   int      `json:"count"`
	From    []string `json:"from,omitempty"`
	Set     string   `json:"set"`
	Package string   `json:"package"`
}

// PolicyOverride is a policy owner's decision to let a denied run go on.
type PolicyOverride struct {
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// PolicyResult is what the policies decided about a run's plan.
type PolicyResult struct {
	// Deny blocks the run (from sets enforced with deny); Warn is shown
	// only (warn rules, and deny rules of sets enforced with warn).
	Deny             []PolicyMessage       `json:"deny,omitempty"`
	Warn             []PolicyMessage       `json:"warn,omitempty"`
	RequireApprovals []ApprovalRequirement `json:"require_approvals,omitempty"`
	// Override is set once a policy owner overrode the deny.
	Override *PolicyOverride `json:"override,omitempty"`
}

// Denied reports whether r blocks the run: it has deny messages and no
// override.
func (r *PolicyResult) Denied() bool {
	return r != nil && len(r.Deny) > 0 && r.Override == nil
}
