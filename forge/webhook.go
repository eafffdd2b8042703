package forge

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
)

// EventType is what a webhook delivery is about, as far as Landform cares.
type EventType string

const (
	// EventPush: a branch or tag was updated (GitHub and Gitea "push",
	// GitLab "Push Hook" and "Tag Push Hook").
	EventPush EventType = "push"
	// EventPullRequest: a pull (merge) request was opened, updated,
	// closed, reopened, relabelled, ….
	EventPullRequest EventType = "pull_request"
	// EventComment: a comment on a pull request or an issue was created,
	// edited or deleted.
	EventComment EventType = "comment"
	// EventOther: anything else (ping, reviews, issues, releases, …).
	EventOther EventType = "other"
)

// MaxWebhookBody is the largest webhook body Landform reads, in bytes.
// GitHub caps its payloads at 25 MiB; the events Landform handles are a few
// kilobytes, and a push of many commits stays far below this.
const MaxWebhookBody = 5 << 20

// maxDeliveryLen bounds a delivery ID. The forges send UUIDs (36 bytes).
const maxDeliveryLen = 128

// Errors of VerifyWebhook; callers branch on them with errors.Is. None of
// them, nor the messages that wrap them, contains the secret or the
// signature.
var (
	// ErrNoSecret: the secret to verify with is empty. An empty secret
	// never verifies.
	ErrNoSecret = errors.New("no webhook secret configured")
	// ErrSignatureMissing: the header carrying the signature (or GitLab's
	// token) is absent or empty, which is what a forge sends when its
	// webhook has no secret.
	ErrSignatureMissing = errors.New("webhook signature missing")
	// ErrSignatureMalformed: the header is there but is not of the
	// forge's form (GitHub's "sha256=" prefix, 64 hex digits, one value).
	ErrSignatureMalformed = errors.New("webhook signature malformed")
	// ErrSignatureMismatch: well formed, but not made with this secret
	// over this body.
	ErrSignatureMismatch = errors.New("webhook signature does not match")
)

// VerifyWebhook checks that body was sent by a forge webhook configured with
// secret:
//
//   - GitHub: X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of
//     body keyed with secret;
//   - Gitea: X-Gitea-Signature is the hex HMAC-SHA256 of body (Gitea also
//     sends X-Hub-Signature-256 for GitHub compatibility; only its own
//     header is read);
//   - GitLab: X-Gitlab-Token equals secret (GitLab sends the secret
//     itself; the body is not signed).
//
// Comparisons take constant time (hmac.Equal; GitLab's token is compared as
// SHA-256 digests so that its length does not leak either). A header sent
// more than once is malformed.
//
// Returns nil when verified; ErrNoSecret when secret is empty;
// ErrSignatureMissing, ErrSignatureMalformed or ErrSignatureMismatch
// (wrapped, naming the header) otherwise; an error for an unknown kind.
func VerifyWebhook(kind Kind, h http.Header, body []byte, secret string) error {
	switch kind {
	case GitHub, Gitea, GitLab:
	default:
		return fmt.Errorf("verifying webhook: unknown forge kind %q", kind)
	}
	if secret == "" {
		return ErrNoSecret
	}
	switch kind {
	case GitHub:
		const name = "X-Hub-Signature-256"
		v, err := signatureHeader(h, name)
		if err != nil {
			return err
		}
		hexSig, ok := strings.CutPrefix(v, "sha256=")
		if !ok {
			return fmt.Errorf("%w: %s does not start with sha256=", ErrSignatureMalformed, name)
		}
		return checkHMAC(name, hexSig, body, secret)
	case Gitea:
		const name = "X-Gitea-Signature"
		v, err := signatureHeader(h, name)
		if err != nil {
			return err
		}
		return checkHMAC(name, v, body, secret)
	default: // GitLab
		const name = "X-Gitlab-Token"
		v, err := signatureHeader(h, name)
		if err != nil {
			return err
		}
		got, want := sha256.Sum256([]byte(v)), sha256.Sum256([]byte(secret))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return fmt.Errorf("%w: %s is not the secret token", ErrSignatureMismatch, name)
		}
		return nil
	}
}

