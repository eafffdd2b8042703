package forge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landform/landform/internal/backoff"
)

// fakeSleep records the waits of a transport instead of waiting.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (f *fakeSleep) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeSleep) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

// script is a test server that answers the nth request with answers[n]
// (the last one again once they run out) and records the requests' bodies.
type script struct {
	answers []func(w http.ResponseWriter)
	calls   atomic.Int32
	mu      sync.Mutex
	bodies  []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	n := int(s.calls.Add(1)) - 1
	s.answers[min(n, len(s.answers)-1)](w)
}

func status(code int, headers ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, http.StatusText(code))
	}
}

func serve(t *testing.T, s *script) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, rt http.RoundTripper, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rt.RoundTrip(req)
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRetryAfterSecondsIsWaitedOut(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){
		status(http.StatusTooManyRequests, "Retry-After", "7"),
		status(http.StatusOK),
	}}
	srv := serve(t, s)
	var f fakeSleep
	resp, err := get(t, NewTransport(nil, RetryOptions{Sleep: f.Sleep}), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || body(t, resp) != "OK" {
		t.Fatalf("got %s, want 200 OK", resp.Status)
	}
	if got := f.Waits(); len(got) != 1 || got[0] != 7*time.Second {
		t.Errorf("waits = %v, want [7s]", got)
	}
	if n := s.calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestRetryAfterHTTPDateIsMeasuredFromTheAnswersDate(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &script{answers: []func(http.ResponseWriter){
		status(http.StatusServiceUnavailable,
			"Date", now.Format(http.TimeFormat),
			"Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)),
		status(http.StatusOK),
	}}
	srv := serve(t, s)
	var f fakeSleep
	resp, err := get(t, NewTransport(nil, RetryOptions{Sleep: f.Sleep}), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := f.Waits(); len(got) != 1 || got[0] != 90*time.Second {
		t.Errorf("waits = %v, want [1m30s]", got)
	}
}

func TestGitHubRateLimitResetIsWaitedOut(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &script{answers: []func(http.ResponseWriter){
		status(http.StatusForbidden,
			"Date", now.Format(http.TimeFormat),
			"X-RateLimit-Remaining", "0",
			"X-RateLimit-Reset", "1772366430"), // now + 30s
		status(http.StatusOK),
	}}
	if now.Unix()+30 != 1772366430 {
		t.Fatalf("fixture: now is %d", now.Unix())
	}
	srv := serve(t, s)
	var f fakeSleep
	resp, err := get(t, NewTransport(nil, RetryOptions{Sleep: f.Sleep}), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got %s", resp.Status)
	}
	if got := f.Waits(); len(got) != 1 || got[0] != 30*time.Second {
		t.Errorf("waits = %v, want [30s]", got)
	}
}

func TestServerErrorsBackOffExponentially(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){
		status(http.StatusServiceUnavailable),
		status(http.StatusBadGateway),
		status(http.StatusOK),
	}}
	srv := serve(t, s)
	var f fakeSleep
	resp, err := get(t, NewTransport(nil, RetryOptions{Sleep: f.Sleep}), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || body(t, resp) != "OK" {
		t.Fatalf("got %s", resp.Status)
	}
	got := f.Waits()
	want := []time.Duration{time.Second, 2 * time.Second} // ±10% jitter
	if len(got) != len(want) {
		t.Fatalf("waits = %v, want about %v", got, want)
	}
	for i := range want {
		if got[i] < want[i]-want[i]/10 || got[i] > want[i]+want[i]/10 {
			t.Errorf("wait %d = %s, want %s ±10%%", i, got[i], want[i])
		}
	}
}

func TestPostBodyIsReplayedIdentically(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){
		status(http.StatusInternalServerError),
		status(http.StatusCreated),
	}}
	srv := serve(t, s)
	var f fakeSleep
	const payload = `{"body":"<!-- landform:preview -->\nplan: 1 to add"}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := NewTransport(nil, RetryOptions{Sleep: f.Sleep}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("got %s", resp.Status)
	}
	if len(s.bodies) != 2 || s.bodies[0] != payload || s.bodies[1] != payload {
		t.Errorf("bodies received = %q, want the payload twice", s.bodies)
	}
}

func TestBodyWithoutGetBodyIsSentOnce(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){status(http.StatusServiceUnavailable)}}
	srv := serve(t, s)
	var f fakeSleep
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, io.NopCloser(bytes.NewBufferString("once")))
	if err != nil {
		t.Fatal(err)
	}
	req.GetBody = nil
	resp, err := NewTransport(nil, RetryOptions{Sleep: f.Sleep}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || s.calls.Load() != 1 || len(f.Waits()) != 0 {
		t.Errorf("got %s after %d requests and waits %v; want 503 after 1 and no wait", resp.Status, s.calls.Load(), f.Waits())
	}
}

func TestGivesUpAfterAttemptsWithTheLastAnswer(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){
		status(http.StatusBadGateway),
		status(http.StatusBadGateway),
		status(http.StatusServiceUnavailable),
	}}
	srv := serve(t, s)
	var f fakeSleep
	resp, err := get(t, NewTransport(nil, RetryOptions{Attempts: 3, Sleep: f.Sleep}), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("got %s, want the last answer, 503", resp.Status)
	}
	if got := body(t, resp); got != "Service Unavailable" {
		t.Errorf("last answer's body = %q, want it unread", got)
	}
	if n := s.calls.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if n := len(f.Waits()); n != 2 {
		t.Errorf("%d waits, want 2", n)
	}
}

func TestNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(http.ResponseWriter)
	}{
		{"403 without a rate-limit header", status(http.StatusForbidden)},
		{"404", status(http.StatusNotFound)},
		{"422", status(http.StatusUnprocessableEntity)},
		{"501", status(http.StatusNotImplemented)},
		{"Retry-After beyond MaxWait", status(http.StatusTooManyRequests, "Retry-After", "3600")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{answers: []func(http.ResponseWriter){tc.answer, status(http.StatusOK)}}
			srv := serve(t, s)
			var f fakeSleep
			resp, err := get(t, NewTransport(nil, RetryOptions{Sleep: f.Sleep}), srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || s.calls.Load() != 1 || len(f.Waits()) != 0 {
				t.Errorf("got %s after %d requests and waits %v; want the first answer at once", resp.Status, s.calls.Load(), f.Waits())
			}
		})
	}
}

func TestRateLimited403WithRetryAfterIsRetried(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){
		status(http.StatusForbidden, "Retry-After", "60"), // GitHub's secondary rate limit
		status(http.StatusOK),
	}}
	srv := serve(t, s)
	var f fakeSleep
	resp, err := get(t, NewTransport(nil, RetryOptions{Sleep: f.Sleep}), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got %s", resp.Status)
	}
	if got := f.Waits(); len(got) != 1 || got[0] != time.Minute {
		t.Errorf("waits = %v, want [1m]", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNetworkErrorIsRetried(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){status(http.StatusOK)}}
	srv := serve(t, s)
	var failed atomic.Bool
	flaky := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if !failed.Swap(true) {
			return nil, errors.New("read tcp: connection reset by peer")
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	var f fakeSleep
	resp, err := get(t, NewTransport(flaky, RetryOptions{Sleep: f.Sleep}), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(f.Waits()) != 1 {
		t.Errorf("got %s with waits %v, want 200 after one wait", resp.Status, f.Waits())
	}
}

func TestCancelledContextStopsTheWait(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){status(http.StatusTooManyRequests, "Retry-After", "60")}}
	srv := serve(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The real timer, reporting when the wait for Retry-After begins.
	waiting := make(chan time.Duration, 1)
	rt := NewTransport(nil, RetryOptions{Sleep: func(ctx context.Context, d time.Duration) error {
		waiting <- d
		return backoff.Sleep(ctx, d)
	}})
	done := make(chan error, 1)
	go func() {
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		done <- err
	}()
	if d := <-waiting; d != time.Minute {
		t.Errorf("waiting %s, want 1m", d)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("RoundTrip = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RoundTrip still waiting 10s after its context was cancelled")
	}
	if n := s.calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestEachAttemptHasItsOwnTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select { // the first attempt hangs
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	var f fakeSleep
	rt := NewTransport(timeoutTransport{base: http.DefaultTransport, timeout: 50 * time.Millisecond}, RetryOptions{Sleep: f.Sleep})
	resp, err := get(t, rt, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || calls.Load() != 2 {
		t.Errorf("got %s after %d requests, want 200 after the hung one timed out", resp.Status, calls.Load())
	}
}
