package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/forge"
)

// WebhookRepo is a repository whose forge may call POST /webhooks/{kind}.
type WebhookRepo struct {
	Name    string     // Landform's name of the repository
	Kind    forge.Kind // the forge that sends its webhooks
	Project string     // the repository as the forge names it: "owner/name", GitLab's path_with_namespace
	Secret  string     // the webhook's secret (GitLab: its secret token); empty never verifies
}

// WithWebhooks serves POST /webhooks/{kind} (kind gitea, github or gitlab)
// for repos, and calls trigger for every verified delivery not seen before
// of a push, pull request or comment event of one of them. trigger runs on
// the request's goroutine: it must return quickly (queue the work).
//
// A delivery is read (at most forge.MaxWebhookBody bytes, else 413), then
// verified with the secret of every repository of that kind (401 when none
// verifies, or no repository of the kind has a secret: unsigned deliveries
// are never accepted), then parsed (400 when it cannot be), then its
// repository must be the Project of a repository whose secret verified it
// (403: signed for another project). Events of other types are answered
// 200 {"status":"ignored"}; a delivery ID seen before (the last 10,000 are
// remembered) 200 "duplicate delivery, ignored"; a new one 202
// {"status":"accepted","repo":"infra","event":"push"}. When several
// repositories share the secret and the project, trigger is called for each.
// WithComments hands new pull request comments on to chat-ops as well.
// WithWebhookObserver reports how each delivery ended.
func WithWebhooks(repos []WebhookRepo, trigger func(repo string, ev forge.WebhookEvent)) Option {
	return func(o *options) {
		wh := &webhooks{
			repos:   repos,
			trigger: trigger,
			now:     time.Now,
			seen:    newDeliveries(maxDeliveries),
		}
		if o.webhooks != nil {
			wh.observe = o.webhooks.observe
		}
		o.webhooks = wh
	}
}

// Webhook delivery results, as WithWebhookObserver reports them.
const (
	WebhookAccepted     = "accepted"      // 202: triggered
	WebhookIgnored      = "ignored"       // 200: an event type Landform does not act on
	WebhookDuplicate    = "duplicate"     // 200: a delivery ID seen before
	WebhookBadRequest   = "bad_request"   // 400: a body that cannot be read or parsed
	WebhookUnauthorized = "unauthorized"  // 401: no secret of the forge kind verifies it
	WebhookForbidden    = "forbidden"     // 403: signed for another project
	WebhookTooLarge     = "too_large"     // 413: larger than forge.MaxWebhookBody
	WebhookUnknownForge = "unknown_forge" // 404: a {kind} no forge has (reported as forge "unknown")
)

// WithWebhookObserver makes WithWebhooks call observe once per delivery,
// just before its reply is written (so before WithComments' handler), with
// the forge kind of the path ("unknown" for one no forge has, so the
// values stay few) and one of the Webhook* results: what /metrics counts.
// It runs on the request's goroutine and must return quickly. Given with
// or without WithWebhooks, in any order; without it, nothing is served
// and observe is never called.
func WithWebhookObserver(observe func(forge, result string)) Option {
	return func(o *options) {
		if o.webhooks == nil {
			o.webhooks = &webhooks{} // no trigger: mounts nothing until WithWebhooks
		}
		o.webhooks.observe = observe
	}
}

// WithComments makes WithWebhooks hand each new pull request comment to h
// (chat-ops: the daemon's HandleComment): a verified delivery, not seen
// before, of a comment event with action "created" on a pull request
// (not an issue), for each repository it was accepted for, after the
// trigger. Edited and deleted comments are not commands.
//
// The forge gets its 202 first (forges wait a few seconds at most, and a
// command may take longer); h then runs on the request's goroutine, so a
// graceful shutdown of the HTTP server waits for it, with a context that
// keeps the request's values, is not cancelled when the forge hangs up,
// and ends after 30 seconds. h may do store work; a comment redelivered
// under another delivery ID reaches h again, and h must skip it (the
// daemon's HandleComment does, by comment ID).
//
// Without WithWebhooks, WithComments does nothing.
func WithComments(h func(ctx context.Context, repo string, pr int, c landform.Comment)) Option {
	return func(o *options) { o.comments = h }
}

