package forge_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/landform/landform/forge"
)

// fuzzKinds are the kinds the fuzzers pick from; the last is unknown.
var fuzzKinds = []forge.Kind{forge.GitHub, forge.Gitea, forge.GitLab, "bitbucket"}

func fuzzKind(i uint8) forge.Kind { return fuzzKinds[int(i)%len(fuzzKinds)] }

func kindIndex(k forge.Kind) uint8 {
	for i, f := range fuzzKinds {
		if f == k {
			return uint8(i)
		}
	}
	return 0
}

// FuzzParseWebhook: whatever the headers and body, ParseWebhook does not
// panic, and an event it returns is consistent, valid UTF-8 and bounded by
// the body it came from.
func FuzzParseWebhook(f *testing.F) {
	for _, s := range samples {
		h := s.header
		event := h["X-GitHub-Event"] + h["X-Gitea-Event"] + h["X-Gitlab-Event"]
		delivery := h["X-GitHub-Delivery"] + h["X-Gitea-Delivery"] + h["Idempotency-Key"] + h["X-Gitlab-Event-UUID"]
		f.Add(kindIndex(s.kind), event, h["X-Gitea-Event-Type"], delivery, "application/json", s.body(f))
	}
	f.Add(uint8(1), "pull_request_comment", "pull_request_review_comment", "", "", []byte(`{"repository":{"full_name":"a/b"}}`))
	f.Add(uint8(2), "System Hook", "", "x", "", []byte(`{"object_kind":"note","object_attributes":{"noteable_type":"MergeRequest","created_at":"2015-05-17 18:21:36 UTC"},"merge_request":{"iid":1}}`))
	f.Add(uint8(0), "issue_comment", "", "\xff", "text/plain", []byte(`{"issue":{"number":1,"pull_request":{}},"comment":{"body":"\xff\ud800"}}`))

	f.Fuzz(func(t *testing.T, k uint8, event, eventType, delivery, contentType string, body []byte) {
		kind := fuzzKind(k)
		h := http.Header{}
		h.Set("Content-Type", contentType)
		switch kind {
		case forge.GitHub:
			h.Set("X-GitHub-Event", event)
			h.Set("X-GitHub-Delivery", delivery)
		case forge.Gitea:
			h.Set("X-Gitea-Event", event)
			h.Set("X-Gitea-Event-Type", eventType)
			h.Set("X-Gitea-Delivery", delivery)
		default:
			h.Set("X-Gitlab-Event", event)
			h.Set("X-Gitlab-Event-UUID", delivery)
			h.Set("Idempotency-Key", eventType)
		}
		ev, err := forge.ParseWebhook(kind, h, body)
		if err != nil {
			return
		}
		if ev.Kind != kind {
			t.Errorf("kind %q, parsed as %q", kind, ev.Kind)
		}
		switch ev.Type {
		case forge.EventPush, forge.EventOther:
		case forge.EventPullRequest:
			if ev.PullRequest == nil || !ev.IsPullRequest {
				t.Errorf("pull request event without its pull request: %+v", ev)
			}
		case forge.EventComment:
			if ev.Comment == nil {
				t.Errorf("comment event without its comment: %+v", ev)
			}
		default:
			t.Errorf("type %q", ev.Type)
		}
		if len(ev.Delivery) > 128 {
			t.Errorf("delivery of %d bytes", len(ev.Delivery))
		}
		for _, c := range []byte(ev.Delivery) {
			if c < 0x21 || c > 0x7e {
				t.Errorf("delivery %q", ev.Delivery)
				break
			}
		}
		// A string of the payload is at most 3 times its JSON (an
		// invalid byte becomes U+FFFD, 3 bytes).
		limit := 3 * len(body)
		check := func(name, s string) {
			if !utf8.ValidString(s) {
				t.Errorf("%s is not valid UTF-8: %q", name, s)
			}
			if len(s) > limit {
				t.Errorf("%s of %d bytes from a body of %d", name, len(s), len(body))
			}
		}
		if !utf8.ValidString(ev.Delivery) {
			t.Errorf("delivery is not valid UTF-8: %q", ev.Delivery)
		}
		check("repo", ev.Repo)
		check("ref", ev.Ref)
		check("before", ev.Before)
		check("after", ev.After)
		check("action", ev.Action)
		for _, u := range ev.CloneURLs {
			check("clone URL", u)
		}
		if len(ev.CloneURLs) > 4 {
			t.Errorf("%d clone URLs", len(ev.CloneURLs))
		}
		if pr := ev.PullRequest; pr != nil {
			for name, s := range map[string]string{"title": pr.Title, "author": pr.Author, "head": pr.HeadSHA, "base": pr.BaseSHA,
				"head branch": pr.HeadBranch, "base branch": pr.BaseBranch, "mergeable": string(pr.Mergeable), "URL": pr.URL} {
				check("pull request "+name, s)
			}
		}
		if c := ev.Comment; c != nil {
			check("comment author", c.Author)
			check("comment body", c.Body)
			check("comment URL", c.URL)
		}
	})
}

// FuzzVerifyWebhook: a body verifies with a secret only when the header is
// the signature of that body with that secret (for GitLab: the secret), and
// never with an empty secret.
func FuzzVerifyWebhook(f *testing.F) {
	for _, s := range samples {
		f.Add(kindIndex(s.kind), s.body(f), "s3cr3t", "")
	}
	f.Add(uint8(0), []byte("{}"), "", "sha256=")
	f.Add(uint8(1), []byte("{}"), "k", "sha256=0123")
	f.Add(uint8(2), []byte("{}"), "k", "k")

	f.Fuzz(func(t *testing.T, k uint8, body []byte, secret, header string) {
		kind := fuzzKind(k)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		sig := hex.EncodeToString(mac.Sum(nil))

		name, good := "", ""
		switch kind {
		case forge.GitHub:
			name, good = "X-Hub-Signature-256", "sha256="+sig
		case forge.Gitea:
			name, good = "X-Gitea-Signature", sig
		case forge.GitLab:
			name, good = "X-Gitlab-Token", secret
		default:
			if forge.VerifyWebhook(kind, http.Header{"X-Hub-Signature-256": {header}}, body, secret) == nil {
				t.Fatal("unknown kind verified")
			}
			return
		}

		// The right signature verifies, unless the secret is empty.
		err := forge.VerifyWebhook(kind, http.Header{name: {good}}, body, secret)
		if (err == nil) != (secret != "") {
			t.Fatalf("right signature, secret %q: %v", secret, err)
		}
		// Any other header value does not.
		err = forge.VerifyWebhook(kind, http.Header{name: {header}}, body, secret)
		right := secret != "" && (header == good || (kind != forge.GitLab && strings.EqualFold(header, good) && strings.HasPrefix(header, good[:len(good)-len(sig)])))
		if (err == nil) != right {
			t.Fatalf("header %q, secret %q: %v (right: %v)", header, secret, err, right)
		}
		// Nor does the right signature with another secret.
		if forge.VerifyWebhook(kind, http.Header{name: {good}}, body, secret+"x") == nil {
			t.Fatal("verified with another secret")
		}
		// Errors say what is wrong, never anything of the secret: the
		// same with another secret.
		if err != nil && secret != "" {
			other := forge.VerifyWebhook(kind, http.Header{name: {header}}, body, "another secret")
			if other != nil && other.Error() != err.Error() {
				t.Fatalf("the error depends on the secret: %q and %q", err, other)
			}
		}
	})
}
