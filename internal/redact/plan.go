package redact

import (
	"encoding/json"
	"strconv"
)

// SensitiveValues returns the values a plan (`terraform show -json` of a
// saved plan) marks sensitive: values of variables declared sensitive,
// sensitive outputs, and the attributes of resources that before_sensitive,
// after_sensitive or sensitive_values mark. Leaves only: strings and
// numbers. A document that does not parse gives none.
func SensitiveValues(planJSON []byte) []string {
	var p struct {
		Variables map[string]struct {
			Value any `json:"value"`
		} `json:"variables"`
		Configuration struct {
			RootModule struct {
				Variables map[string]struct {
					Sensitive bool `json:"sensitive"`
				} `json:"variables"`
			} `json:"root_module"`
		} `json:"configuration"`
		PlannedValues  values `json:"planned_values"`
		PriorState     *state `json:"prior_state"`
		ResourceChange []struct {
			Change change `json:"change"`
		} `json:"resource_changes"`
		OutputChanges map[string]change `json:"output_changes"`
	}
	if json.Unmarshal(planJSON, &p) != nil {
		return nil
	}
	var out []string
	add := func(v, mask any) { collect(v, mask, &out) }
	for name, v := range p.Variables {
		if p.Configuration.RootModule.Variables[name].Sensitive {
			add(v.Value, true)
		}
	}
	p.PlannedValues.collect(add)
	if p.PriorState != nil {
		p.PriorState.Values.collect(add)
	}
	for _, rc := range p.ResourceChange {
		add(rc.Change.Before, rc.Change.BeforeSensitive)
		add(rc.Change.After, rc.Change.AfterSensitive)
	}
	for _, oc := range p.OutputChanges {
		add(oc.Before, oc.BeforeSensitive)
		add(oc.After, oc.AfterSensitive)
	}
	return out
}

type change struct {
	Before          any `json:"before"`
	After           any `json:"after"`
	BeforeSensitive any `json:"before_sensitive"`
	AfterSensitive  any `json:"after_sensitive"`
}

type state struct {
	Values values `json:"values"`
}

type values struct {
	Outputs map[string]struct {
		Sensitive bool `json:"sensitive"`
		Value     any  `json:"value"`
	} `json:"outputs"`
	RootModule module `json:"root_module"`
}

type module struct {
	Resources []struct {
		Values          any `json:"values"`
		SensitiveValues any `json:"sensitive_values"`
	} `json:"resources"`
	ChildModules []module `json:"child_modules"`
}

func (v values) collect(add func(v, mask any)) {
	for _, o := range v.Outputs {
		if o.Sensitive {
			add(o.Value, true)
		}
	}
	v.RootModule.collect(add)
}

func (m module) collect(add func(v, mask any)) {
	for _, r := range m.Resources {
		add(r.Values, r.SensitiveValues)
	}
	for _, c := range m.ChildModules {
		c.collect(add)
	}
}

// collect appends the leaves of v that mask marks sensitive: mask true
// marks all of v; an object or array mask marks what it marks inside.
func collect(v, mask any, out *[]string) {
	switch m := mask.(type) {
	case bool:
		if m {
			leaves(v, out)
		}
	case map[string]any:
		if obj, ok := v.(map[string]any); ok {
			for k, sub := range m {
				collect(obj[k], sub, out)
			}
		}
	case []any:
		if arr, ok := v.([]any); ok {
			for i, sub := range m {
				if i < len(arr) {
					collect(arr[i], sub, out)
				}
			}
		}
	}
}

func leaves(v any, out *[]string) {
	switch x := v.(type) {
	case string:
		*out = append(*out, x)
	case float64:
		*out = append(*out, strconv.FormatFloat(x, 'f', -1, 64))
	case map[string]any:
		for _, sub := range x {
			leaves(sub, out)
		}
	case []any:
		for _, sub := range x {
			leaves(sub, out)
		}
	}
}
