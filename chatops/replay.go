package chatops

import (
	"container/heap"
	"sync"
	"time"
)

// ReplayCache remembers the requests VerifySlack accepted, to refuse them
// when they come again.
type ReplayCache interface {
	// Seen reports whether key was recorded before and is still
	// remembered. Otherwise it records key, to be remembered until until
	// (an implementation bounded in size may forget it sooner, and may
	// remember it longer), and returns false. It must be safe for
	// concurrent use, and atomic: of two calls with the same new key, one
	// returns false and the other true.
	Seen(key string, until time.Time) bool
}

var _ ReplayCache = (*MemoryReplayCache)(nil)

// DefaultReplayCacheSize is the size of a MemoryReplayCache made with a
// size below 1.
const DefaultReplayCacheSize = 10000

// MemoryReplayCache is a ReplayCache in memory holding a bounded number of
// keys.
// When it is full, recording a key forgets the one whose until comes
// first: keys past their until go before any other, and a key is forgotten
// early only when more keys than its size are within their until at once. It
// has no clock: a key past its until is remembered until room is needed
// (harmless for VerifySlack, which refuses stale requests before asking).
//
// It is one process's memory: servers behind a load balancer each have
// their own, and a restart forgets everything.
type MemoryReplayCache struct {
	mu   sync.Mutex
	size int
	keys map[string]struct{}
	heap untilHeap
}

// NewReplayCache returns an empty MemoryReplayCache holding at most size
// keys (DefaultReplayCacheSize when size < 1).
func NewReplayCache(size int) *MemoryReplayCache {
	if size < 1 {
		size = DefaultReplayCacheSize
	}
	return &MemoryReplayCache{size: size, keys: make(map[string]struct{})}
}

// Seen implements ReplayCache.
func (c *MemoryReplayCache) Seen(key string, until time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.keys[key]; ok {
		return true
	}
	for len(c.heap) >= c.size {
		e := heap.Pop(&c.heap).(replayEntry)
		delete(c.keys, e.key)
	}
	heap.Push(&c.heap, replayEntry{key: key, until: until})
	c.keys[key] = struct{}{}
	return false
}

// Len returns the number of keys c remembers.
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.keys)
}

type replayEntry struct {
	key   string
	until time.Time
}

// untilHeap is a min-heap of entries by until.
type untilHeap []replayEntry

func (h untilHeap) Len() int           { return len(h) }
func (h untilHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h untilHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *untilHeap) Push(x any)        { *h = append(*h, x.(replayEntry)) }
func (h *untilHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = replayEntry{} // let the key be collected
	*h = old[:len(old)-1]
	return e
}
