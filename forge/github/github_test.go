package github

// The fake GitHub below answers with JSON recorded in testdata/, written
// from the example responses of GitHub's REST API description
// (github/rest-api-description, descriptions/api.github.com/
// api.github.com.2022-11-28.yaml, components/examples), which
// docs.github.com shows as each endpoint's "Example response". The
// repository objects under head.repo and base.repo, ~90 keys each, are
// abridged to 15; everything else is as documented.
//
//	pulls.json          docs.github.com/rest/pulls/pulls#list-pull-requests example response (pull-request-simple-items)
//	pull.json           docs.github.com/rest/pulls/pulls#get-a-pull-request example response (pull-request)
//	issue-comments.json docs.github.com/rest/issues/comments#list-issue-comments example response (issue-comment-items)
//	issue-comment.json  docs.github.com/rest/issues/comments#create-an-issue-comment example response (issue-comment)
//	issues.json         docs.github.com/rest/issues/issues#list-repository-issues example response (issue-items)
//	issue.json          docs.github.com/rest/issues/issues#create-an-issue example response (issue)
//	status.json         docs.github.com/rest/commits/statuses#create-a-commit-status example response (status)
//	team-membership.json docs.github.com/rest/teams/members#get-team-membership-for-a-user example response
//	                    (team-membership-response-if-user-is-a-team-maintainer)
//
// Tests make second pages and other states by changing fields of these
// (variant), never by writing new shapes. Error bodies are inline, from
// docs.github.com/rest/using-the-rest-api/troubleshooting-the-rest-api
// (404, 422 "Validation Failed") and
// docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api
// (429 and 403 with Retry-After / x-ratelimit-* headers). The Link header
// is the one docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api
// shows.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/landform/landform"
	"github.com/landform/landform/forge"
)

const (
	owner = "octocat"
	repo  = "Hello-World"
	token = "t0ken"
	sha   = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
)

// request is what the fake GitHub received.
type request struct {
	Method string
	Path   string
	Query  url.Values
	Auth   string
	Body   string
}

// fakeGitHub is an httptest server with a handler per route that records
// every request.
type fakeGitHub struct {
	srv   *httptest.Server
	mux   *http.ServeMux
	mu    sync.Mutex
	reqs  []request
	sleep fakeSleep
}

func newFake(t *testing.T) *fakeGitHub {
	t.Helper()
	f := &fakeGitHub{mux: http.NewServeMux()}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, request{r.Method, r.URL.Path, r.URL.Query(), r.Header.Get("Authorization"), string(b)})
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// handle answers pattern (a ServeMux pattern under /api/v3/repos/owner/repo).
func (f *fakeGitHub) handle(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	f.mux.HandleFunc(method+" /api/v3/repos/"+owner+"/"+repo+path, h)
}

func (f *fakeGitHub) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

// client is a Client of the fake, as GitHub Enterprise at /api/v3/.
func (f *fakeGitHub) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(Options{
		BaseURL:    f.srv.URL + "/api/v3/",
		Token:      token,
		Owner:      owner,
		Repo:       repo,
		Retry:      forge.RetryOptions{Sleep: f.sleep.Sleep},
		HTTPClient: f.srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *fakeSleep) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *fakeSleep) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// variant returns fixture name with change applied to its decoded JSON.
