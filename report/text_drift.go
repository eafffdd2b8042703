package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/landform/landform"
)

// DriftText renders a drift report for the terminal: the summary line,
// then each workspace that is not clean with its resources and the
// attributes that moved. Repository text is escaped (Field).
func DriftText(r *landform.DriftReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", r.Summary())
	for i := range r.Workspaces {
		w := &r.Workspaces[i]
		status := w.Status()
		if status == "clean" {
			continue
		}
		fmt.Fprintf(&b, "\n%s  %s", Field(w.Workspace), status)
		if !w.DriftedSince.IsZero() {
			fmt.Fprintf(&b, " since %s", w.DriftedSince.UTC().Format(time.RFC3339))
		}
		if w.RunID != "" {
			fmt.Fprintf(&b, " (run %s)", w.RunID)
		}
		b.WriteString("\n")
		if w.Error != "" {
			fmt.Fprintf(&b, "%s\n", Indent(FirstLine(w.Error)))
			continue
		}
		for _, res := range w.Resources {
			fmt.Fprintf(&b, "  %-9s %s (%s)\n", res.Kind, Field(res.Address), res.Action)
			for _, a := range res.Attributes {
				before, after := textValue(a.Before), textValue(a.After)
				if a.Sensitive {
					before, after = landform.SensitiveValue, landform.SensitiveValue
				}
				fmt.Fprintf(&b, "            %s: %s → %s\n", Field(a.Path), before, after)
			}
		}
	}
	return b.String()
}

// textValue is a JSON value as one escaped line.
func textValue(v any) string {
	if s, ok := v.(string); ok && s == landform.SensitiveValue {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return Field(oneLineValue(string(b)))
}

// oneLineValue bounds a rendered value to 200 characters.
func oneLineValue(s string) string { return landform.OneLine(s, 200) }
