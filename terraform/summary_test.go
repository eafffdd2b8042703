package terraform

import (
	"encoding/json"
	"reflect"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/landform/landform"
)

// planJSON is a hand-written `terraform show -json` document with one
// resource change of every kind, and drift.
const planJSON = `{
  "format_version": "1.2",
  "terraform_version": "1.11.4",
  "resource_drift": [
    {"address": "testcloud_instance.web", "mode": "managed", "type": "testcloud_instance", "name": "web",
     "change": {"actions": ["update"], "before": {"size": "small"}, "after": {"size": "large"}}},
    {"address": "testcloud_bucket.logs", "mode": "managed", "type": "testcloud_bucket", "name": "logs",
     "change": {"actions": ["delete"], "before": {"name": "logs"}, "after": null}},
    {"address": "testcloud_secret.quiet", "mode": "managed", "type": "testcloud_secret", "name": "quiet",
     "change": {"actions": ["no-op"], "before": {}, "after": {}}}
  ],
  "resource_changes": [
    {"address": "terraform_data.new",   "change": {"actions": ["create"], "before": null, "after": {}}},
    {"address": "terraform_data.new2",  "change": {"actions": ["create"], "before": null, "after": {}}},
    {"address": "terraform_data.edit",  "change": {"actions": ["update"], "before": {}, "after": {}}},
    {"address": "terraform_data.gone",  "change": {"actions": ["delete"], "before": {}, "after": null}},
    {"address": "terraform_data.dbc",   "change": {"actions": ["delete", "create"], "before": {}, "after": {}}},
    {"address": "terraform_data.cbd",   "change": {"actions": ["create", "delete"], "before": {}, "after": {}}},
    {"address": "terraform_data.same",  "change": {"actions": ["no-op"], "before": {}, "after": {}}},
    {"address": "data.terraform_remote_state.x", "mode": "data", "change": {"actions": ["read"], "before": null, "after": {}}},
    {"address": "terraform_data.forgot", "change": {"actions": ["forget"], "before": {}, "after": null}}
  ],
  "output_changes": {
    "same": {"actions": ["no-op"], "before": "a", "after": "a"}
  }
}`

func parsePlan(t *testing.T, doc string) *tfjson.Plan {
	t.Helper()
	var p tfjson.Plan
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	got := Summarize(parsePlan(t, planJSON))
	want := landform.PlanSummary{Add: 2, Change: 1, Destroy: 1, Replace: 2}
	if got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
	if s := Summarize(nil); s != (landform.PlanSummary{}) {
		t.Errorf("Summarize(nil) = %+v", s)
	}
}

func TestSummarizeEachAction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		actions string
		want    landform.PlanSummary
	}{
		{`["create"]`, landform.PlanSummary{Add: 1}},
		{`["update"]`, landform.PlanSummary{Change: 1}},
		{`["delete"]`, landform.PlanSummary{Destroy: 1}},
		{`["delete","create"]`, landform.PlanSummary{Replace: 1}},
		{`["create","delete"]`, landform.PlanSummary{Replace: 1}},
		{`["no-op"]`, landform.PlanSummary{}},
		{`["read"]`, landform.PlanSummary{}},
	} {
		t.Run(tc.actions, func(t *testing.T) {
			doc := `{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":` + tc.actions + `}}]}`
			if got := Summarize(parsePlan(t, doc)); got != tc.want {
				t.Errorf("Summarize = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHasChanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		doc         string
		refreshOnly bool
		want        bool
	}{
		{"resources", planJSON, false, true},
		{"nothing", `{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":["no-op"]}}]}`, false, false},
		{"read only", `{"format_version":"1.2","resource_changes":[{"address":"data.a.b","change":{"actions":["read"]}}]}`, false, false},
		{"outputs", `{"format_version":"1.2","output_changes":{"x":{"actions":["create"]}}}`, false, true},
		{"import", `{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":["no-op"],"importing":{"id":"x"}}}]}`, false, true},
		{"drift in a normal plan", `{"format_version":"1.2","resource_drift":[{"address":"a.b","change":{"actions":["update"]}}]}`, false, false},
		{"drift in a refresh-only plan", `{"format_version":"1.2","resource_drift":[{"address":"a.b","change":{"actions":["update"]}}]}`, true, true},
		{"refresh-only without drift", `{"format_version":"1.2"}`, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hasChanges(parsePlan(t, tc.doc), tc.refreshOnly); got != tc.want {
				t.Errorf("hasChanges = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestResourceActions(t *testing.T) {
	t.Parallel()
	got, err := ResourceActions([]byte(planJSON))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"terraform_data.new": "create", "terraform_data.new2": "create", "terraform_data.edit": "update",
		"terraform_data.gone": "delete", "terraform_data.dbc": "replace", "terraform_data.cbd": "replace",
		"data.terraform_remote_state.x": "read", "terraform_data.forgot": "forget",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ResourceActions =\n%v\nwant\n%v", got, want)
	}
	if _, err := ResourceActions([]byte("not json")); err == nil {
		t.Error("ResourceActions of garbage: no error")
	}
}
