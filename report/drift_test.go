package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/landform/landform"
	"github.com/landform/landform/report"
)

// checkedAt is 00:30 on 2 March in Berlin, still 1 March in UTC: the
// day the ledger files it under.
var checkedAt = time.Date(2026, 3, 2, 0, 30, 0, 0, time.FixedZone("CET", 3600))

const driftCommit = "89abcdef0123456789abcdef0123456789abcdef"

func changed(addr string, attrs ...landform.AttributeChange) landform.DriftedResource {
	return landform.DriftedResource{Address: addr, Kind: landform.DriftChanged, Action: "update", Attributes: attrs}
}

func driftWorkspace(name string, res ...landform.DriftedResource) landform.WorkspaceDrift {
	w := landform.WorkspaceDrift{Repo: "org/infra", Workspace: name, Dir: name, Commit: driftCommit,
		CheckedAt: checkedAt, Resources: res}
	for _, r := range res {
		if r.Kind != landform.DriftUnapplied {
			w.Drifted = true
		}
	}
	return w
}

// sampleDrift has a workspace of each status: drifted (changed, deleted,
// unapplied, a sensitive attribute), unapplied only, failed, and three
// clean ones.
func sampleDrift() *landform.DriftReport {
	prod := driftWorkspace("envs/prod",
		changed("aws_instance.web",
			landform.AttributeChange{Path: "instance_type", Before: "t3.small", After: "t3.large"},
			landform.AttributeChange{Path: "root_block_device[0].volume_size", Before: 20.0, After: 50.0},
			landform.AttributeChange{Path: "tags.owner", Before: nil, After: "someone"},
			landform.AttributeChange{Path: "user_data", Before: landform.SensitiveValue, After: landform.SensitiveValue, Sensitive: true}),
		changed("aws_security_group.web",
			landform.AttributeChange{Path: "ingress", Before: []any{map[string]any{"port": 443.0}},
				After: []any{map[string]any{"port": 443.0}, map[string]any{"port": 22.0, "cidr": "0.0.0.0/0"}}}),
		landform.DriftedResource{Address: "aws_s3_bucket.logs", Kind: landform.DriftDeleted, Action: "delete"},
		landform.DriftedResource{Address: "aws_iam_role.ci", Kind: landform.DriftUnapplied, Action: "create"},
	)
	prod.RunID, prod.Remediation = "57", "61"
	prod.DriftedSince = time.Date(2026, 2, 27, 8, 15, 0, 0, time.UTC)
	stage := driftWorkspace("envs/stage",
		landform.DriftedResource{Address: "aws_instance.web", Kind: landform.DriftUnapplied, Action: "update"})
	stage.RunID, stage.Remediation = "58", "62"
	broken := driftWorkspace("envs/broken")
	broken.RunID = "59"
	broken.Error = "Error: No valid credential sources found\n\n  with provider[\"registry.terraform.io/hashicorp/aws\"],\n  on main.tf line 1"
	blue := driftWorkspace("envs/prod@blue")
	blue.Dir = "envs/prod"
	return &landform.DriftReport{Repo: "org/infra", Commit: driftCommit, CheckedAt: checkedAt, Workspaces: []landform.WorkspaceDrift{
		driftWorkspace("envs/dev"), stage, prod, broken, driftWorkspace("."), blue,
	}}
}

const hostileName = "envs/a|b`c<script>alert(1)</script>@everyone\n## forged"

// hostileDrift is a repository whose names, addresses, values and errors
// try to break out of code, tables and HTML, and to mention people.
func hostileDrift() *landform.DriftReport {
	r := sampleDrift()
	w := driftWorkspace(hostileName,
		changed("aws_instance.x[\"`|</details>@someone\"]",
			landform.AttributeChange{Path: "tags.`a|b`", Before: "``` @here <img src=x onerror=alert(1)>",
				After: "[click](https://evil.example) </td></tr></table><script>x</script>"}),
		landform.DriftedResource{Address: "x.y\n| forged | row |", Kind: "<b>odd</b>", Action: "@channel"},
	)
	w.Dir = "<script>dir</script>"
	w.Error = "```\n</details>\n@maintainer [click](https://evil.example)\n<script>alert(1)</script>"
	r.Repo = "org/<script>repo</script>`@team"
	r.Workspaces = append(r.Workspaces, w)
	return r
}

func remediation(w *landform.WorkspaceDrift) string {
	if w.Remediation == "" {
		return ""
	}
	return "landform approve " + w.Remediation
}

