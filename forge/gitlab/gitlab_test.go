package gitlab

// The fake GitLab below answers with JSON recorded in testdata/, written
// from the example responses of GitLab's REST API documentation (the
// doc/api/*.md pages published at docs.gitlab.com/api/), with the
// "// Deprecated ..." remarks of the examples removed so that they parse:
//
//	merge_requests.json docs.gitlab.com/api/merge_requests/#list-project-merge-requests example response
//	merge_request.json  docs.gitlab.com/api/merge_requests/#get-single-mr example response (diff_refs)
//	notes.json          docs.gitlab.com/api/notes/#list-project-issue-notes example response (two system notes; the
//	                    merge request notes listing has no example of its own and answers the same objects)
//	note.json           docs.gitlab.com/api/notes/#get-single-merge-request-note example response
//	status.json         docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit example response
//	issue.json          docs.gitlab.com/api/issues/#new-issue example response
//	issues.json         the same issue in an array, as docs.gitlab.com/api/issues/#list-project-issues answers
//	users.json          docs.gitlab.com/api/users/#list-users example response (for normal users), which
//	                    GET /users?username= answers too
//	member.json         docs.gitlab.com/api/members/#get-a-member-of-a-group-or-project-including-inherited-and-invited-members
//	                    example response
//
// Tests make second pages and other states by changing fields of these
// (variant), never by writing new shapes. Pagination headers (X-Page,
// X-Next-Page, X-Per-Page, X-Total, X-Total-Pages, Link) are those of
// docs.gitlab.com/api/rest/#pagination; error bodies those of
// docs.gitlab.com/api/rest/troubleshooting/; the 429 answer (Retry-After,
// RateLimit-* headers, "Retry later") that of
// docs.gitlab.com/user/gitlab_com/#gitlabcom-specific-rate-limits.

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
	project = "my-group/my-project"
	token   = "glpat-t0ken"
	// prefix is the escaped path of the project's API.
	prefix    = "/api/v4/projects/my-group%2Fmy-project"
	headSHA   = "2be7ddb704c7b6b83732fdd5b9f09d5a397b5f8f"
	mergeBase = "c380d3acebd181f13629a25d2e2acca46ffe1e00"
)

// request is what the fake GitLab received.
type request struct {
	Method string
	Path   string // escaped
	Query  url.Values
	Token  string
	Body   string
}

type fakeGitLab struct {
	srv   *httptest.Server
	mux   *http.ServeMux
	mu    sync.Mutex
	reqs  []request
	sleep fakeSleep
}

func newFake(t *testing.T) *fakeGitLab {
	t.Helper()
	f := &fakeGitLab{mux: http.NewServeMux()}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, request{r.Method, r.URL.EscapedPath(), r.URL.Query(), r.Header.Get("PRIVATE-TOKEN"), string(b)})
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// handle answers pattern, a ServeMux pattern under the project's API.
func (f *fakeGitLab) handle(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	f.mux.HandleFunc(method+" /api/v4/projects/{project}"+path, func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("project") != project {
			http.Error(w, `{"message":"404 Project Not Found"}`, http.StatusNotFound)
			return
		}
		h(w, r)
	})
}

func (f *fakeGitLab) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

