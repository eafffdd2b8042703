package server_test

import (
	"bufio"
	"bytes"
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/server"
)

// The dashboard, in a browser's place: a cookie jar, redirects not
// followed (the tests read them), the fake runs behind.

// dashLogs is a log buffer safe for the server's goroutines (the
// dashboard's and Slack's tests read it).
type dashLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *dashLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *dashLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// dashScene is a dashboard over fakeRuns.
type dashScene struct {
	t        *testing.T
	srv      *httptest.Server
	runs     *fakeRuns
	sessions *memSessions
	logs     *dashLogs
	live     *server.LiveUpdates
}

// dashNow is the dashboard's clock: an hour after the fake runs.
var dashNow = fakeTime.Add(time.Hour)

func newDashScene(t *testing.T, anonymous landform.Role) *dashScene {
	t.Helper()
	s := &dashScene{t: t, runs: newFakeRuns(), sessions: &memSessions{}, logs: &dashLogs{}, live: server.NewLiveUpdates()}
	h := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.NewTextHandler(s.logs, nil)),
		server.WithAuth(server.Auth{Token: fakeTokens, Sessions: s.sessions, Anonymous: anonymous, Now: func() time.Time { return dashNow }}),
		server.WithDashboard(server.Dashboard{Reader: s.runs, Actions: s.runs, Live: s.live, Now: func() time.Time { return dashNow },
			Ledgers: map[string]server.Ledger{"infra": {Forge: landform.ForgeGitea, ForgeURL: "https://git.example.com", Project: "ops/infra"}}}))
	s.srv = httptest.NewServer(h)
	t.Cleanup(s.srv.Close)
	t.Cleanup(s.live.Close) // before srv.Close (cleanups run last first): ends the streams
	return s
}

// dashBrowser is one browser: its cookies and the session's CSRF token.
type dashBrowser struct {
	s    *dashScene
	c    *http.Client
	csrf string
}

func (s *dashScene) browser() *dashBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &dashBrowser{s: s, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// dashPage is an answer: its status, headers and body.
type dashPage struct {
	status int
	header http.Header
	body   string
}

func (p dashPage) location() string { return p.header.Get("Location") }

func (b *dashBrowser) do(method, path string, form url.Values) dashPage {
	b.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.s.srv.URL+path, body)
	if err != nil {
		b.s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.s.t.Fatal(err)
	}
	return dashPage{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

func (b *dashBrowser) get(path string) dashPage { return b.do(http.MethodGet, path, nil) }

func (b *dashBrowser) post(path string, form url.Values) dashPage {
	if form == nil {
		form = url.Values{}
	}
	return b.do(http.MethodPost, path, form)
}

// postForm posts a page's form with the session's CSRF token.
func (b *dashBrowser) postForm(path string, fields ...string) dashPage {
	form := url.Values{"csrf": {b.csrf}}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	return b.post(path, form)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formCSRF returns the CSRF token of the first form of body.
func formCSRF(t testing.TB, body string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in the page:\n%s", body)
	}
	return html.UnescapeString(m[1])
}

// signIn signs b in with token through the form, and keeps the session's
// CSRF token.
func (b *dashBrowser) signIn(token string) {
	b.s.t.Helper()
	form := b.get("/signin?next=/runs")
	p := b.post("/signin", url.Values{"csrf": {formCSRF(b.s.t, form.body)}, "token": {token}, "next": {"/runs"}})
	if p.status != http.StatusSeeOther || p.location() != "/runs" {
		b.s.t.Fatalf("sign-in with %s: %d → %q\n%s", token, p.status, p.location(), p.body)
	}
	b.csrf = formCSRF(b.s.t, b.get("/").body)
}

func wantStatus(t testing.TB, what string, p dashPage, status int) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, p.status, status, p.body)
	}
}

func wantIn(t testing.TB, what, body string, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(body, s) {
			t.Errorf("%s lacks %q:\n%s", what, s, body)
		}
	}
}

func wantNotIn(t testing.TB, what, body string, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if strings.Contains(body, s) {
			t.Errorf("%s has %q:\n%s", what, s, body)
		}
	}
}