func TestDriftGolden(t *testing.T) {
	opts := report.DriftOptions{MaxLen: githubLimit, RemediationCommand: remediation, ExternalURL: "https://landform.example"}
	issue := func(r *landform.DriftReport) string {
		title, body := report.DriftIssue(r, opts)
		return "title: " + title + "\n\n" + body
	}
	jsonOf := func(r *landform.DriftReport) string {
		js, err := report.DriftJSON(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(js) + "\n"
	}
	slack := func(r *landform.DriftReport, link string) string {
		var b bytes.Buffer
		if err := json.Indent(&b, report.DriftSlackMessage(r, link), "", "  "); err != nil {
			t.Fatal(err)
		}
		return b.String() + "\n"
	}
	prod := &sampleDrift().Workspaces[2]
	tests := []struct{ name, got string }{
		{"report.md", report.DriftMarkdown(sampleDrift(), opts)},
		{"issue.md", issue(sampleDrift())},
		{"workspace_drifted.md", report.WorkspaceDriftMarkdown(prod)},
		{"workspace_error.md", report.WorkspaceDriftMarkdown(&sampleDrift().Workspaces[3])},
		{"workspace_clean.md", report.WorkspaceDriftMarkdown(&sampleDrift().Workspaces[0])},
		{"report.json", jsonOf(sampleDrift())},
		{"report.html", report.DriftHTML(sampleDrift())},
		{"slack.json", slack(sampleDrift(), "https://landform.example/drift?repo=org/infra&x=<y>")},
		{"hostile.md", report.DriftMarkdown(hostileDrift(), opts)},
		{"hostile_workspace.md", report.WorkspaceDriftMarkdown(&hostileDrift().Workspaces[6])},
		{"hostile.html", report.DriftHTML(hostileDrift())},
		{"hostile_slack.json", slack(hostileDrift(), "")},
		{"cut.md", report.DriftMarkdown(manyDrift(60), report.DriftOptions{MaxLen: 12000, RemediationCommand: remediation})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDriftGolden(t, tt.name, tt.got)
		})
	}
}

// checkDriftGolden compares got with testdata/drift/name.golden.
func checkDriftGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "drift", name+".golden")
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
		t.Fatalf("%v (go test ./report -run TestDriftGolden -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (-update rewrites it); got:\n%s", path, got)
	}
}

// manyDrift has n workspaces: every 3rd drifted with many attributes,
// every 5th failed with a long error, every 7th with unapplied code, the
// rest clean.
func manyDrift(n int) *landform.DriftReport {
	r := &landform.DriftReport{Repo: "org/big", Commit: driftCommit, CheckedAt: checkedAt}
	for i := range n {
		name := fmt.Sprintf("services/svc-%03d", i)
		w := driftWorkspace(name)
		w.RunID, w.Remediation = fmt.Sprint(1000+i), fmt.Sprint(5000+i)
		switch {
		case i%5 == 0:
			w.Error = "Error: timeout\n" + strings.Repeat("detail line\n", 100)
		case i%3 == 0:
			for j := range 30 {
				var attrs []landform.AttributeChange
				for k := range 5 {
					attrs = append(attrs, landform.AttributeChange{Path: fmt.Sprintf("tags.k%d", k), Before: "old", After: strings.Repeat("new", 20)})
				}
				w.Resources = append(w.Resources, changed(fmt.Sprintf("aws_instance.w[%d]", j), attrs...))
			}
			w.Drifted = true
		case i%7 == 0:
			w.Resources = []landform.DriftedResource{{Address: "aws_iam_role.r", Kind: landform.DriftUnapplied, Action: "create"}}
		}
		r.Workspaces = append(r.Workspaces, w)
	}
	return r
}

