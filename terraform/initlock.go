package terraform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// InitLockFile is the lock file, in the plugin cache directory, that
// serializes `terraform init` across processes.
const InitLockFile = ".landform-init.lock"

// lockInit serializes `init` per plugin cache directory: Terraform's plugin
// cache is not safe for concurrent installs (hashicorp/terraform#31964: a
// second init sees a half-written provider, "text file busy" or "mkdir ...:
// file exists"). Within the process a semaphore per directory orders the
// waiters, and across processes an exclusive flock on InitLockFile in the
// directory does. Waiting ends early when ctx is done. The returned function
// releases the lock.
func (e *Engine) lockInit(ctx context.Context, cacheDir string) (unlock func(), err error) {
	if cacheDir == "" {
		return func() {}, nil
	}
	key := filepath.Clean(cacheDir)
	e.mu.Lock()
	sem := e.initSems[key]
	if sem == nil {
		sem = make(chan struct{}, 1)
		e.initSems[key] = sem
	}
	e.mu.Unlock()

	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() { <-sem }

	f, err := os.OpenFile(filepath.Join(key, InitLockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		release()
		return nil, fmt.Errorf("opening plugin cache lock: %w", err)
	}
	locked := make(chan error, 1)
	go func() { locked <- flockFile(f) }()
	select {
	case err := <-locked:
		if err != nil {
			f.Close()
			release()
			return nil, fmt.Errorf("locking plugin cache %s: %w", key, err)
		}
	case <-ctx.Done():
		// The flock call cannot be abandoned: let it finish in the
		// background and drop the lock at once.
		go func() {
			if <-locked == nil {
				_ = funlockFile(f)
			}
			f.Close()
		}()
		release()
		return nil, ctx.Err()
	}
	return func() {
		_ = funlockFile(f)
		f.Close()
		release()
	}, nil
}

// initCacheDir is the plugin cache an init in dir uses: the one in effect,
// resolved against dir when the operator gave a relative path.
func (e *Engine) initCacheDir(dir string) string {
	if e.cacheDir == "" || filepath.IsAbs(e.cacheDir) {
		return e.cacheDir
	}
	return filepath.Join(dir, e.cacheDir)
}
