// Package forge is what Landform needs of a code forge (Gitea, GitHub,
// GitLab) for one repository: its open pull requests, one comment per pull
// request that Landform keeps up to date, commit statuses, the comments
// people write (chat-ops without webhooks) and an issue Landform keeps (the
// drift report).
//
// Each forge has a sub-package (forge/gitea, forge/github, forge/gitlab)
// that implements Client with the forge's own Go client. What is the same on
// every forge lives here: finding Landform's comments again by a hidden
// marker (Upsert), the retry of rate-limited and failed requests
// (Transport), the limits of a comment's size.
package forge

import (
	"context"
	"net/http"
	"time"

	"github.com/landform/landform"
)

// The forge types are the root package's (the runner declares what it
// needs of a forge with them); these names are the ones clients use.
type (
	Kind        = landform.ForgeKind
	Mergeable   = landform.Mergeable
	PullRequest = landform.PullRequest
	Comment     = landform.Comment
	StatusState = landform.StatusState
	Status      = landform.CommitStatus
	Issue       = landform.Issue
)

const (
	Gitea  = landform.ForgeGitea
	GitHub = landform.ForgeGitHub
	GitLab = landform.ForgeGitLab

	MergeableYes     = landform.MergeableYes
	MergeableNo      = landform.MergeableNo
	MergeableUnknown = landform.MergeableUnknown

	StatusPending = landform.StatusPending
	StatusSuccess = landform.StatusSuccess
	StatusFailure = landform.StatusFailure
	StatusError   = landform.StatusError
)

// Kinds are the forges Landform speaks to.
var Kinds = landform.ForgeKinds

// Client is one repository on a forge. Every method is safe for concurrent
// use; errors carry the forge's answer (status code and message). A client
// retries rate-limited (429, or 403 with a rate-limit header) and failed
// (5xx, network) requests itself through Transport; an error it returns is
// final for this attempt.
type Client interface {
	// Kind is the forge's kind.
	Kind() Kind
	// ListPullRequests returns the open pull requests, every page of them.
	ListPullRequests(ctx context.Context) ([]PullRequest, error)
	// ListComments returns the comments of pull request (or issue) number,
	// oldest first, every page; with since not zero, only those created
	// or updated at or after it (where the forge can filter, it does).
	ListComments(ctx context.Context, number int, since time.Time) ([]Comment, error)
	// CreateComment adds a comment to pull request (or issue) number.
	CreateComment(ctx context.Context, number int, body string) (Comment, error)
	// EditComment replaces the body of comment id on pull request (or
	// issue) number (GitLab needs the number; the others ignore it).
	EditComment(ctx context.Context, number int, id int64, body string) error
	// DeleteComment removes comment id of pull request (or issue) number.
	DeleteComment(ctx context.Context, number int, id int64) error
	// SetStatus sets a commit status (a new one per call; the forge shows
	// the latest per context).
	SetStatus(ctx context.Context, s Status) error
	// CreateIssue opens an issue.
	CreateIssue(ctx context.Context, title, body string) (Issue, error)
	// EditIssue replaces an issue's title and body and opens or closes it.
	EditIssue(ctx context.Context, number int, title, body string, open bool) (Issue, error)
	// FindIssue returns the most recent issue (open or closed) whose body
	// contains marker, nil when there is none.
	FindIssue(ctx context.Context, marker string) (*Issue, error)
	// IsTeamMember reports whether user (a login of the forge) belongs to
	// team: "org/name" (SplitTeam), or "name" for a team of the
	// repository's owner; on GitLab a group's full path ("group/sub").
	// A team, organization or user the forge does not know, or a user
	// name no account can have, is (false, nil). A team name that cannot
	// be one is EINVALID; any other error (the token may not see the
	// team: EUNAUTHORIZED) is returned, never taken for "not a member".
	IsTeamMember(ctx context.Context, team, user string) (bool, error)
	// MaxCommentLength is the longest comment body the forge accepts, in
	// characters (runes).
	MaxCommentLength() int
}

// Comment size limits of each forge, in characters. GitHub documents 65,536
// for issue and pull request comments. GitLab limits a note to 1,000,000
// characters. Gitea stores comments in a LONGTEXT/TEXT column and has no
// documented limit; Landform keeps to GitHub's so that a preview reads the
// same everywhere.
const (
	MaxCommentGitHub = 65536
	MaxCommentGitLab = 1_000_000
	MaxCommentGitea  = 65536
)

// MaxStatusDescription is the longest commit status description clients
// send, in characters: GitHub's limit, kept on every forge so a status
// reads the same everywhere (Gitea sets none).
const MaxStatusDescription = 140

// ErrorCode is the landform error code of an HTTP status a forge answered:
// 404 is ENOTFOUND, 401 and 403 EUNAUTHORIZED, 400 and 422 EINVALID, 409
// ECONFLICT; "" for anything else (5xx, rate limits: no code, retried).
func ErrorCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return landform.ENOTFOUND
	case http.StatusUnauthorized, http.StatusForbidden:
		return landform.EUNAUTHORIZED
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return landform.EINVALID
	case http.StatusConflict:
		return landform.ECONFLICT
	}
	return ""
}