func TestDriftMarkdownFitsTheLimit(t *testing.T) {
	for _, tc := range []struct {
		n, maxLen int
		cut       bool
	}{
		{6, 4096, true}, {40, 4096, true}, {400, 4096, true}, {400, githubLimit, true}, {2000, githubLimit, true}, {400, 0, false},
	} {
		r := manyDrift(tc.n)
		md := report.DriftMarkdown(r, report.DriftOptions{MaxLen: tc.maxLen, RemediationCommand: remediation})
		if n := utf8.RuneCountInString(md); tc.maxLen > 0 && n > tc.maxLen {
			t.Errorf("%d workspaces in %d runes: %d runes", tc.n, tc.maxLen, n)
		}
		if _, problem := parseBlocks(md); problem != "" {
			t.Errorf("%d workspaces in %d runes: %s", tc.n, tc.maxLen, problem)
		}
		if got := strings.Contains(md, "_Cut to fit the size limit: "); got != tc.cut {
			t.Errorf("%d workspaces in %d runes: cut note %v, want %v", tc.n, tc.maxLen, got, tc.cut)
		}
		for _, want := range []string{"**" + r.Summary() + "**", " clean**: `services/svc-001`, `services/svc-002`, "} {
			if !strings.Contains(md, want) {
				t.Errorf("%d workspaces in %d runes: no %q", tc.n, tc.maxLen, want)
			}
		}
		// The drifted come first: the first of them keeps a section
		// when there is room for any.
		if (tc.maxLen == 0 || tc.maxLen == githubLimit) && !strings.Contains(md, "#### ⚠️ `services/svc-003` — drifted") {
			t.Errorf("%d workspaces in %d runes: the first drifted workspace has no section", tc.n, tc.maxLen)
		}
	}
}

func TestDriftMarkdownCutsInOrder(t *testing.T) {
	r := manyDrift(2000)
	notClean := 0
	for i := range r.Workspaces {
		if r.Workspaces[i].Status() != "clean" {
			notClean++
		}
	}
	md := report.DriftMarkdown(r, report.DriftOptions{MaxLen: githubLimit})
	// Every workspace that is not clean has a section or a line, or is
	// counted as left out.
	m := regexp.MustCompile(`\n_… and (\d+) more workspaces with drift`).FindStringSubmatch(md)
	left := 0
	if m != nil {
		left, _ = strconv.Atoi(m[1])
	}
	if shown := strings.Count(md, "\n#### ") + strings.Count(md, "\n- "); shown+left != notClean {
		t.Errorf("%d shown and %d left out of %d", shown, left, notClean)
	}
	// A failed workspace never comes before a drifted one.
	if i, j := strings.Index(md, "❌"), strings.LastIndex(md, "⚠️"); i >= 0 && i < j {
		t.Errorf("a failed workspace is before a drifted one")
	}
}

// outsideCode is body without its code blocks and inline code spans (and
// the escaped pipes of table cells), read as parseBlocks reads it.
func outsideCode(t *testing.T, body string) string {
	t.Helper()
	if _, problem := parseBlocks(body); problem != "" {
		t.Fatalf("%s\n%s", problem, body)
	}
	var out []string
	open := ""
	for _, line := range strings.Split(body, "\n") {
		m := fenceLine.FindStringSubmatch(line)
		switch {
		case open != "" && m != nil && m[1][0] == open[0] && len(m[1]) >= len(open) && strings.TrimSpace(m[2]) == "":
			open = ""
		case open != "":
		case m != nil && !(m[1][0] == '`' && strings.Contains(m[2], "`")):
			open = m[1]
		default:
			out = append(out, withoutCodeSpans(strings.ReplaceAll(line, `\|`, "")))
		}
	}
	return strings.Join(out, "\n")
}

func TestDriftMarkdownKeepsHostileTextInCode(t *testing.T) {
	r := hostileDrift()
	for _, md := range []string{
		report.DriftMarkdown(r, report.DriftOptions{}),
		report.DriftMarkdown(r, report.DriftOptions{MaxLen: 4096}),
		report.WorkspaceDriftMarkdown(&r.Workspaces[6]),
	} {
		rest := outsideCode(t, md)
		for _, bad := range []string{"<", "@", "](", "forged", "|b"} {
			if strings.Contains(rest, bad) {
				t.Errorf("%q outside code:\n%s", bad, rest)
			}
		}
	}
}

func TestDriftMarkdownShowsNoSensitiveValue(t *testing.T) {
	r := sampleDrift()
	// A sensitive attribute whose values were not masked (a bug upstream)
	// is still not shown.
	r.Workspaces[2].Resources[0].Attributes[3].Before = "hunter2"
	r.Workspaces[2].Resources[0].Attributes[3].After = "hunter3"
	for name, out := range map[string]string{
		"markdown":  report.DriftMarkdown(r, report.DriftOptions{}),
		"workspace": report.WorkspaceDriftMarkdown(&r.Workspaces[2]),
		"html":      report.DriftHTML(r),
	} {
		if strings.Contains(out, "hunter") {
			t.Errorf("%s shows a sensitive value", name)
		}
		if !strings.Contains(out, landform.SensitiveValue) {
			t.Errorf("%s does not say the value is sensitive", name)
		}
	}
}

