package report_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/landform/landform"
	"github.com/landform/landform/report"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/preview")

// githubLimit is forge.MaxCommentGitHub (not imported: the forge package
// builds three forge clients).
const githubLimit = 65536

func marker(i int) string { return fmt.Sprintf("<!-- landform:preview:%d -->", i) }

const head = "0123456789abcdef0123456789abcdef01234567"

var planTime = time.Date(2026, 3, 1, 11, 4, 59, 0, time.FixedZone("CET", 3600))

func planned(id, ws string, s landform.PlanSummary) *landform.Run {
	return &landform.Run{ID: id, Workspace: ws, Commit: head, State: landform.StatePlanned, Summary: s}
}

func withState(r *landform.Run, s landform.RunState) *landform.Run {
	r.State = s
	return r
}

func plan(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

var devPlan = plan(
	"Terraform will perform the following actions:",
	"",
	`  # aws_s3_bucket.logs will be created`,
	`  + resource "aws_s3_bucket" "logs" {`,
	`      + bucket = "example-logs"`,
	`    }`,
	"",
	"Plan: 1 to add, 0 to change, 0 to destroy.")

var prodPlan = plan(
	"Terraform will perform the following actions:",
	"",
	`  # aws_instance.web will be updated in-place`,
	`  ~ resource "aws_instance" "web" {`,
	`      ~ instance_type = "t3.small" -> "t3.medium"`,
	`    }`,
	"",
	"Plan: 0 to add, 1 to change, 0 to destroy.")

func smallPreview() report.Preview {
	return report.Preview{PR: 12, HeadCommit: head, Time: planTime, Workspaces: []report.PreviewWorkspace{
		{Run: planned("42", "envs/prod", landform.PlanSummary{Change: 1}), PlanText: prodPlan,
			Changes: map[string]string{"aws_instance.web": "update"}},
		{Run: planned("41", "envs/dev", landform.PlanSummary{Add: 1}), PlanText: devPlan,
			Changes: map[string]string{"aws_s3_bucket.logs": "create"}},
	}}
}

func noChangesPreview() report.Preview {
	p := smallPreview()
	const none = "No changes. Your infrastructure matches the configuration.\n"
	p.Workspaces = []report.PreviewWorkspace{
		{Run: withState(planned("51", "envs/prod", landform.PlanSummary{}), landform.StateNoChanges), PlanText: none},
		{Run: withState(planned("50", "envs/dev", landform.PlanSummary{}), landform.StateNoChanges), PlanText: none},
	}
	return p
}

const unsupported = `Error: Unsupported argument

  on main.tf line 3, in resource "aws_instance" "web":
   3:   instance_typo = "t3.small"

An argument named "instance_typo" is not expected here. Did you mean "instance_type"?
`

func erroredPreview() report.Preview {
	p := smallPreview()
	broken := withState(planned("43", "envs/stage", landform.PlanSummary{}), landform.StateErrored)
	broken.Error = unsupported
	p.Workspaces = append(p.Workspaces, report.PreviewWorkspace{Run: broken})
	return p
}

func destroyHeavyPreview() report.Preview {
	changes := map[string]string{"aws_s3_bucket.new": "create"}
	lines := []string{"Terraform will perform the following actions:", ""}
	for i := range 40 {
		addr := fmt.Sprintf("aws_instance.worker[%d]", i)
		changes[addr] = "delete"
		lines = append(lines, "  # "+addr+" will be destroyed", fmt.Sprintf(`  - resource "aws_instance" "worker" {`), "    }")
	}
	for _, addr := range []string{"aws_db_instance.main", "aws_lb.front", "aws_eip.nat"} {
		changes[addr] = "replace"
		lines = append(lines, "  # "+addr+" must be replaced", "-/+ resource {", "    }")
	}
	lines = append(lines, "", "Plan: 4 to add, 0 to change, 43 to destroy.")
	p := smallPreview()
	p.Workspaces = []report.PreviewWorkspace{{
		Run:      planned("60", "envs/prod", landform.PlanSummary{Add: 1, Destroy: 40, Replace: 3}),
		PlanText: plan(lines...), Changes: changes,
	}}
	return p
}

// manyWorkspacesPreview has 200 workspaces: every 10th errored, every 7th
// destroying something, the rest without changes.
func manyWorkspacesPreview() report.Preview {
	p := smallPreview()
	p.Workspaces = nil
	for i := range 200 {
		ws := fmt.Sprintf("services/svc-%03d", i)
		id := fmt.Sprint(1000 + i)
		w := report.PreviewWorkspace{Run: withState(planned(id, ws, landform.PlanSummary{}), landform.StateNoChanges)}
		switch {
		case i%10 == 0:
			w.Run.State, w.Run.Error = landform.StateErrored, unsupported
		case i%7 == 0:
			w.Run = planned(id, ws, landform.PlanSummary{Destroy: 1})
			w.PlanText = plan(fmt.Sprintf("  # aws_instance.w%d will be destroyed", i), "Plan: 0 to add, 0 to change, 1 to destroy.")
			w.Changes = map[string]string{fmt.Sprintf("aws_instance.w%d", i): "delete"}
		}
		p.Workspaces = append(p.Workspaces, w)
	}
	p.Deleted = []string{"services/legacy-a", "services/legacy-b"}
	return p
}

func previousPreview() report.Preview {
	p := smallPreview()
	p.Workspaces[0].Changes = map[string]string{"aws_instance.web": "update", "aws_s3_bucket.logs": "create"}
	p.Deleted = []string{"envs/old"}
	p.Previous = &report.Preview{PR: 12, HeadCommit: "fedcba9876543210fedcba9876543210fedcba98", Workspaces: []report.PreviewWorkspace{
		{Run: planned("30", "envs/prod", landform.PlanSummary{}), Changes: map[string]string{"aws_instance.web": "replace", "aws_iam_role.ci": "create"}},
		{Run: withState(planned("31", "envs/stage", landform.PlanSummary{}), landform.StateErrored)},
		{Run: planned("32", "envs/old", landform.PlanSummary{})},
	}}
	p.Workspaces = append(p.Workspaces, report.PreviewWorkspace{Run: planned("44", "envs/stage", landform.PlanSummary{})})
	return p
}

func unchangedPreview() report.Preview {
	p := smallPreview()
	prev := smallPreview()
	prev.HeadCommit = "fedcba9876543210fedcba9876543210fedcba98"
	p.Previous = &prev
	return p
}

func linksPreview() report.Preview {
	p := smallPreview()
	p.ExternalURL = "https://landform.example/"
	p.Workspaces[0].Run.State = landform.StateApproved
	p.Workspaces[1].Run.Commit = "aaaabbbbccccddddeeeeffff0000111122223333"
	return p
}

// hostilePreview is a repository that tries to break out of the code
// blocks and table, mention people and forge links.
func hostilePreview() report.Preview {
	p := smallPreview()
	p.Workspaces = []report.PreviewWorkspace{{
		Run: planned("7", "envs/a|b`c<x>@everyone", landform.PlanSummary{Destroy: 1}),
		PlanText: plan("  # aws_instance.x will be destroyed", "```", "</details>", "<details><summary>forged</summary>",
			"[click](https://evil.example) @maintainer", "````", "~~~", "</code></pre>", "still plan text"),
		Changes: map[string]string{"aws_instance.x[\"`|</details>@someone\"]": "delete"},
	}}
	return p
}

// policiesPreview has a denied workspace, one that passed with warnings
// and approvals required, and one overridden.
func policiesPreview() report.Preview {
	p := smallPreview()
	p.Workspaces[0].Run.State = landform.StatePolicyFailed
	p.Workspaces[0].Run.Policy = &landform.PolicyResult{
		Deny: []landform.PolicyMessage{{Set: "guard", Package: "landform.protect_types", Rule: "deny",
			Message: "aws_s3_bucket.logs: destroy of a protected resource type (aws_s3_bucket) `</details>`"}},
	}
	p.Workspaces[1].Run.Policy = &landform.PolicyResult{
		Warn:             []landform.PolicyMessage{{Set: "team", Package: "landform.tags", Rule: "warn", Message: "aws_instance.web: no owner tag"}},
		RequireApprovals: []landform.ApprovalRequirement{{Count: 2, From: []string{"dba"}, Set: "guard", Package: "landform.destroy_approvals"}},
	}
	return p
}

var decided = time.Date(2026, 11, 29, 18, 40, 12, 0, time.UTC)

func approval(by, channel string, ok bool, reason string, minutes int) *landform.Approval {
	return &landform.Approval{By: by, Channel: channel, Approved: ok, Reason: reason, Commit: head,
		PlanSHA256: strings.Repeat("ab", 32), At: decided.Add(time.Duration(minutes) * time.Minute)}
}

// approvalsPreview has a run in each state of approval and apply: awaiting
// approval (one approval, one refusal), approved (a note, an approval
// carried over on merge), applying, applied, failed to apply and stale.
func approvalsPreview() report.Preview {
	const apply = "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."
	run := func(id, ws string, state landform.RunState) *landform.Run {
		r := withState(planned(id, ws, landform.PlanSummary{Add: 1}), state)
		return r
	}
	requested := func(by, channel string) *landform.ApplyResult {
		return &landform.ApplyResult{By: by, Channel: channel, RequestedAt: decided.Add(10 * time.Minute),
			StartedAt: decided.Add(10 * time.Minute)}
	}
	awaiting := run("70", "envs/a-awaiting", landform.StateAwaitingApproval)
	awaiting.Approvals = []*landform.Approval{
		approval("bob", landform.ChannelComment, false, "bob may not approve: not one of its approvers", 0),
		approval("alice", landform.ChannelComment, true, "", 1),
	}
	approved := run("71", "envs/b-approved", landform.StateApproved)
	approved.Approvals = []*landform.Approval{
		approval("alice", landform.ChannelSlack, true, "checked with the DBA `team`\nall good", 0),
		approval("carol", landform.ChannelOnMerge, true, "", 2),
	}
	applying := run("72", "envs/c-applying", landform.StateApplying)
	applying.Approvals = approved.Approvals[:1]
	applying.Apply = requested("alice", landform.ChannelSlack)
	applied := run("73", "envs/d-applied", landform.StateApplied)
	applied.Approvals = approved.Approvals[:1]
	applied.Apply = requested("alice", landform.ChannelComment)
	applied.Apply.FinishedAt, applied.Apply.Summary = decided.Add(11*time.Minute), apply
	failed := run("74", "envs/e-failed", landform.StateApplyFailed)
	failed.Apply = requested("alice", landform.ChannelAPI)
	failed.Apply.FinishedAt = decided.Add(11 * time.Minute)
	failed.Apply.Error = "Error: creating bucket: AccessDenied\n\n  with aws_s3_bucket.logs,\n  on main.tf line 1"
	stale := run("75", "envs/f-stale", landform.StateStale)
	stale.Apply = requested("alice", landform.ChannelCLI)
	stale.Apply.Replan = "76"
	stale.Apply.Error = "Saved plan is stale"
	p := smallPreview()
	p.Workspaces = nil
	for _, r := range []*landform.Run{awaiting, approved, applying, applied, failed, stale} {
		p.Workspaces = append(p.Workspaces, report.PreviewWorkspace{Run: r, PlanText: devPlan,
			Changes: map[string]string{"aws_s3_bucket.logs": "create"}})
	}
	return p
}

func TestRenderPreviewGolden(t *testing.T) {
	tests := []struct {
		name   string
		p      report.Preview
		maxLen int
	}{
		{"small", smallPreview(), githubLimit},
		{"no_changes", noChangesPreview(), githubLimit},
		{"errored", erroredPreview(), githubLimit},
		{"destroy_heavy", destroyHeavyPreview(), githubLimit},
		{"many_workspaces", manyWorkspacesPreview(), 8192},
		{"previous", previousPreview(), githubLimit},
		{"previous_unchanged", unchangedPreview(), githubLimit},
		{"links", linksPreview(), githubLimit},
		{"hostile", hostilePreview(), githubLimit},
		{"policies", policiesPreview(), githubLimit},
		{"approvals", approvalsPreview(), githubLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bodies := report.RenderPreview(tt.p, tt.maxLen, marker)
			for i, b := range bodies {
				checkBody(t, i, b, tt.maxLen)
			}
			checkGolden(t, tt.name, bodies)
		})
	}
}

