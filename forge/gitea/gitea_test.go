package gitea

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/landform/landform"
	"github.com/landform/landform/forge"
	"github.com/landform/landform/test/giteatest"
	"github.com/landform/landform/test/tftest"
)

// The tests run against a real Gitea (test/giteatest); each test makes its
// own repositories on one server.

// newClient is a client of the admin's repository repo with the default
// HTTP client, whose waits between retries are skipped.
func newClient(t *testing.T, s *giteatest.Server, repo, token string) *Client {
	t.Helper()
	return newClientRetry(t, s, repo, token, forge.RetryOptions{Sleep: noSleep})
}

func newClientRetry(t *testing.T, s *giteatest.Server, repo, token string, retry forge.RetryOptions) *Client {
	t.Helper()
	c, err := New(Options{BaseURL: s.URL(), Token: token, Owner: s.Admin(), Repo: repo, Retry: retry})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// pushRepo creates repository name with a commit on main and returns the
// working copy and the clone URL it pushes to.
func pushRepo(t *testing.T, s *giteatest.Server, name string) (*tftest.GitRepo, string) {
	t.Helper()
	cloneURL := s.CreateRepo(t, name)
	r := tftest.NewGitRepo(t)
	r.Write(map[string]string{"main.tf": "# main\n"}).Commit("first")
	r.Git("push", "--quiet", cloneURL, "main")
	return r, cloneURL
}

func TestClient(t *testing.T) {
	s := giteatest.Start(t)
	t.Run("PullRequests", func(t *testing.T) { testPullRequests(t, s) })
	t.Run("Comments", func(t *testing.T) { testComments(t, s) })
	t.Run("Statuses", func(t *testing.T) { testStatuses(t, s) })
	t.Run("Issues", func(t *testing.T) { testIssues(t, s) })
	t.Run("Teams", func(t *testing.T) { testTeams(t, s) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, s) })
	t.Run("Context", func(t *testing.T) { testContext(t, s) })
	// Last: it stops the server.
	t.Run("Outage", func(t *testing.T) { testOutage(t, s) })
}