func TestDriftJSON(t *testing.T) {
	js, err := report.DriftJSON(sampleDrift())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Repo, Commit, Summary string
		CheckedAt             time.Time `json:"checked_at"`
		Workspaces            []struct {
			Name, Dir, Status, Error string
			Drifted                  bool
			Resources                []struct{ Address, Action, Kind string }
			DriftedSince             *time.Time `json:"drifted_since"`
		}
	}
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	if got.Repo != "org/infra" || got.Commit != driftCommit || !got.CheckedAt.Equal(checkedAt) ||
		got.Summary != "1 of 6 workspaces drifted: 2 resources changed, 1 deleted, 2 workspaces with unapplied code, 1 failed to check" {
		t.Errorf("report: %+v", got)
	}
	if len(got.Workspaces) != 6 {
		t.Fatalf("%d workspaces", len(got.Workspaces))
	}
	dev, prod := got.Workspaces[0], got.Workspaces[2]
	if dev.Name != "envs/dev" || dev.Status != "clean" || dev.Drifted || dev.Resources == nil || len(dev.Resources) != 0 {
		t.Errorf("clean workspace: %+v (resources must be [], not null)", dev)
	}
	if prod.Name != "envs/prod" || prod.Status != "drifted" || !prod.Drifted || len(prod.Resources) != 4 ||
		prod.Resources[2] != (struct{ Address, Action, Kind string }{"aws_s3_bucket.logs", "delete", "deleted"}) || prod.DriftedSince == nil {
		t.Errorf("drifted workspace: %+v", prod)
	}
	if got.Workspaces[3].Status != "error" || !strings.HasPrefix(got.Workspaces[3].Error, "Error: No valid credential") {
		t.Errorf("failed workspace: %+v", got.Workspaces[3])
	}
	if !strings.Contains(string(js), `"resources": []`) || !strings.Contains(string(js), "\n  \"workspaces\": [\n") {
		t.Errorf("not indented, or a clean workspace's resources are not []:\n%s", js)
	}
}

func TestDriftJSONRefusesWhatJSONCannotHold(t *testing.T) {
	r := sampleDrift()
	r.Workspaces[2].Resources[0].Attributes[0].After = make(chan int)
	if _, err := report.DriftJSON(r); err == nil || !strings.Contains(err.Error(), "org/infra") {
		t.Errorf("err = %v, want an error naming the repository", err)
	}
	// The ledger records it anyway, as text.
	for _, f := range report.DriftLedgerFiles(r) {
		if f.Path == "drift/2026-03-01/envs/prod.json" && !json.Valid(f.Data) {
			t.Errorf("invalid JSON in the ledger:\n%s", f.Data)
		}
	}
}

// htmlText parses an HTML fragment as XML (the drift HTML is well-formed)
// and returns its text and the names of its elements.
func htmlText(t *testing.T, fragment string) (text string, elements []string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(fragment))
	d.Strict = true
	var b strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, fragment)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			elements = append(elements, tok.Name.Local)
			for _, a := range tok.Attr {
				if a.Name.Local != "class" {
					t.Errorf("attribute %s=%q", a.Name.Local, a.Value)
				}
			}
		case xml.CharData:
			b.Write(tok)
		}
	}
	return b.String(), elements
}