// checkGolden compares bodies with testdata/preview/name.golden, where
// bodies after the first follow a "=== next comment ===" line.
func checkGolden(t *testing.T, name string, bodies []string) {
	t.Helper()
	got := strings.Join(bodies, "\n=== next comment ===\n")
	path := filepath.Join("testdata", "preview", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./report -run TestRenderPreviewGolden -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (-update rewrites it); got:\n%s", path, got)
	}
}

// checkBody checks what every body must be: within maxLen runes, its
// marker first, its code blocks and <details> balanced. It returns the
// lines inside code blocks, in order.
func checkBody(t *testing.T, i int, body string, maxLen int) []string {
	t.Helper()
	if n := utf8.RuneCountInString(body); n > maxLen {
		t.Errorf("body %d has %d runes, more than %d", i, n, maxLen)
	}
	if first, _, _ := strings.Cut(body, "\n"); first != marker(i) {
		t.Errorf("body %d starts with %q, want the marker %q", i, first, marker(i))
	}
	code, problem := parseBlocks(body)
	if problem != "" {
		t.Errorf("body %d: %s\n%s", i, problem, body)
	}
	return code
}

var (
	openDetails  = regexp.MustCompile(`(?i)<details[\s>]`)
	closeDetails = regexp.MustCompile(`(?i)</details\s*>`)
	fenceLine    = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})(.*)$")
)

