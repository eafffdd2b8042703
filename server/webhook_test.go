package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/landform/landform/forge"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/server"
)

// The payloads are the forge package's samples (see its
// testdata/webhooks/README.md).
func payload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "forge", "testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// delivery is one webhook request as a forge sends it.
type delivery struct {
	kind   forge.Kind
	event  string // the forge's event header
	id     string // the delivery ID ("" sends none)
	body   []byte
	secret string // signs the delivery ("" leaves it unsigned)
}

func (d delivery) request(t testing.TB, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/webhooks/"+string(d.kind), bytes.NewReader(d.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	mac := hmac.New(sha256.New, []byte(d.secret))
	mac.Write(d.body)
	sig := hex.EncodeToString(mac.Sum(nil))
	switch d.kind {
	case forge.GitHub:
		req.Header.Set("X-GitHub-Event", d.event)
		if d.id != "" {
			req.Header.Set("X-GitHub-Delivery", d.id)
		}
		if d.secret != "" {
			req.Header.Set("X-Hub-Signature-256", "sha256="+sig)
		}
	case forge.Gitea:
		// What Gitea sends (services/webhook/deliver.go).
		req.Header.Set("X-Gitea-Event", d.event)
		req.Header.Set("X-Gitea-Event-Type", d.event)
		req.Header.Set("X-GitHub-Event", d.event)
		if d.id != "" {
			req.Header.Set("X-Gitea-Delivery", d.id)
			req.Header.Set("X-GitHub-Delivery", d.id)
		}
		req.Header.Set("X-Gitea-Signature", sig)
		req.Header.Set("X-Hub-Signature-256", "sha256="+sig)
		if d.secret == "" {
			req.Header.Set("X-Gitea-Signature", "")
			req.Header.Set("X-Hub-Signature-256", "sha256=")
		}
	default:
		req.Header.Set("X-Gitlab-Event", d.event)
		if d.id != "" {
			req.Header.Set("X-Gitlab-Event-UUID", d.id)
		}
		if d.secret != "" {
			req.Header.Set("X-Gitlab-Token", d.secret)
		}
	}
	return req
}

type reply struct {
	Status string   `json:"status"`
	Repo   string   `json:"repo"`
	Repos  []string `json:"repos"`
	Event  string   `json:"event"`
	Reason string   `json:"reason"`
}

func send(t testing.TB, req *http.Request) (int, reply) {
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
	var r reply
	if resp.Header.Get("Content-Type") == "application/json" {
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("reply %q: %v", b, err)
		}
	}
	return resp.StatusCode, r
}

// triggers records the calls of the webhook callback.
type triggers struct {
	mu    sync.Mutex
	calls []trigger
}

type trigger struct {
	repo string
	ev   forge.WebhookEvent
}

func (tr *triggers) fn(repo string, ev forge.WebhookEvent) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.calls = append(tr.calls, trigger{repo, ev})
}

func (tr *triggers) take() []trigger {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	c := tr.calls
	tr.calls = nil
	return c
}

const (
	secretGitHub = "gh-Secret-0f1e2d"
	secretGitea  = "gitea-Secret-a9b8"
	secretGitLab = "gl-Token-77c6"
	secretOther  = "other-Secret-5544"
)

// testRepos: one repository per forge, the projects of the samples, and a
// second GitHub repository with its own secret.
var testRepos = []server.WebhookRepo{
	{Name: "infra", Kind: forge.GitHub, Project: "codertocat/hello-world", Secret: secretGitHub}, // case differs from the payload's
	{Name: "sample", Kind: forge.GitHub, Project: "binkkatal/sample_app", Secret: secretOther},
	{Name: "gitea-infra", Kind: forge.Gitea, Project: "example/example", Secret: secretGitea},
	{Name: "gitlab-infra", Kind: forge.GitLab, Project: "gitlab-org/gitlab-test", Secret: secretGitLab},
}

func newWebhookServer(t *testing.T, repos []server.WebhookRepo, logs io.Writer) (*httptest.Server, *triggers) {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tr := &triggers{}
	h := server.New(func(context.Context) runner.Health { return runner.Health{Status: runner.HealthOK} }, logger,
		server.WithWebhooks(repos, tr.fn))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, tr
}