// signatureHeader returns the one non-empty value of header name.
func signatureHeader(h http.Header, name string) (string, error) {
	vs := h.Values(name)
	switch {
	case len(vs) == 0:
		return "", fmt.Errorf("%w: no %s header", ErrSignatureMissing, name)
	case len(vs) > 1:
		return "", fmt.Errorf("%w: %d %s headers", ErrSignatureMalformed, len(vs), name)
	case vs[0] == "":
		return "", fmt.Errorf("%w: %s is empty (is a secret set on the forge's webhook?)", ErrSignatureMissing, name)
	}
	return vs[0], nil
}

func checkHMAC(name, hexSig string, body []byte, secret string) error {
	if len(hexSig) != hex.EncodedLen(sha256.Size) {
		return fmt.Errorf("%w: %s is not %d hex digits", ErrSignatureMalformed, name, hex.EncodedLen(sha256.Size))
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: %s is not hex", ErrSignatureMalformed, name)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s", ErrSignatureMismatch, name)
	}
	return nil
}

// WebhookEvent is what Landform reads of a webhook delivery. Strings are the
// payload's own (valid UTF-8: the JSON decoder replaces invalid bytes).
type WebhookEvent struct {
	Kind Kind      `json:"kind"`
	Type EventType `json:"type"`
	// Delivery identifies the delivery for deduplication: X-GitHub-Delivery
	// (kept by GitHub's redeliveries), X-Gitea-Delivery, or GitLab's
	// Idempotency-Key (kept across retries, GitLab 17.4 and later) and
	// else X-Gitlab-Event-UUID. Empty when the forge sent none. At most
	// 128 printable ASCII characters.
	Delivery string `json:"delivery,omitempty"`
	// Repo is the repository's full path: "owner/name" on GitHub and Gitea,
	// path_with_namespace ("group/subgroup/name") on GitLab. Empty when
	// the payload names none (GitHub's ping of an organization hook).
	Repo string `json:"repo,omitempty"`
	// CloneURLs are the repository's http(s) and ssh clone URLs as the
	// payload gives them, without duplicates.
	CloneURLs []string `json:"clone_urls,omitempty"`

	// Push events: the full ref name ("refs/heads/main", "refs/tags/v1")
	// and the commits before and after; After is all zeros when the ref
	// was deleted, Before when it was created.
	Ref    string `json:"ref,omitempty"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`

	// Action is the forge's own word for what happened to a pull request:
	// GitHub opened, synchronize, closed, reopened, edited, labeled, …;
	// Gitea opened, synchronized, closed, reopened, edited, label_updated,
	// …; GitLab open, update, close, reopen, merge, approved, …. For
	// comments it is created, edited or deleted on every forge (GitLab's
	// create and update are translated).
	Action string `json:"action,omitempty"`
	// PullRequest is set for pull request events, and for comment events on
	// a pull request when the payload describes the pull request (GitLab,
	// recent Gitea (1.26 does, 2022's did not); GitHub's issue_comment
	// does not: use Number). Fields the payload lacks stay empty:
	// GitLab's hooks give the author's numeric ID only, so Author is
	// empty there, and no base commit.
	PullRequest *PullRequest `json:"pull_request,omitempty"`
	// Number is the number of the pull request or issue (GitLab's iid) of
	// a pull request or comment event.
	Number int `json:"number,omitempty"`
	// IsPullRequest says that Number is a pull request, not an issue. True
	// for every pull request event.
	IsPullRequest bool `json:"is_pull_request,omitempty"`
	// Comment is set for comment events.
	Comment *Comment `json:"comment,omitempty"`
}

