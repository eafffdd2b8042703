package policies_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/landform/landform"
	"github.com/landform/landform/policies"
)

func TestBuiltinRegoTestsPass(t *testing.T) {
	t.Parallel()
	results, err := policies.Test(context.Background(), policies.BuiltinFS(), "builtin")
	if err != nil {
		t.Fatal(err)
	}
	perPackage := map[string]int{}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s.%s (%s:%d): %s", r.Package, r.Name, r.File, r.Line, r.Error)
		}
		perPackage[r.Package]++
	}
	for _, name := range []string{"protect_types", "max_destroys", "required_tags", "forbid_addresses", "destroy_approvals"} {
		if perPackage["landform."+name+"_test"] < 4 {
			t.Errorf("%s: %d tests", name, perPackage["landform."+name+"_test"])
		}
	}
	var b strings.Builder
	if err := policies.WriteTestResults(&b, results); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), fmt.Sprintf("PASS: %d/%d\n", len(results), len(results))) {
		t.Errorf("report:\n%s", b.String())
	}
}

func TestRegoTestFailuresAreReported(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"p/limit.rego": {Data: []byte(`package landform.limit

deny contains "too many" if count(input.plan.resource_changes) > 1
`)},
		"p/limit_test.rego": {Data: []byte(`package landform.limit_test

import data.landform.limit

test_one_is_fine if {
	count(limit.deny) == 0 with input.plan as {"resource_changes": [1]}
}

test_wrong_expectation if {
	print("checking two")
	count(limit.deny) == 0 with input.plan as {"resource_changes": [1, 2]}
}

test_errors if {
	x := 1 / 0
	x == 1
}

todo_test_later if false
`)},
	}
	results, err := policies.Test(context.Background(), fsys, "p")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]policies.TestResult{}
	for _, r := range results {
		got[r.Name] = r
		if r.Package != "landform.limit_test" || r.File != "limit_test.rego" || r.Line == 0 {
			t.Errorf("result %+v: package, file or line", r)
		}
	}
	if r := got["test_one_is_fine"]; !r.Pass {
		t.Errorf("test_one_is_fine: %+v", r)
	}
	if r := got["test_wrong_expectation"]; r.Pass || !r.Fail || r.Output != "checking two\n" {
		t.Errorf("test_wrong_expectation: %+v", r)
	}
	if r := got["test_errors"]; r.Pass || r.Fail || !strings.Contains(r.Error, "limit_test.rego:15:") || !strings.Contains(r.Error, "divide by zero") {
		t.Errorf("test_errors: %+v", r)
	}
	if r := got["todo_test_later"]; r.Pass || !r.Skip {
		t.Errorf("todo_test_later: %+v", r)
	}

	var b strings.Builder
	if err := policies.WriteTestResults(&b, results); err != nil {
		t.Fatal(err)
	}
	report := regexp.MustCompile(`\(\d[^)]*\)`).ReplaceAllString(b.String(), "(T)")
	want := `limit_test.rego:
data.landform.limit_test.test_one_is_fine: PASS (T)
data.landform.limit_test.test_wrong_expectation: FAIL (T)
  checking two
data.landform.limit_test.test_errors: ERROR (T)
  limit_test.rego:15:7: eval_builtin_error: div: divide by zero
data.landform.limit_test.todo_test_later: SKIPPED
` + strings.Repeat("-", 80) + `
PASS: 1/4
FAIL: 1/4
SKIPPED: 1/4
ERROR: 1/4
`
	if report != want {
		t.Errorf("report:\n%s\nwant:\n%s", report, want)
	}
}

func TestRegoTestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"syntax", fstest.MapFS{"p/x_test.rego": {Data: []byte("package landform.x_test\n\ntest_a if {\n")}}, "x_test.rego:"},
		{"policy outside landform", fstest.MapFS{"p/x.rego": {Data: []byte("package other\n")}}, "x.rego:1:1:"},
		{"compile", fstest.MapFS{"p/x_test.rego": {Data: []byte("package landform.x_test\n\ntest_a if {\n\ty == 1\n}\n")}}, "x_test.rego:4:2: rego_unsafe_var_error"},
		{"empty", fstest.MapFS{"p/README": {}}, "no .rego files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policies.Test(context.Background(), tc.fsys, "p")
			if landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Test: %v, want EINVALID with %q", err, tc.want)
			}
		})
	}
}
