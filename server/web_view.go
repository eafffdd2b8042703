package server

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/report"
	"github.com/landform/landform/runner"
)

// What the dashboard's templates show. Everything from repositories (names,
// plan text, errors, messages) reaches them as text, escaped by
// html/template; the only HTML handed in is report.DriftHTML's, which
// escapes its own values.

// pageData is what every page template gets.
type pageData struct {
	Title string
	Now   time.Time
	// Live says whether the page subscribes to GET /events.
	Live bool
	Who  viewer
	// CSRF is the session's token, for every form.
	CSRF string
	// Flash is the message of the action that led here.
	Flash string
	// Here is the page's path and query (the sign-in link's next).
	Here string
	// Nav is the navigation entry of the page.
	Nav string
	// Watch says which events refresh the page.
	Watch watch
	Page  any
}

// watch is what live.js reads from <main>: the event types that refresh
// the page, and the run or repository they must be about.
type watch struct {
	Events string // space-separated: run, repo, drift
	Run    string
	Repo   string
	// Pending says the page shows something about to change (a run
	// queued, running or applying): without live updates the script
	// reloads it now and then.
	Pending bool
}

// viewer is who is looking, for the header and the buttons.
type viewer struct {
	Identity string
	Role     landform.Role
	// SignedIn: a browser session (which forms need); Anonymous: the
	// configured anonymous viewer.
	SignedIn, Anonymous bool
}

func viewerOf(p who) viewer {
	return viewer{Identity: p.Identity, Role: p.Role, SignedIn: p.session != nil, Anonymous: p.Via == "anonymous"}
}

// Can reports whether the viewer may post forms needing role need.
func (v viewer) Can(need landform.Role) bool { return v.SignedIn && v.Role.Allows(need) }

type errorView struct {
	Status  int
	Message string
	Links   []link
}

type signinView struct {
	CSRF, Next, Error string
}

type overviewView struct {
	Repos      []runner.RepoView
	Workspaces int
	Failing    int
	// Waiting are plans waiting for an approval or an apply; Active
	// runs queued, running or applying; Recent the newest runs.
	Waiting, Active, Recent []*landform.Run
	WaitingMore, ActiveMore bool
}

type repoView struct {
	Repo       runner.RepoView
	Workspaces []runner.WorkspaceView
	// Error is the refusal of an unlock.
	Error string
}

type driftView struct {
	Repo   string
	Report *landform.DriftReport
	HTML   template.HTML
}

type runsView struct {
	Filter    landform.RunFilter
	State     string
	Repos     []string
	States    []landform.RunState
	Kinds     []landform.RunKind
	Runs      []*landform.Run
	OlderURL  string
	NewestURL string
}

type runView struct {
	Run *landform.Run
	// Plan is the plan text, line by line; PlanCut says it was cut (the
	// API serves it whole); PlanNote says why there is none.
	Plan     []planLine
	PlanCut  bool
	PlanNote string
	Ledger   ledgerView
	// Drift is the drift a drift run found, as the drift report renders it.
	Drift template.HTML
	// CanApprove and CanApply show the buttons; Hint says what would.
	CanApprove, CanApply bool
	Hint                 string
	// Error is the refusal of an action, shown above the page.
	Error string
}

// ledgerView is where a run's ledger record is.
type ledgerView struct {
	Off                       bool
	Branch, Path, URL, GitCmd string
}

// allStates are the run states, in lifecycle order, for the filter.
var allStates = []landform.RunState{landform.StateQueued, landform.StateRunning, landform.StatePlanned, landform.StateNoChanges,
	landform.StateErrored, landform.StatePolicyFailed, landform.StateAwaitingApproval, landform.StateApproved, landform.StateApplying,
	landform.StateApplied, landform.StateApplyFailed, landform.StateSuperseded, landform.StateStale, landform.StateInterrupted}

// planLine is one line of a plan's text with the class that colours it.
type planLine struct {
	Class, Text string
}

// Plan text bounds: what is past them is left out, saying so.
const (
	maxPlanLines = 20000
	maxPlanBytes = 4 << 20
)

// planLines splits a plan's text into classed lines; cut says lines were
// left out.
func planLines(text string) (lines []planLine, cut bool) {
	if len(text) > maxPlanBytes {
		text, cut = text[:maxPlanBytes], true
	}
	text = strings.Trim(text, "\n")
	for i, l := range strings.Split(text, "\n") {
		if i == maxPlanLines {
			return lines, true
		}
		lines = append(lines, planLine{Class: planLineClass(l), Text: l})
	}
	return lines, cut
}