func TestWebhookAccepted(t *testing.T) {
	var logs bytes.Buffer
	srv, tr := newWebhookServer(t, testRepos, &logs)
	tests := []struct {
		d       delivery
		repo    string
		event   forge.EventType
		inEvent string // a value the parsed event carries
	}{
		{delivery{forge.GitHub, "pull_request", "gh-1", payload(t, "github-pull_request.json"), secretGitHub}, "infra", forge.EventPullRequest, "ec26c3e57ca3a959ca5aad62de7213c562f8c821"},
		{delivery{forge.GitHub, "push", "gh-2", payload(t, "github-push.json"), secretOther}, "sample", forge.EventPush, "fd489864e7642b48eaad6e3f155c10e46810ec72"},
		{delivery{forge.Gitea, "pull_request", "gitea-1", payload(t, "gitea-pull_request.json"), secretGitea}, "gitea-infra", forge.EventPullRequest, "48e773f892a831faa47c0a160d1b7f0cd369ae2a"},
		{delivery{forge.Gitea, "issue_comment", "gitea-2", payload(t, "gitea-issue_comment.json"), secretGitea}, "gitea-infra", forge.EventComment, "example"},
		{delivery{forge.GitLab, "Note Hook", "gl-1", payload(t, "gitlab-note-merge_request.json"), secretGitLab}, "gitlab-infra", forge.EventComment, "This MR needs work."},
	}
	for _, tt := range tests {
		t.Run(string(tt.d.kind)+" "+tt.d.event, func(t *testing.T) {
			code, r := send(t, tt.d.request(t, srv.URL))
			if code != http.StatusAccepted || r.Status != "accepted" || r.Repo != tt.repo || r.Event != string(tt.event) {
				t.Errorf("%d %+v", code, r)
			}
			calls := tr.take()
			if len(calls) != 1 || calls[0].repo != tt.repo || calls[0].ev.Type != tt.event || calls[0].ev.Delivery != tt.d.id {
				t.Fatalf("triggers: %+v", calls)
			}
			b, _ := json.Marshal(calls[0].ev)
			if !strings.Contains(string(b), tt.inEvent) {
				t.Errorf("event %s lacks %q", b, tt.inEvent)
			}
		})
	}
	// Never the body, never a secret.
	for _, s := range []string{secretGitHub, secretGitea, secretGitLab, secretOther, "This MR needs work.", "Update the README"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the logs show %q:\n%s", s, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "delivery=gl-1") {
		t.Errorf("deliveries not logged:\n%s", logs.String())
	}
}

func TestWebhookRejected(t *testing.T) {
	srv, tr := newWebhookServer(t, testRepos, nil)
	pr := payload(t, "github-pull_request.json")
	tests := []struct {
		name string
		d    delivery
		want int
	}{
		{"forged", delivery{forge.GitHub, "pull_request", "f-1", pr, "guessed"}, http.StatusUnauthorized},
		{"unsigned", delivery{forge.GitHub, "pull_request", "f-2", pr, ""}, http.StatusUnauthorized},
		{"gitea unsigned", delivery{forge.Gitea, "pull_request", "f-3", payload(t, "gitea-pull_request.json"), ""}, http.StatusUnauthorized},
		{"gitlab wrong token", delivery{forge.GitLab, "Note Hook", "f-4", payload(t, "gitlab-note-merge_request.json"), secretGitLab + "x"}, http.StatusUnauthorized},
		{"secret of another forge", delivery{forge.GitLab, "Note Hook", "f-5", payload(t, "gitlab-note-merge_request.json"), secretGitHub}, http.StatusUnauthorized},
		// Signed with infra's secret, about sample's project.
		{"wrong project", delivery{forge.GitHub, "push", "f-6", payload(t, "github-push.json"), secretGitHub}, http.StatusForbidden},
		{"gitlab wrong project", delivery{forge.GitLab, "Push Hook", "f-7", payload(t, "gitlab-push.json"), secretGitLab}, http.StatusForbidden},
		{"not JSON", delivery{forge.GitHub, "push", "f-8", []byte("payload=%7B%7D"), secretGitHub}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, r := send(t, tt.d.request(t, srv.URL))
			if code != tt.want || r.Status != "rejected" || r.Reason == "" {
				t.Errorf("%d %+v, want %d", code, r, tt.want)
			}
			if strings.Contains(r.Reason, tt.d.secret) && tt.d.secret != "" {
				t.Errorf("the reply shows the secret: %q", r.Reason)
			}
			if calls := tr.take(); len(calls) != 0 {
				t.Errorf("triggered: %+v", calls)
			}
		})
	}

	// A verified event of another type is answered and triggers nothing.
	code, r := send(t, delivery{forge.GitHub, "ping", "p-1", pr, secretGitHub}.request(t, srv.URL))
	if code != http.StatusOK || r.Status != "ignored" {
		t.Errorf("ping: %d %+v", code, r)
	}
	if calls := tr.take(); len(calls) != 0 {
		t.Errorf("ping triggered: %+v", calls)
	}
}

