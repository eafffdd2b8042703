package test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/landform/landform/test/tftest"
)

// The dashboard in headless Chromium, against the real daemon: a push to
// main is planned; a browser without a session lands on the sign-in form;
// signed in with an approver's API token it opens the runs list, the run,
// clicks Approve and sees the run approved, clicks Apply and sees it
// applied, with no console error on the way. Screenshots are kept as test
// artifacts.

// chromiumPath is Debian's chromium (scripts/setup --with chromium).
const chromiumPath = "/usr/bin/chromium"

func TestDashboardInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("headless Chromium end to end: not in -short")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the dashboard's browser test needs headless Chromium at %s: run scripts/setup --with chromium (%v)", chromiumPath, err)
	}
	t.Parallel()
	srv := tftest.StartGitServer(t)
	srv.NewBare("infra")
	dataDir := t.TempDir()
	cfg := daemonConfig(t, dataDir, repoYAML("infra", srv.URL("infra")),
		"  sandbox_paths: {read_write: [{{cloud}}]}",
		"approvals: {approvers: [carol]}",
		"api: {tokens: [{identity: carol, token_env: CAROL_API_TOKEN}]}")
	cloud := cloudOf(t, cfg)
	work := newPushRepo(t, srv.URL("infra"), map[string]string{"README.md": "# infra\n"})
	d := startDaemon(t, cfg, dataDir, "CAROL_API_TOKEN="+approveAPIToken)
	d.waitLog(60*time.Second, "watching branch", "infra")
	head := work.change("refs/heads/main", map[string]string{"envs/web/main.tf": approveWorkspace(cloud, "web-bucket")})
	runs := d.waitRuns(3*time.Minute, "the plan of main", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.Commit == head && r.State == "planned" })) == 1
	})
	id := runsOf(runs, func(r daemonRun) bool { return r.Commit == head })[0].ID
	base := "http://" + d.listenAddr()

	// Without a session, the pages are closed (no anonymous access is
	// configured): the plain HTTP answer is a redirect to the sign-in form.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(base + "/runs/" + id)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=") {
		t.Fatalf("an anonymous GET /runs/%s: %s → %q, want 303 to /signin", id, resp.Status, resp.Header.Get("Location"))
	}

	b := newBrowser(t)
	// Anonymous: the dashboard sends the browser to the sign-in form.
	b.do("open the dashboard", chromedp.Navigate(base+"/runs"))
	if loc := b.location(); !strings.HasPrefix(loc, base+"/signin?next=") {
		t.Fatalf("anonymous visit of /runs landed on %s, want the sign-in form", loc)
	}
	// A wrong token is refused on the form.
	b.do("sign in with a wrong token",
		chromedp.SendKeys(chromedp.ID("token"), "not-a-token"),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS(".alert")))
	if text := b.text(chromedp.CSS(".alert")); !strings.Contains(text, "unknown or expired") {
		t.Errorf("a wrong token says %q", text)
	}
	// Chromium reports the form's 401 on the console: the one error
	// expected.
	b.takeConsole("status of 401")
	// The approver's token: signed in, back to the runs list.
	b.do("sign in",
		chromedp.SendKeys(chromedp.ID("token"), approveAPIToken),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS("table.runs")))
	if loc := b.location(); loc != base+"/runs" {
		t.Errorf("after signing in the browser is at %s, want %s/runs", loc, base)
	}
	if who := b.text(chromedp.CSS("header .who")); !strings.Contains(who, "carol") || !strings.Contains(who, "approver") {
		t.Errorf("the header says %q, want carol, approver", who)
	}
	// The runs list links the run; its page offers Approve.
	runLink := chromedp.CSS(fmt.Sprintf(`table.runs a[href="/runs/%s"]`, id))
	b.do("open the run", chromedp.WaitVisible(runLink), chromedp.Click(runLink), chromedp.WaitVisible(chromedp.ID("approve")))
	if state := b.text(chromedp.CSS(".run-state")); state != "planned" {
		t.Errorf("the run's page says %q, want planned", state)
	}
	if plan := b.text(chromedp.CSS("pre.plan")); !strings.Contains(plan, `+ resource "testcloud_bucket" "web-bucket"`) {
		t.Errorf("the plan says %q", plan)
	}
	b.do("approve", chromedp.Click(chromedp.ID("approve")))
	b.waitState("approved")
	if flash := b.text(chromedp.CSS(".flash")); !strings.Contains(flash, "approval is recorded") {
		t.Errorf("after approving the page says %q", flash)
	}
	if approvals := b.text(chromedp.CSS("table.approvals")); !strings.Contains(approvals, "carol") || !strings.Contains(approvals, "web") {
		t.Errorf("the approvals table says %q, want carol through web", approvals)
	}
	b.screenshot("dashboard-run-approved.png")

	// Apply: the page shows the outcome when the daemon has it.
	b.do("apply", chromedp.WaitVisible(chromedp.ID("apply")), chromedp.Click(chromedp.ID("apply")))
	b.waitState("applied")
	if !bucketExists(t, cloud, "web-bucket") {
		t.Error("the page says applied, but the test cloud has no web-bucket")
	}
	b.screenshot("dashboard-run-applied.png")

	// The other pages, for the artifacts: the overview, the repository's
	// workspaces, the runs list.
	b.do("open the overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("table.repos")))
	b.screenshot("dashboard-overview.png")
	b.do("open the repository", chromedp.Click(chromedp.CSS(`table.repos a[href="/repos/infra"]`)), chromedp.WaitVisible(chromedp.CSS("table.workspaces")))
	if ws := b.text(chromedp.CSS("table.workspaces")); !strings.Contains(ws, "envs/web") || !strings.Contains(ws, "applied") {
		t.Errorf("the repository's workspaces say %q", ws)
	}
	b.screenshot("dashboard-repo.png")
	b.do("open the runs", chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(chromedp.CSS("table.runs")))
	b.screenshot("dashboard-runs.png")

	// Signing out closes the pages again.
	b.do("sign out", chromedp.Click(chromedp.CSS(`form[action="/signout"] button`)), chromedp.WaitVisible(chromedp.ID("token")))
	b.do("open the runs signed out", chromedp.Navigate(base+"/runs"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := b.location(); !strings.HasPrefix(loc, base+"/signin?next=") {
		t.Errorf("signed out, /runs landed on %s", loc)
	}
	b.noConsoleErrors()
}

// browser is a headless Chromium tab, with what its console said.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	messages []string // the console's errors and exceptions
}

// stepTimeout bounds one step of the browser.
const stepTimeout = 2 * time.Minute

// newBrowser starts headless Chromium with a fresh profile until the test
// ends, and records the errors its console reports.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	// Flags that work as root on a machine without a network: no
	// sandbox, no GPU, and none of Chromium's own connections.
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true))
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	b := &browser{t: t, ctx: ctx}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.messages = append(b.messages, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs steps, failing the test on an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %s: %v (at %s)", what, err, b.location())
	}
}

