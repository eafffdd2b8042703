package chatops

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/landform/landform"
)

// SlackMaxAge is how far a Slack request's timestamp may be from now, in
// the past or in the future.
const SlackMaxAge = 5 * time.Minute

// Errors of VerifySlack; callers branch on them with errors.Is. None of
// them, nor the messages that wrap them, contains the secret or the
// signature.
var (
	// ErrSlackNoSecret: the signing secret to verify with is empty. An
	// empty secret never verifies.
	ErrSlackNoSecret = errors.New("no slack signing secret configured")
	// ErrSlackSignature: X-Slack-Signature or X-Slack-Request-Timestamp
	// is missing, given twice or malformed, or the signature is not the
	// secret's over this timestamp and body.
	ErrSlackSignature = errors.New("slack request signature missing, malformed or wrong")
	// ErrSlackStale: the timestamp is more than SlackMaxAge away from now.
	ErrSlackStale = errors.New("slack request timestamp too old or in the future")
	// ErrSlackReplay: this timestamp and signature were verified before.
	ErrSlackReplay = errors.New("slack request replayed")
)

const (
	slackTimestampHeader = "X-Slack-Request-Timestamp"
	slackSignatureHeader = "X-Slack-Signature"
)

// VerifySlack checks that body was sent by Slack to an app with the signing
// secret secret, at most SlackMaxAge from now, and not before (Slack's
// "v0" signing):
//
//   - X-Slack-Request-Timestamp is the request's time in Unix seconds
//     (decimal digits), at most SlackMaxAge before or after now;
//   - X-Slack-Signature is "v0=" and the hex HMAC-SHA256, keyed with
//     secret, of "v0:" + timestamp + ":" + body; it is compared in
//     constant time;
//   - the pair (timestamp, signature) is not in seen. A verified pair is
//     recorded there until the timestamp is stale, so that the same request
//     sent again is refused. Only verified pairs are recorded: a forger
//     cannot fill seen.
//
// body must be the raw request body, unparsed. Returns nil when verified;
// ErrSlackNoSecret when secret is empty; ErrSlackSignature, ErrSlackStale or
// ErrSlackReplay, wrapped with what is wrong, otherwise; an error when seen
// is nil (replays cannot be told, so nothing verifies).
func VerifySlack(h http.Header, body []byte, secret string, now time.Time, seen ReplayCache) error {
	if secret == "" {
		return ErrSlackNoSecret
	}
	if seen == nil {
		return errors.New("verifying slack request: no replay cache")
	}
	ts, err := slackHeader(h, slackTimestampHeader)
	if err != nil {
		return err
	}
	// Digits only: ParseInt would also take a sign. It refuses values
	// beyond an int64, however many leading zeros come before.
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || strings.IndexFunc(ts, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return fmt.Errorf("%w: %s is not a Unix time in seconds", ErrSlackSignature, slackTimestampHeader)
	}
	if !withinSeconds(sec, now.Unix(), int64(SlackMaxAge/time.Second)) {
		return fmt.Errorf("%w: %s is more than %s from now", ErrSlackStale, slackTimestampHeader, SlackMaxAge)
	}
	v, err := slackHeader(h, slackSignatureHeader)
	if err != nil {
		return err
	}
	hexSig, ok := strings.CutPrefix(v, "v0=")
	if !ok {
		return fmt.Errorf("%w: %s does not start with v0=", ErrSlackSignature, slackSignatureHeader)
	}
	if len(hexSig) != hex.EncodedLen(sha256.Size) {
		return fmt.Errorf("%w: %s is not v0= and %d hex digits", ErrSlackSignature, slackSignatureHeader, hex.EncodedLen(sha256.Size))
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: %s is not hex", ErrSlackSignature, slackSignatureHeader)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match", ErrSlackSignature, slackSignatureHeader)
	}
	// The key is the decoded signature (hex in lower case), so that the
	// same signature in upper case is the same request.
	if seen.Seen(ts+":"+hex.EncodeToString(sig), time.Unix(sec, 0).Add(SlackMaxAge)) {
		return ErrSlackReplay
	}
	return nil
}

// withinSeconds reports whether a and b are at most d apart, without
// overflowing.
func withinSeconds(a, b, d int64) bool {
	if a < b {
		a, b = b, a
	}
	return uint64(a)-uint64(b) <= uint64(d)
}

// slackHeader returns the one non-empty value of header name.
func slackHeader(h http.Header, name string) (string, error) {
	vs := h.Values(name)
	switch {
	case len(vs) == 0 || vs[0] == "":
		return "", fmt.Errorf("%w: no %s header", ErrSlackSignature, name)
	case len(vs) > 1:
		return "", fmt.Errorf("%w: %d %s headers", ErrSlackSignature, len(vs), name)
	}
	return vs[0], nil
}

