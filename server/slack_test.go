package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/chatops"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/server"
)

const slackSecret = "8f742231b10e8888abcd99yyyzzz85a5"

var slackNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// slashCommand is a slash command payload as Slack posts it.
func slashCommand(text string, edit func(url.Values)) []byte {
	v := url.Values{
		"token":        {"gIkuvaNzQIHg97ATvDxqgjtO"}, // the deprecated verification token: ignored
		"team_id":      {"T0001"},
		"team_domain":  {"example"},
		"channel_id":   {"C2147483705"},
		"channel_name": {"infra"},
		"user_id":      {"U2147483697"},
		"user_name":    {"alice.w"},
		"command":      {"/landform"},
		"text":         {text},
		"response_url": {"https://hooks.slack.com/commands/1234/5678"},
		"trigger_id":   {"13345224609.738474920.8088930838d88f008e0"},
	}
	if edit != nil {
		edit(v)
	}
	return []byte(v.Encode())
}

// slackRequest signs body with secret at ts, as Slack does.
func slackRequest(t testing.TB, url string, body []byte, secret string, ts time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/chatops/slack", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sec := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + sec + ":"))
	mac.Write(body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", sec)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return req
}

// slackFake is the dispatcher and the pull request replier.
type slackFake struct {
	mu         sync.Mutex
	requests   []chatops.Request
	replies    []slackReply
	reply      chatops.Reply
	replyErr   error
	dispatched int
}

type slackReply struct {
	repo      string
	pr        int
	key, body string
}

func (f *slackFake) dispatch(ctx context.Context, req chatops.Request) chatops.Reply {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		panic("dispatched without a deadline")
	}
	f.dispatched++
	f.requests = append(f.requests, req)
	return f.reply
}

func (f *slackFake) replyOn(ctx context.Context, repo string, pr int, key, body string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies = append(f.replies, slackReply{repo, pr, key, body})
	return f.replyErr
}

func (f *slackFake) snapshot() ([]chatops.Request, []slackReply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chatops.Request(nil), f.requests...), append([]slackReply(nil), f.replies...)
}

func (f *slackFake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dispatched
}