func TestDriftHTMLEscapes(t *testing.T) {
	html := report.DriftHTML(hostileDrift())
	text, elements := htmlText(t, html)
	allowed := []string{"section", "h2", "h3", "p", "strong", "code", "dl", "dt", "dd", "pre", "table", "caption",
		"thead", "tbody", "tr", "th", "td", "em", "details", "summary", "ul", "li"}
	for _, e := range elements {
		if !slices.Contains(allowed, e) {
			t.Errorf("element <%s> in the HTML", e)
		}
	}
	// The repository's text is there, as text.
	for _, want := range []string{report.Field(hostileName), "<script>dir</script>", "[click](https://evil.example) </td></tr></table><script>x</script>",
		"<img src=x onerror=alert(1)>", "org/<script>repo</script>`@team", "<script>alert(1)</script>"} {
		if !strings.Contains(text, want) {
			t.Errorf("the text lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "<img") {
		t.Errorf("a tag of the repository is in the HTML")
	}
}

func TestDriftLedgerFiles(t *testing.T) {
	r := sampleDrift()
	for _, name := range []string{"_", "summary", "Summary", "a.md/x", "a", "a/b.JSON/c", "x\ny", "../etc", ".@blue", "envs/prod"} {
		w := driftWorkspace(name)
		w.Drifted, w.Resources = true, []landform.DriftedResource{{Address: "a.b", Kind: landform.DriftDeleted, Action: "delete"}}
		r.Workspaces = append(r.Workspaces, w) // envs/prod twice: recorded once
	}
	files := report.DriftLedgerFiles(r)
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
		if err := landform.CheckTreePath(f.Path); err != nil {
			t.Error(err)
		}
	}
	want := []string{
		"envs/dev", "envs/stage", "envs/prod", "envs/broken", "_", "envs/prod@blue",
		"-ambiguous/" + hash("_"), "-ambiguous/" + hash("summary"), "-ambiguous/" + hash("Summary"), "-ambiguous/" + hash("a.md/x"),
		"a", "-ambiguous/" + hash("a/b.JSON/c"), "-invalid/" + hash("x\ny"), "-invalid/" + hash("../etc"), ".@blue",
	}
	var wantPaths []string
	for _, w := range want {
		wantPaths = append(wantPaths, "drift/2026-03-01/"+w+".md", "drift/2026-03-01/"+w+".json")
	}
	wantPaths = append(wantPaths, "drift/2026-03-01/summary.md")
	if !slices.Equal(paths, wantPaths) {
		t.Errorf("paths:\n%s\nwant\n%s", strings.Join(paths, "\n"), strings.Join(wantPaths, "\n"))
	}
	// No file is another's directory, nor written twice.
	for i, p := range paths {
		for j, q := range paths {
			if i != j && (p == q || strings.HasPrefix(q, p+"/")) {
				t.Errorf("%s and %s collide", p, q)
			}
		}
	}
	var rec struct{ Name, Status, Repo string }
	if err := json.Unmarshal(files[5].Data, &rec); err != nil || rec != (struct{ Name, Status, Repo string }{"envs/prod", "drifted", "org/infra"}) {
		t.Errorf("%s: %+v, %v", files[5].Path, rec, err)
	}
	if md := string(files[4].Data); !strings.HasPrefix(md, "# Drift of `envs/prod` — drifted\n") {
		t.Errorf("%s:\n%s", files[4].Path, md)
	}
	if s := string(files[len(files)-1].Data); s != report.DriftMarkdown(r, report.DriftOptions{}) {
		t.Errorf("summary.md is not the report:\n%s", s)
	}
}

func hash(name string) string {
	// The first 16 hex digits of sha256(name), as DriftLedgerPath files it.
	p := report.DriftLedgerPath(name)
	return p[strings.LastIndexByte(p, '/')+1:]
}

func TestDriftLedgerPathHashesWhatItCannotFile(t *testing.T) {
	if got := report.DriftLedgerPath("x\ny"); got != "-invalid/9ab9de25768ac172" {
		t.Errorf("DriftLedgerPath(x\\ny) = %q", got)
	}
	if a, b := report.DriftLedgerPath("../a"), report.DriftLedgerPath("../b"); a == b {
		t.Errorf("two invalid names share %s", a)
	}
}

func TestDriftLedgerErrorIsCapped(t *testing.T) {
	r := sampleDrift()
	r.Workspaces[3].Error = strings.Repeat("e", 100_000)
	for _, f := range report.DriftLedgerFiles(r) {
		if strings.HasPrefix(f.Path, "drift/2026-03-01/envs/broken.") && len(f.Data) > 10_000 {
			t.Errorf("%s has %d bytes", f.Path, len(f.Data))
		}
	}
}

func TestDriftLedgerMessage(t *testing.T) {
	got := report.DriftLedgerMessage(sampleDrift())
	want := "Drift org/infra 2026-03-01: 1 of 6 workspaces drifted: 2 resources changed, 1 deleted, 2 workspaces with unapplied code, 1 failed to check"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	r := hostileDrift()
	r.Repo = "a\nb"
	if got := report.DriftLedgerMessage(r); strings.Contains(got, "\n") {
		t.Errorf("a message on more than one line: %q", got)
	}
}

func TestDriftIssue(t *testing.T) {
	r := manyDrift(2000)
	title, body := report.DriftIssue(r, report.DriftOptions{MaxLen: githubLimit})
	if title != "Drift report: org/big" {
		t.Errorf("title %q", title)
	}
	if !strings.HasPrefix(body, report.DriftIssueMarker+"\n### Drift report for `org/big`\n") {
		t.Errorf("body starts with %q", body[:100])
	}
	if n := utf8.RuneCountInString(body); n > githubLimit {
		t.Errorf("body of %d runes", n)
	}
	if _, body := report.DriftIssue(r, report.DriftOptions{MaxLen: 1000}); utf8.RuneCountInString(body) > 4096 {
		t.Errorf("a limit below 4096 gives a body of %d runes", utf8.RuneCountInString(body))
	}
	title, body = report.DriftIssueClean(sampleDrift())
	if title != "Drift report: org/infra" || body != report.DriftIssueMarker+"\n### Drift report for `org/infra`\n\n"+
		"All 6 workspaces are clean again as of 2026-03-01T23:30Z at `89abcdef0123`.\n" {
		t.Errorf("clean issue: %q, %q", title, body)
	}
	r = hostileDrift()
	if title, _ := report.DriftIssue(r, report.DriftOptions{}); strings.Contains(title, "\n") {
		t.Errorf("title on more than one line: %q", title)
	}
}

func TestDriftSlackMessage(t *testing.T) {
	r := manyDrift(100)
	r.Workspaces = append(r.Workspaces, hostileDrift().Workspaces[6])
	js := report.DriftSlackMessage(r, "https://landform.example/drift?a=1&b=<2>|x")
	var msg struct {
		Text   string
		Blocks []struct {
			Type     string
			Text     *struct{ Type, Text string }
			Elements []struct{ Type, Text string }
		}
	}
	if err := json.Unmarshal(js, &msg); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, b := range msg.Blocks {
		if b.Text != nil {
			texts = append(texts, b.Text.Text)
			if n := utf8.RuneCountInString(b.Text.Text); n > 3000 {
				t.Errorf("a section of %d characters", n)
			}
		}
		for _, e := range b.Elements {
			texts = append(texts, e.Text)
		}
	}
	all := strings.Join(texts, "\n")
	if n := strings.Count(texts[1], "• "); n != 10 || !strings.HasPrefix(texts[1], "• ⚠️ `services/svc-003` drifted: 30 changed\n") {
		t.Errorf("%d workspaces listed, want 10:\n%s", n, all)
	}
	for _, want := range []string{
		"*Drift report for `org/big`*\n" + r.Summary(),
		"… and 46 more workspaces with drift, errors or unapplied code; 45 clean",
		"<https://landform.example/drift?a=1&amp;b=%3C2%3E%7Cx|View the drift report>",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in\n%s", want, all)
		}
	}
	// Only the link has a "<"; a hostile name is escaped.
	if strings.Count(all, "<") != 1 || strings.Contains(all, "<script") || strings.Contains(msg.Text, "<") {
		t.Errorf("an unescaped < in\n%s", all)
	}
}