func TestDashboardAnonymousRefusedByDefault(t *testing.T) {
	s := newDashScene(t, "")
	b := s.browser()
	for path, next := range map[string]string{
		"/":                      "/",
		"/runs?state=errored":    "/runs?state=errored",
		"/runs/42":               "/runs/42",
		"/repos/infra":           "/repos/infra",
		"/repos/infra/drift":     "/repos/infra/drift",
		"/runs/42?done=approve#": "/runs/42?done=approve",
	} {
		p := b.get(path)
		wantStatus(t, path, p, http.StatusSeeOther)
		if want := "/signin?next=" + url.QueryEscape(next); p.location() != want {
			t.Errorf("%s redirects to %q, want %q", path, p.location(), want)
		}
		wantNotIn(t, path, p.body, "infra/app", "testcloud")
	}
	// The sign-in form, the stylesheet and the script are open; the
	// events are not; no action is.
	wantStatus(t, "/signin", b.get("/signin"), http.StatusOK)
	wantStatus(t, "/static/style.css", b.get("/static/style.css"), http.StatusOK)
	wantStatus(t, "/events", b.get("/events"), http.StatusUnauthorized)
	p := b.post("/runs/42/approve", url.Values{"csrf": {"x"}})
	wantStatus(t, "anonymous approve", p, http.StatusForbidden)
	wantIn(t, "anonymous approve", p.body, "Sign in to do this")
	if got := s.runs.took(); len(got) > 0 {
		t.Errorf("anonymous actions reached the daemon: %q", got)
	}
}

func TestDashboardAnonymousViewer(t *testing.T) {
	s := newDashScene(t, landform.RoleViewer)
	b := s.browser()
	for _, path := range []string{"/", "/runs", "/runs/42", "/repos/infra", "/repos/infra/drift"} {
		p := b.get(path)
		wantStatus(t, path, p, http.StatusOK)
		wantIn(t, path, p.body, "anonymous", `href="/signin?next=`)
		wantNotIn(t, path, p.body, `action="/runs/42/approve"`, "Sign out")
	}
	wantIn(t, "run 42", b.get("/runs/42").body, "Sign in as an approver to approve this run.")
	// Acting needs someone: refused with or without a token of some kind.
	for _, form := range []url.Values{{}, {"csrf": {"forged"}}} {
		p := b.post("/runs/42/approve", form)
		wantStatus(t, "anonymous approve", p, http.StatusForbidden)
	}
	wantStatus(t, "anonymous unlock", b.post("/repos/infra/unlock", url.Values{"workspace": {"app"}}), http.StatusForbidden)
	if got := s.runs.took(); len(got) > 0 {
		t.Errorf("anonymous actions reached the daemon: %q", got)
	}
}

