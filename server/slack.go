package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/chatops"
)

// Slack is a Slack app's slash command ("/landform approve 42"), served at
// POST /chatops/slack.
type Slack struct {
	// Secret is the app's signing secret; "" refuses every request (401).
	Secret string
	// Identity maps a Slack user ID to a Landform identity; ok false (or a
	// nil Identity) leaves the identity empty, and chat-ops answers that
	// it does not know who you are.
	Identity func(userID string) (string, bool)
	// Repo maps a Slack channel ID to the repository its commands refer
	// to (optional: nil, or ok false, names none).
	Repo func(channelID string) (string, bool)
	// Dispatch does the command (chatops.Dispatch with the daemon's
	// actions). A nil Dispatch refuses every request.
	Dispatch func(ctx context.Context, req chatops.Request) chatops.Reply
	// Reply posts on a pull request (the daemon's Reply); nil posts
	// nothing.
	Reply func(ctx context.Context, repo string, pr int, key, body string) error
	// Now is the clock requests' timestamps are checked against; nil
	// means time.Now.
	Now func() time.Time
	// AnswerWithin is how long a command may take to be answered in the
	// request's response (default 2.5 s: Slack waits 3). A slower one is
	// acknowledged at once and answered through the payload's
	// response_url when it is done.
	AnswerWithin time.Duration
	// Client posts to response_url (default: an http.Client with a 10 s
	// timeout).
	Client *http.Client
	// ResponseURLAllowed says whether a payload's response_url may be
	// posted to (default: https on hooks.slack.com, where Slack's point).
	ResponseURLAllowed func(*url.URL) bool
}

// slackAnswerWithin is Slack.AnswerWithin's default: Slack shows an error
// when the answer takes over 3 s.
const slackAnswerWithin = 2500 * time.Millisecond

// slackHooksHost is where Slack's response URLs point.
const slackHooksHost = "hooks.slack.com"

// slackReplayCacheSize is how many verified requests the handler
// remembers against replays (each for chatops.SlackMaxAge).
const slackReplayCacheSize = 10_000

// WithSlack serves POST /chatops/slack, the Request URL of s's slash
// command.
//
// A request is read (at most chatops.MaxSlackBody bytes, the most
// chatops.ParseSlackCommand reads: 413 beyond), then verified with
// chatops.VerifySlack: signed with s.Secret, timestamped within
// chatops.SlackMaxAge of now, and not seen before (the handler remembers
// the last 10,000 verified requests; each replica its own). Any failure
// is 401 with a short plain-text reason, and nothing is done. A verified
// payload that chatops.ParseSlackCommand refuses is 400.
//
// Otherwise the command is dispatched — Channel landform.ChannelSlack,
// Identity s.Identity(user_id) ("" when unknown), Repo s.Repo(channel_id),
// PR 0, Text the command's text — with a context detached from the
// request that ends after 30 seconds, and answered 200 with the reply
// shown to the whole channel:
//
//	{"response_type": "in_channel", "text": "…"}
//
// Each pull request of the runs the command touched gets the reply too,
// through s.Reply, keyed "slack-" and Slack's trigger_id (else the
// request's timestamp and the user ID), and prefixed with who typed it:
// "@identity via Slack: …" (the Slack user name when the identity is
// unknown). A failed Reply is logged; the Slack answer stands.
//
// Slack waits 3 seconds for the answer. A command not done within
// s.AnswerWithin (2.5 s) is acknowledged at once, to the person who typed
// it only ({"response_type": "ephemeral", "text": "Working on it: …"}),
// and its answer is posted to the payload's response_url when it is done
// ({"response_type": "in_channel", "text": "…"}), when s.ResponseURLAllowed
// accepts that URL (Slack's own, on hooks.slack.com, by default).
func WithSlack(s Slack) Option {
	return func(o *options) {
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.AnswerWithin <= 0 {
			s.AnswerWithin = slackAnswerWithin
		}
		if s.Client == nil {
			s.Client = &http.Client{Timeout: 10 * time.Second}
		}
		if s.ResponseURLAllowed == nil {
			s.ResponseURLAllowed = func(u *url.URL) bool { return u.Scheme == "https" && u.Hostname() == slackHooksHost }
		}
		o.slack = &slackCommands{s: s, seen: chatops.NewReplayCache(slackReplayCacheSize)}
	}
}

type slackCommands struct {
	s      Slack
	seen   *chatops.MemoryReplayCache
	logger *slog.Logger
}

func (sc *slackCommands) mount(mux *http.ServeMux, logger *slog.Logger) {
	sc.logger = logger.With("channel", landform.ChannelSlack)
	switch {
	case sc.s.Secret == "":
		sc.logger.Warn("slack: no signing secret; slash commands are refused")
	case sc.s.Dispatch == nil:
		sc.logger.Warn("slack: no dispatcher; slash commands are refused")
	}
	mux.HandleFunc("POST /chatops/slack", sc.serve)
}

// slackAnswer is a slash command's immediate response
// (https://api.slack.com/interactivity/slash-commands#responding_to_commands).
type slackAnswer struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func plainError(w http.ResponseWriter, code int, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, reason+"\n")
}