func TestWebhookNoSecret(t *testing.T) {
	// No secret configured: nothing verifies, even what is unsigned or
	// signed with the empty secret (Atlantis accepts those; Landform does
	// not).
	repos := []server.WebhookRepo{
		{Name: "infra", Kind: forge.GitHub, Project: "Codertocat/Hello-World"},
		{Name: "gitlab-infra", Kind: forge.GitLab, Project: "gitlab-org/gitlab-test"},
	}
	srv, tr := newWebhookServer(t, repos, nil)
	for _, d := range []delivery{
		{forge.GitHub, "pull_request", "n-1", payload(t, "github-pull_request.json"), ""},
		{forge.GitLab, "Note Hook", "n-2", payload(t, "gitlab-note-merge_request.json"), ""},
		{forge.Gitea, "pull_request", "n-3", payload(t, "gitea-pull_request.json"), ""}, // no Gitea repository at all
	} {
		req := d.request(t, srv.URL)
		if d.kind == forge.GitHub {
			mac := hmac.New(sha256.New, nil)
			mac.Write(d.body)
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		}
		code, r := send(t, req)
		if code != http.StatusUnauthorized {
			t.Errorf("%s: %d %+v", d.kind, code, r)
		}
	}
	if calls := tr.take(); len(calls) != 0 {
		t.Errorf("triggered: %+v", calls)
	}
}

func TestWebhookReplay(t *testing.T) {
	srv, tr := newWebhookServer(t, testRepos, nil)
	d := delivery{forge.GitHub, "pull_request", "r-1", payload(t, "github-pull_request.json"), secretGitHub}
	if code, r := send(t, d.request(t, srv.URL)); code != http.StatusAccepted {
		t.Fatalf("first: %d %+v", code, r)
	}
	code, r := send(t, d.request(t, srv.URL))
	if code != http.StatusOK || r.Status != "ignored" || r.Reason != "duplicate delivery, ignored" {
		t.Errorf("replay: %d %+v", code, r)
	}
	if calls := tr.take(); len(calls) != 1 {
		t.Errorf("%d triggers, want 1", len(calls))
	}

	// A forged replay is refused before it is looked up, and does not
	// make the next genuine delivery a duplicate.
	forged := d
	forged.id, forged.secret = "r-2", "guessed"
	if code, _ := send(t, forged.request(t, srv.URL)); code != http.StatusUnauthorized {
		t.Errorf("forged: %d", code)
	}
	d.id = "r-2"
	if code, r := send(t, d.request(t, srv.URL)); code != http.StatusAccepted {
		t.Errorf("after a forged one: %d %+v", code, r)
	}
	// Without a delivery ID nothing can be deduplicated.
	d.id = ""
	for range 2 {
		if code, r := send(t, d.request(t, srv.URL)); code != http.StatusAccepted {
			t.Errorf("no delivery ID: %d %+v", code, r)
		}
	}
	if calls := tr.take(); len(calls) != 3 {
		t.Errorf("%d triggers, want 3", len(calls))
	}
	// The same ID from another forge is another delivery.
	g := delivery{forge.Gitea, "pull_request", "r-1", payload(t, "gitea-pull_request.json"), secretGitea}
	if code, r := send(t, g.request(t, srv.URL)); code != http.StatusAccepted {
		t.Errorf("gitea: %d %+v", code, r)
	}
}

