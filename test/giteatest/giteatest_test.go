package giteatest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform/test/tftest"
)

// TestServer starts Gitea, pushes to a new repository over HTTP with the
// token, opens a pull request, comments on it as a second user, sets a
// status, and checks that all of it is still there after a restart.
func TestServer(t *testing.T) {
	begin := time.Now()
	s := Start(t)
	t.Logf("Start took %s", time.Since(begin).Round(time.Millisecond))

	var version struct {
		Version string `json:"version"`
	}
	s.api(t, http.MethodGet, "/version", nil, &version)
	if version.Version == "" {
		t.Fatal("no version from /api/v1/version")
	}
	if s.Admin() != "admin" || s.Token() == "" || !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Fatalf("Admin %q, Token %q, URL %q", s.Admin(), s.Token(), s.URL())
	}

	cloneURL := s.CreateRepo(t, "infra")
	repo := tftest.NewGitRepo(t)
	base := repo.Write(map[string]string{"main.tf": "# main\n"}).Commit("first")
	repo.Git("push", "--quiet", cloneURL, "main")
	head := repo.Branch("feature").Write(map[string]string{"main.tf": "# changed\n"}).Commit("change")
	repo.Git("push", "--quiet", cloneURL, "feature")

	number := s.CreatePullRequest(t, "infra", "feature", "main", "Change main")
	if number != 1 {
		t.Fatalf("first pull request has number %d", number)
	}

	userToken := s.CreateUser(t, "alice")
	comment := map[string]string{"body": "landform plan"}
	s.request(t, http.MethodPost, s.repoPath("infra", fmt.Sprintf("issues/%d/comments", number)), comment, nil,
		func(r *http.Request) { r.Header.Set("Authorization", "token "+userToken) })
	s.api(t, http.MethodPost, s.repoPath("infra", "statuses/"+head),
		map[string]string{"state": "success", "context": "landform/plan: prod", "description": "no changes"}, nil)

	check := func(when string) {
		t.Helper()
		var pr struct {
			Number int    `json:"number"`
			Title  string `json:"title"`
			State  string `json:"state"`
			Head   struct {
				Ref string `json:"ref"`
				SHA string `json:"sha"`
			} `json:"head"`
			Base struct {
				Ref string `json:"ref"`
				SHA string `json:"sha"`
			} `json:"base"`
		}
		s.api(t, http.MethodGet, s.repoPath("infra", fmt.Sprintf("pulls/%d", number)), nil, &pr)
		if pr.Title != "Change main" || pr.State != "open" || pr.Head.Ref != "feature" || pr.Head.SHA != head ||
			pr.Base.Ref != "main" || pr.Base.SHA != base {
			t.Errorf("%s: pull request %+v, want head %s base %s", when, pr, head, base)
		}
		comments := s.Comments(t, "infra", number)
		if len(comments) != 1 || comments[0].Author != "alice" || comments[0].Body != "landform plan" {
			t.Errorf("%s: comments %+v", when, comments)
		}
		statuses := s.Statuses(t, "infra", head)
		if len(statuses) != 1 || statuses[0].State != "success" || statuses[0].Context != "landform/plan: prod" ||
			statuses[0].Description != "no changes" || statuses[0].Creator != "admin" {
			t.Errorf("%s: statuses %+v", when, statuses)
		}
	}
	check("before the restart")

	s.Stop()
	if _, err := http.Get(s.URL() + "/api/v1/version"); err == nil {
		t.Fatal("Gitea still answers after Stop")
	}
	begin = time.Now()
	s.Restart(t)
	t.Logf("Restart took %s", time.Since(begin).Round(time.Millisecond))
	check("after the restart")

	// The token still pushes after the restart.
	repo.Write(map[string]string{"main.tf": "# changed again\n"}).Commit("again")
	repo.Git("push", "--quiet", cloneURL, "feature")
}

// TestCreateInitRepo makes a repository with a first commit on main.
func TestCreateInitRepo(t *testing.T) {
	s := Start(t)
	cloneURL := s.CreateInitRepo(t, "seeded")
	out := tftest.Git(t, t.TempDir(), "ls-remote", cloneURL, "refs/heads/main")
	if !strings.HasSuffix(out, "refs/heads/main") {
		t.Fatalf("ls-remote: %q", out)
	}
}
