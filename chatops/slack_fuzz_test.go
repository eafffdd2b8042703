package chatops_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform/chatops"
)

// FuzzVerifySlack: a request verifies only with the signature of its
// timestamp and body made with the secret, a timestamp within 5 minutes of
// now, a non-empty secret, and only once; errors do not depend on the
// secret.
func FuzzVerifySlack(f *testing.F) {
	f.Add([]byte(slackExampleBody), slackExampleSecret, slackExampleTimestamp, slackExampleSignature, int64(10))
	f.Add([]byte("text=apply+42"), "s", "1700000000", "v0=", int64(0))
	f.Add([]byte(""), "", "1700000000", "v0=00", int64(-300))
	f.Add([]byte("x"), "k", "+1700000000", "V0=00", int64(301))
	f.Add([]byte("x"), "k", "99999999999999999999", "", int64(0))

	f.Fuzz(func(t *testing.T, body []byte, secret, ts, header string, skew int64) {
		sec, tsErr := strconv.ParseInt(ts, 10, 64)
		digits := ts != "" && strings.Trim(ts, "0123456789") == "" && tsErr == nil
		if !digits {
			// Mostly a plausible timestamp, else the fuzzer's own.
			if skew%2 == 0 {
				ts, sec, digits = "1700000000", 1700000000, true
			}
		}
		// now is skew seconds after the timestamp (without overflow).
		skew %= 1000
		now := time.Unix(1700000000, 0)
		if digits && sec < 1<<40 {
			now = time.Unix(sec+skew, 0)
		}
		fresh := digits && !now.Before(time.Unix(sec, 0).Add(-5*time.Minute)) && !now.After(time.Unix(sec, 0).Add(5*time.Minute))

		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte("v0:" + ts + ":"))
		mac.Write(body)
		good := "v0=" + hex.EncodeToString(mac.Sum(nil))
		headers := func(sig string) http.Header {
			return http.Header{"X-Slack-Request-Timestamp": {ts}, "X-Slack-Signature": {sig}}
		}

		// The right signature verifies once when the secret is set and
		// the timestamp fresh.
		seen := chatops.NewReplayCache(10)
		err := chatops.VerifySlack(headers(good), body, secret, now, seen)
		switch {
		case secret == "":
			if !errors.Is(err, chatops.ErrSlackNoSecret) {
				t.Fatalf("empty secret: %v", err)
			}
		case !digits:
			if !errors.Is(err, chatops.ErrSlackSignature) {
				t.Fatalf("timestamp %q: %v", ts, err)
			}
		case !fresh:
			if !errors.Is(err, chatops.ErrSlackStale) {
				t.Fatalf("timestamp %q at %d: %v", ts, now.Unix(), err)
			}
		default:
			if err != nil {
				t.Fatalf("right signature: %v", err)
			}
			if err := chatops.VerifySlack(headers(good), body, secret, now, seen); !errors.Is(err, chatops.ErrSlackReplay) {
				t.Fatalf("replayed: %v", err)
			}
		}

		// Any other header value does not verify (hex digits may be in
		// upper case).
		err = chatops.VerifySlack(headers(header), body, secret, now, chatops.NewReplayCache(10))
		right := secret != "" && fresh && strings.HasPrefix(header, "v0=") && strings.EqualFold(header, good)
		if (err == nil) != right {
			t.Fatalf("header %q, secret %q: %v (right: %v)", header, secret, err, right)
		}
		// Nor does the right one with another secret.
		if chatops.VerifySlack(headers(good), body, secret+"x", now, chatops.NewReplayCache(10)) == nil {
			t.Fatal("verified with another secret")
		}
		// Errors say what is wrong, never anything of the secret: the
		// same with another secret.
		if err != nil && secret != "" {
			other := chatops.VerifySlack(headers(header), body, "another secret", now, chatops.NewReplayCache(10))
			if other != nil && other.Error() != err.Error() {
				t.Fatalf("the error depends on the secret: %q and %q", err, other)
			}
		}
	})
}
