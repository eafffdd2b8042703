package report

import (
	"fmt"
	"strings"

	"github.com/landform/landform"
)

// PolicyDecision is the `landform policy eval --json` document (DESIGN.md's
// CLI contract): allowed, the deny and warn messages, the approvals
// required.
type PolicyDecision struct {
	Allowed          bool                     `json:"allowed"`
	Deny             []string                 `json:"deny"`
	Warn             []string                 `json:"warn"`
	RequireApprovals []ApprovalsNeeded        `json:"require_approvals"`
	Override         *landform.PolicyOverride `json:"override,omitempty"`
}

// ApprovalsNeeded is one approval requirement: count approvals from the
// users or groups in from (comma-separated; "" for anyone who may approve).
type ApprovalsNeeded struct {
	Count int    `json:"count"`
	From  string `json:"from"`
}

// NewPolicyDecision returns r's document.
func NewPolicyDecision(r *landform.PolicyResult) PolicyDecision {
	d := PolicyDecision{Allowed: !r.Denied(), Deny: []string{}, Warn: []string{}, RequireApprovals: []ApprovalsNeeded{}, Override: r.Override}
	for _, m := range r.Deny {
		d.Deny = append(d.Deny, policyLine(m))
	}
	for _, m := range r.Warn {
		d.Warn = append(d.Warn, policyLine(m))
	}
	for _, a := range r.RequireApprovals {
		d.RequireApprovals = append(d.RequireApprovals, ApprovalsNeeded{Count: a.Count, From: strings.Join(a.From, ",")})
	}
	return d
}

// policyLine is a message with the package that said it.
func policyLine(m landform.PolicyMessage) string {
	return m.Package + ": " + m.Message
}

// PolicyText renders r for people: the verdict, then the messages, one a
// line, repository values escaped (Field).
func PolicyText(r *landform.PolicyResult) string {
	var b strings.Builder
	switch {
	case r.Denied():
		b.WriteString("denied\n")
	case len(r.Deny) > 0 && r.Override != nil:
		fmt.Fprintf(&b, "denied, overridden by %s: %s\n", Field(r.Override.By), Field(r.Override.Reason))
	default:
		b.WriteString("allowed\n")
	}
	for _, m := range r.Deny {
		fmt.Fprintf(&b, "deny  [%s] %s\n", Field(m.Set), Field(policyLine(m)))
	}
	for _, m := range r.Warn {
		fmt.Fprintf(&b, "warn  [%s] %s\n", Field(m.Set), Field(policyLine(m)))
	}
	for _, a := range r.RequireApprovals {
		from := "anyone allowed to approve"
		if len(a.From) > 0 {
			from = strings.Join(a.From, ", ")
		}
		fmt.Fprintf(&b, "needs %d approval(s) from %s [%s %s]\n", a.Count, Field(from), Field(a.Set), Field(a.Package))
	}
	return b.String()
}
