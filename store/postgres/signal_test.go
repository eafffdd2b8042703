package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform"

	"github.com/landform/landform/internal/pgtest"
	"github.com/landform/landform/store/postgres"
)

// The signals of one replica reach another's watcher — runs queued, a
// loop of the poller's with its repository, an event — and the watcher
// ends with its context.
func TestSignals(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	a, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	queued := make(chan struct{}, 100)
	loops := make(chan string, 100)
	events := make(chan string, 100)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- b.WatchSignals(ctx, func() { queued <- struct{}{} }, func(loop, repo string) { loops <- loop + "|" + repo },
			func(p []byte) { events <- string(p) })
	}()
	// Signal until the watcher hears one (it may not be listening yet):
	// there is no event to wait for before its LISTEN.
	heard := false
	for deadline := time.Now().Add(30 * time.Second); !heard && time.Now().Before(deadline); {
		if err := a.SignalQueue(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-queued:
			heard = true
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !heard {
		t.Fatal("no signal reached the other replica")
	}
	// Listening now: a poller signal arrives with its loop and repository
	// (a name with a space in it too).
	for _, repo := range []string{"infra", "team infra"} {
		if err := a.SignalPoller(ctx, "forge", repo); err != nil {
			t.Fatal(err)
		}
		for got := ""; got != "forge|"+repo; {
			select {
			case got = <-loops:
			case <-time.After(30 * time.Second):
				t.Fatalf("the poller signal for %q did not arrive", repo)
			}
		}
	}
	if err := a.SignalPoller(ctx, "two words", "infra"); err == nil {
		t.Error("a loop name with a space was signalled")
	}
	// An event's payload arrives as sent; one NOTIFY cannot carry is
	// refused.
	const payload = `{"k":"run_finished","r":"infra","id":"42","s":"planned","w":"envs/prod/é"}`
	if err := a.SignalEvent(ctx, []byte(payload)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-events:
		if got != payload {
			t.Errorf("event payload %q, want %q", got, payload)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the event did not arrive")
	}
	for _, bad := range [][]byte{make([]byte, 8000), {0xff, 'x'}, []byte("a\x00b")} {
		if err := a.SignalEvent(ctx, bad); err == nil {
			t.Errorf("a payload of %d bytes (%q…) was signalled", len(bad), bad[:2])
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("WatchSignals after its context ended: %v", err)
	}
}

// TestSignalsPastPgBouncer: behind PgBouncer in transaction pooling mode,
// which does not carry LISTEN, the signals still reach the other replica
// when it listens on a DSN of its own straight to PostgreSQL
// (WithListenDSN) — the queries go through the bouncer.
func TestSignalsPastPgBouncer(t *testing.T) {
	direct := pgtest.NewDatabase(t)
	b := pgtest.NewBouncer(t, "transaction")
	pooled, err := b.Route(direct)
	if err != nil {
		t.Fatal(err)
	}
	a := open(t, pooled)
	w := open(t, pooled, postgres.WithListenDSN(direct))
	loops := make(chan string, 100)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- w.WatchSignals(ctx, func() {}, func(loop, repo string) { loops <- loop + "|" + repo }, func([]byte) {})
	}()
	// Signal until the watcher hears one (it may not be listening yet).
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := a.SignalPoller(ctx, "poll", "infra"); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-loops:
			if got != "poll|infra" {
				t.Fatalf("heard %q", got)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("WatchSignals: %v", err)
			}
			return
		case err := <-done:
			t.Fatalf("WatchSignals ended: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no signal reached the replica listening past the bouncer")
		}
	}
}

func TestOpenInvalidListenDSN(t *testing.T) {
	_, err := postgres.Open(t.Context(), pgtest.NewDatabase(t), postgres.WithListenDSN("postgres://a b:c"))
	if landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), "listen DSN") {
		t.Errorf("Open with a malformed listen DSN: %v", err)
	}
}