func TestWebhookReplayBounded(t *testing.T) {
	tr := &triggers{}
	h := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler),
		server.WithWebhooks(testRepos, tr.fn))
	body := payload(t, "gitlab-note-merge_request.json")
	status := func(id string) int {
		req := delivery{forge.GitLab, "Note Hook", id, body, secretGitLab}.request(t, "")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	const remembered = 10_000
	for i := range remembered + 1 {
		if code := status(fmt.Sprintf("id-%d", i)); code != http.StatusAccepted {
			t.Fatalf("delivery %d: %d", i, code)
		}
	}
	if code := status(fmt.Sprintf("id-%d", remembered)); code != http.StatusOK {
		t.Errorf("the last delivery replayed: %d, want 200", code)
	}
	if code := status("id-1"); code != http.StatusOK {
		t.Errorf("the second delivery replayed: %d, want 200", code)
	}
	if code := status("id-0"); code != http.StatusAccepted {
		t.Errorf("the first delivery, forgotten: %d, want 202", code)
	}
}

func TestWebhookOversize(t *testing.T) {
	srv, tr := newWebhookServer(t, testRepos, nil)
	big := append([]byte(`{"ref":"`), bytes.Repeat([]byte("a"), forge.MaxWebhookBody)...)
	big = append(big, `"}`...)
	d := delivery{forge.GitHub, "push", "o-1", big, secretGitHub}

	// With a Content-Length: refused before reading.
	if code, r := send(t, d.request(t, srv.URL)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("with length: %d %+v", code, r)
	}
	// Chunked: refused once the limit is read.
	req := d.request(t, srv.URL)
	req.Body = io.NopCloser(bytes.NewReader(big))
	req.ContentLength = -1
	if code, r := send(t, req); code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: %d %+v", code, r)
	}
	if calls := tr.take(); len(calls) != 0 {
		t.Errorf("triggered: %+v", calls)
	}
}

func TestWebhookRoutes(t *testing.T) {
	srv, tr := newWebhookServer(t, testRepos, nil)
	d := delivery{forge.GitHub, "pull_request", "m-1", payload(t, "github-pull_request.json"), secretGitHub}

	for _, method := range []string{http.MethodGet, http.MethodPut} {
		req := d.request(t, srv.URL)
		req.Method = method
		if code, _ := send(t, req); code != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want 405", method, code)
		}
	}
	for _, path := range []string{"/webhooks/bitbucket", "/webhooks/GitHub", "/webhooks/github/x", "/webhooks/"} {
		req := d.request(t, srv.URL)
		req.URL.Path = path
		if code, _ := send(t, req); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, code)
		}
	}
	if calls := tr.take(); len(calls) != 0 {
		t.Errorf("triggered: %+v", calls)
	}

	// Without WithWebhooks there is no endpoint.
	plain := httptest.NewServer(server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler)))
	defer plain.Close()
	if code, _ := send(t, d.request(t, plain.URL)); code != http.StatusNotFound {
		t.Errorf("without webhooks: %d, want 404", code)
	}
}

func TestWebhookSharedSecret(t *testing.T) {
	// Two repositories with one secret (an organization's webhook): the
	// payload's project picks the one triggered; a project configured
	// twice triggers both.
	repos := []server.WebhookRepo{
		{Name: "a", Kind: forge.GitHub, Project: "binkkatal/sample_app", Secret: secretGitHub},
		{Name: "b", Kind: forge.GitHub, Project: "Codertocat/Hello-World", Secret: secretGitHub},
		{Name: "c", Kind: forge.GitHub, Project: "Codertocat/Hello-World", Secret: secretGitHub},
	}
	srv, tr := newWebhookServer(t, repos, nil)
	code, r := send(t, delivery{forge.GitHub, "push", "s-1", payload(t, "github-push.json"), secretGitHub}.request(t, srv.URL))
	if calls := tr.take(); code != http.StatusAccepted || r.Repo != "a" || len(calls) != 1 || calls[0].repo != "a" {
		t.Errorf("%d %+v %+v", code, r, calls)
	}
	code, r = send(t, delivery{forge.GitHub, "pull_request", "s-2", payload(t, "github-pull_request.json"), secretGitHub}.request(t, srv.URL))
	if calls := tr.take(); code != http.StatusAccepted || len(r.Repos) != 2 || len(calls) != 2 || calls[0].repo != "b" || calls[1].repo != "c" {
		t.Errorf("%d %+v %+v", code, r, calls)
	}
}

