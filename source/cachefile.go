package source

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/landform/landform/modules"
)

// CacheFile returns the parse cache a one-shot command keeps for the
// repository src in dir, and a function that saves it back when the command
// parsed something new. Parses are keyed by git tree hash, so a later
// command re-parses only directories that changed. A missing or unreadable
// file just means an empty cache (logged).
func CacheFile(dir, src string, log *slog.Logger) (*modules.Cache, func()) {
	sum := sha256.Sum256([]byte(src))
	path := filepath.Join(dir, "modules-"+hex.EncodeToString(sum[:8])+".gob")
	cache := modules.NewCache(0)
	if f, err := os.Open(path); err == nil {
		if _, err := cache.ReadFrom(f); err != nil {
			log.Warn("ignoring the parse cache", "file", path, "err", err)
			cache = modules.NewCache(0)
		}
		f.Close()
	}
	loaded := cache.Len()
	return cache, func() {
		if cache.Len() == loaded {
			return
		}
		if err := writeCacheFile(path, cache); err != nil {
			log.Warn("saving the parse cache", "file", path, "err", err)
		}
	}
}

// writeCacheFile writes cache to path atomically.
func writeCacheFile(path string, cache *modules.Cache) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".modules-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := cache.WriteTo(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