func FuzzDriftMarkdown(f *testing.F) {
	f.Add("envs/prod", "aws_x.y", "tags.a", "v", "", 4096, uint8(3))
	f.Add(hostileName, "x[\"</details>\"]", "a|`b`", "```\n@here", "Error: ```\n</details>", 5000, uint8(40))
	f.Add("b", strings.Repeat("`", 40), "p", strings.Repeat("é", 3000), "\x00\xff", 4096, uint8(200))
	f.Fuzz(func(t *testing.T, ws, addr, path, value, errText string, maxLen int, repeat uint8) {
		maxLen = 4096 + (maxLen&0xffff)%30000
		r := sampleDrift()
		for i := range int(repeat) {
			w := driftWorkspace(fmt.Sprintf("%s-%d", ws, i), changed(addr, landform.AttributeChange{Path: path, Before: value, After: []any{value, ws}}))
			if i%3 == 0 {
				w.Error = errText
			}
			w.Dir = errText
			r.Workspaces = append(r.Workspaces, w)
		}
		r.Repo = ws
		md := report.DriftMarkdown(r, report.DriftOptions{MaxLen: maxLen, RemediationCommand: func(w *landform.WorkspaceDrift) string { return errText }})
		if n := utf8.RuneCountInString(md); n > maxLen {
			t.Fatalf("%d runes, more than %d", n, maxLen)
		}
		if _, problem := parseBlocks(md); problem != "" {
			t.Fatal(problem)
		}
		rest := outsideCode(t, md)
		if strings.Contains(rest, "<") || strings.Contains(rest, "@") {
			t.Fatalf("untrusted text outside code:\n%s", rest)
		}
	})
}
