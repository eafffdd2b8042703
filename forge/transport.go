package forge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/landform/landform/internal/backoff"
)

// RetryOptions says how a forge client retries rate-limited and failed
// requests. The zero value is the defaults.
type RetryOptions struct {
	// Attempts is how many times a request is sent at most, the first
	// included (default 5).
	Attempts int
	// Base and Cap are the exponential backoff between attempts when the
	// forge does not say how long to wait (default 1s and 1m).
	Base, Cap time.Duration
	// MaxWait is the longest Retry-After (or rate-limit reset) honoured;
	// when the forge asks for longer, the client gives up at once with the
	// forge's response (default 5m).
	MaxWait time.Duration
	// Sleep waits d or until ctx is done, then returns ctx's error
	// (default a real timer). Tests pass a fake that records the waits.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Defaults of RetryOptions.
const (
	DefaultAttempts = 5
	DefaultBase     = time.Second
	DefaultCap      = time.Minute
	DefaultMaxWait  = 5 * time.Minute
)

// AttemptTimeout bounds one attempt of a request made with NewHTTPClient,
// from sending it to reading the last byte of the answer.
const AttemptTimeout = 30 * time.Second

func (o RetryOptions) withDefaults() RetryOptions {
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Base <= 0 {
		o.Base = DefaultBase
	}
	if o.Cap <= 0 {
		o.Cap = DefaultCap
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.Sleep == nil {
		o.Sleep = backoff.Sleep
	}
	return o
}

// NewHTTPClient returns the HTTP client of a forge client: requests are
// retried as NewTransport says, and each attempt has AttemptTimeout (the
// client itself has no overall timeout, which would also cut the waits
// between attempts; the caller's ctx bounds those).
func NewHTTPClient(o RetryOptions) *http.Client {
	return &http.Client{
		Transport: NewTransport(timeoutTransport{base: http.DefaultTransport, timeout: AttemptTimeout}, o),
	}
}

// NewTransport returns a RoundTripper that sends requests through base (nil
// means http.DefaultTransport) and sends them again, up to o.Attempts times
// in all, when they failed for a reason that may pass:
//
//   - a network error (not a certificate the client refuses);
//   - a 5xx answer other than 501 Not Implemented;
//   - 429 Too Many Requests;
//   - 403 Forbidden with X-RateLimit-Remaining: 0 or a Retry-After header
//     (GitHub's primary and secondary rate limits).
//
// Between attempts it waits what the forge asks: Retry-After (seconds or an
// HTTP date), else GitHub's X-RateLimit-Reset (unix seconds) when
// X-RateLimit-Remaining is 0, both measured from the answer's Date header
// so that a skewed local clock does not matter; else the exponential
// backoff of internal/backoff. When the forge asks for longer than
// o.MaxWait, the answer is returned as it is, without waiting.
//
// A request whose body cannot be read again (a body and no GetBody) is sent
// once. Bodies of answers that are retried are drained and closed; the
// last answer is returned untouched. A cancelled request context stops the
// waiting and returns the context's error.
func NewTransport(base http.RoundTripper, o RetryOptions) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, o: o.withDefaults()}
}

type transport struct {
	base http.RoundTripper
	o    RetryOptions
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	hasBody := req.Body != nil && req.Body != http.NoBody
	replayable := !hasBody || req.GetBody != nil
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 && hasBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("reading the body of %s %s again: %w", req.Method, req.URL.Redacted(), err)
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := t.base.RoundTrip(r)
		if ctx.Err() != nil || !replayable || attempt >= t.o.Attempts {
			return resp, err
		}
		wait, retry := t.decide(resp, err, attempt-1)
		if !retry {
			return resp, err
		}
		if resp != nil {
			drain(resp.Body)
		}
		if err := t.o.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// decide says whether an attempt that got resp or err is worth another and
// how long to wait before it; failures is the number of failed attempts
// before this one.
func (t *transport) decide(resp *http.Response, err error, failures int) (time.Duration, bool) {
	if err != nil {
		var cert *tls.CertificateVerificationError
		if errors.As(err, &cert) {
			return 0, false
		}
		return t.backoff(failures), true
	}
	limited := resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode == http.StatusForbidden &&
			(resp.Header.Get("X-RateLimit-Remaining") == "0" || resp.Header.Get("Retry-After") != ""))
	failed := resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented
	if !limited && !failed {
		return 0, false
	}
	if wait, ok := askedWait(resp); ok {
		return wait, wait <= t.o.MaxWait
	}
	return t.backoff(failures), true
}

func (t *transport) backoff(failures int) time.Duration {
	return backoff.Policy{Base: t.o.Base, Cap: t.o.Cap}.Delay(failures)
}

// askedWait is how long resp asks the client to wait, from Retry-After or,
// when the rate limit is spent, X-RateLimit-Reset; false when it says
// nothing usable. A time already past is a wait of 0.
func askedWait(resp *http.Response) (time.Duration, bool) {
	now := time.Now()
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		now = d
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
			return seconds(s), true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(at.Sub(now), 0), true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if s, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Unix(s, 0).Sub(now), 0), true
		}
	}
	return 0, false
}

// seconds converts s seconds to a Duration, saturating instead of
// overflowing for absurd values (which then exceed any MaxWait).
func seconds(s int64) time.Duration {
	const limit = int64(1<<63-1) / int64(time.Second)
	if s > limit {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(s) * time.Second
}

// drain reads what is left of a body that will not be used (a little, so
// that the connection can be reused) and closes it.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}

// timeoutTransport gives each request timeout, reading the answer's body
// included.
type timeoutTransport struct {
	base    http.RoundTripper
	timeout time.Duration
}

func (t timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