// parseBlocks reads body the way CommonMark finds fenced code blocks (an
// opening fence of three or more backticks or tildes, indented at most
// three spaces, closed by a fence of the same character at least as long
// with nothing after it) and counts <details> outside them. It returns the
// lines inside code blocks, and what is unbalanced ("" when nothing is).
func parseBlocks(body string) (code []string, problem string) {
	open, depth := "", 0
	for n, line := range strings.Split(body, "\n") {
		m := fenceLine.FindStringSubmatch(line)
		switch {
		case open != "" && m != nil && m[1][0] == open[0] && len(m[1]) >= len(open) && strings.TrimSpace(m[2]) == "":
			open = ""
		case open != "":
			code = append(code, line)
		case m != nil && !(m[1][0] == '`' && strings.Contains(m[2], "`")):
			open = m[1]
		default:
			line = withoutCodeSpans(line)
			depth += len(openDetails.FindAllString(line, -1))
			depth -= len(closeDetails.FindAllString(line, -1))
			if depth < 0 || depth > 1 {
				return code, fmt.Sprintf("line %d: <details> nested or closed without opening: %q", n+1, line)
			}
		}
	}
	switch {
	case open != "":
		return code, "a code block is left open"
	case depth != 0:
		return code, "a <details> is left open"
	}
	return code, ""
}

