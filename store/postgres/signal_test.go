package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/landform/landform/internal/pgtest"
	"github.com/landform/landform/store/postgres"
)

// A signal of one replica reaches another's watcher; the watcher ends with
// its context.
func TestQueueSignal(t *testing.T) {
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
	got := make(chan struct{}, 10)
	listening := make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.WatchQueue(ctx, func() { got <- struct{}{} }) }()
	// Signal until the watcher hears one (it may not be listening yet).
	go func() {
		defer close(listening)
		for {
			if err := a.SignalQueue(ctx); err != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond): // signals until one is heard; nothing to wait on
			}
			if len(got) > 0 {
				return
			}
		}
	}()
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no signal reached the other replica")
	}
	cancel()
	<-listening
	if err := <-done; err != nil {
		t.Errorf("WatchQueue after its context ended: %v", err)
	}
}
