package policies_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/policies"
	"github.com/landform/landform/runner"
)

var _ runner.Policies = (*policies.Evaluator)(nil)

const emptyPlan = `{"format_version":"1.2","resource_changes":[]}`

func TestNewSetRefusesBadModules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		modules map[string]string
		want    []string // in the error message
	}{
		{
			name: "syntax error",
			modules: map[string]string{
				"ok.rego":  "package landform.ok\n\ndeny contains \"x\" if false\n",
				"bad.rego": "package landform.bad\n\ndeny contains msg if {\n\tmsg := \"unclosed\n}\n",
			},
			want: []string{`policy set "team"`, "bad.rego:4:", "rego_parse_error"},
		},
		{
			name:    "Rego v0 syntax",
			modules: map[string]string{"v0.rego": "package landform.v0\n\ndeny[msg] { msg := \"x\" }\n"},
			want:    []string{"v0.rego:3:"},
		},
		{
			name:    "outside package landform",
			modules: map[string]string{"dir/other.rego": "package terraform.analysis\n\ndeny contains \"x\" if true\n"},
			want:    []string{"dir/other.rego:1:1:", "package terraform.analysis is not landform or a package under it"},
		},
		{
			name:    "a package merely starting with landform",
			modules: map[string]string{"x.rego": "package landformx\n\ndeny contains \"x\" if true\n"},
			want:    []string{"x.rego:1:1:", "package landformx is not landform"},
		},
		{
			name:    "compile error",
			modules: map[string]string{"unsafe.rego": "package landform\n\ndeny contains msg if {\n\tx == 1\n}\n"},
			want:    []string{"unsafe.rego:3:", "rego_unsafe_var_error"},
		},
		{
			name:    "type error",
			modules: map[string]string{"t.rego": "package landform.t\n\ndeny contains msg if {\n\tmsg := concat(1, 2)\n}\n"},
			want:    []string{"t.rego:4:", "rego_type_error"},
		},
		{
			name:    "network built-in",
			modules: map[string]string{"net.rego": "package landform.net\n\ndeny contains r.body if {\n\tr := http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1/\"})\n}\n"},
			want:    []string{"net.rego:4:", "http.send"},
		},
		{
			name:    "empty module",
			modules: map[string]string{"empty.rego": "# nothing\n"},
			want:    []string{"empty.rego"},
		},
		{
			name:    "no modules",
			modules: map[string]string{},
			want:    []string{"no policy modules"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policies.NewSet("team", tc.modules, nil, landform.EnforceDeny)
			if err == nil {
				t.Fatal("NewSet succeeded")
			}
			if landform.ErrorCode(err) != landform.EINVALID {
				t.Errorf("code %q, want %q: %v", landform.ErrorCode(err), landform.EINVALID, err)
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}

	t.Run("bad enforcement", func(t *testing.T) {
		_, err := policies.NewSet("team", policies.Builtin(), nil, "audit")
		if landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("enforcement audit: %v", err)
		}
	})
}

func TestEvalFailsClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "division by zero",
			src:  "package landform.div\n\ndeny contains x if {\n\tx := 1 / 0\n}\n",
			want: []string{"div.rego:4:", "divide by zero"},
		},
		{
			name: "builtin error (strict)",
			src:  "package landform.num\n\ndeny contains msg if {\n\tn := to_number(\"ten\")\n\tmsg := sprintf(\"%d\", [n])\n}\n",
			want: []string{"num.rego:4:", "eval_builtin_error"},
		},
		{
			name: "conflict",
			src:  "package landform.conflict\n\nlevel := 1 if input.plan.format_version\n\nlevel := 2 if input.plan.resource_changes\n\ndeny contains \"x\" if level == 3\n",
			want: []string{"conflict.rego:", "eval_conflict_error"},
		},
		{
			name: "malformed require_approvals",
			src:  "package landform.appr\n\nrequire_approvals contains {\"count\": \"two\"} if true\n",
			want: []string{"landform.appr.require_approvals", "count must be a whole number"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.TrimPrefix(strings.SplitN(tc.src, "\n", 2)[0], "package landform.") + ".rego"
			set, err := policies.NewSet("team", map[string]string{name: tc.src}, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			d, err := set.Eval(context.Background(), policies.Input{Plan: []byte(emptyPlan)})
			if err == nil {
				t.Fatalf("Eval succeeded: %+v", d)
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}

	t.Run("bad plan JSON", func(t *testing.T) {
		set, err := policies.NewSet("builtin", policies.Builtin(), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, plan := range []string{"", "{", "[]", "null"} {
			if _, err := set.Eval(context.Background(), policies.Input{Plan: []byte(plan)}); landform.ErrorCode(err) != landform.EINVALID {
				t.Errorf("plan %q: %v", plan, err)
			}
		}
	})
}

func TestEvalStopsWithTheContext(t *testing.T) {
	t.Parallel()
	slow := "package landform.slow\n\ndeny contains msg if {\n\tsome i in numbers.range(1, 100000000)\n\ti < 0\n\tmsg := \"never\"\n}\n"
	set, err := policies.NewSet("team", map[string]string{"slow.rego": slow}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	in := policies.Input{Plan: []byte(emptyPlan)}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := set.Eval(ctx, in); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = set.Eval(ctx, in)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Eval took %v after a 50ms deadline", d)
	}
}

func TestEvalCollectsEveryPackage(t *testing.T) {
	t.Parallel()
	modules := map[string]string{
		"root.rego": `package landform

deny contains "root deny" if input.author == "mallory"
`,
		"team/tags.rego": `package landform.team.tags

deny contains {"msg": sprintf("%s in %s", [input.workspace.name, input.workspace.repo]), "extra": 1} if true

warn contains sprintf("pull request %d at %s", [input.pull_request, input.commit]) if true

require_approvals contains {"count": 1, "from": "security"} if true

require_approvals contains {"count": 2} if input.workspace.dir == "prod"

helper := 1
`,
		"bool.rego": `package landform.flag

deny if input.plan.variables.danger.value
`,
		"refhead.rego": `package landform

nested.deny contains "by a ref head" if true
`,
		"array.rego": `package landform["odd-name"]

warn := ["a", "b"]

deny := [{"code": 7}]
`,
	}
	set, err := policies.NewSet("team", modules, nil, landform.EnforceDeny)
	if err != nil {
		t.Fatal(err)
	}
	in := policies.Input{
		Plan:        []byte(`{"resource_changes":[],"variables":{"danger":{"value":true}}}`),
		Workspace:   policies.InputWorkspace{Name: "net", Dir: "prod", Repo: "infra"},
		Commit:      "abc123",
		Author:      "mallory",
		PullRequest: 42,
	}
	d, err := set.Eval(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	deny := messageTexts(d.Deny)
	wantDeny := []string{
		`landform: root deny`,
		`landform.flag: landform.flag.deny is true`,
		`landform.nested: by a ref head`,
		`landform.team.tags: net in infra`,
		`landform["odd-name"]: {"code":7}`,
	}
	if strings.Join(deny, "\n") != strings.Join(wantDeny, "\n") {
		t.Errorf("deny\n%s\nwant\n%s", strings.Join(deny, "\n"), strings.Join(wantDeny, "\n"))
	}
	warn := messageTexts(d.Warn)
	wantWarn := []string{
		`landform.team.tags: pull request 42 at abc123`,
		`landform["odd-name"]: a`,
		`landform["odd-name"]: b`,
	}
	if strings.Join(warn, "\n") != strings.Join(wantWarn, "\n") {
		t.Errorf("warn\n%s\nwant\n%s", strings.Join(warn, "\n"), strings.Join(wantWarn, "\n"))
	}
	wantAppr := []landform.ApprovalRequirement{
		{Count: 2, Set: "team", Package: "landform.team.tags"},
		{Count: 1, From: []string{"security"}, Set: "team", Package: "landform.team.tags"},
	}
	if !equalApprovals(d.RequireApprovals, wantAppr) {
		t.Errorf("require_approvals %+v, want %+v", d.RequireApprovals, wantAppr)
	}

	// Nothing decided on another input; the set is reused.
	in.Author, in.Workspace.Dir = "alice", "dev"
	in.Plan = []byte(emptyPlan)
	d, err = set.Eval(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(messageTexts(d.Deny), "\n"); got != strings.Join(wantDeny[2:], "\n") || len(d.RequireApprovals) != 1 {
		t.Errorf("second input: %+v", d)
	}
}

func TestEvalConcurrently(t *testing.T) {
	t.Parallel()
	set, err := policies.NewSet("builtin", policies.Builtin(), map[string]any{"max_destroys": map[string]any{"max": 0}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			plan := fmt.Sprintf(`{"resource_changes":[{"address":"terraform_data.r%d","type":"terraform_data","change":{"actions":["delete"]}}]}`, i)
			for range 20 {
				d, err := set.Eval(context.Background(), policies.Input{Plan: []byte(plan)})
				if err != nil {
					errs[i] = err
					return
				}
				if len(d.Deny) != 1 || !strings.Contains(d.Deny[0].Message, fmt.Sprintf("terraform_data.r%d", i)) {
					errs[i] = fmt.Errorf("goroutine %d: %+v", i, d.Deny)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Error(err)
	}
}

func TestMerge(t *testing.T) {
	msg := func(set, rule, text string) landform.PolicyMessage {
		return landform.PolicyMessage{Set: set, Package: "landform.p", Rule: rule, Message: text}
	}
	r := policies.Merge(
		policies.Decision{Set: "strict", Enforcement: landform.EnforceDeny,
			Deny: []landform.PolicyMessage{msg("strict", "deny", "a")}, Warn: []landform.PolicyMessage{msg("strict", "warn", "b")},
			RequireApprovals: []landform.ApprovalRequirement{{Count: 2, Set: "strict"}}},
		policies.Decision{Set: "advisory", Enforcement: landform.EnforceWarn,
			Deny:             []landform.PolicyMessage{msg("advisory", "deny", "c")},
			RequireApprovals: []landform.ApprovalRequirement{{Count: 1, Set: "advisory"}}},
	)
	if !r.Denied() || len(r.Deny) != 1 || r.Deny[0].Message != "a" {
		t.Errorf("deny %+v", r.Deny)
	}
	if len(r.Warn) != 2 || r.Warn[0].Message != "b" || r.Warn[1].Message != "c" || r.Warn[1].Rule != "deny" {
		t.Errorf("warn %+v", r.Warn)
	}
	if len(r.RequireApprovals) != 2 {
		t.Errorf("require_approvals %+v", r.RequireApprovals)
	}
	if r := policies.Merge(); r == nil || r.Denied() {
		t.Errorf("Merge() = %+v", r)
	}
}

func TestEvaluator(t *testing.T) {
	t.Parallel()
	builtin, err := policies.NewSet(policies.BuiltinSet, policies.Builtin(),
		map[string]any{"protect_types": map[string]any{"types": []string{"testcloud_bucket"}}}, landform.EnforceDeny)
	if err != nil {
		t.Fatal(err)
	}
	team, err := policies.NewSet("team", map[string]string{"pr.rego": `package landform.pr

warn contains sprintf("%s by %s (#%d) in %s/%s@%s", [input.workspace.name, input.author, input.pull_request, input.workspace.repo, input.workspace.dir, input.commit]) if true
`}, nil, landform.EnforceWarn)
	if err != nil {
		t.Fatal(err)
	}
	e := policies.NewEvaluator(builtin, team)
	run := &landform.Run{Repo: "infra", Workspace: "storage", Dir: "live/storage", Commit: "c1", PR: landform.RunPR{Number: 7, Author: "bob"}}
	plan := `{"resource_changes":[{"address":"testcloud_bucket.b","type":"testcloud_bucket","change":{"actions":["delete"]}}]}`
	r, err := e.Evaluate(context.Background(), run, []byte(plan))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Denied() || len(r.Deny) != 1 || r.Deny[0].Set != "builtin" {
		t.Errorf("deny %+v", r.Deny)
	}
	if len(r.Warn) != 1 || r.Warn[0].Message != "storage by bob (#7) in infra/live/storage@c1" {
		t.Errorf("warn %+v", r.Warn)
	}
	if _, err := e.Evaluate(context.Background(), run, []byte("not json")); landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("bad plan: %v", err)
	}
}

func messageTexts(ms []landform.PolicyMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Package+": "+m.Message)
	}
	return out
}