func variant(t *testing.T, name string, change func(v any)) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(fixture(t, name), &v); err != nil {
		t.Fatal(err)
	}
	change(v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// obj is a JSON object of a fixture.
func obj(v any) map[string]any { return v.(map[string]any) }

func reply(status int, body []byte, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// checkJSON fails unless body is the JSON object want.
func checkJSON(t *testing.T, body string, want map[string]any) {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("request body %q: %v", body, err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("request body (-want +got):\n%s", d)
	}
}

// checkRequest fails unless r is method path?query with the token.
func checkRequest(t *testing.T, r request, method, path string, query url.Values) {
	t.Helper()
	if r.Method != method || r.Path != "/api/v3/repos/"+owner+"/"+repo+path {
		t.Errorf("request %s %s, want %s .../%s/%s%s", r.Method, r.Path, method, owner, repo, path)
	}
	if query == nil {
		query = url.Values{}
	}
	if d := cmp.Diff(query, r.Query); d != "" {
		t.Errorf("%s %s query (-want +got):\n%s", r.Method, r.Path, d)
	}
	if r.Auth != "Bearer "+token {
		t.Errorf("%s %s: Authorization %q, want the token", r.Method, r.Path, r.Auth)
	}
}

func TestListPullRequestsReadsEveryPageAndEachMergeability(t *testing.T) {
	f := newFake(t)
	// Pull request 1348 is the documented one with another number, title,
	// author and head; the listing's page 2 and its own answer agree.
	as1348 := func(pr map[string]any) {
		pr["number"], pr["title"] = 1348, "Fix the bug"
		pr["html_url"] = "https://github.com/octocat/Hello-World/pull/1348"
		obj(pr["user"])["login"] = "hubot"
		obj(pr["head"])["ref"], obj(pr["head"])["sha"] = "fix-bug", "e5bd3914e2e596debea16f433f57875b5b90bcd6"
	}
	page2 := variant(t, "pulls.json", func(v any) { as1348(obj(v.([]any)[0])) })
	f.handle("GET /pulls", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			reply(http.StatusOK, page2)(w, r)
			return
		}
		next := f.srv.URL + "/api/v3/repositories/1296269/pulls?state=open&per_page=100&page=2"
		reply(http.StatusOK, fixture(t, "pulls.json"),
			"Link", `<`+next+`>; rel="next", <`+next+`>; rel="last"`)(w, r)
	})
	f.handle("GET /pulls/1347", reply(http.StatusOK, fixture(t, "pull.json")))
	f.handle("GET /pulls/1348", reply(http.StatusOK, variant(t, "pull.json", func(v any) {
		as1348(obj(v))
		obj(v)["mergeable"], obj(v)["mergeable_state"] = false, "dirty"
	})))

	got, err := f.client(t).ListPullRequests(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []forge.PullRequest{{
		Number: 1347, Title: "Amazing new feature", Author: "octocat",
		HeadSHA: sha, BaseSHA: sha, HeadBranch: "new-topic", BaseBranch: "master",
		Mergeable: forge.MergeableYes, URL: "https://github.com/octocat/Hello-World/pull/1347",
	}, {
		Number: 1348, Title: "Fix the bug", Author: "hubot",
		HeadSHA: "e5bd3914e2e596debea16f433f57875b5b90bcd6", BaseSHA: sha, HeadBranch: "fix-bug", BaseBranch: "master",
		Mergeable: forge.MergeableNo, URL: "https://github.com/octocat/Hello-World/pull/1348",
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ListPullRequests (-want +got):\n%s", d)
	}
	reqs := f.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4: %+v", len(reqs), reqs)
	}
	checkRequest(t, reqs[0], "GET", "/pulls", url.Values{"state": {"open"}, "per_page": {"100"}})
	checkRequest(t, reqs[1], "GET", "/pulls/1347", nil)
	checkRequest(t, reqs[2], "GET", "/pulls", url.Values{"state": {"open"}, "per_page": {"100"}, "page": {"2"}})
	checkRequest(t, reqs[3], "GET", "/pulls/1348", nil)
}

func TestMergeable(t *testing.T) {
	for _, tc := range []struct {
		mergeable *bool
		state     string
		want      forge.Mergeable
	}{
		{nil, "", forge.MergeableUnknown},
		{ptr(true), "unknown", forge.MergeableUnknown},
		{ptr(true), "clean", forge.MergeableYes},
		{ptr(true), "unstable", forge.MergeableYes},
		{ptr(true), "has_hooks", forge.MergeableYes},
		{ptr(true), "blocked", forge.MergeableNo},
		{ptr(true), "behind", forge.MergeableNo},
		{ptr(true), "draft", forge.MergeableNo},
		{ptr(false), "dirty", forge.MergeableNo},
	} {
		pr := variant(t, "pull.json", func(v any) {
			obj(v)["mergeable"], obj(v)["mergeable_state"] = nil, tc.state
			if tc.mergeable != nil {
				obj(v)["mergeable"] = *tc.mergeable
			}
		})
		f := newFake(t)
		f.handle("GET /pulls", reply(http.StatusOK, fixture(t, "pulls.json")))
		f.handle("GET /pulls/1347", reply(http.StatusOK, pr))
		got, err := f.client(t).ListPullRequests(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Mergeable != tc.want {
			t.Errorf("mergeable %v, mergeable_state %q: %s, want %s", tc.mergeable, tc.state, got[0].Mergeable, tc.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestListCommentsSinceEveryPage(t *testing.T) {
	f := newFake(t)
	f.handle("GET /issues/1347/comments", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			reply(http.StatusOK, variant(t, "issue-comments.json", func(v any) {
				c := obj(v.([]any)[0])
				c["id"], c["body"], c["created_at"], c["updated_at"] = 2, "/landform apply", "2011-04-14T17:00:00Z", "2011-04-14T17:00:00Z"
			}))(w, r)
			return
		}
		next := f.srv.URL + "/api/v3/repositories/1296269/issues/1347/comments?since=2011-04-14T16:00:00Z&per_page=100&page=2"
		reply(http.StatusOK, fixture(t, "issue-comments.json"), "Link", `<`+next+`>; rel="next"`)(w, r)
	})
	since := time.Date(2011, 4, 14, 16, 0, 0, 0, time.UTC)
	got, err := f.client(t).ListComments(t.Context(), 1347, since)
	if err != nil {
		t.Fatal(err)
	}
	want := []forge.Comment{{
		ID: 1, Author: "octocat", Body: "Me too",
		CreatedAt: time.Date(2011, 4, 14, 16, 0, 49, 0, time.UTC),
		UpdatedAt: time.Date(2011, 4, 14, 16, 0, 49, 0, time.UTC),
		URL:       "https://github.com/octocat/Hello-World/issues/1347#issuecomment-1",
	}, {
		ID: 2, Author: "octocat", Body: "/landform apply",
		CreatedAt: time.Date(2011, 4, 14, 17, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(2011, 4, 14, 17, 0, 0, 0, time.UTC),
		URL:       "https://github.com/octocat/Hello-World/issues/1347#issuecomment-1",
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ListComments (-want +got):\n%s", d)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	checkRequest(t, reqs[0], "GET", "/issues/1347/comments", url.Values{"since": {"2011-04-14T16:00:00Z"}, "per_page": {"100"}})
	checkRequest(t, reqs[1], "GET", "/issues/1347/comments", url.Values{"since": {"2011-04-14T16:00:00Z"}, "per_page": {"100"}, "page": {"2"}})
}

func TestCommentsAreCreatedEditedAndDeleted(t *testing.T) {
	f := newFake(t)
	f.handle("POST /issues/1347/comments", reply(http.StatusCreated, fixture(t, "issue-comment.json")))
	f.handle("PATCH /issues/comments/1", reply(http.StatusOK, fixture(t, "issue-comment.json")))
	f.handle("DELETE /issues/comments/1", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	c := f.client(t)
	ctx := t.Context()

	got, err := c.CreateComment(ctx, 1347, "Me too")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != 1 || got.Body != "Me too" || got.Author != "octocat" {
		t.Errorf("CreateComment = %+v", got)
	}
	if err := c.EditComment(ctx, 1347, 1, "<!-- landform:preview -->\nedited"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteComment(ctx, 1347, 1); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	checkRequest(t, reqs[0], "POST", "/issues/1347/comments", nil)
	checkJSON(t, reqs[0].Body, map[string]any{"body": "Me too"})
	checkRequest(t, reqs[1], "PATCH", "/issues/comments/1", nil)
	checkJSON(t, reqs[1].Body, map[string]any{"body": "<!-- landform:preview -->\nedited"})
	checkRequest(t, reqs[2], "DELETE", "/issues/comments/1", nil)
}

func TestSetStatusCutsTheDescription(t *testing.T) {
	f := newFake(t)
	f.handle("POST /statuses/"+sha, reply(http.StatusCreated, fixture(t, "status.json")))
	c := f.client(t)
	long := "plan: 3 to add,\n2 to change, " + strings.Repeat("é", 200)
	err := c.SetStatus(t.Context(), forge.Status{
		SHA: sha, Context: "landform/plan: envs/prod", State: forge.StatusPending,
		Description: long, TargetURL: "https://landform.example.com/runs/42",
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	checkRequest(t, reqs[0], "POST", "/statuses/"+sha, nil)
	desc := "plan: 3 to add, 2 to change, " + strings.Repeat("é", 140-len("plan: 3 to add, 2 to change, ")-1) + "…"
	if utf8.RuneCountInString(desc) != 140 {
		t.Fatalf("test: want is %d characters", utf8.RuneCountInString(desc))
	}
	checkJSON(t, reqs[0].Body, map[string]any{
		"state":       "pending",
		"context":     "landform/plan: envs/prod",
		"description": desc,
		"target_url":  "https://landform.example.com/runs/42",
	})

	err = c.SetStatus(t.Context(), forge.Status{SHA: sha, Context: "landform/plan", State: "running"})
	if landform.ErrorCode(err) != landform.EINVALID || len(f.requests()) != 1 {
		t.Errorf("SetStatus(running) = %v after %d requests, want EINVALID and no request", err, len(f.requests())-1)
	}
}

func TestIssues(t *testing.T) {
	f := newFake(t)
	f.handle("POST /issues", reply(http.StatusCreated, fixture(t, "issue.json")))
	f.handle("PATCH /issues/1347", reply(http.StatusOK, variant(t, "issue.json", func(v any) {
		obj(v)["state"], obj(v)["title"] = "closed", "Drift: none"
	})))
	const marker = "<!-- landform:drift -->"
	f.handle("GET /issues", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			// An issue (no pull_request) carrying the marker.
			reply(http.StatusOK, variant(t, "issues.json", func(v any) {
				is := obj(v.([]any)[0])
				delete(is, "pull_request")
				is["number"], is["title"], is["body"] = 1200, "Drift", marker+"\nenvs/prod drifted"
				is["html_url"] = "https://github.com/octocat/Hello-World/issues/1200"
			}))(w, r)
			return
		}
		// issues.json is a pull request (it has pull_request); it carries
		// the marker here and must still be skipped.
		next := f.srv.URL + "/api/v3/repositories/1296269/issues?state=all&sort=created&direction=desc&per_page=100&page=2"
		reply(http.StatusOK, variant(t, "issues.json", func(v any) {
			obj(v.([]any)[0])["body"] = marker
		}), "Link", `<`+next+`>; rel="next"`)(w, r)
	})
	c := f.client(t)
	ctx := t.Context()

	created, err := c.CreateIssue(ctx, "Found a bug", "I'm having a problem with this.")
	if err != nil {
		t.Fatal(err)
	}
	wantCreated := forge.Issue{Number: 1347, Title: "Found a bug", Body: "I'm having a problem with this.", Open: true,
		URL: "https://github.com/octocat/Hello-World/issues/1347"}
	if d := cmp.Diff(wantCreated, created); d != "" {
		t.Errorf("CreateIssue (-want +got):\n%s", d)
	}
	edited, err := c.EditIssue(ctx, 1347, "Drift: none", "all clear", false)
	if err != nil {
		t.Fatal(err)
	}
	if edited.Open || edited.Title != "Drift: none" {
		t.Errorf("EditIssue = %+v, want closed", edited)
	}
	found, err := c.FindIssue(ctx, marker)
	if err != nil {
		t.Fatal(err)
	}
	if found == nil || found.Number != 1200 || !found.Open {
		t.Errorf("FindIssue = %+v, want open issue 1200", found)
	}

	reqs := f.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	checkRequest(t, reqs[0], "POST", "/issues", nil)
	checkJSON(t, reqs[0].Body, map[string]any{"title": "Found a bug", "body": "I'm having a problem with this."})
	checkRequest(t, reqs[1], "PATCH", "/issues/1347", nil)
	checkJSON(t, reqs[1].Body, map[string]any{"title": "Drift: none", "body": "all clear", "state": "closed"})
	list := url.Values{"state": {"all"}, "sort": {"created"}, "direction": {"desc"}, "per_page": {"100"}}
	checkRequest(t, reqs[2], "GET", "/issues", list)
	list.Set("page", "2")
	checkRequest(t, reqs[3], "GET", "/issues", list)
}

func TestFindIssueWithoutAMatchIsNil(t *testing.T) {
	f := newFake(t)
	f.handle("GET /issues", reply(http.StatusOK, fixture(t, "issues.json")))
	got, err := f.client(t).FindIssue(t.Context(), "<!-- landform:drift -->")
	if err != nil || got != nil {
		t.Errorf("FindIssue = %+v, %v; want nil, nil", got, err)
	}
}

func TestRateLimitIsWaitedOutAndTheRequestReplayed(t *testing.T) {
	f := newFake(t)
	var calls int
	var mu sync.Mutex
	f.handle("POST /issues/1347/comments", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			reply(http.StatusTooManyRequests,
				[]byte(`{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`),
				"Retry-After", "3")(w, r)
			return
		}
		reply(http.StatusCreated, fixture(t, "issue-comment.json"))(w, r)
	})
	if _, err := f.client(t).CreateComment(t.Context(), 1347, "Me too"); err != nil {
		t.Fatal(err)
	}
	if got := f.sleep.Waits(); len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("waits %v, want [3s]", got)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		checkRequest(t, r, "POST", "/issues/1347/comments", nil)
		checkJSON(t, r.Body, map[string]any{"body": "Me too"})
	}
}

func TestPrimaryRateLimitWaitsForTheReset(t *testing.T) {
	f := newFake(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	calls := 0
	f.handle("GET /pulls", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			reply(http.StatusForbidden,
				[]byte(`{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`),
				"Date", now.Format(http.TimeFormat),
				"X-RateLimit-Limit", "5000", "X-RateLimit-Remaining", "0", "X-RateLimit-Used", "5000",
				"X-RateLimit-Reset", "1772366520", "X-RateLimit-Resource", "core")(w, r) // now + 2m
			return
		}
		reply(http.StatusOK, []byte(`[]`))(w, r)
	})
	got, err := f.client(t).ListPullRequests(t.Context())
	if err != nil || len(got) != 0 {
		t.Fatalf("ListPullRequests = %v, %v", got, err)
	}
	if w := f.sleep.Waits(); len(w) != 1 || w[0] != 2*time.Minute {
		t.Errorf("waits %v, want [2m]", w)
	}
}

func TestErrorsCarryTheStatusAndGitHubsMessage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		code    string
		message string
	}{
		{"not found", http.StatusNotFound,
			`{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`,
			landform.ENOTFOUND, "github: commenting on #1347 of octocat/Hello-World: 404 Not Found"},
		{"validation failed", http.StatusUnprocessableEntity,
			`{"message":"Validation Failed","errors":[{"resource":"IssueComment","field":"body","code":"custom","message":"Body is too long (maximum is 65536 characters)"}],"documentation_url":"https://docs.github.com/rest/issues/comments#create-an-issue-comment"}`,
			landform.EINVALID, "github: commenting on #1347 of octocat/Hello-World: 422 Validation Failed (Body is too long (maximum is 65536 characters))"},
		{"forbidden", http.StatusForbidden,
			`{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/issues/comments#create-an-issue-comment"}`,
			landform.EUNAUTHORIZED, "github: commenting on #1347 of octocat/Hello-World: 403 Resource not accessible by integration"},
		{"server error, after every attempt", http.StatusBadGateway,
			`{"message":"Server Error"}`,
			landform.EINTERNAL, "github: commenting on #1347 of octocat/Hello-World: 502 Server Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.handle("POST /issues/1347/comments", reply(tc.status, []byte(tc.body)))
			_, err := f.client(t).CreateComment(t.Context(), 1347, "Me too")
			if err == nil {
				t.Fatal("CreateComment succeeded")
			}
			if got := landform.ErrorCode(err); got != tc.code {
				t.Errorf("code %q, want %q (%v)", got, tc.code, err)
			}
			if err.Error() != tc.message {
				t.Errorf("error %q,\nwant  %q", err, tc.message)
			}
		})
	}
}

func TestNewRefusesIncompleteOptions(t *testing.T) {
	for _, o := range []Options{
		{Token: token, Repo: repo},
		{Token: token, Owner: owner},
		{Owner: owner, Repo: repo},
		{Token: token, Owner: owner, Repo: repo, BaseURL: "ghe.example.com/api/v3"},
	} {
		if _, err := New(o); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("New(%+v) = %v, want EINVALID", o, err)
		}
	}
	c, err := New(Options{Token: token, Owner: owner, Repo: repo})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.gh.BaseURL.String(); got != "https://api.github.com/" {
		t.Errorf("default base URL %q", got)
	}
	if c.Kind() != forge.GitHub || c.MaxCommentLength() != forge.MaxCommentGitHub {
		t.Errorf("Kind %s, MaxCommentLength %d", c.Kind(), c.MaxCommentLength())
	}
}
