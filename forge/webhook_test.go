package forge_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/landform/landform/forge"
)

// sample is a payload of testdata/webhooks with the headers its forge sends
// with it (see the README there).
type sample struct {
	file   string
	kind   forge.Kind
	header map[string]string
}

var samples = []sample{
	{"github-push.json", forge.GitHub, map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}},
	{"github-push-tag-deleted.json", forge.GitHub, map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "d2c2a7f0-7d0f-11e9-8f9e-2a86e4085a59"}},
	{"github-pull_request.json", forge.GitHub, map[string]string{"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "c5d5c3c0-7d0f-11e9-9a2b-1f2d6c7e8a90"}},
	{"github-issue_comment.json", forge.GitHub, map[string]string{"X-GitHub-Event": "issue_comment", "X-GitHub-Delivery": "4f1e3b40-f80b-11e9-8a4d-0a1b2c3d4e5f"}},
	{"github-issue_comment-issue.json", forge.GitHub, map[string]string{"X-GitHub-Event": "issue_comment", "X-GitHub-Delivery": "9a8b7c6d-7d0f-11e9-8f9e-2a86e4085a59"}},
	// Gitea sends X-Gitea-Event (HookEventType.Event()) and the precise
	// X-Gitea-Event-Type, and the same under X-Gogs-* and X-GitHub-*.
	{"gitea-push.json", forge.Gitea, map[string]string{"X-Gitea-Event": "push", "X-Gitea-Event-Type": "push", "X-Gitea-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473", "X-GitHub-Event": "push"}},
	{"gitea-pull_request.json", forge.Gitea, map[string]string{"X-Gitea-Event": "pull_request", "X-Gitea-Event-Type": "pull_request", "X-Gitea-Delivery": "0b6b4a8e-9f7d-4a55-9d0c-6a3f1b2e8c11"}},
	{"gitea-issue_comment.json", forge.Gitea, map[string]string{"X-Gitea-Event": "issue_comment", "X-Gitea-Event-Type": "pull_request_comment", "X-Gitea-Delivery": "3c1f9e2a-5b7d-4e8f-a1c2-d3e4f5a6b7c8"}},
	{"gitlab-push.json", forge.GitLab, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e", "Idempotency-Key": "f5e5f430-f57b-4e6e-9fac-d9128cd7232f"}},
	{"gitlab-merge_request.json", forge.GitLab, map[string]string{"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Event-UUID": "8e0c7a1b-2d3e-4f50-9a6b-7c8d9e0f1a2b"}},
	{"gitlab-note-merge_request.json", forge.GitLab, map[string]string{"X-Gitlab-Event": "Note Hook", "Idempotency-Key": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"}},
	{"gitlab-note-issue.json", forge.GitLab, map[string]string{"X-Gitlab-Event": "Note Hook", "Idempotency-Key": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}},
}

func (s sample) body(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", s.file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s sample) headers() http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range s.header {
		h.Set(k, v)
	}
	return h
}

func sampleNamed(t testing.TB, file string) sample {
	t.Helper()
	for _, s := range samples {
		if s.file == file {
			return s
		}
	}
	t.Fatalf("no sample %s", file)
	return sample{}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSamplesListed keeps the table and the directory in step.
func TestSamplesListed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(samples) {
		t.Errorf("%d payloads in testdata/webhooks, %d in the samples table", len(files), len(samples))
	}
	for _, f := range files {
		sampleNamed(t, filepath.Base(f))
	}
}

func TestParseWebhookSamples(t *testing.T) {
	zeros := strings.Repeat("0", 40)
	tests := map[string]forge.WebhookEvent{
		"github-push.json": {
			Kind: forge.GitHub, Type: forge.EventPush, Delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
			Repo:      "binkkatal/sample_app",
			CloneURLs: []string{"https://github.com/binkkatal/sample_app.git", "git@github.com:binkkatal/sample_app.git"},
			Ref:       "refs/heads/master", Before: "737d38c599c1b2991664dfc6155d6bf516fcce36", After: "fd489864e7642b48eaad6e3f155c10e46810ec72",
		},
		"github-push-tag-deleted.json": {
			Kind: forge.GitHub, Type: forge.EventPush, Delivery: "d2c2a7f0-7d0f-11e9-8f9e-2a86e4085a59",
			Repo:      "Codertocat/Hello-World",
			CloneURLs: []string{"https://github.com/Codertocat/Hello-World.git", "git@github.com:Codertocat/Hello-World.git"},
			Ref:       "refs/tags/simple-tag", Before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246", After: zeros,
		},
		"github-pull_request.json": {
			Kind: forge.GitHub, Type: forge.EventPullRequest, Delivery: "c5d5c3c0-7d0f-11e9-9a2b-1f2d6c7e8a90",
			Repo:      "Codertocat/Hello-World",
			CloneURLs: []string{"https://github.com/Codertocat/Hello-World.git", "git@github.com:Codertocat/Hello-World.git"},
			Action:    "synchronize",
			PullRequest: &forge.PullRequest{
				Number: 2, Title: "Update the README with new information.", Author: "Codertocat",
				HeadSHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", BaseSHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
				HeadBranch: "changes", BaseBranch: "master", Mergeable: forge.MergeableUnknown,
				URL: "https://github.com/Codertocat/Hello-World/pull/2",
			},
			Number: 2, IsPullRequest: true,
		},
		"github-issue_comment.json": {
			Kind: forge.GitHub, Type: forge.EventComment, Delivery: "4f1e3b40-f80b-11e9-8a4d-0a1b2c3d4e5f",
			Repo:      "chhsia0/knative-route-demo",
			CloneURLs: []string{"https://github.com/chhsia0/knative-route-demo.git", "git@github.com:chhsia0/knative-route-demo.git"},
			Action:    "created", Number: 3, IsPullRequest: true,
			Comment: &forge.Comment{
				ID: 546616131, Author: "chhsia0", Body: "/build",
				CreatedAt: mustTime(t, "2019-10-26T16:09:23Z"), UpdatedAt: mustTime(t, "2019-10-26T16:09:23Z"),
				URL: "https://github.com/chhsia0/knative-route-demo/pull/3#issuecomment-546616131",
			},
		},
		"github-issue_comment-issue.json": {
			Kind: forge.GitHub, Type: forge.EventComment, Delivery: "9a8b7c6d-7d0f-11e9-8f9e-2a86e4085a59",
			Repo:      "Codertocat/Hello-World",
			CloneURLs: []string{"https://github.com/Codertocat/Hello-World.git", "git@github.com:Codertocat/Hello-World.git"},
			Action:    "created", Number: 1,
			Comment: &forge.Comment{
				ID: 492700400, Author: "Codertocat", Body: "You are totally right! I'll get this fixed right away.",
				CreatedAt: mustTime(t, "2019-05-15T15:20:21Z"), UpdatedAt: mustTime(t, "2019-05-15T15:20:21Z"),
				URL: "https://github.com/Codertocat/Hello-World/issues/1#issuecomment-492700400",
			},
		},
		"gitea-push.json": {
			Kind: forge.Gitea, Type: forge.EventPush, Delivery: "f6266f16-1bf3-46a5-9ea4-602e06ead473",
			Repo:      "gitea/webhooks",
			CloneURLs: []string{"http://localhost:3000/gitea/webhooks.git", "ssh://gitea@localhost:2222/gitea/webhooks.git"},
			Ref:       "refs/heads/develop", Before: "28e1879d029cb852e4844d9c718537df08844e03", After: "bffeb74224043ba2feb48d137756c8a9331c449a",
		},
		"gitea-pull_request.json": {
			Kind: forge.Gitea, Type: forge.EventPullRequest, Delivery: "0b6b4a8e-9f7d-4a55-9d0c-6a3f1b2e8c11",
			Repo:      "example/example",
			CloneURLs: []string{"http://localhost:3000/example/example.git", "git@localhost:example/example.git"},
			Action:    "opened",
			PullRequest: &forge.PullRequest{
				Number: 2, Title: "update", Author: "example2",
				HeadSHA: "48e773f892a831faa47c0a160d1b7f0cd369ae2a", BaseSHA: "67b56589a45103f891bdee7c0546e5d40bc02001",
				HeadBranch: "master", BaseBranch: "master", Mergeable: forge.MergeableYes,
				URL: "http://localhost:3000/example/example/pulls/2",
			},
			Number: 2, IsPullRequest: true,
		},
		"gitea-issue_comment.json": {
			Kind: forge.Gitea, Type: forge.EventComment, Delivery: "3c1f9e2a-5b7d-4e8f-a1c2-d3e4f5a6b7c8",
			Repo:      "example/example",
			CloneURLs: []string{"http://localhost:3000/example/example.git", "git@localhost:example/example.git"},
			Action:    "created", Number: 2, IsPullRequest: true,
			Comment: &forge.Comment{
				ID: 6, Author: "example", Body: "example",
				CreatedAt: mustTime(t, "2022-03-09T16:31:34+09:00"), UpdatedAt: mustTime(t, "2022-03-09T16:31:34+09:00"),
				URL: "http://localhost:3000/example/example/pulls/2#issuecomment-6",
			},
		},
		"gitlab-push.json": {
			Kind: forge.GitLab, Type: forge.EventPush, Delivery: "f5e5f430-f57b-4e6e-9fac-d9128cd7232f", // Idempotency-Key first
			Repo:      "mike/diaspora",
			CloneURLs: []string{"http://example.com/mike/diaspora.git", "git@example.com:mike/diaspora.git"},
			Ref:       "refs/heads/master", Before: "95790bf891e76fee5e1747ab589903a6a1f80f22", After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
		},
		"gitlab-merge_request.json": {
			Kind: forge.GitLab, Type: forge.EventPullRequest, Delivery: "8e0c7a1b-2d3e-4f50-9a6b-7c8d9e0f1a2b",
			Repo:      "gitlabhq/gitlab-test",
			CloneURLs: []string{"http://example.com/gitlabhq/gitlab-test.git", "git@example.com:gitlabhq/gitlab-test.git"},
			Action:    "open",
			PullRequest: &forge.PullRequest{
				Number: 1, Title: "MS-Viewport", HeadSHA: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
				HeadBranch: "ms-viewport", BaseBranch: "master", Mergeable: forge.MergeableYes,
				URL: "http://example.com/diaspora/merge_requests/1",
			},
			Number: 1, IsPullRequest: true,
		},
		"gitlab-note-merge_request.json": {
			Kind: forge.GitLab, Type: forge.EventComment, Delivery: "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
			Repo:      "gitlab-org/gitlab-test",
			CloneURLs: []string{"http://example.com/gitlab-org/gitlab-test.git", "git@example.com:gitlab-org/gitlab-test.git"},
			Action:    "created",
			PullRequest: &forge.PullRequest{
				Number: 1, Title: "Tempora et eos debitis quae laborum et.", HeadSHA: "562e173be03b8ff2efb05345d12df18815438a4b",
				HeadBranch: "master", BaseBranch: "markdown", Mergeable: forge.MergeableNo,
				URL: "http://example.com/gitlab-org/gitlab-test/-/merge_requests/1",
			},
			Number: 1, IsPullRequest: true,
			Comment: &forge.Comment{
				ID: 1244, Author: "root", Body: "This MR needs work.",
				CreatedAt: mustTime(t, "2015-05-17T18:21:36Z"), UpdatedAt: mustTime(t, "2015-05-17T18:21:36Z"),
				URL: "http://example.com/gitlab-org/gitlab-test/merge_requests/1#note_1244",
			},
		},
		"gitlab-note-issue.json": {
			Kind: forge.GitLab, Type: forge.EventComment, Delivery: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
			Repo:      "gitlab-org/gitlab-test",
			CloneURLs: []string{"http://example.com/gitlab-org/gitlab-test.git", "git@example.com:gitlab-org/gitlab-test.git"},
			Action:    "created", Number: 17,
			Comment: &forge.Comment{
				ID: 1241, Author: "user1", Body: "Hello world",
				CreatedAt: mustTime(t, "2015-05-17T17:06:40Z"), UpdatedAt: mustTime(t, "2015-05-17T17:06:40Z"),
				URL: "http://example.com/gitlab-org/gitlab-test/issues/17#note_1241",
			},
		},
	}
	if len(tests) != len(samples) {
		t.Fatalf("%d expectations for %d samples", len(tests), len(samples))
	}
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			want, ok := tests[s.file]
			if !ok {
				t.Fatal("no expectation")
			}
			got, err := forge.ParseWebhook(s.kind, s.headers(), s.body(t))
			if err != nil {
				t.Fatal(err)
			}
			// Times compare by instant (GitLab's "UTC" and RFC 3339's Z
			// are different locations).
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

// sign returns the headers that make body verify with secret.
func sign(kind forge.Kind, body []byte, secret string) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	sig := hex.EncodeToString(mac.Sum(nil))
	h := http.Header{}
	switch kind {
	case forge.GitHub:
		h.Set("X-Hub-Signature-256", "sha256="+sig)
	case forge.Gitea:
		h.Set("X-Gitea-Signature", sig)
		h.Set("X-Hub-Signature-256", "sha256="+sig)
	case forge.GitLab:
		h.Set("X-Gitlab-Token", secret)
	}
	return h
}

func TestVerifyWebhook(t *testing.T) {
	const secret = "s3cr3t-Landform-hook"
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			body := s.body(t)
			if err := forge.VerifyWebhook(s.kind, sign(s.kind, body, secret), body, secret); err != nil {
				t.Fatalf("signed with the secret: %v", err)
			}
			check := func(name string, h http.Header, body []byte, secret string, want error) {
				t.Helper()
				err := forge.VerifyWebhook(s.kind, h, body, secret)
				if !errors.Is(err, want) {
					t.Errorf("%s: %v, want %v", name, err, want)
				}
				if err != nil && secret != "" && strings.Contains(err.Error(), secret) {
					t.Errorf("%s: the error shows the secret: %v", name, err)
				}
			}
			check("other secret", sign(s.kind, body, secret+"x"), body, secret, forge.ErrSignatureMismatch)
			check("empty secret", sign(s.kind, body, ""), body, "", forge.ErrNoSecret)
			check("no header", http.Header{}, body, secret, forge.ErrSignatureMissing)
			if s.kind != forge.GitLab {
				// The token is the secret; only HMACs sign the body.
				check("body changed", sign(s.kind, body, secret), append(bytes.Clone(body), ' '), secret, forge.ErrSignatureMismatch)
			}
		})
	}

	body := []byte(`{"zen":"Keep it logically awesome."}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	sig := hex.EncodeToString(mac.Sum(nil))
	tests := []struct {
		name   string
		kind   forge.Kind
		header http.Header
		want   error
	}{
		{"github upper-case hex", forge.GitHub, http.Header{"X-Hub-Signature-256": {"sha256=" + strings.ToUpper(sig)}}, nil},
		{"github without prefix", forge.GitHub, http.Header{"X-Hub-Signature-256": {sig}}, forge.ErrSignatureMalformed},
		{"github sha1 only", forge.GitHub, http.Header{"X-Hub-Signature": {"sha1=0123"}}, forge.ErrSignatureMissing},
		{"github empty", forge.GitHub, http.Header{"X-Hub-Signature-256": {""}}, forge.ErrSignatureMissing},
		{"github short", forge.GitHub, http.Header{"X-Hub-Signature-256": {"sha256=" + sig[:62]}}, forge.ErrSignatureMalformed},
		{"github not hex", forge.GitHub, http.Header{"X-Hub-Signature-256": {"sha256=" + strings.Repeat("zz", 32)}}, forge.ErrSignatureMalformed},
		{"github twice", forge.GitHub, http.Header{"X-Hub-Signature-256": {"sha256=" + sig, "sha256=" + sig}}, forge.ErrSignatureMalformed},
		{"gitea", forge.Gitea, http.Header{"X-Gitea-Signature": {sig}}, nil},
		{"gitea with prefix", forge.Gitea, http.Header{"X-Gitea-Signature": {"sha256=" + sig}}, forge.ErrSignatureMalformed},
		{"gitea hub header only", forge.Gitea, http.Header{"X-Hub-Signature-256": {"sha256=" + sig}}, forge.ErrSignatureMissing},
		{"gitea without secret on the forge", forge.Gitea, http.Header{"X-Gitea-Signature": {""}, "X-Hub-Signature-256": {"sha256="}}, forge.ErrSignatureMissing},
		{"gitlab", forge.GitLab, http.Header{"X-Gitlab-Token": {secret}}, nil},
		{"gitlab prefix of the secret", forge.GitLab, http.Header{"X-Gitlab-Token": {secret[:5]}}, forge.ErrSignatureMismatch},
		{"gitlab empty", forge.GitLab, http.Header{"X-Gitlab-Token": {""}}, forge.ErrSignatureMissing},
		{"gitlab twice", forge.GitLab, http.Header{"X-Gitlab-Token": {secret, "x"}}, forge.ErrSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := forge.VerifyWebhook(tt.kind, tt.header, body, secret)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if err := forge.VerifyWebhook("bitbucket", http.Header{}, body, secret); err == nil {
		t.Error("unknown kind verified")
	}
}

func TestParseWebhookEvents(t *testing.T) {
	giteaPR := sampleNamed(t, "gitea-pull_request.json")
	giteaComment := sampleNamed(t, "gitea-issue_comment.json")
	githubPush := sampleNamed(t, "github-push.json")
	gitlabPush := sampleNamed(t, "gitlab-push.json")
	gitlabNote := sampleNamed(t, "gitlab-note-merge_request.json")

	parse := func(t *testing.T, kind forge.Kind, header map[string]string, body []byte) (forge.WebhookEvent, error) {
		t.Helper()
		return forge.ParseWebhook(kind, sample{kind: kind, header: header}.headers(), body)
	}

	t.Run("unknown events are other", func(t *testing.T) {
		for _, tt := range []struct {
			kind   forge.Kind
			header map[string]string
			body   []byte
		}{
			{forge.GitHub, map[string]string{"X-GitHub-Event": "ping"}, githubPush.body(t)},
			{forge.GitHub, map[string]string{"X-GitHub-Event": "pull_request_review_comment"}, githubPush.body(t)},
			{forge.GitHub, map[string]string{}, githubPush.body(t)},
			// Gitea's X-Gitea-Event pull_request_comment is a review comment.
			{forge.Gitea, map[string]string{"X-Gitea-Event": "pull_request_comment", "X-Gitea-Event-Type": "pull_request_review_comment"}, giteaPR.body(t)},
			{forge.Gitea, map[string]string{"X-Gitea-Event": "pull_request_comment"}, giteaPR.body(t)},
			{forge.Gitea, map[string]string{"X-Gitea-Event": "pull_request_approved", "X-Gitea-Event-Type": "pull_request_review_approved"}, giteaPR.body(t)},
			{forge.GitLab, map[string]string{"X-Gitlab-Event": "Pipeline Hook"}, gitlabPush.body(t)},
			{forge.GitLab, map[string]string{"X-Gitlab-Event": "Push Event"}, gitlabPush.body(t)},
		} {
			ev, err := parse(t, tt.kind, tt.header, tt.body)
			if err != nil || ev.Type != forge.EventOther || ev.Repo == "" || ev.PullRequest != nil || ev.Comment != nil || ev.Ref != "" {
				t.Errorf("%s %v: %+v, %v", tt.kind, tt.header, ev, err)
			}
		}
	})

	t.Run("gitea pull_request_sync", func(t *testing.T) {
		body := bytes.Replace(giteaPR.body(t), []byte(`"action": "opened"`), []byte(`"action": "synchronized"`), 1)
		ev, err := parse(t, forge.Gitea, map[string]string{"X-Gitea-Event": "pull_request", "X-Gitea-Event-Type": "pull_request_sync"}, body)
		if err != nil || ev.Type != forge.EventPullRequest || ev.Action != "synchronized" || ev.PullRequest == nil || ev.PullRequest.HeadSHA != "48e773f892a831faa47c0a160d1b7f0cd369ae2a" {
			t.Errorf("%+v, %v", ev, err)
		}
	})

	t.Run("gitea without X-Gitea-Event-Type", func(t *testing.T) {
		ev, err := parse(t, forge.Gitea, map[string]string{"X-Gitea-Event": "issue_comment"}, giteaComment.body(t))
		if err != nil || ev.Type != forge.EventComment || ev.Number != 2 || !ev.IsPullRequest {
			t.Errorf("%+v, %v", ev, err)
		}
	})

	t.Run("gitea comment with its pull request", func(t *testing.T) {
		// Recent Gitea (1.26) adds the pull request to the comment
		// payload of a pull request (modules/structs/hook.go,
		// IssueCommentPayload.PullRequest): the sample's comment with the
		// pull request of the pull_request sample.
		pr := giteaPR.body(t)
		start := bytes.Index(pr, []byte(`"pull_request": {`))
		end := bytes.Index(pr, []byte(`  "repository": {`))
		body := bytes.Replace(giteaComment.body(t), []byte(`  "is_pull": true`), append(bytes.Clone(pr[start:end]), []byte(`  "is_pull": true`)...), 1)
		ev, err := parse(t, forge.Gitea, giteaComment.header, body)
		if err != nil || ev.Type != forge.EventComment || ev.PullRequest == nil || ev.PullRequest.HeadSHA != "48e773f892a831faa47c0a160d1b7f0cd369ae2a" || ev.Comment == nil {
			t.Fatalf("%+v, %v", ev, err)
		}
	})

	t.Run("gitlab system hook", func(t *testing.T) {
		ev, err := parse(t, forge.GitLab, map[string]string{"X-Gitlab-Event": "System Hook"}, gitlabPush.body(t))
		if err != nil || ev.Type != forge.EventPush || ev.Ref != "refs/heads/master" {
			t.Errorf("%+v, %v", ev, err)
		}
	})

	t.Run("gitlab tag push", func(t *testing.T) {
		body := bytes.Replace(gitlabPush.body(t), []byte(`"refs/heads/master"`), []byte(`"refs/tags/v1.0.0"`), 1)
		ev, err := parse(t, forge.GitLab, map[string]string{"X-Gitlab-Event": "Tag Push Hook"}, body)
		if err != nil || ev.Type != forge.EventPush || ev.Ref != "refs/tags/v1.0.0" {
			t.Errorf("%+v, %v", ev, err)
		}
	})

	t.Run("gitlab delivery without Idempotency-Key", func(t *testing.T) {
		ev, err := parse(t, forge.GitLab, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e"}, gitlabPush.body(t))
		if err != nil || ev.Delivery != "13792a34-cac6-4fda-95a8-c58e00a3954e" {
			t.Errorf("%+v, %v", ev, err)
		}
	})

	t.Run("gitlab note edited, note on a commit", func(t *testing.T) {
		body := bytes.Replace(gitlabNote.body(t), []byte(`"action": "create"`), []byte(`"action": "update"`), 1)
		ev, err := parse(t, forge.GitLab, gitlabNote.header, body)
		if err != nil || ev.Action != "edited" {
			t.Errorf("%+v, %v", ev, err)
		}
		body = bytes.Replace(gitlabNote.body(t), []byte(`"noteable_type": "MergeRequest"`), []byte(`"noteable_type": "Commit"`), 1)
		ev, err = parse(t, forge.GitLab, gitlabNote.header, body)
		if err != nil || ev.Type != forge.EventOther || ev.Comment != nil || ev.Repo != "gitlab-org/gitlab-test" {
			t.Errorf("%+v, %v", ev, err)
		}
	})

	t.Run("no delivery ID", func(t *testing.T) {
		ev, err := parse(t, forge.GitHub, map[string]string{"X-GitHub-Event": "push"}, githubPush.body(t))
		if err != nil || ev.Delivery != "" || ev.Type != forge.EventPush {
			t.Errorf("%+v, %v", ev, err)
		}
	})

	errs := []struct {
		name   string
		kind   forge.Kind
		header map[string]string
		body   []byte
	}{
		{"not JSON", forge.GitHub, map[string]string{"X-GitHub-Event": "push"}, []byte(`{"ref": `)},
		{"not JSON, other event", forge.GitHub, map[string]string{"X-GitHub-Event": "ping"}, []byte(`ping`)},
		{"JSON array", forge.Gitea, map[string]string{"X-Gitea-Event": "push"}, []byte(`[]`)},
		{"empty", forge.GitLab, map[string]string{"X-Gitlab-Event": "Push Hook"}, nil},
		{"trailing data", forge.GitHub, map[string]string{"X-GitHub-Event": "push"}, []byte(`{} {}`)},
		{"wrong type", forge.GitHub, map[string]string{"X-GitHub-Event": "push"}, []byte(`{"ref": 1}`)},
		{"form-encoded", forge.GitHub, map[string]string{"X-GitHub-Event": "push", "Content-Type": "application/x-www-form-urlencoded"}, []byte(`payload=%7B%7D`)},
		{"pull request event without it", forge.GitHub, map[string]string{"X-GitHub-Event": "pull_request"}, []byte(`{"action": "opened", "number": 1}`)},
		{"comment without issue", forge.Gitea, map[string]string{"X-Gitea-Event": "issue_comment"}, []byte(`{"action": "created", "comment": {"id": 1}}`)},
		{"merge request without attributes", forge.GitLab, map[string]string{"X-Gitlab-Event": "Merge Request Hook"}, []byte(`{"object_kind": "merge_request"}`)},
		{"delivery too long", forge.GitHub, map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": strings.Repeat("a", 129)}, githubPush.body(t)},
		{"delivery with a space", forge.GitHub, map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "a b"}, githubPush.body(t)},
		{"unknown kind", "bitbucket", map[string]string{}, githubPush.body(t)},
		{"too large", forge.GitHub, map[string]string{"X-GitHub-Event": "push"}, []byte(`{"ref":"` + strings.Repeat("a", forge.MaxWebhookBody) + `"}`)},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := parse(t, tt.kind, tt.header, tt.body)
			if err == nil {
				t.Errorf("no error: %+v", ev)
			}
		})
	}
}