// observations records what WithWebhookObserver reports, as "forge result".
type observations struct {
	mu  sync.Mutex
	got []string
}

func (o *observations) fn(forge, result string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, forge+" "+result)
}

func (o *observations) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	g := o.got
	o.got = nil
	return g
}

func TestWebhookObserver(t *testing.T) {
	big := append([]byte(`{"ref":"`), bytes.Repeat([]byte("a"), forge.MaxWebhookBody)...)
	pr := payload(t, "github-pull_request.json")
	tests := []struct {
		name string
		d    delivery
		path string // instead of the forge's
		code int
		want string
	}{
		{"accepted", delivery{forge.GitHub, "pull_request", "o-1", pr, secretGitHub}, "", http.StatusAccepted, "github accepted"},
		{"duplicate", delivery{forge.GitHub, "pull_request", "o-1", pr, secretGitHub}, "", http.StatusOK, "github duplicate"},
		{"ignored", delivery{forge.GitHub, "ping", "o-2", pr, secretGitHub}, "", http.StatusOK, "github ignored"},
		{"forged", delivery{forge.Gitea, "pull_request", "o-3", payload(t, "gitea-pull_request.json"), "guessed"}, "", http.StatusUnauthorized, "gitea unauthorized"},
		{"wrong project", delivery{forge.GitLab, "Push Hook", "o-4", payload(t, "gitlab-push.json"), secretGitLab}, "", http.StatusForbidden, "gitlab forbidden"},
		{"not JSON", delivery{forge.GitHub, "push", "o-5", []byte("payload=%7B%7D"), secretGitHub}, "", http.StatusBadRequest, "github bad_request"},
		{"too large", delivery{forge.GitHub, "push", "o-6", big, secretGitHub}, "", http.StatusRequestEntityTooLarge, "github too_large"},
		{"unknown forge", delivery{forge.GitHub, "push", "o-7", pr, secretGitHub}, "/webhooks/bitbucket", http.StatusNotFound, "unknown unknown_forge"},
	}
	// The observer may come before or after WithWebhooks.
	for _, order := range []string{"after", "before"} {
		t.Run(order, func(t *testing.T) {
			obs, tr := &observations{}, &triggers{}
			opts := []server.Option{server.WithWebhooks(testRepos, tr.fn), server.WithWebhookObserver(obs.fn)}
			if order == "before" {
				opts[0], opts[1] = opts[1], opts[0]
			}
			srv := httptest.NewServer(server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler), opts...))
			defer srv.Close()
			for _, tt := range tests {
				req := tt.d.request(t, srv.URL)
				if tt.path != "" {
					req.URL.Path = tt.path
				}
				if code, r := send(t, req); code != tt.code {
					t.Fatalf("%s: %d %+v, want %d", tt.name, code, r, tt.code)
				}
				// Reported before the reply: there is nothing to wait for.
				if got := obs.take(); len(got) != 1 || got[0] != tt.want {
					t.Errorf("%s: observed %q, want [%q]", tt.name, got, tt.want)
				}
			}
			if calls := tr.take(); len(calls) != 1 {
				t.Errorf("%d triggers, want the accepted delivery's", len(calls))
			}
		})
	}

	// Without WithWebhooks there is no endpoint, and nothing to observe.
	obs := &observations{}
	plain := httptest.NewServer(server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler),
		server.WithWebhookObserver(obs.fn)))
	defer plain.Close()
	if code, _ := send(t, tests[0].d.request(t, plain.URL)); code != http.StatusNotFound {
		t.Errorf("observer without webhooks: %d, want 404", code)
	}
	if got := obs.take(); len(got) != 0 {
		t.Errorf("observer without webhooks observed %q", got)
	}
}