func (sc *slackCommands) serve(w http.ResponseWriter, r *http.Request) {
	const limit = chatops.MaxSlackBody
	tooLarge := fmt.Sprintf("body larger than %d bytes", limit)
	if r.ContentLength > limit {
		sc.logger.Debug("slack body too large", "bytes", r.ContentLength)
		plainError(w, http.StatusRequestEntityTooLarge, tooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			sc.logger.Debug("slack body too large", "limit", mbe.Limit)
			plainError(w, http.StatusRequestEntityTooLarge, tooLarge)
			return
		}
		sc.logger.Debug("reading slack body", "err", err)
		plainError(w, http.StatusBadRequest, "reading the body failed")
		return
	}

	if sc.s.Dispatch == nil {
		plainError(w, http.StatusUnauthorized, "slash commands are not configured")
		return
	}
	if err := chatops.VerifySlack(r.Header, body, sc.s.Secret, sc.s.Now(), sc.seen); err != nil {
		// VerifySlack's messages hold neither the secret nor the
		// signature.
		reason := err.Error()
		if errors.Is(err, chatops.ErrSlackNoSecret) {
			reason = "slash commands are not configured"
		}
		sc.logger.Info("slack request not verified", "err", err)
		plainError(w, http.StatusUnauthorized, reason)
		return
	}

	cmd, err := chatops.ParseSlackCommand(body)
	if err != nil {
		sc.logger.Info("verified slack request not understood", "err", err)
		plainError(w, http.StatusBadRequest, landform.ErrorMessage(err))
		return
	}
	req := chatops.Request{Channel: landform.ChannelSlack, Text: cmd.Text}
	if sc.s.Identity != nil {
		if id, ok := sc.s.Identity(cmd.UserID); ok {
			req.Identity = id
		}
	}
	if sc.s.Repo != nil {
		if repo, ok := sc.s.Repo(cmd.ChannelID); ok {
			req.Repo = repo
		}
	}
	log := sc.logger.With("slack_user", cmd.UserID, "identity", req.Identity, "slack_channel", cmd.ChannelID, "repo", req.Repo)

	// The command runs apart from the request: it is answered in the
	// response when it is quick, else through response_url.
	ctx, cancel := detached(r)
	done := make(chan chatops.Reply, 1)
	requestTS := r.Header.Get("X-Slack-Request-Timestamp")
	go func() {
		defer cancel()
		reply := sc.s.Dispatch(ctx, req)
		log.Info("slack command", "ok", reply.OK, "pull_requests", len(reply.PullRequests))
		sc.replyOnPullRequests(ctx, log, cmd, req, requestTS, reply)
		done <- reply
	}()
	timer := time.NewTimer(sc.s.AnswerWithin)
	defer timer.Stop()
	var reply chatops.Reply
	select {
	case reply = <-done:
	case <-timer.C:
		sc.answerLater(log, cmd, done)
		writeSlackAnswer(w, log, slackAnswer{ResponseType: "ephemeral", Text: "Working on it: `" + cmd.Command + " " + cmd.Text + "`. The answer follows here."})
		return
	}
	writeSlackAnswer(w, log, slackAnswer{ResponseType: "in_channel", Text: reply.Text})
}

// replyOnPullRequests puts reply on each pull request of the runs the
// command touched, keyed "slack-" and Slack's trigger_id (else the
// request's timestamp and the user ID).
func (sc *slackCommands) replyOnPullRequests(ctx context.Context, log *slog.Logger, cmd chatops.SlashCommand, req chatops.Request, requestTS string, reply chatops.Reply) {
	if sc.s.Reply == nil || len(reply.PullRequests) == 0 {
		return
	}
	key := "slack-" + cmd.TriggerID
	if cmd.TriggerID == "" {
		key = "slack-" + requestTS + "-" + cmd.UserID
	}
	who := cmd.UserName
	if who == "" {
		who = cmd.UserID
	}
	if req.Identity != "" {
		who = "@" + req.Identity
	}
	body := who + " via Slack: " + reply.Text
	for _, pr := range reply.PullRequests {
		if err := sc.s.Reply(ctx, pr.Repo, pr.PR, key, body); err != nil {
			log.Error("chat-ops: queueing the reply on the pull request failed", "pr_repo", pr.Repo, "pr", pr.PR, "err", err)
		}
	}
}

// answerLater posts the reply done delivers to cmd's response_url, in the
// background.
func (sc *slackCommands) answerLater(log *slog.Logger, cmd chatops.SlashCommand, done <-chan chatops.Reply) {
	u, err := url.Parse(cmd.ResponseURL)
	if cmd.ResponseURL == "" || err != nil || !sc.s.ResponseURLAllowed(u) {
		log.Warn("slack: a slow command's answer has nowhere to go (no response_url, or not Slack's)", "response_url_host", hostOf(u))
		return
	}
	go func() {
		reply := <-done
		b, err := json.Marshal(slackAnswer{ResponseType: "in_channel", Text: reply.Text})
		if err != nil {
			log.Error("encoding the slack answer", "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(b))
		if err != nil {
			log.Error("slack: the answer's request", "err", err)
			return
		}
		hreq.Header.Set("Content-Type", "application/json")
		resp, err := sc.s.Client.Do(hreq)
		if err != nil {
			log.Warn("slack: posting the answer to response_url failed", "err", err)
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			log.Warn("slack: response_url refused the answer", "status", resp.StatusCode)
		}
	}()
}

func hostOf(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Hostname()
}

// writeSlackAnswer writes a as the request's JSON response.
func writeSlackAnswer(w http.ResponseWriter, log *slog.Logger, a slackAnswer) {
	b, err := json.Marshal(a)
	if err != nil {
		log.Error("encoding the slack answer", "err", err)
		plainError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if _, err := w.Write(b); err != nil {
		log.Debug("writing the slack answer", "err", err)
	}
}
