package policies

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/landform/landform"
)

// Decision is what one policy set decided about one plan. Set and Package
// are filled in every message and requirement.
type Decision struct {
	// Set is the policy set's name, Enforcement its enforcement.
	Set         string
	Enforcement string
	// Deny and Warn are the messages of the deny and warn rules, sorted by
	// package and message.
	Deny []landform.PolicyMessage
	Warn []landform.PolicyMessage
	// RequireApprovals are the approvals the set requires.
	RequireApprovals []landform.ApprovalRequirement
}

// Merge turns the decisions of several sets into one result: the deny
// messages of sets enforced with EnforceDeny deny, those of sets enforced
// with EnforceWarn become warnings (keeping Rule "deny"), warn messages
// warn, and every set's approval requirements are kept (enforcement acts
// on deny messages only). Merge returns an empty result, not nil, for no
// decisions.
func Merge(ds ...Decision) *landform.PolicyResult {
	r := &landform.PolicyResult{}
	for _, d := range ds {
		if d.Enforcement == landform.EnforceWarn {
			r.Warn = append(r.Warn, d.Deny...)
		} else {
			r.Deny = append(r.Deny, d.Deny...)
		}
		r.Warn = append(r.Warn, d.Warn...)
		r.RequireApprovals = append(r.RequireApprovals, d.RequireApprovals...)
	}
	return r
}

func (d *Decision) sort() {
	byMessage := func(a, b landform.PolicyMessage) int {
		return cmp.Or(cmp.Compare(a.Package, b.Package), cmp.Compare(a.Message, b.Message))
	}
	slices.SortFunc(d.Deny, byMessage)
	slices.SortFunc(d.Warn, byMessage)
	slices.SortFunc(d.RequireApprovals, func(a, b landform.ApprovalRequirement) int {
		return cmp.Or(cmp.Compare(a.Package, b.Package), cmp.Compare(b.Count, a.Count),
			cmp.Compare(strings.Join(a.From, "\x00"), strings.Join(b.From, "\x00")))
	})
}

// messages reads a deny or warn rule's value: a set or array of messages,
// or one. A message is a string or an object with a "msg" string; true is
// a message naming the rule and false none; anything else is shown as JSON
// (a malformed deny still denies).
func messages(v any, o output) []string {
	switch v := v.(type) {
	case []any:
		var msgs []string
		for _, e := range v {
			msgs = append(msgs, message(e, o)...)
		}
		return msgs
	default:
		return message(v, o)
	}
}

func message(v any, o output) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case bool:
		if v {
			return []string{fmt.Sprintf("%s.%s is true", o.pkg, o.rule)}
		}
		return nil
	case map[string]any:
		if msg, ok := v["msg"].(string); ok {
			return []string{msg}
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return []string{fmt.Sprint(v)}
	}
	return []string{string(b)}
}

// approvals reads a require_approvals rule's value: a set or array of
// {"count": N, "from": [...]}, or one such object.
func approvals(v any) ([]landform.ApprovalRequirement, error) {
	if list, ok := v.([]any); ok {
		var reqs []landform.ApprovalRequirement
		for _, e := range list {
			r, err := approval(e)
			if err != nil {
				return nil, err
			}
			reqs = append(reqs, r)
		}
		return reqs, nil
	}
	r, err := approval(v)
	if err != nil {
		return nil, err
	}
	return []landform.ApprovalRequirement{r}, nil
}

func approval(v any) (landform.ApprovalRequirement, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return landform.ApprovalRequirement{}, fmt.Errorf("%s is not an object {\"count\": N, \"from\": [...]}", jsonText(v))
	}
	var r landform.ApprovalRequirement
	n, err := wholeNumber(obj["count"])
	if err != nil || n < 1 {
		return r, fmt.Errorf("%s: count must be a whole number of at least 1", jsonText(v))
	}
	r.Count = n
	switch from := obj["from"].(type) {
	case nil:
	case string:
		if from != "" {
			r.From = []string{from}
		}
	case []any:
		for _, f := range from {
			s, ok := f.(string)
			if !ok {
				return r, fmt.Errorf("%s: from must be a list of users or groups", jsonText(v))
			}
			r.From = append(r.From, s)
		}
		slices.Sort(r.From)
		r.From = slices.Compact(r.From)
	default:
		return r, fmt.Errorf("%s: from must be a list of users or groups", jsonText(v))
	}
	return r, nil
}

// wholeNumber reads a JSON number that is a whole number within int range.
func wholeNumber(v any) (int, error) {
	var f float64
	switch n := v.(type) {
	case json.Number:
		var err error
		if f, err = n.Float64(); err != nil {
			return 0, err
		}
	case float64:
		f = n
	case int:
		return n, nil
	case int64:
		f = float64(n)
	default:
		return 0, errors.New("not a number")
	}
	if f != math.Trunc(f) || f > math.MaxInt32 || f < math.MinInt32 {
		return 0, errors.New("not a whole number")
	}
	return int(f), nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
