package giteatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// Comment is a comment on an issue or pull request as Gitea's API shows it.
type Comment struct {
	ID        int64
	Author    string // the poster's login
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Status is a commit status as Gitea's API shows it.
type Status struct {
	Context     string
	State       string // pending, success, error, failure, warning
	Description string
	TargetURL   string
	Creator     string
}

// CreateRepo creates an empty repository name owned by the admin and returns
// its clone URL with the admin's token in it (see CloneURL): push a first
// commit to it with git.
func (s *Server) CreateRepo(t testing.TB, name string) (cloneURL string) {
	t.Helper()
	s.createRepo(t, name, false)
	return s.CloneURL(name)
}

// CreateInitRepo creates a repository name owned by the admin with a first
// commit (a README) on main, and returns its clone URL like CreateRepo.
func (s *Server) CreateInitRepo(t testing.TB, name string) (cloneURL string) {
	t.Helper()
	s.createRepo(t, name, true)
	return s.CloneURL(name)
}

func (s *Server) createRepo(t testing.TB, name string, autoInit bool) {
	t.Helper()
	in := map[string]any{"name": name, "auto_init": autoInit, "default_branch": "main", "private": false}
	if autoInit {
		in["readme"] = "Default"
	}
	s.api(t, http.MethodPost, "/user/repos", in, nil)
}

// CreatePullRequest opens a pull request of the admin's repository repo
// from branch head into branch base and returns its number. After the first
// push to an empty repository, Gitea refuses pull requests until its push
// queue has marked the repository not empty: CreatePullRequest waits for
// that first (at most pushTimeout).
func (s *Server) CreatePullRequest(t testing.TB, repo, head, base, title string) int {
	t.Helper()
	s.waitNotEmpty(t, repo)
	var out struct {
		Number int `json:"number"`
	}
	s.api(t, http.MethodPost, s.repoPath(repo, "pulls"),
		map[string]any{"head": head, "base": base, "title": title}, &out)
	return out.Number
}

// AddWebhook adds a Gitea webhook to the admin's repository repo that
// posts JSON, signed with secret, to url on pushes and on every issue and
// pull request event (comments included).
func (s *Server) AddWebhook(t testing.TB, repo, url, secret string) {
	t.Helper()
	s.api(t, http.MethodPost, s.repoPath(repo, "hooks"), map[string]any{
		"type":   "gitea",
		"active": true,
		"events": []string{"push", "issues", "pull_request"},
		"config": map[string]string{"url": url, "content_type": "json", "secret": secret},
	}, nil)
}

// CreateUser creates a second (non-admin) user name and returns an access
// token of that user with every scope. The user can comment on the admin's
// public repositories.
func (s *Server) CreateUser(t testing.TB, name string) (token string) {
	t.Helper()
	f := false
	s.api(t, http.MethodPost, "/admin/users", map[string]any{
		"username":             name,
		"email":                name + "@landform.invalid",
		"password":             userPassword,
		"must_change_password": &f,
	}, nil)
	// Gitea creates tokens only with the user's own password (basic auth).
	var out struct {
		SHA1 string `json:"sha1"`
	}
	s.request(t, http.MethodPost, "/users/"+url.PathEscape(name)+"/tokens",
		map[string]any{"name": "landform-test", "scopes": []string{"all"}}, &out,
		func(r *http.Request) { r.SetBasicAuth(name, userPassword) })
	if out.SHA1 == "" {
		t.Fatalf("giteatest: no token in Gitea's answer for user %s", name)
	}
	return out.SHA1
}

// Comments returns the comments of pull request (or issue) number of the
// admin's repository repo, oldest first.
func (s *Server) Comments(t testing.TB, repo string, number int) []Comment {
	t.Helper()
	var raw []struct {
		ID   int64 `json:"id"`
		User struct {
			Login string `json:"login"`
		} `json:"user"`
		Body      string    `json:"body"`
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	s.api(t, http.MethodGet, s.repoPath(repo, fmt.Sprintf("issues/%d/comments", number)), nil, &raw)
	out := make([]Comment, len(raw))
	for i, c := range raw {
		out[i] = Comment{ID: c.ID, Author: c.User.Login, Body: c.Body, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	}
	return out
}

// Statuses returns every status of commit sha of the admin's repository
// repo, newest first, all pages.
func (s *Server) Statuses(t testing.TB, repo, sha string) []Status {
	t.Helper()
	var out []Status
	for page := 1; ; page++ {
		// Gitea's default order is by creation time, to the second; its
		// sort "leastindex" is by index, highest (newest) first.
		var raw []struct {
			Context     string `json:"context"`
			Status      string `json:"status"`
			Description string `json:"description"`
			TargetURL   string `json:"target_url"`
			Creator     struct {
				Login string `json:"login"`
			} `json:"creator"`
		}
		s.api(t, http.MethodGet, s.repoPath(repo, fmt.Sprintf("statuses/%s?sort=leastindex&limit=50&page=%d", url.PathEscape(sha), page)), nil, &raw)
		for _, r := range raw {
			out = append(out, Status{Context: r.Context, State: r.Status, Description: r.Description, TargetURL: r.TargetURL, Creator: r.Creator.Login})
		}
		if len(raw) < 50 {
			return out
		}
	}
}

// pushTimeout bounds how long Gitea may take to process a push.
const pushTimeout = 30 * time.Second

// waitNotEmpty waits until Gitea no longer says repository repo is empty.
func (s *Server) waitNotEmpty(t testing.TB, repo string) {
	t.Helper()
	deadline := time.Now().Add(pushTimeout)
	for {
		var r struct {
			Empty bool `json:"empty"`
		}
		s.api(t, http.MethodGet, s.repoPath(repo, ""), nil, &r)
		if !r.Empty {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("giteatest: repository %s is still empty after %s: push to it before opening a pull request", repo, pushTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// repoPath is the API path of the admin's repository repo, followed by
// "/"+rest unless rest is empty.
func (s *Server) repoPath(repo, rest string) string {
	p := "/repos/" + adminName + "/" + url.PathEscape(repo)
	if rest != "" {
		p += "/" + rest
	}
	return p
}

// api calls Gitea's API as the admin (token) and decodes the answer into
// out (when not nil), failing the test unless Gitea answers 2xx.
func (s *Server) api(t testing.TB, method, path string, in, out any) {
	t.Helper()
	s.request(t, method, path, in, out, func(r *http.Request) { r.Header.Set("Authorization", "token "+s.token) })
}

func (s *Server) request(t testing.TB, method, path string, in, out any, auth func(*http.Request)) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+"/api/v1"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	auth(req)
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("giteatest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("giteatest: %s %s: reading the answer: %v", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		t.Fatalf("giteatest: %s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("giteatest: %s %s: decoding %q: %v", method, path, b, err)
		}
	}
}

// CommentAs posts body on pull request (or issue) number of the admin's
// repository repo as the user whose token is given (CreateUser's).
func (s *Server) CommentAs(t testing.TB, token, repo string, number int, body string) {
	t.Helper()
	s.request(t, http.MethodPost, s.repoPath(repo, fmt.Sprintf("issues/%d/comments", number)), map[string]any{"body": body}, nil,
		func(r *http.Request) { r.Header.Set("Authorization", "token "+token) })
}

// MergePullRequest merges pull request number of the admin's repository
// repo with a merge commit. Gitea answers 405 "Please try again later"
// while it is still checking whether the pull request can merge (after a
// push to its base): it tries again, for at most pushTimeout.
func (s *Server) MergePullRequest(t testing.TB, repo string, number int) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"Do": "merge"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(pushTimeout)
	for {
		req, err := http.NewRequest(http.MethodPost, s.url+"/api/v1"+s.repoPath(repo, fmt.Sprintf("pulls/%d/merge", number)), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "token "+s.token)
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("giteatest: merging pull request %d: %v", number, err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode/100 == 2:
			return
		case resp.StatusCode == http.StatusMethodNotAllowed && time.Now().Before(deadline):
			// Still checking the pull request: ask again shortly.
			time.Sleep(200 * time.Millisecond)
		default:
			t.Fatalf("giteatest: merging pull request %d: %s: %s", number, resp.Status, answer)
		}
	}
}

// Issue is an issue of a repository.
type Issue struct {
	Number int    `json:"number"`
	Title  string `json:"title"`
	Body   string `json:"body"`
	State  string `json:"state"` // open or closed
}

// Issues returns every issue (open and closed, not pull requests) of the
// admin's repository repo.
func (s *Server) Issues(t testing.TB, repo string) []Issue {
	t.Helper()
	var out []Issue
	s.api(t, http.MethodGet, s.repoPath(repo, "issues?state=all&type=issues&limit=50"), nil, &out)
	return out
}
