package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/server"
)

func newAPIServer(t *testing.T, runs *fakeRuns, logs io.Writer) *httptest.Server {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	h := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.NewTextHandler(logs, nil)),
		server.WithAuth(server.Auth{Token: fakeTokens}), server.WithAPI(server.API{Reader: runs, Actions: runs}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// apiAnswer is a decoded answer: a run or an error.
type apiAnswer struct {
	Run   *landform.Run `json:"run"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type apiCall struct {
	method, path, token string
}

func (c apiCall) request(t testing.TB, base string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req
}

func callAPI(t testing.TB, req *http.Request) (*http.Response, apiAnswer) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var a apiAnswer
	if resp.Header.Get("Content-Type") == "application/json" {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("answer %q: %v", b, err)
		}
	}
	return resp, a
}

func TestAPI(t *testing.T) {
	var logs bytes.Buffer
	runs := newFakeRuns()
	srv := newAPIServer(t, runs, &logs)

	tests := []struct {
		name   string
		call   apiCall
		status int
		state  landform.RunState // of the run answered
		code   string            // of the error answered
		action string            // what the fake was asked to do
	}{
		{"get", apiCall{"GET", "/api/v1/runs/42", "tok-alice"}, 200, landform.StateAwaitingApproval, "", ""},
		{"get unknown", apiCall{"GET", "/api/v1/runs/99", "tok-alice"}, 404, "", "not_found", ""},
		{"get not an ID", apiCall{"GET", "/api/v1/runs/latest", "tok-alice"}, 404, "", "not_found", ""},
		{"get leading zero", apiCall{"GET", "/api/v1/runs/042", "tok-alice"}, 404, "", "not_found", ""},
		{"get internal", apiCall{"GET", "/api/v1/runs/13", "tok-alice"}, 500, "", "internal", ""},

		{"approve by mallory", apiCall{"POST", "/api/v1/runs/42/approve", "tok-mallory"}, 403, "", "unauthorized", ""},
		{"approve", apiCall{"POST", "/api/v1/runs/42/approve", "tok-alice"}, 200, landform.StateApproved, "", "approve 42 alice api"},
		{"approve again", apiCall{"POST", "/api/v1/runs/42/approve", "tok-alice"}, 409, "", "conflict", ""},
		{"approve unknown", apiCall{"POST", "/api/v1/runs/99/approve", "tok-alice"}, 404, "", "not_found", ""},
		{"approve errored", apiCall{"POST", "/api/v1/runs/45/approve", "tok-alice"}, 400, "", "invalid", ""},
		{"approve internal", apiCall{"POST", "/api/v1/runs/13/approve", "tok-alice"}, 500, "", "internal", ""},

		{"apply not approved", apiCall{"POST", "/api/v1/runs/44/apply", "tok-alice"}, 409, "", "conflict", ""},
		{"apply by mallory", apiCall{"POST", "/api/v1/runs/42/apply", "tok-mallory"}, 403, "", "unauthorized", ""},
		{"apply unknown", apiCall{"POST", "/api/v1/runs/99/apply", "tok-alice"}, 404, "", "not_found", ""},
		{"apply wait bogus", apiCall{"POST", "/api/v1/runs/42/apply?wait=soon", "tok-alice"}, 400, "", "invalid", ""},
		{"apply", apiCall{"POST", "/api/v1/runs/42/apply", "tok-alice"}, 202, landform.StateApplying, "", "apply 42 alice api"},
		{"apply and wait", apiCall{"POST", "/api/v1/runs/43/apply?wait=true", "tok-alice"}, 200, landform.StateApplied, "", "apply 43 alice api"},
		{"apply again", apiCall{"POST", "/api/v1/runs/43/apply", "tok-alice"}, 409, "", "conflict", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, a := callAPI(t, tt.call.request(t, srv.URL))
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s, want %d", resp.StatusCode, resp.Header.Get("Content-Type"), tt.status)
			}
			if tt.code == "" {
				if a.Error != nil || a.Run == nil || a.Run.State != tt.state {
					t.Errorf("answer %+v %+v, want a run %s", a.Run, a.Error, tt.state)
				}
			} else if a.Run != nil || a.Error == nil || a.Error.Code != tt.code || a.Error.Message == "" {
				t.Errorf("answer %+v %+v, want error %s", a.Run, a.Error, tt.code)
			}
			if got := runs.took(); (tt.action == "" && len(got) > 0) || (tt.action != "" && (len(got) != 1 || got[0] != tt.action)) {
				t.Errorf("actions %q, want %q", got, tt.action)
			}
		})
	}
	if _, a := callAPI(t, apiCall{"GET", "/api/v1/runs/43", "tok-alice"}.request(t, srv.URL)); a.Run == nil || a.Run.Apply == nil || a.Run.Apply.Summary == "" {
		t.Errorf("run 43 after its apply: %+v", a.Run)
	}
	// The detail of an internal error is logged, never answered.
	_, a := callAPI(t, apiCall{"GET", "/api/v1/runs/13", "tok-alice"}.request(t, srv.URL))
	if a.Error == nil || a.Error.Message != "internal error" {
		t.Errorf("internal error answered %+v", a.Error)
	}
	if !strings.Contains(logs.String(), "database is locked") {
		t.Errorf("internal error not logged:\n%s", logs.String())
	}
	for _, err := range runs.ctxErrs {
		if err != nil {
			t.Errorf("an action ran with a context that was done: %v", err)
		}
	}
}

func TestAPIUnauthenticated(t *testing.T) {
	var logs bytes.Buffer
	runs := newFakeRuns()
	srv := newAPIServer(t, runs, &logs)
	paths := []apiCall{
		{"GET", "/api/v1/runs/42", ""},
		{"POST", "/api/v1/runs/42/approve", ""},
		{"POST", "/api/v1/runs/43/apply", ""},
	}
	auths := []struct {
		name   string
		header []string // Authorization headers
	}{
		{"none", nil},
		{"unknown token", []string{"Bearer tok-guessed"}},
		{"empty token", []string{"Bearer "}},
		{"basic", []string{"Basic dG9rLWFsaWNlOg=="}},
		{"no scheme", []string{"tok-alice"}},
		{"two headers", []string{"Bearer tok-alice", "Bearer tok-alice"}},
		{"token with a space", []string{"Bearer tok-alice x"}},
	}
	for _, c := range paths {
		for _, auth := range auths {
			t.Run(c.method+" "+c.path+" "+auth.name, func(t *testing.T) {
				req := c.request(t, srv.URL)
				for _, h := range auth.header {
					req.Header.Add("Authorization", h)
				}
				resp, a := callAPI(t, req)
				if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
				}
				if a.Error == nil || a.Error.Code != "unauthenticated" || a.Run != nil {
					t.Errorf("answer %+v %+v", a.Run, a.Error)
				}
			})
		}
	}
	if got := runs.took(); len(got) != 0 {
		t.Errorf("actions %q", got)
	}

	// The scheme in another case is the same scheme.
	req := apiCall{"GET", "/api/v1/runs/42", ""}.request(t, srv.URL)
	req.Header.Set("Authorization", "bearer tok-alice")
	if resp, a := callAPI(t, req); resp.StatusCode != http.StatusOK || a.Run == nil {
		t.Errorf("lower-case scheme: %d %+v", resp.StatusCode, a.Error)
	}

	// A token check that fails is an internal error: its detail is
	// logged, not answered.
	resp, a := callAPI(t, apiCall{"GET", "/api/v1/runs/42", "tok-broken"}.request(t, srv.URL))
	if resp.StatusCode != http.StatusInternalServerError || a.Error == nil || a.Error.Message != "internal error" {
		t.Errorf("broken token check: %d %+v", resp.StatusCode, a.Error)
	}
	if !strings.Contains(logs.String(), "permission denied") {
		t.Errorf("not logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "tok-") {
		t.Errorf("a token is logged:\n%s", logs.String())
	}

	// Without a token check, nothing is let in.
	h := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler),
		server.WithAPI(server.API{Reader: runs, Actions: runs}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, apiCall{"GET", "/api/v1/runs/42", "tok-alice"}.request(t, ""))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("no token check: %d", rec.Code)
	}
}

// ?wait=true waits while the request lasts; a client gone leaves the
// apply going, started with a live context.
func TestAPIApplyWaitClientGone(t *testing.T) {
	runs := newFakeRuns()
	runs.hang = true
	h := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler),
		server.WithAuth(server.Auth{Token: fakeTokens}), server.WithAPI(server.API{Reader: runs, Actions: runs}))
	req := apiCall{"POST", "/api/v1/runs/43/apply?wait=true", "tok-alice"}.request(t, "")
	ctx, cancel := context.WithCancel(req.Context())
	cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req.WithContext(ctx))
	var a apiAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusAccepted || a.Run == nil || a.Run.State != landform.StateApplying {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
	if got := runs.took(); len(got) != 1 || len(runs.ctxErrs) != 1 || runs.ctxErrs[0] != nil {
		t.Errorf("actions %q, context errors %v", got, runs.ctxErrs)
	}
}

func TestAPIRoutes(t *testing.T) {
	srv := newAPIServer(t, newFakeRuns(), nil)
	for _, c := range []apiCall{
		{"GET", "/api/v1/runs/42/approve", "tok-alice"},
		{"PUT", "/api/v1/runs/42/apply", "tok-alice"},
		{"DELETE", "/api/v1/runs/42", "tok-alice"},
	} {
		if resp, _ := callAPI(t, c.request(t, srv.URL)); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405", c.method, c.path, resp.StatusCode)
		}
	}
	for _, c := range []apiCall{
		{"POST", "/api/v1/runs/42/merge", "tok-alice"},
		{"GET", "/api/runs/42", "tok-alice"},
	} {
		if resp, _ := callAPI(t, c.request(t, srv.URL)); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", c.method, c.path, resp.StatusCode)
		}
	}

	// Without WithAPI there is no API.
	plain := httptest.NewServer(server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler)))
	defer plain.Close()
	if resp, _ := callAPI(t, apiCall{"GET", "/api/v1/runs/42", "tok-alice"}.request(t, plain.URL)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("without the API: %d, want 404", resp.StatusCode)
	}
}
