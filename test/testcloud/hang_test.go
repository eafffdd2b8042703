package testcloud

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestHangReturnsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	if err := Hang(ctx, time.Hour, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hang = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Hang took %s to notice the cancelled context", took)
	}
}

func TestHangIgnoresCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	const d = 200 * time.Millisecond
	start := time.Now()
	if err := Hang(ctx, d, true); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < d {
		t.Errorf("Hang with ignoreCancel returned after %s, before %s", took, d)
	}
}