// ParseWebhook reads a webhook delivery already verified with
// VerifyWebhook. The event type comes from a header:
//
//   - GitHub, X-GitHub-Event: push, pull_request, issue_comment;
//   - Gitea, X-Gitea-Event-Type when present (push; pull_request,
//     pull_request_sync, pull_request_assign, pull_request_label,
//     pull_request_milestone, pull_request_review_request; issue_comment,
//     pull_request_comment), else X-Gitea-Event (push, pull_request,
//     issue_comment). Beware that Gitea's X-Gitea-Event
//     "pull_request_comment" is a review comment (X-Gitea-Event-Type
//     pull_request_review_comment) and is "other" here, like the other
//     reviews;
//   - GitLab, X-Gitlab-Event: Push Hook, Tag Push Hook, Merge Request Hook,
//     Note Hook, Confidential Note Hook; for a System Hook the payload's
//     object_kind. Notes on commits and snippets are "other".
//
// Any other event is Type EventOther with only Repo, CloneURLs and Delivery
// read, and no error.
//
// Returns an error when body is larger than MaxWebhookBody, is not JSON
// (form-encoded deliveries are refused: configure the webhook to send
// application/json), lacks what its event type needs (a pull_request event
// without its pull request, a comment without its comment or number), or
// when the delivery ID is malformed; for an unknown kind.
func ParseWebhook(kind Kind, h http.Header, body []byte) (WebhookEvent, error) {
	ev := WebhookEvent{Kind: kind}
	if len(body) > MaxWebhookBody {
		return ev, fmt.Errorf("parsing %s webhook: body of %d bytes exceeds %d", kind, len(body), MaxWebhookBody)
	}
	if ct := h.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/x-www-form-urlencoded" {
			return ev, fmt.Errorf("parsing %s webhook: form-encoded payload: configure the webhook to send application/json", kind)
		}
	}
	var err error
	switch kind {
	case GitHub:
		ev.Delivery = h.Get("X-GitHub-Delivery")
		err = parseGitHub(&ev, h.Get("X-GitHub-Event"), body)
	case Gitea:
		ev.Delivery = h.Get("X-Gitea-Delivery")
		err = parseGitea(&ev, giteaEvent(h.Get("X-Gitea-Event-Type"), h.Get("X-Gitea-Event")), body)
	case GitLab:
		ev.Delivery = h.Get("Idempotency-Key")
		if ev.Delivery == "" {
			ev.Delivery = h.Get("X-Gitlab-Event-UUID")
		}
		err = parseGitLab(&ev, h.Get("X-Gitlab-Event"), body)
	default:
		return ev, fmt.Errorf("parsing webhook: unknown forge kind %q", kind)
	}
	if err != nil {
		return WebhookEvent{Kind: kind}, fmt.Errorf("parsing %s webhook: %w", kind, err)
	}
	if !validDelivery(ev.Delivery) {
		return WebhookEvent{Kind: kind}, fmt.Errorf("parsing %s webhook: malformed delivery ID (%d bytes; want at most %d printable ASCII characters)", kind, len(ev.Delivery), maxDeliveryLen)
	}
	return ev, nil
}

func validDelivery(s string) bool {
	if len(s) > maxDeliveryLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// cloneURLs returns the non-empty URLs, without duplicates, in order.
func cloneURLs(urls ...string) []string {
	var out []string
	for _, u := range urls {
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// decode unmarshals a JSON object. The payload must be one JSON object
// (trailing data is an error).
func decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return errors.New("payload is not a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decoding payload: %w", err)
	}
	return nil
}

// hookTime reads the timestamps of the three forges: RFC 3339 (GitHub,
// Gitea, GitLab's newer fields) and GitLab's "2015-05-17 18:21:36 UTC".
// Anything else (null, a number, another layout) reads as the zero time:
// a timestamp is never worth refusing a delivery for.
type hookTime struct{ time.Time }

var hookTimeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700"}

func (t *hookTime) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	for _, layout := range hookTimeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v
			return nil
		}
	}
	return nil
}

// GitHub (and the fields Gitea shares with it).