func run[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return loc
}

func (b *browser) text(sel chromedp.CSS) string {
	b.t.Helper()
	return strings.TrimSpace(run(b, "the text of "+string(sel), chromedp.Text(sel, chromedp.NodeVisible)))
}

// waitState waits until the run's page shows state: the page changes by
// itself (a form's answer, the live updates, or the refresh of a run that
// is applying). The page checks on each change of its DOM; a navigation
// ends that check, and the next one runs on the new page.
func (b *browser) waitState(state string) {
	b.t.Helper()
	js := `(() => { const s = document.querySelector(".run-state"); return s ? s.textContent.trim() : ""; })()`
	pred := js + " === " + strconv.Quote(state)
	deadline := time.Now().Add(stepTimeout)
	for {
		left := time.Until(deadline)
		ctx, cancel := context.WithTimeout(b.ctx, left)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](pred, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(left)))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			got, gerr := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
			b.t.Fatalf("browser: the run never showed %s (it shows %q at %s; %v, %v)", state, got, b.location(), err, gerr)
		}
	}
}

// screenshot saves the whole page as a PNG in the artifacts directory:
// $LANDFORM_TEST_ARTIFACTS, else test/artifacts.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png := run(b, "a screenshot", chromedp.FullScreenshot(100))
	dir := os.Getenv("LANDFORM_TEST_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	b.t.Logf("screenshot: %s (%d bytes)", abs, len(png))
}

// takeConsole waits until the console reported an error containing want,
// and forgets it.
func (b *browser) takeConsole(want string) {
	b.t.Helper()
	waitFor(b.t, 30*time.Second, "a console error with "+want, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, m := range b.messages {
			if strings.Contains(m, want) {
				b.messages = slices.Delete(b.messages, i, i+1)
				return true
			}
		}
		return false
	})
}

// noConsoleErrors fails the test if the console reported an error or an
// exception so far. A round trip to the page first lets what it logged
// arrive.
func (b *browser) noConsoleErrors() {
	b.t.Helper()
	run(b, "a round trip", chromedp.Evaluate[int](`1`))
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.messages {
		b.t.Errorf("browser console: %s", m)
	}
}
