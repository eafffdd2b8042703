package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/forge"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/server"
)

// commentCall is one call of the comment handler.
type commentCall struct {
	repo     string
	pr       int
	c        landform.Comment
	ctxErr   error
	deadline bool
}

// comments records the calls of the comment handler.
type comments struct {
	mu    sync.Mutex
	calls []commentCall
}

func (cs *comments) fn(ctx context.Context, repo string, pr int, c landform.Comment) {
	_, deadline := ctx.Deadline()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.calls = append(cs.calls, commentCall{repo, pr, c, ctx.Err(), deadline})
}

func (cs *comments) take() []commentCall {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.calls
	cs.calls = nil
	return c
}

const secretKnative = "knative-Secret-3c2b"

// commentRepos: testRepos and the project of the GitHub pull request
// comment sample.
var commentRepos = append([]server.WebhookRepo{
	{Name: "knative", Kind: forge.GitHub, Project: "chhsia0/knative-route-demo", Secret: secretKnative},
}, testRepos...)

// withAction returns the JSON body with its "action" replaced.
func withAction(t *testing.T, body []byte, action string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["action"] = action
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The handler is served directly: once ServeHTTP returns, the comment
// handler has run or never will.
func TestWebhookComments(t *testing.T) {
	tr, cs := &triggers{}, &comments{}
	h := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler),
		server.WithWebhooks(commentRepos, tr.fn), server.WithComments(cs.fn))
	serve := func(d delivery, cancelled bool) int {
		t.Helper()
		req := d.request(t, "")
		if cancelled {
			// The forge hung up before the handler ran: the comment
			// is handled all the same.
			ctx, cancel := context.WithCancel(req.Context())
			cancel()
			req = req.WithContext(ctx)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	giteaComment := payload(t, "gitea-issue_comment.json")

	tests := []struct {
		name      string
		d         delivery
		cancelled bool
		code      int
		want      []commentCall // repo, pr, and the comment's ID and author
		triggered int
	}{
		{"gitea", delivery{forge.Gitea, "issue_comment", "c-1", giteaComment, secretGitea}, false, http.StatusAccepted,
			[]commentCall{{repo: "gitea-infra", pr: 2, c: landform.Comment{ID: 6, Author: "example", Body: "example"}}}, 1},
		{"github, the forge gone", delivery{forge.GitHub, "issue_comment", "c-2", payload(t, "github-issue_comment.json"), secretKnative}, true, http.StatusAccepted,
			[]commentCall{{repo: "knative", pr: 3, c: landform.Comment{ID: 546616131, Author: "chhsia0", Body: "/build"}}}, 1},
		{"gitlab", delivery{forge.GitLab, "Note Hook", "c-3", payload(t, "gitlab-note-merge_request.json"), secretGitLab}, false, http.StatusAccepted,
			[]commentCall{{repo: "gitlab-infra", pr: 1, c: landform.Comment{ID: 1244, Author: "root", Body: "This MR needs work."}}}, 1},
		{"redelivered", delivery{forge.Gitea, "issue_comment", "c-1", giteaComment, secretGitea}, false, http.StatusOK, nil, 0},
		{"on an issue", delivery{forge.GitHub, "issue_comment", "c-4", payload(t, "github-issue_comment-issue.json"), secretGitHub}, false, http.StatusAccepted, nil, 1},
		{"edited", delivery{forge.Gitea, "issue_comment", "c-5", withAction(t, giteaComment, "edited"), secretGitea}, false, http.StatusAccepted, nil, 1},
		{"deleted", delivery{forge.Gitea, "issue_comment", "c-6", withAction(t, giteaComment, "deleted"), secretGitea}, false, http.StatusAccepted, nil, 1},
		{"a push", delivery{forge.GitHub, "push", "c-7", payload(t, "github-push.json"), secretOther}, false, http.StatusAccepted, nil, 1},
		{"forged", delivery{forge.Gitea, "issue_comment", "c-8", giteaComment, "guessed"}, false, http.StatusUnauthorized, nil, 0},
		{"another project", delivery{forge.GitHub, "issue_comment", "c-9", payload(t, "github-issue_comment.json"), secretGitHub}, false, http.StatusForbidden, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := serve(tt.d, tt.cancelled); code != tt.code {
				t.Errorf("status %d, want %d", code, tt.code)
			}
			if calls := tr.take(); len(calls) != tt.triggered {
				t.Errorf("%d triggers, want %d", len(calls), tt.triggered)
			}
			got := cs.take()
			if len(got) != len(tt.want) {
				t.Fatalf("comment handler calls: %+v, want %+v", got, tt.want)
			}
			for i, g := range got {
				w := tt.want[i]
				if g.repo != w.repo || g.pr != w.pr || g.c.ID != w.c.ID || g.c.Author != w.c.Author || g.c.Body != w.c.Body {
					t.Errorf("call %d: %s #%d %+v, want %s #%d %+v", i, g.repo, g.pr, g.c, w.repo, w.pr, w.c)
				}
				if g.ctxErr != nil || !g.deadline {
					t.Errorf("call %d: context error %v, deadline %v: want a live context with a deadline", i, g.ctxErr, g.deadline)
				}
			}
		})
	}
}

// A comment on a project configured twice reaches the handler for each.
func TestWebhookCommentsSharedProject(t *testing.T) {
	repos := []server.WebhookRepo{
		{Name: "a", Kind: forge.Gitea, Project: "example/example", Secret: secretGitea},
		{Name: "b", Kind: forge.Gitea, Project: "Example/Example", Secret: secretGitea},
	}
	cs := &comments{}
	h := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler),
		server.WithWebhooks(repos, func(string, forge.WebhookEvent) {}), server.WithComments(cs.fn))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, delivery{forge.Gitea, "issue_comment", "s-1", payload(t, "gitea-issue_comment.json"), secretGitea}.request(t, ""))
	calls := cs.take()
	if rec.Code != http.StatusAccepted || len(calls) != 2 || calls[0].repo != "a" || calls[1].repo != "b" {
		t.Errorf("%d %+v", rec.Code, calls)
	}
}

// The forge has its answer while the comment is being handled: a command
// may take longer than a forge waits.
func TestWebhookCommentsAnswerFirst(t *testing.T) {
	release := make(chan struct{})
	handled := make(chan struct{})
	h := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler),
		server.WithWebhooks(testRepos, func(string, forge.WebhookEvent) {}),
		server.WithComments(func(ctx context.Context, repo string, pr int, c landform.Comment) {
			<-release
			close(handled)
		}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // before srv.Close, which waits for the handler

	req := delivery{forge.Gitea, "issue_comment", "a-1", payload(t, "gitea-issue_comment.json"), secretGitea}.request(t, srv.URL)
	type answer struct {
		code int
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body) // the whole reply
		answered <- answer{resp.StatusCode, err}
	}()
	select {
	case a := <-answered:
		if a.err != nil || a.code != http.StatusAccepted {
			t.Errorf("status %d, %v", a.code, a.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer while the comment is being handled")
	}
	unblock()
	<-handled
}

// WithComments alone serves nothing.
func TestCommentsWithoutWebhooks(t *testing.T) {
	cs := &comments{}
	h := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler), server.WithComments(cs.fn))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, delivery{forge.Gitea, "issue_comment", "w-1", payload(t, "gitea-issue_comment.json"), secretGitea}.request(t, ""))
	if rec.Code != http.StatusNotFound || len(cs.take()) != 0 {
		t.Errorf("%d", rec.Code)
	}
}