type hookRepo struct {
	FullName string `json:"full_name"`
	CloneURL string `json:"clone_url"`
	SSHURL   string `json:"ssh_url"`
}

type hookUser struct {
	Login string `json:"login"`
}

type hookBranch struct {
	Ref string `json:"ref"`
	SHA string `json:"sha"`
}

type hookPull struct {
	Number    int        `json:"number"`
	Title     string     `json:"title"`
	User      hookUser   `json:"user"`
	Head      hookBranch `json:"head"`
	Base      hookBranch `json:"base"`
	Mergeable *bool      `json:"mergeable"`
	HTMLURL   string     `json:"html_url"`
}

type hookComment struct {
	ID        int64    `json:"id"`
	User      hookUser `json:"user"`
	Body      string   `json:"body"`
	CreatedAt hookTime `json:"created_at"`
	UpdatedAt hookTime `json:"updated_at"`
	HTMLURL   string   `json:"html_url"`
}

type hookIssue struct {
	Number int `json:"number"`
	// PullRequest is present (an object) when the issue is a pull request.
	PullRequest json.RawMessage `json:"pull_request"`
}

// hookPayload is the union of the push, pull_request and issue_comment
// payloads of GitHub and Gitea.
type hookPayload struct {
	Action      string       `json:"action"`
	Ref         string       `json:"ref"`
	Before      string       `json:"before"`
	After       string       `json:"after"`
	Number      int          `json:"number"`
	Repository  *hookRepo    `json:"repository"`
	PullRequest *hookPull    `json:"pull_request"`
	Issue       *hookIssue   `json:"issue"`
	Comment     *hookComment `json:"comment"`
	IsPull      *bool        `json:"is_pull"` // Gitea's issue_comment
}

func (p *hookPull) pullRequest(gitea bool) *PullRequest {
	pr := &PullRequest{
		Number:     p.Number,
		Title:      p.Title,
		Author:     p.User.Login,
		HeadSHA:    p.Head.SHA,
		BaseSHA:    p.Base.SHA,
		HeadBranch: p.Head.Ref,
		BaseBranch: p.Base.Ref,
		Mergeable:  MergeableUnknown,
		URL:        p.HTMLURL,
	}
	switch {
	case p.Mergeable == nil:
	case *p.Mergeable:
		pr.Mergeable = MergeableYes
	case !gitea:
		// Gitea's false also means "not checked yet": unknown.
		pr.Mergeable = MergeableNo
	}
	return pr
}

func (c *hookComment) comment() *Comment {
	return &Comment{
		ID:        c.ID,
		Author:    c.User.Login,
		Body:      c.Body,
		CreatedAt: c.CreatedAt.Time,
		UpdatedAt: c.UpdatedAt.Time,
		URL:       c.HTMLURL,
	}
}

func (p *hookPayload) repo(ev *WebhookEvent) {
	if p.Repository != nil {
		ev.Repo = p.Repository.FullName
		ev.CloneURLs = cloneURLs(p.Repository.CloneURL, p.Repository.SSHURL)
	}
}

func parseGitHub(ev *WebhookEvent, event string, body []byte) error {
	switch event {
	case "push":
		ev.Type = EventPush
	case "pull_request":
		ev.Type = EventPullRequest
	case "issue_comment":
		ev.Type = EventComment
	default:
		ev.Type = EventOther
	}
	return parseHook(ev, body, false)
}

// giteaEvent maps Gitea's X-Gitea-Event-Type (the precise hook event), or
// when absent its X-Gitea-Event, to an EventType. See
// modules/webhook/type.go in Gitea: HookEventType.Event() is what
// X-Gitea-Event carries.
func giteaEvent(eventType, event string) EventType {
	if eventType != "" {
		switch eventType {
		case "push":
			return EventPush
		case "pull_request", "pull_request_sync", "pull_request_assign", "pull_request_label",
			"pull_request_milestone", "pull_request_review_request":
			return EventPullRequest
		case "issue_comment", "pull_request_comment":
			return EventComment
		}
		return EventOther
	}
	switch event {
	case "push":
		return EventPush
	case "pull_request":
		return EventPullRequest
	case "issue_comment":
		return EventComment
	}
	return EventOther
}