func testPullRequests(t *testing.T, s *giteatest.Server) {
	ctx := context.Background()
	r, cloneURL := pushRepo(t, s, "pulls")
	// change-1, 2 and 4 add files; change-3 rewrites main.tf, which main
	// then changes too: a conflict. Main moves before the pull requests
	// open, so that Gitea checks each once (checks take seconds on a busy
	// machine).
	heads := map[string]string{}
	for i := 1; i <= 4; i++ {
		branch := fmt.Sprintf("change-%d", i)
		file := fmt.Sprintf("file%d.tf", i)
		if i == 3 {
			file = "main.tf"
		}
		r.Checkout("main").Branch(branch)
		heads[branch] = r.Write(map[string]string{file: "# " + branch + "\n"}).Commit(branch)
		r.Git("push", "--quiet", cloneURL, branch)
	}
	r.Checkout("main")
	newBase := r.Write(map[string]string{"main.tf": "# ours\n"}).Commit("main moves")
	r.Git("push", "--quiet", cloneURL, "main")
	numbers := map[string]int{}
	for i := 1; i <= 4; i++ {
		branch := fmt.Sprintf("change-%d", i)
		numbers[branch] = s.CreatePullRequest(t, "pulls", branch, "main", "Title "+branch)
	}

	c := newClient(t, s, "pulls", s.Token())
	// change-4 is closed: not listed.
	state := sdk.StateClosed
	if _, _, err := c.api(ctx).EditPullRequest(s.Admin(), "pulls", int64(numbers["change-4"]), sdk.EditPullRequestOption{State: &state}); err != nil {
		t.Fatal(err)
	}
	c.pageSize = 1 // 3 open pull requests: 3 pages

	want := func(branch string, m forge.Mergeable) forge.PullRequest {
		return forge.PullRequest{
			Number: numbers[branch], Title: "Title " + branch, Author: s.Admin(),
			HeadSHA: heads[branch], BaseSHA: newBase, HeadBranch: branch, BaseBranch: "main", Mergeable: m,
			URL: fmt.Sprintf("%s/%s/pulls/pulls/%d", s.URL(), s.Admin(), numbers[branch]),
		}
	}
	wantAll := []forge.PullRequest{
		want("change-1", forge.MergeableYes), want("change-2", forge.MergeableYes), want("change-3", forge.MergeableNo),
	}
	// Gitea checks mergeability in the background after each push (seconds
	// on a busy machine; meanwhile "mergeable" is false): wait until it
	// has settled on the answers expected.
	var got []forge.PullRequest
	deadline := time.Now().Add(90 * time.Second)
	for {
		var err error
		got, err = c.ListPullRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if equalPulls(got, wantAll) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !equalPulls(got, wantAll) {
		t.Fatalf("ListPullRequests:\n got %+v\nwant %+v", got, wantAll)
	}
}

func equalPulls(a, b []forge.PullRequest) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testComments(t *testing.T, s *giteatest.Server) {
	ctx := context.Background()
	pushRepo(t, s, "comments")
	c := newClient(t, s, "comments", s.Token())
	issue, err := c.CreateIssue(ctx, "comments", "a place to comment")
	if err != nil {
		t.Fatal(err)
	}
	n := issue.Number

	// 55 comments: more than Gitea's largest page (MAX_RESPONSE_ITEMS, 50).
	var created []forge.Comment
	for i := 0; i < 55; i++ {
		cm, err := c.CreateComment(ctx, n, fmt.Sprintf("comment %d", i))
		if err != nil {
			t.Fatal(err)
		}
		if cm.ID == 0 || cm.Author != s.Admin() || cm.Body != fmt.Sprintf("comment %d", i) || cm.CreatedAt.IsZero() || cm.URL == "" {
			t.Fatalf("CreateComment returned %+v", cm)
		}
		created = append(created, cm)
	}
	// A second user comments with a client of its own.
	alice := newClient(t, s, "comments", s.CreateUser(t, "alice"))
	byAlice, err := alice.CreateComment(ctx, n, "landform apply")
	if err != nil {
		t.Fatal(err)
	}
	if byAlice.Author != "alice" {
		t.Fatalf("alice's comment has author %q", byAlice.Author)
	}
	created = append(created, byAlice)

	for _, size := range []int{0, 2} {
		c.pageSize = size
		got, err := c.ListComments(ctx, n, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(created) {
			t.Fatalf("page size %d: %d comments, want %d", size, len(got), len(created))
		}
		for i := range got {
			if got[i].ID != created[i].ID || got[i].Body != created[i].Body || got[i].Author != created[i].Author {
				t.Fatalf("page size %d: comment %d is %+v, want %+v", size, i, got[i], created[i])
			}
		}
	}
	c.pageSize = 0

	// since: Gitea filters on the update time, to the second.
	since := created[40].CreatedAt
	got, err := c.ListComments(ctx, n, since)
	if err != nil {
		t.Fatal(err)
	}
	checkSince(t, got, created, since)

	// Edit the oldest comment: it shows, and is listed as updated.
	if err := c.EditComment(ctx, n, created[0].ID, "comment 0, edited"); err != nil {
		t.Fatal(err)
	}
	seen := s.Comments(t, "comments", n)
	if seen[0].ID != created[0].ID || seen[0].Body != "comment 0, edited" {
		t.Fatalf("after EditComment Gitea shows %+v", seen[0])
	}
	got, err = c.ListComments(ctx, n, seen[0].UpdatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].ID != created[0].ID || got[0].Body != "comment 0, edited" {
		t.Fatalf("ListComments since the edit: %+v", got)
	}

	// Delete one: it is gone.
	if err := c.DeleteComment(ctx, n, created[1].ID); err != nil {
		t.Fatal(err)
	}
	for _, cm := range s.Comments(t, "comments", n) {
		if cm.ID == created[1].ID {
			t.Fatalf("comment %d still there after DeleteComment", cm.ID)
		}
	}
	got, err = c.ListComments(ctx, n, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(created)-1 {
		t.Fatalf("%d comments after a delete, want %d", len(got), len(created)-1)
	}

	// Comments on a pull request work the same.
	r, cloneURL := pushRepo(t, s, "pr-comments")
	r.Branch("feature").Write(map[string]string{"x.tf": "#\n"}).Commit("x")
	r.Git("push", "--quiet", cloneURL, "feature")
	pr := s.CreatePullRequest(t, "pr-comments", "feature", "main", "feature")
	pc := newClient(t, s, "pr-comments", s.Token())
	cm, err := pc.CreateComment(ctx, pr, "<!-- landform -->\nplan")
	if err != nil {
		t.Fatal(err)
	}
	if seen := s.Comments(t, "pr-comments", pr); len(seen) != 1 || seen[0].ID != cm.ID || seen[0].Body != "<!-- landform -->\nplan" {
		t.Fatalf("Gitea shows %+v on the pull request", seen)
	}
}

// checkSince checks that got holds exactly the comments of all updated at
// or after since's second.
func checkSince(t *testing.T, got, all []forge.Comment, since time.Time) {
	t.Helper()
	floor := since.Truncate(time.Second)
	var want []int64
	for _, cm := range all {
		if !cm.UpdatedAt.Before(floor) {
			want = append(want, cm.ID)
		}
	}
	var ids []int64
	for _, cm := range got {
		ids = append(ids, cm.ID)
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) || len(ids) == 0 {
		t.Fatalf("ListComments since %s: %v, want %v", since, ids, want)
	}
}

func testStatuses(t *testing.T, s *giteatest.Server) {
	ctx := context.Background()
	r, _ := pushRepo(t, s, "statuses")
	sha := r.Head()
	c := newClient(t, s, "statuses", s.Token())
	long := strings.Repeat("é", 200)
	for _, st := range []forge.Status{
		{SHA: sha, Context: "landform/plan: prod", State: forge.StatusPending, Description: "planning"},
		{SHA: sha, Context: "landform/plan: prod", State: forge.StatusSuccess, Description: "2 to add\nsecond line", TargetURL: "http://landform.invalid/runs/1"},
		{SHA: sha, Context: "landform/plan: dev", State: forge.StatusFailure, Description: long},
		{SHA: sha, Context: "landform/plan: qa", State: forge.StatusError, Description: "terraform crashed"},
	} {
		if err := c.SetStatus(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	latest := map[string]giteatest.Status{}
	all := s.Statuses(t, "statuses", sha)
	if len(all) != 4 {
		t.Fatalf("Gitea shows %d statuses, want 4: %+v", len(all), all)
	}
	for i := len(all) - 1; i >= 0; i-- { // newest first: the last write wins
		latest[all[i].Context] = all[i]
	}
	want := map[string]giteatest.Status{
		"landform/plan: prod": {Context: "landform/plan: prod", State: "success", Description: "2 to add", TargetURL: "http://landform.invalid/runs/1", Creator: s.Admin()},
		"landform/plan: dev":  {Context: "landform/plan: dev", State: "failure", Description: strings.Repeat("é", 139) + "…", Creator: s.Admin()},
		"landform/plan: qa":   {Context: "landform/plan: qa", State: "error", Description: "terraform crashed", Creator: s.Admin()},
	}
	for k, w := range want {
		if latest[k] != w {
			t.Errorf("status %s: Gitea shows %+v, want %+v", k, latest[k], w)
		}
	}
}

func testIssues(t *testing.T, s *giteatest.Server) {
	ctx := context.Background()
	r, cloneURL := pushRepo(t, s, "issues")
	c := newClient(t, s, "issues", s.Token())
	const marker = "<!-- landform:drift -->"

	if got, err := c.FindIssue(ctx, marker); err != nil || got != nil {
		t.Fatalf("FindIssue in an empty repository: %+v, %v", got, err)
	}
	first, err := c.CreateIssue(ctx, "Drift", marker+"\nprod drifted")
	if err != nil {
		t.Fatal(err)
	}
	if first.Number == 0 || first.Title != "Drift" || first.Body != marker+"\nprod drifted" || !first.Open || first.URL == "" {
		t.Fatalf("CreateIssue returned %+v", first)
	}
	// Newer issues without the marker, and a pull request whose body has
	// it (FindIssue looks at issues only): with 2 a page, the marked issue
	// is on the third page.
	for i := 0; i < 4; i++ {
		if _, err := c.CreateIssue(ctx, fmt.Sprintf("other %d", i), "no marker"); err != nil {
			t.Fatal(err)
		}
	}
	r.Branch("feature").Write(map[string]string{"x.tf": "#\n"}).Commit("x")
	r.Git("push", "--quiet", cloneURL, "feature")
	pr := s.CreatePullRequest(t, "issues", "feature", "main", "a pull request")
	body := marker
	if _, _, err := c.api(ctx).EditPullRequest(s.Admin(), "issues", int64(pr), sdk.EditPullRequestOption{Body: &body}); err != nil {
		t.Fatal(err)
	}
	c.pageSize = 2

	got, err := c.FindIssue(ctx, marker)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || *got != first {
		t.Fatalf("FindIssue: %+v, want %+v", got, first)
	}

	closed, err := c.EditIssue(ctx, first.Number, "Drift (resolved)", marker+"\nno drift", false)
	if err != nil {
		t.Fatal(err)
	}
	if closed.Open || closed.Title != "Drift (resolved)" || closed.Body != marker+"\nno drift" || closed.Number != first.Number {
		t.Fatalf("EditIssue (close) returned %+v", closed)
	}
	if got, err := c.FindIssue(ctx, marker); err != nil || got == nil || *got != closed {
		t.Fatalf("FindIssue after closing: %+v, %v; want %+v", got, err, closed)
	}
	reopened, err := c.EditIssue(ctx, first.Number, "Drift", marker+"\nprod drifted again", true)
	if err != nil {
		t.Fatal(err)
	}
	if !reopened.Open {
		t.Fatalf("EditIssue (reopen) returned %+v", reopened)
	}

	// A newer marked issue is the one found.
	second, err := c.CreateIssue(ctx, "Drift again", "prod\n"+marker)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.FindIssue(ctx, marker); err != nil || got == nil || *got != second {
		t.Fatalf("FindIssue with two marked issues: %+v, %v; want %+v", got, err, second)
	}
	if got, err := c.FindIssue(ctx, "<!-- landform:other -->"); err != nil || got != nil {
		t.Fatalf("FindIssue of an unknown marker: %+v, %v", got, err)
	}
}

func testErrors(t *testing.T, s *giteatest.Server) {
	ctx := context.Background()
	pushRepo(t, s, "errors")
	c := newClient(t, s, "errors", s.Token())

	err := c.EditComment(ctx, 1, 999999, "x")
	if landform.ErrorCode(err) != landform.ENOTFOUND || !strings.Contains(err.Error(), "404") {
		t.Errorf("EditComment of a missing comment: %v (code %q)", err, landform.ErrorCode(err))
	}
	// Gitea 1.26 answers a comment on a missing issue with 500 "issue does
	// not exist": an error without a code, which the transport retries.
	attempts := 0
	counting := newClientRetry(t, s, "errors", s.Token(), forge.RetryOptions{
		Attempts: 3,
		Sleep:    func(ctx context.Context, _ time.Duration) error { attempts++; return ctx.Err() },
	})
	if _, err := counting.CreateComment(ctx, 424242, "x"); err == nil || !strings.Contains(err.Error(), "does not exist") ||
		landform.ErrorCode(err) != landform.EINTERNAL || attempts != 2 {
		t.Errorf("CreateComment on a missing issue: %v after %d retries", err, attempts)
	}
	missing := newClient(t, s, "no-such-repo", s.Token())
	if _, err := missing.ListPullRequests(ctx); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("ListPullRequests of a missing repository: %v (code %q)", err, landform.ErrorCode(err))
	}
	bad := newClient(t, s, "errors", "0000000000000000000000000000000000000000")
	if _, err := bad.CreateIssue(ctx, "x", "y"); landform.ErrorCode(err) != landform.EUNAUTHORIZED {
		t.Errorf("CreateIssue with a wrong token: %v (code %q)", err, landform.ErrorCode(err))
	}
	// Another user may comment on a public repository but not edit the
	// admin's comment.
	cm, err := c.CreateComment(ctx, mustIssue(t, c), "mine")
	if err != nil {
		t.Fatal(err)
	}
	bob := newClient(t, s, "errors", s.CreateUser(t, "bob"))
	if err := bob.EditComment(ctx, 0, cm.ID, "yours"); landform.ErrorCode(err) != landform.EUNAUTHORIZED {
		t.Errorf("EditComment of another's comment: %v (code %q)", err, landform.ErrorCode(err))
	}
}

func mustIssue(t *testing.T, c *Client) int {
	t.Helper()
	is, err := c.CreateIssue(context.Background(), "an issue", "body")
	if err != nil {
		t.Fatal(err)
	}
	return is.Number
}

// testContext: each call carries its own context, also concurrently.
func testContext(t *testing.T, s *giteatest.Server) {
	pushRepo(t, s, "context")
	c := newClient(t, s, "context", s.Token())
	n := mustIssue(t, c)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.CreateComment(cancelled, n, "never"); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateComment with a cancelled context: %v", err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if i%2 == 1 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				cancel()
			}
			_, errs[i] = c.CreateComment(ctx, n, fmt.Sprintf("concurrent %d", i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%2 == 0 && err != nil {
			t.Errorf("call %d (live context): %v", i, err)
		}
		if i%2 == 1 && !errors.Is(err, context.Canceled) {
			t.Errorf("call %d (cancelled context): %v", i, err)
		}
	}
	if got := len(s.Comments(t, "context", n)); got != 5 {
		t.Errorf("%d comments, want the 5 of live contexts", got)
	}
}

// testOutage: a call made while Gitea is down is retried and succeeds once
// Gitea is back; with one attempt it fails with a network error (no code).
func testOutage(t *testing.T, s *giteatest.Server) {
	ctx := context.Background()
	pushRepo(t, s, "outage")
	once := newClientRetry(t, s, "outage", s.Token(), forge.RetryOptions{Attempts: 1})
	var waits []time.Duration
	retrying := newClientRetry(t, s, "outage", s.Token(), forge.RetryOptions{
		Sleep: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			if len(waits) == 2 {
				s.Restart(t) // Gitea comes back during the second wait
			}
			return ctx.Err()
		},
	})

	s.Stop()
	if _, err := once.ListPullRequests(ctx); err == nil || landform.ErrorCode(err) != landform.EINTERNAL {
		t.Fatalf("ListPullRequests while Gitea is down: %v (code %q)", err, landform.ErrorCode(err))
	}
	is, err := retrying.CreateIssue(ctx, "during the outage", "body")
	if err != nil {
		t.Fatalf("CreateIssue across the outage: %v (waits %v)", err, waits)
	}
	if len(waits) != 2 || is.Number == 0 {
		t.Fatalf("CreateIssue across the outage: issue %+v after waits %v, want 2 waits", is, waits)
	}
	// The request's body was sent again in full.
	if got, err := once.FindIssue(ctx, "body"); err != nil || got == nil || got.Title != "during the outage" {
		t.Fatalf("FindIssue after the outage: %+v, %v", got, err)
	}
}

func TestNew(t *testing.T) {
	// New makes no request: a transport that fails the test proves it.
	noCalls := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("New sent %s %s", r.Method, r.URL)
		return nil, errors.New("no requests")
	})}
	c, err := New(Options{BaseURL: "https://gitea.example.com/sub/", Token: "t", Owner: "o", Repo: "r", HTTPClient: noCalls})
	if err != nil {
		t.Fatal(err)
	}
	if c.baseURL != "https://gitea.example.com/sub" || c.Kind() != forge.Gitea || c.MaxCommentLength() != forge.MaxCommentGitea {
		t.Fatalf("client %+v", c)
	}
	for _, o := range []Options{
		{BaseURL: "", Token: "t", Owner: "o", Repo: "r"},
		{BaseURL: "gitea.example.com", Token: "t", Owner: "o", Repo: "r"},
		{BaseURL: "ftp://gitea.example.com", Token: "t", Owner: "o", Repo: "r"},
		{BaseURL: "https://gitea.example.com", Token: "", Owner: "o", Repo: "r"},
		{BaseURL: "https://gitea.example.com", Token: "t", Owner: "", Repo: "r"},
		{BaseURL: "https://gitea.example.com", Token: "t", Owner: "o", Repo: ""},
	} {
		if _, err := New(o); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("New(%+v): %v, want an EINVALID error", o, err)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFirstLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"2 to add", "2 to add"},
		{"  first line \nsecond", "first line"},
		{strings.Repeat("x", 140), strings.Repeat("x", 140)},
		{strings.Repeat("x", 141), strings.Repeat("x", 139) + "…"},
	} {
		if got := firstLine(tc.in); got != tc.want {
			t.Errorf("firstLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