// isNewPRComment reports whether ev is a comment just written on a pull
// request.
func isNewPRComment(ev forge.WebhookEvent) bool {
	return ev.Type == forge.EventComment && ev.Action == "created" && ev.IsPullRequest && ev.Comment != nil && ev.Number > 0
}

// maxDeliveries is how many delivery IDs are remembered against replays.
const maxDeliveries = 10_000

type webhooks struct {
	repos    []WebhookRepo
	trigger  func(repo string, ev forge.WebhookEvent)
	comments func(ctx context.Context, repo string, pr int, c landform.Comment) // nil: none
	now      func() time.Time
	seen     *deliveries
	logger   *slog.Logger
	observe  func(forge, result string) // nil: none
}

func (wh *webhooks) mount(mux *http.ServeMux, logger *slog.Logger) {
	wh.logger = logger
	if wh.trigger == nil { // WithWebhookObserver alone
		if wh.comments != nil {
			logger.Warn("chat-ops: WithComments without WithWebhooks: no webhook delivers comments")
		}
		return
	}
	for _, r := range wh.repos {
		switch {
		case !knownKind(r.Kind):
			logger.Warn("webhooks: unknown forge kind; its deliveries are refused", "repo", r.Name, "kind", r.Kind)
		case r.Secret == "":
			logger.Warn("webhooks: no secret; its deliveries are refused", "repo", r.Name, "kind", r.Kind)
		}
	}
	mux.HandleFunc("POST /webhooks/{kind}", wh.serve)
}

func knownKind(k forge.Kind) bool { return slices.Contains(forge.Kinds, k) }