func parseGitea(ev *WebhookEvent, t EventType, body []byte) error {
	ev.Type = t
	return parseHook(ev, body, true)
}

// parseHook reads the payloads GitHub and Gitea share the shape of.
func parseHook(ev *WebhookEvent, body []byte, gitea bool) error {
	if ev.Type == EventOther {
		var p struct {
			Repository *hookRepo `json:"repository"`
		}
		if err := decode(body, &p); err != nil {
			return err
		}
		(&hookPayload{Repository: p.Repository}).repo(ev)
		return nil
	}
	var p hookPayload
	if err := decode(body, &p); err != nil {
		return err
	}
	p.repo(ev)
	switch ev.Type {
	case EventPush:
		ev.Ref, ev.Before, ev.After = p.Ref, p.Before, p.After
	case EventPullRequest:
		if p.PullRequest == nil {
			return fmt.Errorf("%s event without pull_request", ev.Type)
		}
		ev.Action = p.Action
		ev.PullRequest = p.PullRequest.pullRequest(gitea)
		if ev.PullRequest.Number == 0 {
			ev.PullRequest.Number = p.Number
		}
		ev.Number = ev.PullRequest.Number
		ev.IsPullRequest = true
	case EventComment:
		if p.Comment == nil || p.Issue == nil {
			return errors.New("comment event without comment or issue")
		}
		ev.Action = p.Action
		ev.Comment = p.Comment.comment()
		ev.Number = p.Issue.Number
		// GitHub and Gitea give the issue a "pull_request" object when
		// it is one; Gitea also says is_pull.
		ev.IsPullRequest = isObject(p.Issue.PullRequest) || (p.IsPull != nil && *p.IsPull)
		if p.PullRequest != nil && ev.IsPullRequest {
			ev.PullRequest = p.PullRequest.pullRequest(gitea)
			if ev.PullRequest.Number == 0 {
				ev.PullRequest.Number = ev.Number
			}
		}
	}
	return nil
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// GitLab.

type glProject struct {
	PathWithNamespace string `json:"path_with_namespace"`
	GitHTTPURL        string `json:"git_http_url"`
	GitSSHURL         string `json:"git_ssh_url"`
	HTTPURL           string `json:"http_url"`
	SSHURL            string `json:"ssh_url"`
}

type glUser struct {
	Username string `json:"username"`
}

type glMergeRequest struct {
	IID          int    `json:"iid"`
	Title        string `json:"title"`
	SourceBranch string `json:"source_branch"`
	TargetBranch string `json:"target_branch"`
	LastCommit   struct {
		ID string `json:"id"`
	} `json:"last_commit"`
	MergeStatus         string `json:"merge_status"`
	DetailedMergeStatus string `json:"detailed_merge_status"`
	URL                 string `json:"url"`
	Action              string `json:"action"` // object_attributes of a Merge Request Hook
}

type glNote struct {
	ID           int64    `json:"id"`
	Note         string   `json:"note"`
	NoteableType string   `json:"noteable_type"`
	Action       string   `json:"action"`
	URL          string   `json:"url"`
	CreatedAt    hookTime `json:"created_at"`
	UpdatedAt    hookTime `json:"updated_at"`
}

type glPayload struct {
	ObjectKind       string          `json:"object_kind"`
	Ref              string          `json:"ref"`
	Before           string          `json:"before"`
	After            string          `json:"after"`
	User             *glUser         `json:"user"`
	Project          *glProject      `json:"project"`
	ObjectAttributes json.RawMessage `json:"object_attributes"`
	MergeRequest     *glMergeRequest `json:"merge_request"`
	Issue            *struct {
		IID int `json:"iid"`
	} `json:"issue"`
}

func (m *glMergeRequest) pullRequest() *PullRequest {
	pr := &PullRequest{
		Number:     m.IID,
		Title:      m.Title,
		HeadSHA:    m.LastCommit.ID,
		HeadBranch: m.SourceBranch,
		BaseBranch: m.TargetBranch,
		Mergeable:  MergeableUnknown,
		URL:        m.URL,
	}
	switch {
	case m.MergeStatus == "can_be_merged" || m.DetailedMergeStatus == "mergeable":
		pr.Mergeable = MergeableYes
	case m.MergeStatus == "cannot_be_merged" || m.DetailedMergeStatus == "conflict":
		pr.Mergeable = MergeableNo
	}
	return pr
}

// gitlabEvent maps X-Gitlab-Event, or a System Hook's object_kind, to an
// EventType.
func gitlabEvent(header, objectKind string) EventType {
	switch header {
	case "Push Hook", "Tag Push Hook":
		return EventPush
	case "Merge Request Hook":
		return EventPullRequest
	case "Note Hook", "Confidential Note Hook":
		return EventComment
	case "System Hook":
		switch objectKind {
		case "push", "tag_push":
			return EventPush
		case "merge_request":
			return EventPullRequest
		case "note":
			return EventComment
		}
	}
	return EventOther
}

func parseGitLab(ev *WebhookEvent, header string, body []byte) error {
	var p glPayload
	if err := decode(body, &p); err != nil {
		return err
	}
	if p.Project != nil {
		ev.Repo = p.Project.PathWithNamespace
		ev.CloneURLs = cloneURLs(p.Project.GitHTTPURL, p.Project.GitSSHURL, p.Project.HTTPURL, p.Project.SSHURL)
	}
	ev.Type = gitlabEvent(header, p.ObjectKind)
	switch ev.Type {
	case EventPush:
		ev.Ref, ev.Before, ev.After = p.Ref, p.Before, p.After
	case EventPullRequest:
		var mr glMergeRequest
		if !isObject(p.ObjectAttributes) {
			return errors.New("merge request event without object_attributes")
		}
		if err := json.Unmarshal(p.ObjectAttributes, &mr); err != nil {
			return fmt.Errorf("decoding object_attributes: %w", err)
		}
		ev.Action = mr.Action
		ev.PullRequest = mr.pullRequest()
		ev.Number = mr.IID
		ev.IsPullRequest = true
	case EventComment:
		var n glNote
		if !isObject(p.ObjectAttributes) {
			return errors.New("note event without object_attributes")
		}
		if err := json.Unmarshal(p.ObjectAttributes, &n); err != nil {
			return fmt.Errorf("decoding object_attributes: %w", err)
		}
		switch {
		case n.NoteableType == "MergeRequest" && p.MergeRequest != nil:
			ev.Number = p.MergeRequest.IID
			ev.IsPullRequest = true
			ev.PullRequest = p.MergeRequest.pullRequest()
		case n.NoteableType == "Issue" && p.Issue != nil:
			ev.Number = p.Issue.IID
		default:
			// A note on a commit or a snippet: not for Landform.
			*ev = WebhookEvent{Kind: ev.Kind, Type: EventOther, Delivery: ev.Delivery, Repo: ev.Repo, CloneURLs: ev.CloneURLs}
			return nil
		}
		ev.Action = gitlabNoteAction(n.Action)
		ev.Comment = &Comment{
			ID:        n.ID,
			Body:      n.Note,
			CreatedAt: n.CreatedAt.Time,
			UpdatedAt: n.UpdatedAt.Time,
			URL:       n.URL,
		}
		if p.User != nil {
			ev.Comment.Author = p.User.Username
		}
	}
	return nil
}

// gitlabNoteAction translates GitLab's note actions to the words GitHub and
// Gitea use.
func gitlabNoteAction(a string) string {
	switch a {
	case "create":
		return "created"
	case "update":
		return "edited"
	case "delete", "destroy":
		return "deleted"
	}
	return a
}
