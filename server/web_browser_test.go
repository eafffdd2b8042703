package server_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
)

// Live updates in a real browser: live.js listens to /events and
// refreshes the page's <main> in place (no reload) when the daemon
// reports a change of what the page shows; the strict CSP lets it run;
// the console stays clean. (test/web_test.go drives the whole daemon.)

const browserPath = "/usr/bin/chromium"

func TestDashboardLiveUpdatesInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("headless Chromium: not in -short")
	}
	if _, err := os.Stat(browserPath); err != nil {
		t.Fatalf("this test needs headless Chromium at %s: run scripts/setup --with chromium (%v)", browserPath, err)
	}
	s := newDashScene(t, "")
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(browserPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true))
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", browserPath, err)
	}
	var mu sync.Mutex
	var console []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				console = append(console, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				mu.Unlock()
			}
		}
	}()
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, time.Minute)
		defer scancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		defer scancel()
		v, err := chromedp.Run(sctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("browser: %s: %v", js, err)
		}
		return v
	}
	// waitJS waits until js (a string expression) is want: the page
	// checks again on each change of its DOM (the refresh is in place).
	waitJS := func(what, js, want string) {
		t.Helper()
		pctx, pcancel := context.WithTimeout(ctx, 40*time.Second)
		defer pcancel()
		pred := fmt.Sprintf("(() => { try { return (%s) === %s; } catch (e) { return false; } })()", js, strconv.Quote(want))
		if _, err := chromedp.Run(pctx, chromedp.Poll[bool](pred, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("browser: %s: %q, want %q (%v)", what, eval(js), want, err)
		}
	}

	step("sign in", chromedp.Navigate(s.srv.URL+"/runs/43"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), "tok-alice"), chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("apply")))
	// The page is subscribed once the server has a subscriber; a marker
	// on window tells a refresh in place from a reload.
	waitJS("the page's event stream", `document.body.dataset.liveState || ""`, "open")
	eval(`window.landformMarker = "kept"; ""`)

	// Another run's change: the page stays as it is.
	s.live.Publish(runner.Event{Kind: runner.EventRunFinished, Repo: "infra",
		Run: &landform.Run{ID: "44", Repo: "infra", Workspace: "net", Kind: landform.RunPlan, State: landform.StateApplied}})
	// This run's: applied (in the fake first, as the daemon records it
	// before it reports it).
	s.runs.mu.Lock()
	s.runs.runs["43"].State = landform.StateApplied
	s.runs.runs["43"].Apply = &landform.ApplyResult{By: "alice", Channel: "web", Summary: "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."}
	run := *s.runs.runs["43"]
	s.runs.mu.Unlock()
	s.live.Publish(runner.Event{Kind: runner.EventApplyFinished, Repo: "infra", Run: &run})
	waitJS("the run's state", `document.querySelector(".run-state").textContent.trim()`, "applied")
	if got := eval(`String(window.landformMarker)`); got != "kept" {
		t.Errorf("the page reloaded (marker %q): live updates should refresh <main> in place", got)
	}
	if got := eval(`document.getElementById("live-status").textContent`); got != "Run 43 (infra/db) is now applied." {
		t.Errorf("the live status says %q", got)
	}
	if got := eval(`document.querySelector("main").textContent`); !strings.Contains(got, "Apply complete!") {
		t.Errorf("the refreshed page lacks the apply's summary:\n%s", got)
	}
	if eval(`document.getElementById("apply") ? "button" : ""`) != "" {
		t.Error("the Apply button is still there after the run was applied")
	}

	// Leaving the page closes its stream, with no console error.
	step("open the runs", chromedp.Navigate(s.srv.URL+"/runs?repo=infra"), chromedp.WaitVisible(chromedp.CSS("table.runs")))
	waitJS("the runs page's event stream", `document.body.dataset.liveState || ""`, "open")
	// The run page's stream ended when it was left: the runs page's is
	// the one left.
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	if err := s.live.WaitSubscribers(wctx, 1); err != nil {
		t.Errorf("the left page's event stream: %v", err)
	}
	wcancel()
	eval(`window.landformMarker = "kept"; ""`)
	s.runs.mu.Lock()
	s.runs.runs["45"].State = landform.StateSuperseded
	s.runs.mu.Unlock()
	s.live.Publish(runner.Event{Kind: runner.EventRunQueued, Repo: "infra",
		Run: &landform.Run{ID: "45", Repo: "infra", Workspace: "dns", Kind: landform.RunPlan, State: landform.StateSuperseded}})
	waitJS("the list's run 45", `document.querySelector('a[href="/runs/45"]').closest("tr").querySelector(".badge").textContent`, "superseded")
	if got := eval(`String(window.landformMarker)`); got != "kept" {
		t.Errorf("the runs list reloaded (marker %q)", got)
	}

	eval(`""`) // a round trip: what the page logged has arrived
	mu.Lock()
	defer mu.Unlock()
	for _, m := range console {
		t.Errorf("browser console: %s", m)
	}
}