func newSlackServer(t *testing.T, f *slackFake, secret string) *httptest.Server {
	t.Helper()
	h := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler),
		server.WithSlack(server.Slack{
			Secret: secret,
			Identity: func(id string) (string, bool) {
				if id == "U2147483697" {
					return "alice", true
				}
				return "", false
			},
			Repo: func(ch string) (string, bool) {
				if ch == "C2147483705" {
					return "infra", true
				}
				return "", false
			},
			Dispatch: f.dispatch,
			Reply:    f.replyOn,
			Now:      func() time.Time { return slackNow },
		}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// slackSend sends req and returns the status, the Content-Type and the
// body.
func slackSend(t testing.TB, req *http.Request) (int, string, []byte) {
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
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func TestSlackCommand(t *testing.T) {
	f := &slackFake{reply: chatops.Reply{Command: true, OK: true, Text: "✅ run 42 approved by alice",
		PullRequests: []chatops.PullRequestRef{{Repo: "infra", PR: 7}, {Repo: "network", PR: 3}}}}
	srv := newSlackServer(t, f, slackSecret)

	code, ct, body := slackSend(t, slackRequest(t, srv.URL, slashCommand("approve 42", nil), slackSecret, slackNow.Add(-time.Minute)))
	if code != http.StatusOK || ct != "application/json" {
		t.Fatalf("%d %s %s", code, ct, body)
	}
	var answer map[string]string
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatal(err)
	}
	if answer["response_type"] != "in_channel" || answer["text"] != f.reply.Text || len(answer) != 2 {
		t.Errorf("answer %s", body)
	}
	requests, replies := f.snapshot()
	want := chatops.Request{Channel: landform.ChannelSlack, Identity: "alice", Repo: "infra", PR: 0, Text: "approve 42"}
	if len(requests) != 1 || requests[0] != want {
		t.Errorf("dispatched %+v, want %+v", requests, want)
	}
	wantReplies := []slackReply{
		{"infra", 7, "slack-13345224609.738474920.8088930838d88f008e0", "@alice via Slack: ✅ run 42 approved by alice"},
		{"network", 3, "slack-13345224609.738474920.8088930838d88f008e0", "@alice via Slack: ✅ run 42 approved by alice"},
	}
	if len(replies) != 2 || replies[0] != wantReplies[0] || replies[1] != wantReplies[1] {
		t.Errorf("replies on pull requests %+v, want %+v", replies, wantReplies)
	}
}

// Someone Landform does not know, in a channel mapped to no repository,
// without a trigger_id: dispatched all the same (chat-ops answers);
// replies are keyed by the timestamp and the user, and say the Slack
// name; a reply that cannot be queued does not change Slack's answer.
func TestSlackCommandUnknownUser(t *testing.T) {
	f := &slackFake{reply: chatops.Reply{Command: true, Text: "⛔ who are you", PullRequests: []chatops.PullRequestRef{{Repo: "infra", PR: 7}}},
		replyErr: errors.New("outbox full")}
	srv := newSlackServer(t, f, slackSecret)
	payload := slashCommand("apply 42", func(v url.Values) {
		v.Set("user_id", "U0000000")
		v.Set("user_name", "mallory")
		v.Set("channel_id", "C0000000")
		v.Del("trigger_id")
	})
	code, _, body := slackSend(t, slackRequest(t, srv.URL, payload, slackSecret, slackNow))
	if code != http.StatusOK || !strings.Contains(string(body), "who are you") {
		t.Fatalf("%d %s", code, body)
	}
	requests, replies := f.snapshot()
	want := chatops.Request{Channel: landform.ChannelSlack, Text: "apply 42"}
	if len(requests) != 1 || requests[0] != want {
		t.Errorf("dispatched %+v, want %+v", requests, want)
	}
	wantKey := "slack-" + strconv.FormatInt(slackNow.Unix(), 10) + "-U0000000"
	if len(replies) != 1 || replies[0].key != wantKey || replies[0].body != "mallory via Slack: ⛔ who are you" {
		t.Errorf("replies %+v", replies)
	}
}

func TestSlackRefused(t *testing.T) {
	f := &slackFake{reply: chatops.Reply{Command: true, OK: true, Text: "ok"}}
	srv := newSlackServer(t, f, slackSecret)
	payload := slashCommand("approve 42", nil)

	tamper := func(edit func(*http.Request)) *http.Request {
		req := slackRequest(t, srv.URL, payload, slackSecret, slackNow)
		edit(req)
		return req
	}
	tests := []struct {
		name   string
		req    *http.Request
		reason string // in the reply
	}{
		{"wrong secret", slackRequest(t, srv.URL, payload, "guessed", slackNow), "does not match"},
		{"no signature", tamper(func(r *http.Request) { r.Header.Del("X-Slack-Signature") }), "no X-Slack-Signature"},
		{"no timestamp", tamper(func(r *http.Request) { r.Header.Del("X-Slack-Request-Timestamp") }), "X-Slack-Request-Timestamp"},
		{"timestamp moved", tamper(func(r *http.Request) {
			r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(slackNow.Unix()-1, 10))
		}), "does not match"},
		{"body changed", slackRequestWithBody(t, srv.URL, payload, slashCommand("apply 42", nil)), "does not match"},
		{"older than 5 minutes", slackRequest(t, srv.URL, payload, slackSecret, slackNow.Add(-5*time.Minute-time.Second)), "too old"},
		{"from the future", slackRequest(t, srv.URL, payload, slackSecret, slackNow.Add(6*time.Minute)), "too old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, ct, body := slackSend(t, tt.req)
			if code != http.StatusUnauthorized || !strings.HasPrefix(ct, "text/plain") || !strings.Contains(string(body), tt.reason) {
				t.Errorf("%d %s %q, want 401 saying %q", code, ct, body, tt.reason)
			}
			sig := strings.TrimPrefix(tt.req.Header.Get("X-Slack-Signature"), "v0=")
			if strings.Contains(string(body), slackSecret) || (sig != "" && strings.Contains(string(body), sig)) {
				t.Errorf("the reply shows a secret or the signature: %q", body)
			}
		})
	}
	if n := f.count(); n != 0 {
		t.Errorf("dispatched %d times", n)
	}

	// A request sent twice: done once.
	req := slackRequest(t, srv.URL, payload, slackSecret, slackNow)
	again := req.Clone(context.Background())
	again.Body = io.NopCloser(bytes.NewReader(payload))
	if code, _, body := slackSend(t, req); code != http.StatusOK {
		t.Fatalf("first: %d %s", code, body)
	}
	if code, _, body := slackSend(t, again); code != http.StatusUnauthorized || !strings.Contains(string(body), "replayed") {
		t.Errorf("replayed: %d %s", code, body)
	}
	if n := f.count(); n != 1 {
		t.Errorf("dispatched %d times, want 1", n)
	}

	// Verified, not a slash command: 400, nothing done.
	code, _, body := slackSend(t, slackRequest(t, srv.URL, slashCommand("plan", func(v url.Values) { v.Del("user_id") }), slackSecret, slackNow))
	if code != http.StatusBadRequest || !strings.Contains(string(body), "user_id") {
		t.Errorf("no user_id: %d %s", code, body)
	}
	if n := f.count(); n != 1 {
		t.Errorf("dispatched %d times, want 1", n)
	}

	// GET is not a slash command.
	get, _ := http.NewRequest(http.MethodGet, srv.URL+"/chatops/slack", nil)
	if code, _, _ := slackSend(t, get); code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", code)
	}
}

func slackRequestWithBody(t *testing.T, url string, signed, sent []byte) *http.Request {
	t.Helper()
	req := slackRequest(t, url, signed, slackSecret, slackNow)
	req.Body = io.NopCloser(bytes.NewReader(sent))
	req.ContentLength = int64(len(sent))
	return req
}

