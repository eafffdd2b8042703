package chatops_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landform/landform/chatops"
)

func TestReplayCache(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	c := chatops.NewReplayCache(3)
	for i, key := range []string{"a", "b", "c"} {
		if c.Seen(key, t0.Add(time.Duration(i)*time.Minute)) {
			t.Fatalf("%s seen before it was recorded", key)
		}
	}
	for _, key := range []string{"a", "b", "c"} {
		if !c.Seen(key, t0) {
			t.Fatalf("%s forgotten", key)
		}
	}
	// Full: d makes room by forgetting a, whose until comes first.
	if c.Seen("d", t0.Add(10*time.Minute)) {
		t.Fatal("d seen")
	}
	if c.Len() != 3 {
		t.Fatalf("%d keys, want 3", c.Len())
	}
	for key, want := range map[string]bool{"b": true, "c": true, "d": true} {
		if c.Seen(key, t0) != want {
			t.Errorf("Seen(%s) = %v", key, !want)
		}
	}
	if c.Seen("a", t0.Add(20*time.Minute)) {
		t.Error("a still remembered after it made room")
	}
	// a's return made b go.
	if c.Seen("b", t0.Add(30*time.Minute)) {
		t.Error("b still remembered")
	}

	if d := chatops.NewReplayCache(0); d.Seen("x", t0) || !d.Seen("x", t0) {
		t.Error("a default cache does not remember")
	}
}

func TestReplayCacheConcurrent(t *testing.T) {
	c := chatops.NewReplayCache(1000)
	until := time.Unix(1_800_000_000, 0)
	var firsts atomic.Int32
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 100 {
				// The shared keys last longer: the others make room.
				if !c.Seen(fmt.Sprint("same-", i), until.Add(time.Hour)) {
					firsts.Add(1)
				}
				c.Seen(fmt.Sprint(g, "-", i), until)
			}
		})
	}
	wg.Wait()
	if n := firsts.Load(); n != 100 {
		t.Errorf("%d calls saw a key first, want 100 (one per key)", n)
	}
	if c.Len() != 1000 {
		t.Errorf("%d keys, want the 1000 of the bound", c.Len())
	}
}
