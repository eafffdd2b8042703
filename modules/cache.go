package modules

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
)

// DirHasher may be implemented by the fs.FS given to Load to name the
// content of a directory cheaply, e.g. with the git tree hash of a commit's
// directory.
type DirHasher interface {
	// DirHash returns an identifier of the content of dir and of everything
	// below it (dir is an fs.FS path, "." for the root): two directories
	// with the same path and hash must hold the same files, recursively.
	// ok is false when the implementation cannot tell.
	DirHash(dir string) (hash string, ok bool)
}

// DefaultCacheEntries is the size of a generation of a Cache whose size
// was not given.
const DefaultCacheEntries = 50_000

// Cache keeps parsed directories between calls of Load, so that loading a
// commit after its parent re-parses only what changed. One Cache may be
// shared by every repository and goroutine: entries are keyed by directory
// and content, never by repository.
//
// Two kinds of entries are kept:
//   - the parse of one directory's configuration files, keyed by (dir, git
//     tree hash) when the fs.FS implements DirHasher, else by (dir, sha256
//     of the files' names and contents), which still saves the parse but
//     not the reads;
//   - with a DirHasher, the outcome of walking a whole subtree, keyed by
//     (dir, tree hash), so an unchanged subtree is not even listed.
//
// Memory is bounded by a two-generation scheme: when the current generation
// holds maxEntries entries it becomes the old one and the previous old one
// is dropped; an entry found in the old generation moves to the current
// one. The zero Cache is ready to use with DefaultCacheEntries.
type Cache struct {
	mu       sync.Mutex
	max      int
	cur, old map[cacheKey]cacheEntry
}

// NewCache returns a Cache whose generations hold maxEntries entries each
// (so at most 2*maxEntries in all); maxEntries <= 0 means
// DefaultCacheEntries.
func NewCache(maxEntries int) *Cache {
	return &Cache{max: maxEntries}
}

type cacheKind byte

const (
	kindDirTree    cacheKind = 'd' // dirInfo by tree hash
	kindDirContent cacheKind = 'c' // dirInfo by content hash
	kindSubtree    cacheKind = 't' // every config dir below dir, by tree hash
)

type cacheKey struct {
	kind cacheKind
	dir  string
	hash string
}

type cacheEntry struct {
	info    *dirInfo
	subtree []*dirInfo
}

func (c *Cache) get(k cacheKey) (cacheEntry, bool) {
	if c == nil {
		return cacheEntry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.cur[k]; ok {
		return e, true
	}
	if e, ok := c.old[k]; ok {
		delete(c.old, k)
		c.putLocked(k, e)
		return e, true
	}
	return cacheEntry{}, false
}

func (c *Cache) put(k cacheKey, e cacheEntry) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, e)
}

func (c *Cache) putLocked(k cacheKey, e cacheEntry) {
	limit := c.max
	if limit <= 0 {
		limit = DefaultCacheEntries
	}
	if c.cur == nil {
		c.cur = make(map[cacheKey]cacheEntry)
	}
	if _, ok := c.cur[k]; !ok && len(c.cur) >= limit {
		c.old, c.cur = c.cur, make(map[cacheKey]cacheEntry)
	}
	c.cur[k] = e
}

// Len returns the number of entries the cache holds.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}

// contentHash names the configuration files of a directory by their names
// and contents.
func contentHash(files []string, srcs [][]byte) string {
	h := sha256.New()
	var n [8]byte
	for i, name := range files {
		for _, b := range [][]byte{[]byte(name), srcs[i]} {
			l := len(b)
			for j := range n {
				n[j] = byte(l >> (8 * j))
			}
			h.Write(n[:])
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
