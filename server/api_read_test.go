package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/server"
)

// rawCall makes a request and returns its status, content type and body.
func rawCall(t *testing.T, base, method, path, token string, header ...string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// errorCode is the code of an API error body, "" for another body.
func errorCode(b []byte) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil {
		return ""
	}
	return e.Error.Code
}

// Every endpoint: its happy path, and each of 401 (no credentials), 403
// (a role too small), 404 and 409 where it has one.
func TestAPIEndpoints(t *testing.T) {
	runs := newFakeRuns()
	srv := newAPIServer(t, runs, nil)
	type call struct {
		method, path, token string
		status              int
		code                string // of an error answered
		has                 string // in a body answered
	}
	for _, c := range []call{
		{"GET", "/api/v1/whoami", "tok-vera", 200, "", `"identity":"vera","role":"viewer","via":"token"`},
		{"GET", "/api/v1/whoami", "", 401, "unauthenticated", ""},

		{"GET", "/api/v1/repos", "tok-vera", 200, "", `"repo":"infra"`},
		{"GET", "/api/v1/repos", "", 401, "unauthenticated", ""},
		{"GET", "/api/v1/repos/infra", "tok-vera", 200, "", `"branch":"main"`},
		{"GET", "/api/v1/repos/nope", "tok-vera", 404, "not_found", ""},

		{"GET", "/api/v1/repos/infra/workspaces", "tok-vera", 200, "", `"name":"app"`},
		{"GET", "/api/v1/repos/infra/workspaces", "", 401, "unauthenticated", ""},
		{"GET", "/api/v1/repos/nope/workspaces", "tok-vera", 404, "not_found", ""},
		{"GET", "/api/v1/repos/broken/workspaces", "tok-vera", 500, "internal", ""},

		{"GET", "/api/v1/repos/infra/drift", "tok-vera", 200, "", `"summary":"1 of 1 workspaces drifted`},
		{"GET", "/api/v1/repos/infra/drift", "", 401, "unauthenticated", ""},
		{"GET", "/api/v1/repos/nope/drift", "tok-vera", 404, "not_found", ""},

		{"GET", "/api/v1/locks", "tok-vera", 200, "", `"holder":"pr/7"`},
		{"GET", "/api/v1/repos/infra/locks", "tok-vera", 200, "", `"holder":"pr/7"`},
		{"GET", "/api/v1/repos/nope/locks", "tok-vera", 404, "not_found", ""},
		{"GET", "/api/v1/locks", "", 401, "unauthenticated", ""},

		{"GET", "/api/v1/runs", "tok-vera", 200, "", `"id":"46"`},
		{"GET", "/api/v1/runs?state=applied", "tok-vera", 200, "", `"id":"44"`},
		{"GET", "/api/v1/runs?state=bogus", "tok-vera", 400, "invalid", ""},
		{"GET", "/api/v1/runs?kind=bogus", "tok-vera", 400, "invalid", ""},
		{"GET", "/api/v1/runs?limit=0", "tok-vera", 400, "invalid", ""},
		{"GET", "/api/v1/runs?before=x", "tok-vera", 400, "invalid", ""},
		{"GET", "/api/v1/runs", "", 401, "unauthenticated", ""},

		{"GET", "/api/v1/runs/42", "tok-vera", 200, "", `"state":"awaiting_approval"`},
		{"GET", "/api/v1/runs/99", "tok-vera", 404, "not_found", ""},
		{"GET", "/api/v1/runs/42/plan", "tok-vera", 200, "", "will be destroyed"},
		{"GET", "/api/v1/runs/42/plan", "", 401, "unauthenticated", ""},
		{"GET", "/api/v1/runs/43/plan", "tok-vera", 404, "not_found", ""},
		{"GET", "/api/v1/runs/99/plan.json", "tok-vera", 404, "not_found", ""},
		{"GET", "/api/v1/runs/42/plan.json", "tok-vera", 200, "", `"format_version":"1.2"`},

		// Acting: a viewer may not; approvers approve and apply; only
		// admins unlock.
		{"POST", "/api/v1/runs/42/approve", "tok-vera", 403, "unauthorized", "needs approver"},
		{"POST", "/api/v1/runs/42/approve", "", 401, "unauthenticated", ""},
		{"POST", "/api/v1/runs/42/apply", "tok-vera", 403, "unauthorized", ""},
		{"DELETE", "/api/v1/repos/infra/locks/app", "tok-alice", 403, "unauthorized", "needs admin"},
		{"DELETE", "/api/v1/repos/infra/locks/app", "", 401, "unauthenticated", ""},
		{"DELETE", "/api/v1/repos/infra/locks/app", "tok-ada", 200, "", `"holder":"pr/7"`},
		{"DELETE", "/api/v1/repos/infra/locks/app", "tok-ada", 404, "not_found", ""},
		{"DELETE", "/api/v1/repos/nope/locks/app", "tok-ada", 404, "not_found", ""},
		{"POST", "/api/v1/runs/42/approve", "tok-ada", 200, "", `"state":"approved"`},
		{"POST", "/api/v1/runs/42/approve", "tok-ada", 409, "conflict", ""},
	} {
		status, ctype, body := rawCall(t, srv.URL, c.method, c.path, c.token)
		if status != c.status {
			t.Errorf("%s %s (%s): %d, want %d: %s", c.method, c.path, c.token, status, c.status, body)
			continue
		}
		if c.code != "" && (ctype != "application/json" || errorCode(body) != c.code) {
			t.Errorf("%s %s (%s): %s %s, want error %s", c.method, c.path, c.token, ctype, body, c.code)
		}
		if c.has != "" && !strings.Contains(string(body), c.has) {
			t.Errorf("%s %s (%s): %s, want %q in it", c.method, c.path, c.token, body, c.has)
		}
	}
	if got := runs.took(); strings.Join(got, ";") != "unlock infra app;approve 42 ada api" {
		t.Errorf("actions %q", got)
	}
}