func (f *fakeGitLab) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(Options{
		BaseURL:    f.srv.URL,
		Token:      token,
		Project:    project,
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

func obj(v any) map[string]any { return v.(map[string]any) }

func first(v any) map[string]any { return obj(v.([]any)[0]) }

func reply(status int, body []byte, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// byPage answers the page-th page (the "page" parameter, 1 when absent)
// with pages[page-1].
func byPage(pages ...http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := 1
		if p := r.URL.Query().Get("page"); p != "" {
			n = int(p[0] - '0')
		}
		pages[n-1](w, r)
	}
}

func checkRequest(t *testing.T, r request, method, path string, query url.Values) {
	t.Helper()
	if r.Method != method || r.Path != prefix+path {
		t.Errorf("request %s %s, want %s %s%s", r.Method, r.Path, method, prefix, path)
	}
	if query == nil {
		query = url.Values{}
	}
	if d := cmp.Diff(query, r.Query); d != "" {
		t.Errorf("%s %s query (-want +got):\n%s", r.Method, r.Path, d)
	}
	if r.Token != token {
		t.Errorf("%s %s: PRIVATE-TOKEN %q, want the token", r.Method, r.Path, r.Token)
	}
}

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

func TestListPullRequestsReadsEveryPageAndKeepsBaseSHAs(t *testing.T) {
	f := newFake(t)
	// Merge request 1: the documented one, opened, mergeable, its head the
	// one of merge_request.json's diff_refs. Merge request 2: a newer head
	// whose diff GitLab has not made yet, and a conflict.
	page1 := variant(t, "merge_requests.json", func(v any) {
		mr := first(v)
		mr["state"], mr["detailed_merge_status"], mr["sha"] = "opened", "mergeable", headSHA
	})
	page2 := variant(t, "merge_requests.json", func(v any) {
		mr := first(v)
		mr["id"], mr["iid"], mr["title"], mr["state"], mr["detailed_merge_status"] = 2, 2, "test2", "opened", "conflict"
		mr["source_branch"], mr["web_url"] = "test2", "http://gitlab.example.com/my-group/my-project/merge_requests/2"
		obj(mr["author"])["username"] = "axel.block"
	})
	f.handle("GET /merge_requests", byPage(
		reply(http.StatusOK, page1, "X-Page", "1", "X-Per-Page", "100", "X-Next-Page", "2", "X-Prev-Page", "", "X-Total", "2", "X-Total-Pages", "2"),
		reply(http.StatusOK, page2, "X-Page", "2", "X-Per-Page", "100", "X-Next-Page", "", "X-Prev-Page", "1", "X-Total", "2", "X-Total-Pages", "2"),
	))
	f.handle("GET /merge_requests/1", reply(http.StatusOK, fixture(t, "merge_request.json")))
	f.handle("GET /merge_requests/2", reply(http.StatusOK, variant(t, "merge_request.json", func(v any) {
		obj(v)["iid"] = 2
	})))
	c := f.client(t)

	want := []forge.PullRequest{{
		Number: 1, Title: "test1", Author: "admin", HeadSHA: headSHA, BaseSHA: mergeBase,
		HeadBranch: "test1", BaseBranch: "main", Mergeable: forge.MergeableYes,
		URL: "http://gitlab.example.com/my-group/my-project/merge_requests/1",
	}, {
		Number: 2, Title: "test2", Author: "axel.block", HeadSHA: "8888888888888888888888888888888888888888", BaseSHA: "",
		HeadBranch: "test2", BaseBranch: "main", Mergeable: forge.MergeableNo,
		URL: "http://gitlab.example.com/my-group/my-project/merge_requests/2",
	}}
	for round := 1; round <= 2; round++ {
		got, err := c.ListPullRequests(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("ListPullRequests, round %d (-want +got):\n%s", round, d)
		}
	}

	reqs := f.requests()
	list := url.Values{"state": {"opened"}, "per_page": {"100"}}
	list2 := url.Values{"state": {"opened"}, "per_page": {"100"}, "page": {"2"}}
	wantReqs := []struct {
		path  string
		query url.Values
	}{
		{"/merge_requests", list}, {"/merge_requests", list2}, {"/merge_requests/1", nil}, {"/merge_requests/2", nil},
		// Round 2: !1's base SHA is known for its head; !2's diff is asked again.
		{"/merge_requests", list}, {"/merge_requests", list2}, {"/merge_requests/2", nil},
	}
	if len(reqs) != len(wantReqs) {
		t.Fatalf("%d requests, want %d: %+v", len(reqs), len(wantReqs), reqs)
	}
	for i, w := range wantReqs {
		checkRequest(t, reqs[i], "GET", w.path, w.query)
	}
}

func TestMergeable(t *testing.T) {
	for status, want := range map[string]forge.Mergeable{
		"mergeable":                forge.MergeableYes,
		"checking":                 forge.MergeableUnknown,
		"unchecked":                forge.MergeableUnknown,
		"preparing":                forge.MergeableUnknown,
		"approvals_syncing":        forge.MergeableUnknown,
		"conflict":                 forge.MergeableNo,
		"need_rebase":              forge.MergeableNo,
		"not_approved":             forge.MergeableNo,
		"draft_status":             forge.MergeableNo,
		"ci_still_running":         forge.MergeableNo,
		"discussions_not_resolved": forge.MergeableNo,
	} {
		f := newFake(t)
		f.handle("GET /merge_requests", reply(http.StatusOK, variant(t, "merge_requests.json", func(v any) {
			first(v)["detailed_merge_status"] = status
		})))
		f.handle("GET /merge_requests/1", reply(http.StatusOK, fixture(t, "merge_request.json")))
		got, err := f.client(t).ListPullRequests(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Mergeable != want {
			t.Errorf("detailed_merge_status %q: %s, want %s", status, got[0].Mergeable, want)
		}
	}
}

func TestListCommentsSkipsSystemNotesEveryPage(t *testing.T) {
	f := newFake(t)
	next := f.srv.URL + prefix + "/merge_requests/2/notes?order_by=created_at&page=2&per_page=100&sort=asc"
	f.handle("GET /merge_requests/2/notes", byPage(
		reply(http.StatusOK, fixture(t, "notes.json"), "Link", `<`+next+`>; rel="next"`),
		reply(http.StatusOK, notesPage2(t)),
	))
	since := time.Date(2013, 10, 2, 0, 0, 0, 0, time.UTC)
	got, err := f.client(t).ListComments(t.Context(), 2, since)
	if err != nil {
		t.Fatal(err)
	}
	want := []forge.Comment{{
		ID: 301, Author: "pipin", Body: "Comment for MR",
		CreatedAt: time.Date(2013, 10, 2, 8, 57, 14, 0, time.UTC),
		UpdatedAt: time.Date(2013, 10, 2, 8, 57, 14, 0, time.UTC),
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ListComments (-want +got):\n%s", d)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	q := url.Values{"order_by": {"created_at"}, "sort": {"asc"}, "per_page": {"100"}}
	checkRequest(t, reqs[0], "GET", "/merge_requests/2/notes", q)
	q.Set("page", "2")
	checkRequest(t, reqs[1], "GET", "/merge_requests/2/notes", q)
}

// notesPage2 is note.json after a copy of it older than the test's since.
func notesPage2(t *testing.T) []byte {
	t.Helper()
	var note, older map[string]any
	for _, v := range []*map[string]any{&note, &older} {
		if err := json.Unmarshal(fixture(t, "note.json"), v); err != nil {
			t.Fatal(err)
		}
	}
	older["id"], older["body"] = 300, "before since"
	older["created_at"], older["updated_at"] = "2013-10-01T08:00:00Z", "2013-10-01T08:00:00Z"
	b, err := json.Marshal([]any{older, note})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNotesAreCreatedEditedAndDeleted(t *testing.T) {
	f := newFake(t)
	f.handle("POST /merge_requests/2/notes", reply(http.StatusCreated, fixture(t, "note.json")))
	f.handle("PUT /merge_requests/2/notes/301", reply(http.StatusOK, fixture(t, "note.json")))
	f.handle("DELETE /merge_requests/2/notes/301", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	c := f.client(t)
	ctx := t.Context()

	got, err := c.CreateComment(ctx, 2, "Comment for MR")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != 301 || got.Author != "pipin" || got.Body != "Comment for MR" {
		t.Errorf("CreateComment = %+v", got)
	}
	if err := c.EditComment(ctx, 2, 301, "<!-- landform:preview -->\nedited"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteComment(ctx, 2, 301); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	checkRequest(t, reqs[0], "POST", "/merge_requests/2/notes", nil)
	checkJSON(t, reqs[0].Body, map[string]any{"body": "Comment for MR"})
	checkRequest(t, reqs[1], "PUT", "/merge_requests/2/notes/301", nil)
	checkJSON(t, reqs[1].Body, map[string]any{"body": "<!-- landform:preview -->\nedited"})
	checkRequest(t, reqs[2], "DELETE", "/merge_requests/2/notes/301", nil)
}

func TestSetStatus(t *testing.T) {
	const sha = "18f3e63d05582537db6d183d9d557be09e1f90c8"
	f := newFake(t)
	var mu sync.Mutex
	calls := 0
	f.handle("POST /statuses/"+sha, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 2 {
			reply(http.StatusBadRequest, []byte(`{"message":"Cannot transition status via :run from :running (Reasons(s): Status cannot transition via \"run\")"}`))(w, r)
			return
		}
		reply(http.StatusCreated, fixture(t, "status.json"))(w, r)
	})
	c := f.client(t)
	long := strings.Repeat("plan: 1 to add\n", 30)
	err := c.SetStatus(t.Context(), forge.Status{
		SHA: sha, Context: "landform/plan: envs/prod", State: forge.StatusError,
		Description: long, TargetURL: "https://landform.example.com/runs/42",
	})
	if err != nil {
		t.Fatal(err)
	}
	// GitLab refusing to set the state a status already has is no error.
	if err := c.SetStatus(t.Context(), forge.Status{SHA: sha, Context: "landform/plan: envs/prod", State: forge.StatusPending}); err != nil {
		t.Errorf("SetStatus of the same state = %v, want nil", err)
	}
	if err := c.SetStatus(t.Context(), forge.Status{SHA: sha, Context: "x", State: "running"}); landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("SetStatus(running) = %v, want EINVALID", err)
	}

	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	checkRequest(t, reqs[0], "POST", "/statuses/"+sha, nil)
	desc := string([]rune(strings.TrimSpace(strings.ReplaceAll(long, "\n", " ")))[:254]) + "…"
	if utf8.RuneCountInString(desc) != 255 {
		t.Fatalf("test: want is %d characters", utf8.RuneCountInString(desc))
	}
	checkJSON(t, reqs[0].Body, map[string]any{
		"state":       "failed",
		"name":        "landform/plan: envs/prod",
		"description": desc,
		"target_url":  "https://landform.example.com/runs/42",
	})
	checkJSON(t, reqs[1].Body, map[string]any{"state": "pending", "name": "landform/plan: envs/prod", "description": ""})
}

func TestIssues(t *testing.T) {
	const marker = "<!-- landform:drift -->"
	f := newFake(t)
	f.handle("POST /issues", reply(http.StatusCreated, variant(t, "issue.json", func(v any) {
		obj(v)["description"] = "the plan drifted"
	})))
	f.handle("PUT /issues/14", reply(http.StatusOK, variant(t, "issue.json", func(v any) {
		obj(v)["state"], obj(v)["title"], obj(v)["description"] = "closed", "Drift: none", "all clear"
	})))
	f.handle("GET /issues", byPage(
		// The documented issue has no description.
		reply(http.StatusOK, fixture(t, "issues.json"), "X-Page", "1", "X-Next-Page", "2", "X-Per-Page", "100"),
		reply(http.StatusOK, variant(t, "issues.json", func(v any) {
			is := first(v)
			is["iid"], is["title"], is["description"] = 9, "Drift", marker+"\nenvs/prod drifted"
			is["web_url"] = "http://gitlab.example.com/my-group/my-project/issues/9"
		}), "X-Page", "2", "X-Next-Page", "3", "X-Per-Page", "100"),
		func(w http.ResponseWriter, r *http.Request) { t.Error("FindIssue read on after a match") },
	))
	c := f.client(t)
	ctx := t.Context()

	created, err := c.CreateIssue(ctx, "Issues with auth", "the plan drifted")
	if err != nil {
		t.Fatal(err)
	}
	wantCreated := forge.Issue{Number: 14, Title: "Issues with auth", Body: "the plan drifted", Open: true,
		URL: "http://gitlab.example.com/my-group/my-project/issues/14"}
	if d := cmp.Diff(wantCreated, created); d != "" {
		t.Errorf("CreateIssue (-want +got):\n%s", d)
	}
	edited, err := c.EditIssue(ctx, 14, "Drift: none", "all clear", false)
	if err != nil {
		t.Fatal(err)
	}
	if edited.Open || edited.Title != "Drift: none" || edited.Body != "all clear" {
		t.Errorf("EditIssue = %+v, want closed", edited)
	}
	found, err := c.FindIssue(ctx, marker)
	if err != nil {
		t.Fatal(err)
	}
	if found == nil || found.Number != 9 || !found.Open {
		t.Errorf("FindIssue = %+v, want open issue 9", found)
	}

	reqs := f.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	checkRequest(t, reqs[0], "POST", "/issues", nil)
	checkJSON(t, reqs[0].Body, map[string]any{"title": "Issues with auth", "description": "the plan drifted"})
	checkRequest(t, reqs[1], "PUT", "/issues/14", nil)
	checkJSON(t, reqs[1].Body, map[string]any{"title": "Drift: none", "description": "all clear", "state_event": "close"})
	q := url.Values{"order_by": {"created_at"}, "sort": {"desc"}, "per_page": {"100"}}
	checkRequest(t, reqs[2], "GET", "/issues", q)
	q.Set("page", "2")
	checkRequest(t, reqs[3], "GET", "/issues", q)

	if _, err := c.EditIssue(ctx, 14, "Drift", "again", true); err != nil {
		t.Fatal(err)
	}
	reqs = f.requests()
	checkJSON(t, reqs[len(reqs)-1].Body, map[string]any{"title": "Drift", "description": "again", "state_event": "reopen"})
}

func TestRateLimitIsWaitedOutAndTheRequestReplayed(t *testing.T) {
	f := newFake(t)
	var mu sync.Mutex
	calls := 0
	f.handle("POST /merge_requests/2/notes", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			reply(http.StatusTooManyRequests, []byte("Retry later\n"),
				"Content-Type", "text/plain",
				"RateLimit-Name", "throttle_authenticated_api",
				"RateLimit-Limit", "60", "RateLimit-Observed", "67", "RateLimit-Remaining", "0",
				"RateLimit-Reset", "1609844400", "RateLimit-ResetTime", "Tue, 05 Jan 2021 11:00:00 GMT",
				"Retry-After", "30")(w, r)
			return
		}
		reply(http.StatusCreated, fixture(t, "note.json"))(w, r)
	})
	if _, err := f.client(t).CreateComment(t.Context(), 2, "Comment for MR"); err != nil {
		t.Fatal(err)
	}
	if got := f.sleep.Waits(); len(got) != 1 || got[0] != 30*time.Second {
		t.Errorf("waits %v, want [30s]", got)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (client-go must not retry on its own)", len(reqs))
	}
	for _, r := range reqs {
		checkRequest(t, r, "POST", "/merge_requests/2/notes", nil)
		checkJSON(t, r.Body, map[string]any{"body": "Comment for MR"})
	}
}

func TestErrorsCarryTheStatusAndGitLabsMessage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		code    string
		message string
		tries   int
	}{
		{"not found", http.StatusNotFound, `{"message":"404 Not found"}`,
			landform.ENOTFOUND, "gitlab: commenting on !2 of my-group/my-project: 404 Not Found", 1},
		{"unauthorized", http.StatusUnauthorized, `{"message":"401 Unauthorized"}`,
			landform.EUNAUTHORIZED, "gitlab: commenting on !2 of my-group/my-project: 401 Unauthorized", 1},
		{"validation", http.StatusBadRequest, `{"message":{"note":["is too long (maximum is 1000000 characters)"]}}`,
			landform.EINVALID, "gitlab: commenting on !2 of my-group/my-project: 400 note is too long (maximum is 1000000 characters)", 1},
		{"server error, after every attempt", http.StatusInternalServerError, `{"message":"500 Internal Server Error"}`,
			landform.EINTERNAL, "gitlab: commenting on !2 of my-group/my-project: 500 Internal Server Error", forge.DefaultAttempts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.handle("POST /merge_requests/2/notes", reply(tc.status, []byte(tc.body)))
			_, err := f.client(t).CreateComment(t.Context(), 2, "Comment for MR")
			if err == nil {
				t.Fatal("CreateComment succeeded")
			}
			if got := landform.ErrorCode(err); got != tc.code {
				t.Errorf("code %q, want %q (%v)", got, tc.code, err)
			}
			if err.Error() != tc.message {
				t.Errorf("error %q,\nwant  %q", err, tc.message)
			}
			if n := len(f.requests()); n != tc.tries {
				t.Errorf("%d requests, want %d", n, tc.tries)
			}
		})
	}
}

func TestNewRefusesIncompleteOptions(t *testing.T) {
	for _, o := range []Options{
		{Token: token},
		{Project: project},
		{Token: token, Project: project, BaseURL: "gitlab.example.com"},
	} {
		if _, err := New(o); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("New(%+v) = %v, want EINVALID", o, err)
		}
	}
	c, err := New(Options{Token: token, Project: "42"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.api.BaseURL().String(); got != "https://gitlab.com/api/v4/" {
		t.Errorf("default base URL %q", got)
	}
	if c.Kind() != forge.GitLab || c.MaxCommentLength() != forge.MaxCommentGitLab {
		t.Errorf("Kind %s, MaxCommentLength %d", c.Kind(), c.MaxCommentLength())
	}
}