// MaxSlackBody is the largest slash command payload ParseSlackCommand
// reads, in bytes: room for a MaxTextLen text even with every byte
// percent-encoded, and the other fields.
const MaxSlackBody = 3*MaxTextLen + 16<<10

// maxSlackField bounds each field of a slash command but its text, in
// bytes. Slack's IDs are about a dozen characters, its response URLs about
// a hundred.
const maxSlackField = 2048

// SlashCommand is what Landform reads of a Slack slash command payload
// (https://api.slack.com/interactivity/slash-commands). Every field is
// valid UTF-8; all but Text hold no control characters and are at most 2
// KiB.
type SlashCommand struct {
	// Command is the slash command as configured in Slack, "/landform".
	Command string
	// Text is what was typed after it, for ParseText (see Parse).
	Text string
	// UserID and UserName are who typed it (Slack's ID, "U2CERLKJA", and
	// the user name Slack sends, which users may change: trust the ID).
	UserID   string
	UserName string
	// ChannelID and TeamID say where.
	ChannelID string
	TeamID    string
	// ResponseURL takes delayed replies: an https URL, or "" when the
	// payload has none.
	ResponseURL string
	// TriggerID lets the app open a modal in reply.
	TriggerID string
}

// Parse reads the command of s.Text, as ParseText.
func (s SlashCommand) Parse() (Command, error) { return ParseText(s.Text) }

// ParseSlackCommand reads a slash command payload, the form-encoded body
// Slack posts (after VerifySlack has verified it). Fields other than those
// of SlashCommand are ignored.
//
// Returns an EINVALID *landform.Error when body is larger than
// MaxSlackBody or is not form-encoded, a field is given twice, command
// (which must start with "/"), user_id or team_id is missing, a field is
// not valid UTF-8, or one but text holds a control character or is longer
// than 2 KiB, or response_url is not an absolute https URL (without user
// information).
func ParseSlackCommand(body []byte) (SlashCommand, error) {
	if len(body) > MaxSlackBody {
		return SlashCommand{}, landform.Errorf(landform.EINVALID, "parsing slack command: body of %d bytes exceeds %d", len(body), MaxSlackBody)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return SlashCommand{}, landform.Errorf(landform.EINVALID, "parsing slack command: not a form-encoded payload")
	}
	var s SlashCommand
	fields := []struct {
		name string
		dst  *string
	}{
		{"command", &s.Command},
		{"text", &s.Text},
		{"user_id", &s.UserID},
		{"user_name", &s.UserName},
		{"channel_id", &s.ChannelID},
		{"team_id", &s.TeamID},
		{"response_url", &s.ResponseURL},
		{"trigger_id", &s.TriggerID},
	}
	for _, f := range fields {
		vs := form[f.name]
		if len(vs) > 1 {
			return SlashCommand{}, landform.Errorf(landform.EINVALID, "parsing slack command: %d %s fields", len(vs), f.name)
		}
		if len(vs) == 0 {
			continue
		}
		v := vs[0]
		if !utf8.ValidString(v) {
			return SlashCommand{}, landform.Errorf(landform.EINVALID, "parsing slack command: %s is not valid UTF-8", f.name)
		}
		if f.name != "text" {
			if len(v) > maxSlackField {
				return SlashCommand{}, landform.Errorf(landform.EINVALID, "parsing slack command: %s of %d bytes exceeds %d", f.name, len(v), maxSlackField)
			}
			if strings.IndexFunc(v, unicode.IsControl) >= 0 {
				return SlashCommand{}, landform.Errorf(landform.EINVALID, "parsing slack command: %s contains a control character", f.name)
			}
		}
		*f.dst = v
	}
	switch {
	case !strings.HasPrefix(s.Command, "/"):
		return SlashCommand{}, landform.Errorf(landform.EINVALID, "parsing slack command: command %s does not start with /", quoteShort(s.Command))
	case s.UserID == "":
		return SlashCommand{}, landform.Errorf(landform.EINVALID, "parsing slack command: no user_id")
	case s.TeamID == "":
		return SlashCommand{}, landform.Errorf(landform.EINVALID, "parsing slack command: no team_id")
	}
	if s.ResponseURL != "" {
		u, err := url.Parse(s.ResponseURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			return SlashCommand{}, landform.Errorf(landform.EINVALID, "parsing slack command: response_url is not an https URL")
		}
	}
	return s, nil
}