func TestDashboardSignIn(t *testing.T) {
	s := newDashScene(t, "")
	b := s.browser()
	form := b.get("/signin?next=/runs/42")
	wantStatus(t, "sign-in form", form, http.StatusOK)
	wantIn(t, "sign-in form", form.body, `name="token"`, `name="next" value="/runs/42"`)
	csrf := formCSRF(t, form.body)

	// Without the form's CSRF token: 403, no session.
	p := b.post("/signin", url.Values{"token": {"tok-alice"}, "next": {"/runs/42"}})
	wantStatus(t, "sign-in without CSRF", p, http.StatusForbidden)
	p = b.post("/signin", url.Values{"token": {"tok-alice"}, "csrf": {csrf + "x"}})
	wantStatus(t, "sign-in with a wrong CSRF", p, http.StatusForbidden)
	// A wrong token: 401, the form again.
	p = b.post("/signin", url.Values{"token": {"tok-nobody"}, "csrf": {csrf}, "next": {"/runs/42"}})
	wantStatus(t, "sign-in with a wrong token", p, http.StatusUnauthorized)
	wantIn(t, "sign-in with a wrong token", p.body, "unknown or expired", `name="token"`)
	if p.header.Get("Set-Cookie") != "" && strings.Contains(p.header.Get("Set-Cookie"), "landform_session") {
		t.Errorf("a refused sign-in set a session cookie: %s", p.header.Get("Set-Cookie"))
	}
	// A token that cannot be checked: 500, the cause only in the log.
	p = b.post("/signin", url.Values{"token": {"tok-broken"}, "csrf": {csrf}})
	wantStatus(t, "sign-in with a broken token", p, http.StatusInternalServerError)
	wantNotIn(t, "sign-in with a broken token", p.body, "permission denied")
	wantIn(t, "log", s.logs.String(), "permission denied")

	// The right token: a session cookie (HttpOnly, SameSite, Path=/) and
	// a redirect to next.
	p = b.post("/signin", url.Values{"token": {"tok-alice"}, "csrf": {csrf}, "next": {"/runs/42"}})
	wantStatus(t, "sign-in", p, http.StatusSeeOther)
	if p.location() != "/runs/42" {
		t.Errorf("sign-in goes to %q", p.location())
	}
	var session *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "landform_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("no session cookie: %q", p.header.Values("Set-Cookie"))
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.MaxAge <= 0 {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/", session)
	}
	page := b.get("/runs/42")
	wantStatus(t, "run 42 signed in", page, http.StatusOK)
	wantIn(t, "run 42 signed in", page.body, "alice", "approver", "Sign out")
	// Signed in already: the form goes on to next.
	if p := b.get("/signin?next=/repos/infra"); p.status != http.StatusSeeOther || p.location() != "/repos/infra" {
		t.Errorf("sign-in form when signed in: %d → %q", p.status, p.location())
	}
}

func TestDashboardSignInNextStaysLocal(t *testing.T) {
	s := newDashScene(t, "")
	for next, want := range map[string]string{
		"/runs?state=errored":       "/runs?state=errored",
		"//evil.example.com/x":      "/",
		"https://evil.example.com/": "/",
		"/\\evil.example.com":       "/",
		"runs":                      "/",
		"":                          "/",
		"/%0d%0aSet-Cookie:x":       "/%0d%0aSet-Cookie:x",
	} {
		b := s.browser()
		csrf := formCSRF(t, b.get("/signin").body)
		p := b.post("/signin", url.Values{"token": {"tok-vera"}, "csrf": {csrf}, "next": {next}})
		wantStatus(t, "sign-in next="+next, p, http.StatusSeeOther)
		if got := p.location(); !strings.EqualFold(got, want) {
			t.Errorf("next=%q: redirected to %q, want %q", next, got, want)
		}
	}
}

func TestDashboardApprove(t *testing.T) {
	s := newDashScene(t, "")
	alice := s.browser()
	alice.signIn("tok-alice")
	page := alice.get("/runs/42")
	wantIn(t, "run 42", page.body, `action="/runs/42/approve"`, `name="csrf" value="`+alice.csrf+`"`)

	// Without the CSRF token, or with another session's: 403, nothing done.
	wantStatus(t, "approve without CSRF", alice.post("/runs/42/approve", nil), http.StatusForbidden)
	other := s.browser()
	other.signIn("tok-ada")
	wantStatus(t, "approve with another session's CSRF", alice.post("/runs/42/approve", url.Values{"csrf": {other.csrf}}), http.StatusForbidden)
	if got := s.runs.took(); len(got) > 0 {
		t.Fatalf("a form without its CSRF token acted: %q", got)
	}
	// With it: approved through the web channel, back to the run page.
	p := alice.postForm("/runs/42/approve")
	wantStatus(t, "approve", p, http.StatusSeeOther)
	if p.location() != "/runs/42?done=approve" {
		t.Errorf("approve goes to %q", p.location())
	}
	if got := s.runs.took(); !slices.Equal(got, []string{"approve 42 alice web"}) {
		t.Errorf("actions %q, want approve 42 alice web", got)
	}
	page = alice.get(p.location())
	wantIn(t, "run 42 approved", page.body, "Your approval is recorded.", `badge state-approved">approved<`, `action="/runs/42/apply"`)
	wantNotIn(t, "run 42 approved", page.body, `action="/runs/42/approve"`)

	// Approving again: the daemon's ECONFLICT, on the page, with 409.
	p = alice.postForm("/runs/42/approve")
	wantStatus(t, "approve twice", p, http.StatusConflict)
	wantIn(t, "approve twice", p.body, "run 42 is approved, not awaiting approval", "Run 42")

	// The run's apply: started, back to its page.
	p = alice.postForm("/runs/42/apply")
	wantStatus(t, "apply", p, http.StatusSeeOther)
	if got := s.runs.took(); !slices.Equal(got, []string{"apply 42 alice web"}) {
		t.Errorf("actions %q, want apply 42 alice web", got)
	}
	// Unknown runs and internal errors.
	wantStatus(t, "approve 999", alice.postForm("/runs/999/approve"), http.StatusNotFound)
	p = alice.postForm("/runs/13/approve")
	wantStatus(t, "approve 13", p, http.StatusInternalServerError)
	wantNotIn(t, "approve 13", p.body, "database is locked")
	// An errored run: EINVALID, 400.
	wantStatus(t, "approve 45", alice.postForm("/runs/45/approve"), http.StatusBadRequest)
}

