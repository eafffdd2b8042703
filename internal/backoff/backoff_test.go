package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDelayDoublesAndCaps(t *testing.T) {
	within := func(got, want time.Duration) bool {
		return got >= want-want/10 && got <= want+want/10
	}
	for _, tc := range []struct {
		p        Policy
		failures int
		want     time.Duration
	}{
		{Policy{time.Minute, 10 * time.Minute}, 0, time.Minute},
		{Policy{time.Minute, 10 * time.Minute}, 1, 2 * time.Minute},
		{Policy{time.Minute, 10 * time.Minute}, 3, 8 * time.Minute},
		{Policy{time.Minute, 10 * time.Minute}, 4, 10 * time.Minute}, // capped
		{Policy{time.Minute, 10 * time.Minute}, 40, 10 * time.Minute},
		{Policy{time.Hour, 10 * time.Minute}, 2, time.Hour}, // a base above the cap is the cap
		{Policy{50 * time.Millisecond, 2 * time.Second}, 5, 1600 * time.Millisecond},
	} {
		for range 20 {
			if got := tc.p.Delay(tc.failures); !within(got, tc.want) {
				t.Errorf("%+v.Delay(%d) = %s, want %s ±10%%", tc.p, tc.failures, got, tc.want)
				break
			}
		}
	}
}

func TestJitterSpreads(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 50 {
		d := Jitter(10 * time.Second)
		if d < 9*time.Second || d > 11*time.Second {
			t.Fatalf("Jitter(10s) = %s", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("Jitter gave only %d distinct delays in 50 draws", len(seen))
	}
}

func TestWaitStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Policy{Base: time.Hour}).Wait(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a cancelled context = %v", err)
	}
}