// No signing secret: every request is refused, even one signed with the
// empty secret.
func TestSlackNoSecret(t *testing.T) {
	f := &slackFake{}
	srv := newSlackServer(t, f, "")
	code, _, body := slackSend(t, slackRequest(t, srv.URL, slashCommand("help", nil), "", slackNow))
	if code != http.StatusUnauthorized || !strings.Contains(string(body), "not configured") {
		t.Errorf("%d %s", code, body)
	}
	if n := f.count(); n != 0 {
		t.Errorf("dispatched %d times", n)
	}
}

func TestSlackOversize(t *testing.T) {
	f := &slackFake{}
	srv := newSlackServer(t, f, slackSecret)
	big := slashCommand(strings.Repeat("a", chatops.MaxSlackBody), nil)

	// With a Content-Length: refused before reading.
	if code, _, body := slackSend(t, slackRequest(t, srv.URL, big, slackSecret, slackNow)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("with length: %d %s", code, body)
	}
	// Chunked: refused once the limit is read.
	req := slackRequest(t, srv.URL, big, slackSecret, slackNow)
	req.Body = io.NopCloser(bytes.NewReader(big))
	req.ContentLength = -1
	if code, _, body := slackSend(t, req); code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: %d %s", code, body)
	}
	if n := f.count(); n != 0 {
		t.Errorf("dispatched %d times", n)
	}
}

// A command slower than Slack's 3 s is acknowledged at once to whoever
// typed it, and answered in the channel through response_url when done
// (a TLS server speaking Slack's side: JSON posted to the URL). A
// response_url that is not Slack's is never posted to.
func TestSlackSlowCommandAnswersLater(t *testing.T) {
	release := make(chan struct{})
	posted := make(chan []byte, 1)
	hooks := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/commands/1234/5678" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("response_url got %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		posted <- b
	}))
	t.Cleanup(hooks.Close)
	hooksURL, _ := url.Parse(hooks.URL)
	dispatched := make(chan struct{}, 2)
	h := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.DiscardHandler),
		server.WithSlack(server.Slack{
			Secret: slackSecret,
			Dispatch: func(ctx context.Context, req chatops.Request) chatops.Reply {
				dispatched <- struct{}{}
				<-release
				return chatops.Reply{Command: true, OK: true, Text: "🔄 planning infra at 1a2b3c4: 12 workspaces queued"}
			},
			Now:                func() time.Time { return slackNow },
			AnswerWithin:       50 * time.Millisecond,
			Client:             hooks.Client(),
			ResponseURLAllowed: func(u *url.URL) bool { return u.Host == hooksURL.Host },
		}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	body := slashCommand("plan infra", func(v url.Values) { v.Set("response_url", hooks.URL+"/commands/1234/5678") })
	code, ct, ack := slackSend(t, slackRequest(t, srv.URL, body, slackSecret, slackNow))
	var answer map[string]string
	if err := json.Unmarshal(ack, &answer); code != http.StatusOK || ct != "application/json" || err != nil {
		t.Fatalf("ack: %d %s %s", code, ct, ack)
	}
	if answer["response_type"] != "ephemeral" || !strings.Contains(answer["text"], "Working on it: `/landform plan infra`") {
		t.Errorf("ack %s", ack)
	}
	close(release)
	select {
	case b := <-posted:
		if err := json.Unmarshal(b, &answer); err != nil || answer["response_type"] != "in_channel" || answer["text"] != "🔄 planning infra at 1a2b3c4: 12 workspaces queued" {
			t.Errorf("posted to response_url: %s", b)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the answer was not posted to response_url")
	}

	// A response_url elsewhere (the default allows Slack's host only).
	<-dispatched
	release2 := make(chan struct{})
	var logs dashLogs
	h2 := server.New(func(context.Context) runner.Health { return runner.Health{} }, slog.New(slog.NewTextHandler(&logs, nil)),
		server.WithSlack(server.Slack{
			Secret: slackSecret,
			Dispatch: func(ctx context.Context, req chatops.Request) chatops.Reply {
				<-release2
				return chatops.Reply{Command: true, OK: true, Text: "done"}
			},
			Now:          func() time.Time { return slackNow },
			AnswerWithin: 50 * time.Millisecond,
			Client:       hooks.Client(),
		}))
	srv2 := httptest.NewServer(h2)
	t.Cleanup(srv2.Close)
	if code, _, ack := slackSend(t, slackRequest(t, srv2.URL, body, slackSecret, slackNow)); code != http.StatusOK || !strings.Contains(string(ack), "ephemeral") {
		t.Fatalf("ack: %d %s", code, ack)
	}
	// Said before the ack was written: no post will follow.
	if !strings.Contains(logs.String(), "a slow command's answer has nowhere to go") || !strings.Contains(logs.String(), "response_url_host=127.0.0.1") {
		t.Errorf("logs: %s", logs.String())
	}
	close(release2)
}