func TestDashboardApproveRefusedByTheRules(t *testing.T) {
	s := newDashScene(t, "")
	mallory := s.browser()
	mallory.signIn("tok-mallory")
	p := mallory.postForm("/runs/42/approve")
	wantStatus(t, "mallory approves", p, http.StatusForbidden)
	wantIn(t, "mallory approves", p.body, "mallory may not approve run 42", `badge state-awaiting_approval`)
	if got := s.runs.took(); len(got) > 0 {
		t.Errorf("actions %q", got)
	}
}

func TestDashboardRoles(t *testing.T) {
	s := newDashScene(t, "")
	vera := s.browser()
	vera.signIn("tok-vera")
	page := vera.get("/runs/42")
	wantStatus(t, "viewer run 42", page, http.StatusOK)
	wantNotIn(t, "viewer run 42", page.body, `action="/runs/42/approve"`)
	wantIn(t, "viewer run 42", page.body, "Your role, viewer, may not approve runs")
	p := vera.postForm("/runs/42/approve")
	wantStatus(t, "viewer approves", p, http.StatusForbidden)
	wantIn(t, "viewer approves", p.body, "needs approver")
	wantStatus(t, "viewer applies", vera.postForm("/runs/43/apply"), http.StatusForbidden)

	// Unlocking needs an admin.
	alice := s.browser()
	alice.signIn("tok-alice")
	wantNotIn(t, "approver's repo page", alice.get("/repos/infra").body, `action="/repos/infra/unlock"`)
	p = alice.postForm("/repos/infra/unlock", "workspace", "app")
	wantStatus(t, "approver unlocks", p, http.StatusForbidden)
	wantIn(t, "approver unlocks", p.body, "needs admin")
	if got := s.runs.took(); len(got) > 0 {
		t.Fatalf("refused actions reached the daemon: %q", got)
	}
	ada := s.browser()
	ada.signIn("tok-ada")
	page = ada.get("/repos/infra")
	wantIn(t, "admin's repo page", page.body, `action="/repos/infra/unlock"`, `name="workspace" value="app"`, "pr/7")
	wantStatus(t, "unlock without CSRF", ada.post("/repos/infra/unlock", url.Values{"workspace": {"app"}}), http.StatusForbidden)
	p = ada.postForm("/repos/infra/unlock", "workspace", "app")
	wantStatus(t, "admin unlocks", p, http.StatusSeeOther)
	if p.location() != "/repos/infra?done=unlock" {
		t.Errorf("unlock goes to %q", p.location())
	}
	if got := s.runs.took(); !slices.Equal(got, []string{"unlock infra app"}) {
		t.Errorf("actions %q", got)
	}
	// Not locked any more: ENOTFOUND on the repository's page.
	p = ada.postForm("/repos/infra/unlock", "workspace", "app")
	wantStatus(t, "unlock again", p, http.StatusNotFound)
	wantIn(t, "unlock again", p.body, "workspace app is not locked", "Workspaces")
}