// webhookReply is the JSON answer to a delivery.
type webhookReply struct {
	Status string   `json:"status"` // accepted, ignored, rejected
	Repo   string   `json:"repo,omitempty"`
	Repos  []string `json:"repos,omitempty"` // when several repositories were triggered
	Event  string   `json:"event,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

// reply writes r with its length, so that a forge has the whole reply
// once it is flushed, even while the handler goes on (WithComments).
func (wh *webhooks) reply(w http.ResponseWriter, code int, r webhookReply) {
	b, err := json.Marshal(r)
	if err != nil {
		wh.logger.Error("encoding a webhook reply", "err", err)
		code, b = http.StatusInternalServerError, []byte(`{"status":"error"}`)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	if _, err := w.Write(b); err != nil {
		wh.logger.Debug("writing webhook reply", "err", err)
	}
}

func (wh *webhooks) reject(w http.ResponseWriter, code int, reason string) {
	wh.reply(w, code, webhookReply{Status: "rejected", Reason: reason})
}

// observed reports a delivery of kind that ended with result.
func (wh *webhooks) observed(kind forge.Kind, result string) {
	if wh.observe != nil {
		wh.observe(string(kind), result)
	}
}

func (wh *webhooks) serve(w http.ResponseWriter, r *http.Request) {
	kind := forge.Kind(r.PathValue("kind"))
	if !knownKind(kind) {
		wh.observed("unknown", WebhookUnknownForge)
		wh.reject(w, http.StatusNotFound, "unknown forge kind")
		return
	}
	log := wh.logger.With("kind", kind)

	if r.ContentLength > forge.MaxWebhookBody {
		log.Debug("webhook body too large", "bytes", r.ContentLength)
		wh.observed(kind, WebhookTooLarge)
		wh.reject(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", forge.MaxWebhookBody))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, forge.MaxWebhookBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			log.Debug("webhook body too large", "limit", tooLarge.Limit)
			wh.observed(kind, WebhookTooLarge)
			wh.reject(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", forge.MaxWebhookBody))
			return
		}
		log.Debug("reading webhook body", "err", err)
		wh.observed(kind, WebhookBadRequest)
		wh.reject(w, http.StatusBadRequest, "reading the body failed")
		return
	}

	// Verify before parsing. Every repository of the kind
	// is tried, so that repositories sharing a secret are all found.
	var verified []WebhookRepo
	var verr error = forge.ErrNoSecret
	for _, repo := range wh.repos {
		if repo.Kind != kind {
			continue
		}
		err := forge.VerifyWebhook(kind, r.Header, body, repo.Secret)
		if err == nil {
			verified = append(verified, repo)
		} else if !errors.Is(err, forge.ErrNoSecret) {
			verr = err
		}
	}
	if len(verified) == 0 {
		reason := verr.Error()
		if errors.Is(verr, forge.ErrNoSecret) {
			reason = fmt.Sprintf("no %s repository has a webhook secret", kind)
		}
		log.Debug("webhook not verified", "err", verr)
		wh.observed(kind, WebhookUnauthorized)
		wh.reject(w, http.StatusUnauthorized, reason)
		return
	}

	ev, err := forge.ParseWebhook(kind, r.Header, body)
	if err != nil {
		log.Warn("verified webhook not understood", "repo", verified[0].Name, "err", err)
		wh.observed(kind, WebhookBadRequest)
		wh.reject(w, http.StatusBadRequest, err.Error())
		return
	}
	log = log.With("type", ev.Type, "delivery", ev.Delivery, "project", ev.Repo)
	if ev.Type == forge.EventOther {
		log.Debug("webhook ignored", "repo", verified[0].Name)
		wh.observed(kind, WebhookIgnored)
		wh.reply(w, http.StatusOK, webhookReply{Status: "ignored"})
		return
	}

	var targets []string
	for _, repo := range verified {
		if ev.Repo != "" && strings.EqualFold(ev.Repo, repo.Project) {
			targets = append(targets, repo.Name)
		}
	}
	if len(targets) == 0 {
		// Signed with the secret of a configured repository, about
		// another project: a shared secret or a misdirected webhook.
		log.Warn("webhook for a project its secret does not belong to", "repo", verified[0].Name, "want_project", verified[0].Project)
		wh.observed(kind, WebhookForbidden)
		wh.reject(w, http.StatusForbidden, "the signature is valid for another project")
		return
	}
	log = log.With("repo", strings.Join(targets, ","))

	if ev.Delivery == "" {
		log.Info("webhook without a delivery ID: it cannot be deduplicated")
	} else if first, dup := wh.seen.add(string(kind)+" "+ev.Delivery, wh.now()); dup {
		log.Debug("duplicate webhook delivery ignored", "first_seen", first)
		wh.observed(kind, WebhookDuplicate)
		wh.reply(w, http.StatusOK, webhookReply{Status: "ignored", Reason: "duplicate delivery, ignored"})
		return
	}

	log.Debug("webhook accepted")
	for _, name := range targets {
		wh.trigger(name, ev)
	}
	rep := webhookReply{Status: "accepted", Repo: targets[0], Event: string(ev.Type)}
	if len(targets) > 1 {
		rep.Repos = targets
	}
	wh.observed(kind, WebhookAccepted)
	wh.reply(w, http.StatusAccepted, rep)

	if wh.comments == nil || !isNewPRComment(ev) {
		return
	}
	if err := http.NewResponseController(w).Flush(); err != nil {
		log.Debug("flushing the webhook reply", "err", err)
	}
	ctx, cancel := detached(r)
	defer cancel()
	for _, name := range targets {
		log.Debug("pull request comment handed to chat-ops", "pr", ev.Number, "comment", ev.Comment.ID)
		wh.comments(ctx, name, ev.Number, *ev.Comment)
	}
}

// deliveries remembers the last max delivery IDs and when each arrived.
type deliveries struct {
	mu    sync.Mutex
	at    map[string]time.Time
	order []string // a ring: order[next] is the oldest once full
	next  int
	max   int
}

func newDeliveries(size int) *deliveries {
	return &deliveries{at: make(map[string]time.Time, size), max: size}
}

// add records id as arriving at now. When id was already there it returns
// when it first arrived and true, and records nothing.
func (d *deliveries) add(id string, now time.Time) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if first, ok := d.at[id]; ok {
		return first, true
	}
	if len(d.order) < d.max {
		d.order = append(d.order, id)
	} else {
		delete(d.at, d.order[d.next])
		d.order[d.next] = id
		d.next = (d.next + 1) % d.max
	}
	d.at[id] = now
	return time.Time{}, false
}
