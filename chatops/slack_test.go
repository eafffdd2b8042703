package chatops_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/landform/landform"
	"github.com/landform/landform/chatops"
)

// Slack's own example (api.slack.com/authentication/verifying-requests-from-slack):
// a slash command, its timestamp, the signing secret and the signature
// Slack documents for them.
const (
	slackExampleSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	slackExampleTimestamp = "1531420618"
	slackExampleBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	slackExampleSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

// slackSign returns the X-Slack-Signature of body at timestamp ts.
func slackSign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

func slackHeaders(ts, sig string) http.Header {
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", sig)
	return h
}

func TestVerifySlackExample(t *testing.T) {
	if got := slackSign(slackExampleSecret, slackExampleTimestamp, []byte(slackExampleBody)); got != slackExampleSignature {
		t.Fatalf("signature %s, Slack's %s", got, slackExampleSignature)
	}
	sec, _ := strconv.ParseInt(slackExampleTimestamp, 10, 64)
	now := time.Unix(sec+10, 0)
	seen := chatops.NewReplayCache(10)
	h := slackHeaders(slackExampleTimestamp, slackExampleSignature)
	if err := chatops.VerifySlack(h, []byte(slackExampleBody), slackExampleSecret, now, seen); err != nil {
		t.Fatal(err)
	}
	// The same request again is a replay, also with the signature in
	// upper case.
	if err := chatops.VerifySlack(h, []byte(slackExampleBody), slackExampleSecret, now.Add(time.Second), seen); !errors.Is(err, chatops.ErrSlackReplay) {
		t.Fatalf("replay: %v", err)
	}
	upper := slackHeaders(slackExampleTimestamp, "v0="+strings.ToUpper(strings.TrimPrefix(slackExampleSignature, "v0=")))
	if err := chatops.VerifySlack(upper, []byte(slackExampleBody), slackExampleSecret, now, seen); !errors.Is(err, chatops.ErrSlackReplay) {
		t.Fatalf("replay in upper case: %v", err)
	}

	s, err := chatops.ParseSlackCommand([]byte(slackExampleBody))
	if err != nil {
		t.Fatal(err)
	}
	want := chatops.SlashCommand{
		Command: "/webhook-collect", UserID: "U2CERLKJA", UserName: "roadrunner", ChannelID: "G8PSS9T3V", TeamID: "T1DC2JH3J",
		ResponseURL: "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN",
		TriggerID:   "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestVerifySlack(t *testing.T) {
	const secret = "s3cr3t-signing-secret"
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	body := []byte("command=%2Flandform&text=approve+42&user_id=U1&team_id=T1")
	at := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	fresh := at(-30 * time.Second)
	good := slackSign(secret, fresh, body)

	for _, tc := range []struct {
		name   string
		h      http.Header
		body   []byte
		secret string
		want   error // nil: verified
	}{
		{"valid", slackHeaders(fresh, good), body, secret, nil},
		{"5 minutes old", slackHeaders(at(-5*time.Minute), slackSign(secret, at(-5*time.Minute), body)), body, secret, nil},
		{"5 minutes ahead", slackHeaders(at(5*time.Minute), slackSign(secret, at(5*time.Minute), body)), body, secret, nil},
		{"old", slackHeaders(at(-5*time.Minute-time.Second), slackSign(secret, at(-5*time.Minute-time.Second), body)), body, secret, chatops.ErrSlackStale},
		{"future", slackHeaders(at(5*time.Minute+time.Second), slackSign(secret, at(5*time.Minute+time.Second), body)), body, secret, chatops.ErrSlackStale},
		{"epoch", slackHeaders("0", slackSign(secret, "0", body)), body, secret, chatops.ErrSlackStale},
		{"far future", slackHeaders("9223372036854775807", slackSign(secret, "9223372036854775807", body)), body, secret, chatops.ErrSlackStale},
		{"other body", slackHeaders(fresh, good), append([]byte("x"), body...), secret, chatops.ErrSlackSignature},
		{"other secret", slackHeaders(fresh, good), body, secret + "x", chatops.ErrSlackSignature},
		{"other timestamp", slackHeaders(at(-29*time.Second), good), body, secret, chatops.ErrSlackSignature},
		{"one digit changed", slackHeaders(fresh, good[:len(good)-1]+flipHex(good[len(good)-1])), body, secret, chatops.ErrSlackSignature},
		{"no v0=", slackHeaders(fresh, strings.TrimPrefix(good, "v0=")), body, secret, chatops.ErrSlackSignature},
		{"v1=", slackHeaders(fresh, "v1="+strings.TrimPrefix(good, "v0=")), body, secret, chatops.ErrSlackSignature},
		{"short", slackHeaders(fresh, good[:len(good)-2]), body, secret, chatops.ErrSlackSignature},
		{"not hex", slackHeaders(fresh, good[:len(good)-2]+"zz"), body, secret, chatops.ErrSlackSignature},
		{"no signature", http.Header{"X-Slack-Request-Timestamp": {fresh}}, body, secret, chatops.ErrSlackSignature},
		{"empty signature", slackHeaders(fresh, ""), body, secret, chatops.ErrSlackSignature},
		{"no timestamp", http.Header{"X-Slack-Signature": {good}}, body, secret, chatops.ErrSlackSignature},
		{"two signatures", http.Header{"X-Slack-Request-Timestamp": {fresh}, "X-Slack-Signature": {good, good}}, body, secret, chatops.ErrSlackSignature},
		{"two timestamps", http.Header{"X-Slack-Request-Timestamp": {fresh, fresh}, "X-Slack-Signature": {good}}, body, secret, chatops.ErrSlackSignature},
		{"timestamp not a number", slackHeaders("12:00", slackSign(secret, "12:00", body)), body, secret, chatops.ErrSlackSignature},
		{"negative timestamp", slackHeaders("-1", slackSign(secret, "-1", body)), body, secret, chatops.ErrSlackSignature},
		{"timestamp with a sign", slackHeaders("+"+fresh, slackSign(secret, "+"+fresh, body)), body, secret, chatops.ErrSlackSignature},
		{"timestamp in milliseconds", slackHeaders(fresh+"000", slackSign(secret, fresh+"000", body)), body, secret, chatops.ErrSlackStale},
		{"timestamp with leading zeros", slackHeaders("0000"+fresh, slackSign(secret, "0000"+fresh, body)), body, secret, nil},
		{"timestamp overflows", slackHeaders("99999999999999999999", good), body, secret, chatops.ErrSlackSignature},
		{"no secret", slackHeaders(fresh, slackSign("", fresh, body)), body, "", chatops.ErrSlackNoSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := chatops.VerifySlack(tc.h, tc.body, tc.secret, now, chatops.NewReplayCache(10))
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			for _, leak := range []string{tc.secret, secret, strings.TrimPrefix(good, "v0=")} {
				if leak != "" && strings.Contains(err.Error(), leak) {
					t.Errorf("error %q contains %q", err, leak)
				}
			}
		})
	}
}

func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func TestVerifySlackReplay(t *testing.T) {
	const secret = "s3cr3t"
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte("text=apply+42")
	seen := chatops.NewReplayCache(100)

	// A request that fails verification is not recorded: the real one
	// with the same timestamp goes through once.
	bad := slackHeaders(ts, slackSign("another secret", ts, body))
	if err := chatops.VerifySlack(bad, body, secret, now, seen); !errors.Is(err, chatops.ErrSlackSignature) {
		t.Fatalf("bad signature: %v", err)
	}
	if seen.Len() != 0 {
		t.Fatalf("%d keys recorded after a failed verification", seen.Len())
	}
	h := slackHeaders(ts, slackSign(secret, ts, body))
	if err := chatops.VerifySlack(h, body, secret, now, seen); err != nil {
		t.Fatal(err)
	}
	for _, later := range []time.Duration{0, time.Second, 5 * time.Minute} {
		if err := chatops.VerifySlack(h, body, secret, now.Add(later), seen); !errors.Is(err, chatops.ErrSlackReplay) {
			t.Fatalf("replay %s later: %v", later, err)
		}
	}
	// Once stale, it is refused as such.
	if err := chatops.VerifySlack(h, body, secret, now.Add(5*time.Minute+time.Second), seen); !errors.Is(err, chatops.ErrSlackStale) {
		t.Fatalf("replay when stale: %v", err)
	}
	// Another request of the same second is not a replay.
	other := []byte("text=apply+43")
	if err := chatops.VerifySlack(slackHeaders(ts, slackSign(secret, ts, other)), other, secret, now, seen); err != nil {
		t.Fatal(err)
	}
	// Without a cache nothing verifies.
	if err := chatops.VerifySlack(h, body, secret, now, nil); err == nil {
		t.Fatal("verified without a replay cache")
	}
}

func TestParseSlackCommand(t *testing.T) {
	form := func(kv ...string) []byte {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return []byte(v.Encode())
	}
	base := []string{"command", "/landform", "user_id", "U1", "team_id", "T1", "channel_id", "C1", "user_name", "ana",
		"response_url", "https://hooks.slack.com/commands/T1/1/x", "trigger_id", "1.2.3", "token", "ignored"}

	s, err := chatops.ParseSlackCommand(form(append(base, "text", `approve 42 --override-policy "tested in staging"`)...))
	if err != nil {
		t.Fatal(err)
	}
	want := chatops.SlashCommand{Command: "/landform", Text: `approve 42 --override-policy "tested in staging"`, UserID: "U1", UserName: "ana",
		ChannelID: "C1", TeamID: "T1", ResponseURL: "https://hooks.slack.com/commands/T1/1/x", TriggerID: "1.2.3"}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	cmd, err := s.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(chatops.Command{Verb: chatops.VerbApprove, Runs: []string{"42"}, OverridePolicy: "tested in staging"}, cmd); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	// An empty text is no command; a text with lines is read whole.
	s, err = chatops.ParseSlackCommand(form(base...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Parse(); err == nil {
		t.Error("empty text parsed")
	}
	s, err = chatops.ParseSlackCommand(form(append(base, "text", "plan\n-w a")...))
	if err != nil {
		t.Fatal(err)
	}
	if cmd, err := s.Parse(); err != nil || cmd.Workspaces[0] != "a" {
		t.Errorf("%+v, %v", cmd, err)
	}

	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"too large", form(append(base, "text", strings.Repeat("%", chatops.MaxSlackBody))...)},
		{"not a form", []byte("command=%zz")},
		{"semicolon", []byte("command=/landform;user_id=U1")},
		{"twice", form(append(base, "text", "a", "text", "b")...)},
		{"no command", form(base[2:]...)},
		{"command without /", form(append([]string{"command", "landform"}, base[2:]...)...)},
		{"no user", form("command", "/landform", "team_id", "T1")},
		{"no team", form("command", "/landform", "user_id", "U1")},
		{"control character", form(append(base, "user_name", "a\nb")...)},
		{"invalid UTF-8", form(append(base, "text", "\xff")...)},
		{"long field", form(append(base, "channel_id", strings.Repeat("C", 2049))...)},
		{"http response URL", form("command", "/landform", "user_id", "U1", "team_id", "T1", "response_url", "http://hooks.slack.com/x")},
		{"relative response URL", form("command", "/landform", "user_id", "U1", "team_id", "T1", "response_url", "/commands/x")},
		{"response URL with a user", form("command", "/landform", "user_id", "U1", "team_id", "T1", "response_url", "https://u:p@example.com/x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := chatops.ParseSlackCommand(tc.body)
			if err == nil {
				t.Fatalf("parsed: %+v", s)
			}
			if landform.ErrorCode(err) != landform.EINVALID {
				t.Errorf("code %q: %v", landform.ErrorCode(err), err)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
		})
	}
}