func TestDashboardRunsPages(t *testing.T) {
	s := newDashScene(t, landform.RoleViewer)
	b := s.browser()
	ids := regexp.MustCompile(`<td><a href="/runs/(\d+)">`)
	list := func(p dashPage) []string {
		var out []string
		for _, m := range ids.FindAllStringSubmatch(p.body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	older := regexp.MustCompile(`<a href="([^"]+)" rel="next"`)
	path := "/runs?limit=2&state="
	var pages [][]string
	for path != "" {
		p := b.get(path)
		wantStatus(t, path, p, http.StatusOK)
		pages = append(pages, list(p))
		path = ""
		if m := older.FindStringSubmatch(p.body); m != nil {
			path = html.UnescapeString(m[1])
			if !strings.Contains(path, "limit=2") || strings.Contains(path, "state=") {
				t.Errorf("the older link %q does not keep the filter", path)
			}
			if len(pages) > 10 {
				t.Fatal("no end of pages")
			}
		}
	}
	if want := [][]string{{"46", "45"}, {"44", "43"}, {"42"}}; !slices.EqualFunc(pages, want, slices.Equal) {
		t.Errorf("pages %q, want %q", pages, want)
	}
	if p := b.get("/runs?limit=2&before=44"); !strings.Contains(p.body, `href="/runs?limit=2" rel="first"`) {
		t.Errorf("an older page has no link to the newest:\n%s", p.body)
	}

	for query, want := range map[string][]string{
		"state=errored":                 {"45"},
		"kind=drift":                    {"46"},
		"repo=infra&workspace=net":      {"46", "44"},
		"state=awaiting_approval&kind=": {"42"},
		"repo=infra&kind=plan&limit=3":  {"45", "44", "43"},
	} {
		p := b.get("/runs?" + query)
		wantStatus(t, query, p, http.StatusOK)
		if got := list(p); !slices.Equal(got, want) {
			t.Errorf("%s: runs %q, want %q", query, got, want)
		}
	}
	p := b.get("/runs?state=errored&repo=infra")
	wantIn(t, "filter form", p.body, `<option value="errored" selected>errored</option>`, `<option value="infra" selected>infra</option>`)
	p = b.get("/runs?state=exploded")
	wantStatus(t, "unknown state", p, http.StatusBadRequest)
	wantIn(t, "unknown state", p.body, "unknown run state")
	wantStatus(t, "broken repo", b.get("/runs?repo=broken"), http.StatusInternalServerError)
}

func TestDashboardRunPage(t *testing.T) {
	s := newDashScene(t, landform.RoleViewer)
	b := s.browser()
	p := b.get("/runs/42")
	wantStatus(t, "run 42", p, http.StatusOK)
	del := regexp.MustCompile(`<span class="ln ln-del">[^<]*will be destroyed</span>`)
	delRes := regexp.MustCompile(`<span class="ln ln-del">  - resource &#34;testcloud_bucket&#34; &#34;old&#34; {}</span>`)
	add := regexp.MustCompile(`<span class="ln ln-add">  &#43; resource`)
	for _, re := range []*regexp.Regexp{del, delRes, add} {
		if !re.MatchString(p.body) {
			t.Errorf("run 42's plan lacks %s:\n%s", re, p.body)
		}
	}
	wantIn(t, "run 42", p.body,
		`badge state-awaiting_approval">awaiting approval<`, "#7 by bob", "refs/pull/7/head", "aaaaaaaaaaaa",
		// The ledger: its path and branch, a link on the forge.
		"runs/app/42.md", "landform/ledger",
		`href="https://git.example.com/ops/infra/src/branch/landform/ledger/runs/app/42.md"`,
		`<time datetime="2026-11-29T10:42:00Z" title="2026-11-29 10:42:00 UTC">18 min ago</time>`)

	p = b.get("/runs/45")
	wantIn(t, "run 45", p.body, "Error: Invalid reference", `class="log error-log"`, "No plan is stored")
	p = b.get("/runs/46")
	wantIn(t, "drift run 46", p.body, "testcloud_bucket.logs", `class="landform-drift"`)

	wantStatus(t, "run 999", b.get("/runs/999"), http.StatusNotFound)
	wantStatus(t, "run 0042", b.get("/runs/0042"), http.StatusNotFound)
	p = b.get("/runs/13")
	wantStatus(t, "run 13", p, http.StatusInternalServerError)
	wantNotIn(t, "run 13", p.body, "database is locked")
	wantIn(t, "log", s.logs.String(), "database is locked")
}

func TestDashboardOverviewRepoDrift(t *testing.T) {
	s := newDashScene(t, landform.RoleViewer)
	b := s.browser()
	p := b.get("/")
	wantStatus(t, "overview", p, http.StatusOK)
	wantIn(t, "overview", p.body, `href="/repos/infra"`, "git://127.0.0.1/infra", "<strong>4</strong> workspaces",
		`href="/runs/42"`, `href="/runs/43"`, "Waiting for a person", "Recent runs")
	p = b.get("/repos/infra")
	wantStatus(t, "repo", p, http.StatusOK)
	wantIn(t, "repo", p.body, "<code>net</code>", `badge warn">drifted`, "since", "pr/7", "plan of pr/7 awaiting approval")
	wantStatus(t, "repo nowhere", b.get("/repos/nowhere"), http.StatusNotFound)
	p = b.get("/repos/infra/drift")
	wantStatus(t, "drift", p, http.StatusOK)
	wantIn(t, "drift", p.body, "Drift report for", "testcloud_bucket.logs", "1 of 1 workspaces drifted")
	wantStatus(t, "drift nowhere", b.get("/repos/nowhere/drift"), http.StatusNotFound)
}

func TestDashboardEscapesRepositoryText(t *testing.T) {
	s := newDashScene(t, landform.RoleViewer)
	hostile := `<script>alert("x")</script>`
	s.runs.mu.Lock()
	s.runs.runs["47"] = &landform.Run{ID: "47", Repo: "infra", Workspace: "w" + hostile, Dir: "d" + hostile, Kind: landform.RunPlan,
		State: landform.StateErrored, Ref: "refs/heads/" + hostile, Error: "Error: " + hostile, CreatedAt: fakeTime.Add(47 * time.Minute),
		Policy:     &landform.PolicyResult{Deny: []landform.PolicyMessage{{Set: "s", Package: "landform.x", Rule: "deny", Message: hostile}}},
		PlanSHA256: "1"}
	s.runs.plans["47"] = &landform.PlanArtifact{Text: "  - resource " + hostile + "\n", SHA256: "1"}
	s.runs.mu.Unlock()
	b := s.browser()
	for _, path := range []string{"/runs/47", "/runs", "/repos/infra", "/"} {
		p := b.get(path)
		wantStatus(t, path, p, http.StatusOK)
		wantNotIn(t, path, p.body, "<script>alert")
		wantIn(t, path, p.body, "&lt;script&gt;alert(")
		if n := strings.Count(p.body, "<script"); n != 1 {
			t.Errorf("%s has %d script elements, want the one of live.js", path, n)
		}
	}
}

func TestDashboardSignOut(t *testing.T) {
	s := newDashScene(t, "")
	b := s.browser()
	b.signIn("tok-alice")
	// Without the CSRF token: refused, still signed in.
	wantStatus(t, "sign out without CSRF", b.post("/signout", nil), http.StatusForbidden)
	wantStatus(t, "still signed in", b.get("/"), http.StatusOK)
	jar := b.c.Jar
	u, _ := url.Parse(s.srv.URL)
	stolen := jar.Cookies(u)
	p := b.postForm("/signout")
	wantStatus(t, "sign out", p, http.StatusSeeOther)
	if p.location() != "/signin" {
		t.Errorf("sign out goes to %q", p.location())
	}
	wantStatus(t, "after sign out", b.get("/"), http.StatusSeeOther)
	// The session is gone from the store: its old cookie opens nothing.
	s.sessions.mu.Lock()
	left := len(s.sessions.m)
	s.sessions.mu.Unlock()
	if left != 0 {
		t.Errorf("%d sessions left after signing out", left)
	}
	replay := s.browser()
	replay.c.Jar.SetCookies(u, stolen)
	wantStatus(t, "the old cookie", replay.get("/runs/42"), http.StatusSeeOther)
}

func TestDashboardSecurityHeaders(t *testing.T) {
	s := newDashScene(t, "")
	b := s.browser()
	anon := s.browser()
	b.signIn("tok-alice")
	pages := map[string]dashPage{
		"/":             b.get("/"),
		"/runs/42":      b.get("/runs/42"),
		"/runs/999":     b.get("/runs/999"),
		"/signin":       anon.get("/signin"),
		"redirect":      anon.get("/runs"),
		"POST 403":      b.post("/runs/42/approve", nil),
		"/static/x.css": b.get("/static/style.css"),
	}
	for name, p := range pages {
		h := p.header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "script-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", name, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q allows inline code", name, csp)
		}
		for k, v := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", name, k, h.Get(k), v)
			}
		}
	}
	if cc := pages["/runs/42"].header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("a page's Cache-Control %q", cc)
	}
	// No inline script or style anywhere: the CSP would block it.
	for name, p := range pages {
		if strings.Contains(p.body, "<script>") || strings.Contains(p.body, "<style") || strings.Contains(p.body, " style=") ||
			regexp.MustCompile(` on[a-z]+=`).MatchString(p.body) {
			t.Errorf("%s has inline script or style", name)
		}
	}
	// The static files: the page's versioned URL is cached for long.
	m := regexp.MustCompile(`href="(/static/style\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(pages["/"].body)
	if m == nil {
		t.Fatalf("no stylesheet link in:\n%s", pages["/"].body)
	}
	p := b.get(m[1])
	wantStatus(t, m[1], p, http.StatusOK)
	if cc := p.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("%s: Cache-Control %q", m[1], cc)
	}
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("%s: Content-Type %q", m[1], ct)
	}
	if js := b.get("/static/live.js"); js.status != http.StatusOK || !strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript") {
		t.Errorf("live.js: %d %q", js.status, js.header.Get("Content-Type"))
	}
	wantStatus(t, "unknown static file", b.get("/static/nothing.js"), http.StatusNotFound)
}

func TestDashboardEvents(t *testing.T) {
	s := newDashScene(t, "")
	b := s.browser()
	b.signIn("tok-vera")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.srv.URL+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("/events: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	// readEvent returns the next event's lines (comments and retry
	// included), up to its blank line.
	readEvent := func() string {
		t.Helper()
		var lines []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading /events: %v after %q", err, lines)
			}
			if line == "\n" {
				return strings.Join(lines, "")
			}
			lines = append(lines, line)
		}
	}
	// The first lines say the stream is open: the page is subscribed.
	if first := readEvent(); !strings.Contains(first, "retry: ") {
		t.Fatalf("first lines of /events: %q", first)
	}
	run := &landform.Run{ID: "42", Repo: "infra", Workspace: "app", Kind: landform.RunPlan, State: landform.StateApproved}
	s.live.Publish(runner.Event{Kind: runner.EventPolled, Repo: "infra"}) // a quiet poll: nothing to say
	s.live.Publish(runner.Event{Kind: runner.EventApproval, Repo: "infra", Run: run})
	ev := readEvent()
	for _, want := range []string{"event: run\n", `"run":"42"`, `"state":"approved"`, "Run 42 (infra/app) is now approved."} {
		if !strings.Contains(ev, want) {
			t.Errorf("event %q lacks %q", ev, want)
		}
	}
	s.live.Publish(runner.Event{Kind: runner.EventPolled, Repo: "infra", Err: context.DeadlineExceeded})
	if ev := readEvent(); !strings.Contains(ev, "event: repo\n") || !strings.Contains(ev, "Polling infra fails.") {
		t.Errorf("poll failure event %q", ev)
	}
	// Close ends the stream.
	s.live.Close()
	if _, err := io.ReadAll(r); err != nil {
		t.Errorf("the stream did not end cleanly: %v", err)
	}
}