// planLineClass classes a line of terraform's plan text by what it does
// to a resource: ln-del (destroy), ln-replace, ln-add, ln-change, ln-read,
// ln-summary, ln-error, ln-warn; "" for the others.
func planLineClass(line string) string {
	t := strings.TrimLeft(line, " \t")
	switch {
	case strings.HasPrefix(t, "-/+") || strings.HasPrefix(t, "+/-"):
		return "ln-replace"
	case strings.HasPrefix(t, "# "):
		switch {
		case strings.Contains(t, " will be destroyed"):
			return "ln-del"
		case strings.Contains(t, " must be replaced") || strings.Contains(t, " will be replaced"):
			return "ln-replace"
		case strings.Contains(t, " will be created"):
			return "ln-add"
		case strings.Contains(t, " will be updated in-place"):
			return "ln-change"
		case strings.Contains(t, " will be read during apply"):
			return "ln-read"
		}
		return "ln-comment"
	case t == "-" || strings.HasPrefix(t, "- "):
		return "ln-del"
	case t == "+" || strings.HasPrefix(t, "+ "):
		return "ln-add"
	case strings.HasPrefix(t, "~ "):
		return "ln-change"
	case strings.HasPrefix(t, "<= "):
		return "ln-read"
	case strings.HasPrefix(t, "Plan:") || strings.HasPrefix(t, "No changes."):
		return "ln-summary"
	case strings.HasPrefix(t, "Error:") || strings.HasPrefix(t, "│ Error:"):
		return "ln-error"
	case strings.HasPrefix(t, "Warning:") || strings.HasPrefix(t, "│ Warning:"):
		return "ln-warn"
	}
	return ""
}

// Ledger is where a repository's ledger is, for the run pages: its
// branch, and where the repository is on its forge's web site, for links.
type Ledger struct {
	// Off: the repository keeps no ledger.
	Off bool
	// Branch is the ledger branch ("" for landform/ledger).
	Branch string
	// Forge, ForgeURL and Project are the repository's forge (as the
	// config says: the kind, its URL, "" for the public service's, and
	// "owner/name"); without a kind and a project the page shows a git
	// command instead of a link.
	Forge    landform.ForgeKind
	ForgeURL string
	Project  string
}

// FileURL returns the forge's web page of a file on the ledger branch,
// "" when it is not known.
func (l Ledger) FileURL(path string) string {
	if l.Project == "" {
		return ""
	}
	base := strings.TrimRight(l.ForgeURL, "/")
	var mid string
	switch l.Forge {
	case landform.ForgeGitHub:
		// The config's URL of GitHub Enterprise is its API's.
		base = strings.TrimSuffix(base, "/api/v3")
		if base == "" {
			base = "https://github.com"
		}
		mid = "/blob/"
	case landform.ForgeGitLab:
		if base == "" {
			base = "https://gitlab.com"
		}
		mid = "/-/blob/"
	case landform.ForgeGitea:
		if base == "" {
			return ""
		}
		mid = "/src/branch/"
	default:
		return ""
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return base + "/" + escapeSegments(l.Project) + mid + escapeSegments(l.branch()) + "/" + escapeSegments(path)
}

func (l Ledger) branch() string {
	if l.Branch == "" {
		return landform.DefaultLedgerBranch
	}
	return l.Branch
}

// escapeSegments escapes each /-separated segment of p.
func escapeSegments(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// ledgerOf is where run's ledger record is.
func (h *dashboard) ledgerOf(run *landform.Run) ledgerView {
	l := h.d.Ledgers[run.Repo]
	if l.Off {
		return ledgerView{Off: true}
	}
	path := report.LedgerPath(run) + ".md"
	branch := l.branch()
	return ledgerView{Branch: branch, Path: path, URL: l.FileURL(path),
		GitCmd: "git fetch origin " + branch + " && git log -p FETCH_HEAD -- " + path}
}

// stamp is a time as the pages show it: how long ago, with the full
// time as a tooltip.
type stamp struct {
	ISO, Full, Ago string
}

func stampOf(now, t time.Time) stamp {
	if t.IsZero() {
		return stamp{}
	}
	return stamp{ISO: t.UTC().Format(time.RFC3339), Full: t.UTC().Format("2006-01-02 15:04:05 UTC"), Ago: ago(now, t)}
}

// ago says how long before now t was ("in 5s" for a time to come).
func ago(now, t time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		return "in " + roughly(-d)
	}
	if d < time.Second {
		return "just now"
	}
	return roughly(d) + " ago"
}

// roughly renders d in its largest unit or two: 45s, 3 min, 2 h 5 min, 4 days.
func roughly(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

// duration renders how long something took: 850ms, 4.2s, 3m05s.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// between is how long from a to b, "" when either is unknown.
func between(a, b time.Time) string {
	if a.IsZero() || b.IsZero() {
		return ""
	}
	return duration(b.Sub(a))
}

// pending reports whether run is about to change by itself.
func pending(run *landform.Run) bool {
	switch run.State {
	case landform.StateQueued, landform.StateRunning, landform.StateApplying:
		return true
	}
	return false
}

// refName shortens a ref for a table: "main", "pr/7".
func refName(run *landform.Run) string {
	if run.PR.Number > 0 {
		return fmt.Sprintf("pr/%d", run.PR.Number)
	}
	ref := run.Ref
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		ref = strings.TrimPrefix(ref, p)
	}
	return ref
}

// words says a state in words: "awaiting approval".
func words(s landform.RunState) string { return strings.ReplaceAll(string(s), "_", " ") }

var templateFuncs = template.FuncMap{
	"static":     staticURL,
	"stamp":      stampOf,
	"short":      landform.ShortSHA,
	"between":    between,
	"refName":    refName,
	"words":      words,
	"oneLine":    landform.OneLine,
	"admin":      func() landform.Role { return landform.RoleAdmin },
	"runsOf":     func(now time.Time, runs []*landform.Run) runsTable { return runsTable{Now: now, Runs: runs} },
	"statusText": http.StatusText,
}

// runsTable is what the runsTable template shows.
type runsTable struct {
	Now  time.Time
	Runs []*landform.Run
}