// withoutCodeSpans removes the inline code spans of line: a backtick run
// and the next run of as many backticks, with what is between them.
func withoutCodeSpans(line string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(line, '`')
		if i < 0 {
			return b.String() + line
		}
		n := len(line[i:]) - len(strings.TrimLeft(line[i:], "`"))
		b.WriteString(line[:i])
		line = line[i+n:]
		if end := closingRun(line, n); end >= 0 {
			line = line[end+n:]
		} else {
			b.WriteString(strings.Repeat("`", n))
		}
	}
}

// closingRun is the index of the first run of exactly n backticks in s, -1
// when there is none.
func closingRun(s string, n int) int {
	for i := 0; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] == '`' {
			j++
		}
		if j-i == n {
			return i
		}
		i = j
	}
	return -1
}

// hugePlan is a plan text of about size bytes whose lines all start with
// prefix and are numbered, of varied lengths.
func hugePlan(prefix string, size int) (string, []string) {
	var lines []string
	n := 0
	for i := 0; n < size; i++ {
		l := fmt.Sprintf("%s%06d %s", prefix, i, strings.Repeat("x", i*7919%160))
		lines = append(lines, l)
		n += len(l) + 1
	}
	return plan(lines...), lines
}

func TestRenderPreviewSplitsHugePlan(t *testing.T) {
	p := erroredPreview()
	text, want := hugePlan("      + big ", 300_000)
	p.Workspaces[0].PlanText = text
	bodies := report.RenderPreview(p, githubLimit, marker)
	if len(bodies) < 5 {
		t.Fatalf("a 300 KB plan in %d bodies", len(bodies))
	}
	var got []string
	for i, b := range bodies {
		for _, l := range checkBody(t, i, b, githubLimit) {
			if strings.HasPrefix(l, "      + big ") {
				got = append(got, l)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("the bodies hold %d lines of the plan, want its %d lines once each, in order", len(got), len(want))
	}
	for _, row := range []string{"| `envs/dev` |", "| `envs/prod` |", "| `envs/stage` |", "**3 workspaces**: 2 with changes, 1 failed; +1 ~1 -0 ±0"} {
		if !strings.Contains(bodies[0], row) {
			t.Errorf("the first body lacks %q", row)
		}
	}
	if !strings.Contains(bodies[1], "(part 1 of ") || !strings.Contains(bodies[len(bodies)-1], "`landform approve 42`") {
		t.Errorf("the split plan is not labelled in parts, or its commands are not after it")
	}
}

func TestRenderPreviewCutsAHugeLine(t *testing.T) {
	p := smallPreview()
	long := strings.Repeat("é", 100_000)
	p.Workspaces[0].PlanText = plan("before", long, "after")
	bodies := report.RenderPreview(p, githubLimit, marker)
	var code []string
	for i, b := range bodies {
		code = append(code, checkBody(t, i, b, githubLimit)...)
	}
	joined := strings.Join(code, "")
	if !strings.Contains(joined, "before"+long+"after") {
		t.Errorf("the pieces of a line longer than a comment do not add up to it")
	}
}

func TestRenderPreviewKeepsHostileTextInCode(t *testing.T) {
	for _, maxLen := range []int{githubLimit, 4096} {
		p := hostilePreview()
		for range 400 { // big enough to be split at 4096
			p.Workspaces[0].PlanText += "```\n</details>\n"
		}
		bodies := report.RenderPreview(p, maxLen, marker)
		if maxLen == 4096 && len(bodies) < 2 {
			t.Errorf("the hostile plan is not split at 4096")
		}
		var code []string
		for i, b := range bodies {
			code = append(code, checkBody(t, i, b, maxLen)...)
			if strings.Contains(b, "forged</summary>") || strings.Contains(b, "\n</details>\n</details>") {
				t.Errorf("body %d holds a tag of the plan as it is", i)
			}
		}
		if got := strings.Count(strings.Join(code, "\n"), "still plan text"); got != 1 {
			t.Errorf("maxLen %d: the line after the hostile ones is %d times inside a code block, want 1", maxLen, got)
		}
	}
}

func TestRenderPreviewCutsTheTableLast(t *testing.T) {
	p := manyWorkspacesPreview()
	for i := range 300 {
		p.Workspaces = append(p.Workspaces, report.PreviewWorkspace{
			Run: withState(planned(fmt.Sprint(5000+i), fmt.Sprintf("zz/quiet-%03d", i), landform.PlanSummary{}), landform.StateNoChanges)})
	}
	bodies := report.RenderPreview(p, 4096, marker)
	first := bodies[0]
	checkBody(t, 0, first, 4096)
	for _, want := range []string{"**500 workspaces**: 26 with changes, 454 with no changes, 20 failed; +0 ~0 -26 ±0",
		"_The table shows ", "Deleted by this commit, not planned: `services/legacy-a`, `services/legacy-b`."} {
		if !strings.Contains(first, want) {
			t.Errorf("the first body lacks %q:\n%s", want, first)
		}
	}
	if !strings.Contains(first, "| `services/svc-000` | ❌ errored |") || strings.Contains(first, "zz/quiet") {
		t.Errorf("a cut table keeps rows without changes before errors:\n%s", first)
	}
}

func TestRenderPreviewIsDeterministic(t *testing.T) {
	want := report.RenderPreview(previousPreview(), 4096, marker)
	for range 20 {
		if got := report.RenderPreview(previousPreview(), 4096, marker); !slices.Equal(got, want) {
			t.Fatalf("two renderings of one preview differ")
		}
	}
}

func FuzzRenderPreview(f *testing.F) {
	f.Add("envs/a", "aws_x.y", prodPlan, "", 4096, uint8(0))
	f.Add("a|`b`", "x[\"</details>\"]", "```\n</details>\n````\n", "Error: ```", 5000, uint8(200))
	f.Add("b", "y", strings.Repeat("`", 40)+"\n"+strings.Repeat("line\n", 900), "\x00\xff", 4096, uint8(3))
	f.Fuzz(func(t *testing.T, ws, addr, planText, errText string, maxLen int, repeat uint8) {
		maxLen = 4096 + (maxLen&0xffff)%20000
		p := smallPreview()
		p.Workspaces[0].Run.Workspace = ws
		p.Workspaces[0].PlanText = strings.Repeat(planText, 1+int(repeat))
		p.Workspaces[0].Changes = map[string]string{addr: "delete"}
		p.Workspaces[1].Run.Error, p.Workspaces[1].Run.State = errText, landform.StateErrored
		// Identities, channels and reasons come from people.
		states := []landform.RunState{landform.StatePlanned, landform.StateAwaitingApproval, landform.StateApproved,
			landform.StateApplying, landform.StateApplied, landform.StateApplyFailed, landform.StateStale}
		r := p.Workspaces[0].Run
		r.State = states[int(repeat)%len(states)]
		r.Approvals = []*landform.Approval{{By: addr, Channel: ws, Approved: repeat%2 == 0, Reason: errText, At: decided}}
		r.Apply = &landform.ApplyResult{By: addr, Channel: ws, Summary: errText, Error: errText, Replan: ws}
		for i, b := range report.RenderPreview(p, maxLen, marker) {
			checkBody(t, i, b, maxLen)
		}
	})
}

func TestRenderPreviewBoundsApprovals(t *testing.T) {
	p := smallPreview()
	r := p.Workspaces[0].Run
	r.State = landform.StateAwaitingApproval
	// 25 approvals by 25 people, 100 refusals of one who keeps trying,
	// with a name and a reason that try to break out.
	for i := range 125 {
		if i%5 == 0 {
			r.Approvals = append(r.Approvals, approval(fmt.Sprintf("approver-%02d", i/5), landform.ChannelComment, true, "", i))
			continue
		}
		r.Approvals = append(r.Approvals, approval("mallory`</details>\n@everyone", "x|y`", false,
			fmt.Sprintf("try %d\n```\n</details>", i)+strings.Repeat(" long", 100), i))
	}
	bodies := report.RenderPreview(p, githubLimit, marker)
	checkBody(t, 0, bodies[0], githubLimit)
	body := bodies[0]
	if n := strings.Count(body, "- ✅ approved by"); n != 20 {
		t.Errorf("%d approvals listed, want 20", n)
	}
	if n := strings.Count(body, "- ⛔ refused:"); n != 5 {
		t.Errorf("%d refusals listed, want the latest 5", n)
	}
	for _, want := range []string{
		"- … and 5 more approvals and 95 earlier refusals (the run's record has them all)",
		"- ⛔ refused: ``\"mallory`</details>\\n@everyone\"``",
		"try 124 ``` </details> long",
		"via `` x|y` ``",
		"Awaiting more approvals (25 so far): comment `landform approve 42` to approve",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the preview lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "try 118 ") || !strings.Contains(body, "try 119 ") {
		t.Errorf("the refusals listed are not the latest")
	}
}