func TestAPIRunsPages(t *testing.T) {
	srv := newAPIServer(t, newFakeRuns(), nil)
	var ids []string
	path := "/api/v1/runs?repo=infra&limit=2"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("pages never end")
		}
		status, _, body := rawCall(t, srv.URL, "GET", path, "tok-vera")
		if status != 200 {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		var page struct {
			Runs []*landform.Run `json:"runs"`
			Next string          `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Runs) > 2 {
			t.Fatalf("%s: %d runs", path, len(page.Runs))
		}
		for _, r := range page.Runs {
			ids = append(ids, r.ID)
		}
		path = ""
		if page.Next != "" {
			path = "/api/v1/runs?repo=infra&limit=2&before=" + url.QueryEscape(page.Next)
		}
	}
	if got := strings.Join(ids, " "); got != "46 45 44 43 42" {
		t.Errorf("pages gave %q, want every run once, newest first", got)
	}
	// Filters combine.
	_, _, body := rawCall(t, srv.URL, "GET", "/api/v1/runs?workspace=net&kind=drift", "tok-vera")
	if !strings.Contains(string(body), `"id":"46"`) || strings.Contains(string(body), `"id":"44"`) {
		t.Errorf("workspace=net&kind=drift: %s", body)
	}
}

// A dashboard session may use the API; its POSTs need the session's CSRF
// token; an anonymous viewer (when configured) reads but never acts.
func TestAPISessionsAndAnonymous(t *testing.T) {
	runs := newFakeRuns()
	sessions := &memSessions{}
	h := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler),
		server.WithAuth(server.Auth{Token: fakeTokens, Sessions: sessions, Anonymous: landform.RoleViewer}),
		server.WithAPI(server.API{Reader: runs, Actions: runs}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	if status, _, body := rawCall(t, srv.URL, "GET", "/api/v1/whoami", ""); status != 200 || !strings.Contains(string(body), `"via":"anonymous"`) {
		t.Errorf("anonymous whoami: %d %s", status, body)
	}
	if status, _, _ := rawCall(t, srv.URL, "GET", "/api/v1/runs/42", ""); status != 200 {
		t.Errorf("anonymous read: %d", status)
	}
	if status, _, body := rawCall(t, srv.URL, "POST", "/api/v1/runs/42/approve", ""); status != 401 || errorCode(body) != "unauthenticated" {
		t.Errorf("anonymous approve: %d %s", status, body)
	}
	// A bad token is refused even where anonymous reading is open.
	if status, _, _ := rawCall(t, srv.URL, "GET", "/api/v1/runs/42", "tok-guessed"); status != 401 {
		t.Errorf("unknown token with anonymous reading: %d", status)
	}

	// A session, as the dashboard's sign-in makes it.
	cookie, csrf := "session-cookie-value", "csrf-of-the-session"
	if err := sessions.CreateSession(t.Context(), &landform.WebSession{SHA256: sha256Hex(cookie), Identity: "alice",
		Role: landform.RoleApprover, CSRF: csrf, CreatedAt: fakeTime, ExpiresAt: fakeTime.AddDate(100, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	withCookie := []string{"Cookie", "landform_session=" + cookie}
	if status, _, body := rawCall(t, srv.URL, "GET", "/api/v1/whoami", "", withCookie...); status != 200 || !strings.Contains(string(body), `"via":"session"`) {
		t.Errorf("session whoami: %d %s", status, body)
	}
	for _, hdr := range [][]string{withCookie, append(withCookie, "X-CSRF-Token", "wrong")} {
		if status, _, body := rawCall(t, srv.URL, "POST", "/api/v1/runs/42/approve", "", hdr...); status != 403 || !strings.Contains(string(body), "CSRF") {
			t.Errorf("session approve without its CSRF token: %d %s", status, body)
		}
	}
	if got := runs.took(); len(got) != 0 {
		t.Fatalf("actions without CSRF: %q", got)
	}
	if status, _, body := rawCall(t, srv.URL, "POST", "/api/v1/runs/42/approve", "", append(withCookie, "X-CSRF-Token", csrf)...); status != 200 {
		t.Errorf("session approve with its CSRF token: %d %s", status, body)
	}
	if got := runs.took(); len(got) != 1 || got[0] != "approve 42 alice web" {
		t.Errorf("actions %q, want the session's approval through the dashboard's channel", got)
	}
}
