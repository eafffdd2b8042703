package modules_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/landform/landform"
	"github.com/landform/landform/modules"
)

func TestCacheFileRoundTrip(t *testing.T) {
	ctx := context.Background()
	opts := monorepoOptions()
	opts.Cache = modules.NewCache(0)
	first, err := modules.Load(ctx, newHashedFS(monorepo()), opts)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := opts.Cache.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}

	// A new process: a cache read from the file, a fresh view of the
	// same commit. Nothing is read or parsed again.
	opts.Cache = modules.NewCache(0)
	if _, err := opts.Cache.ReadFrom(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	fsys := newHashedFS(monorepo())
	second, err := modules.Load(ctx, fsys, opts)
	if err != nil {
		t.Fatal(err)
	}
	if reads := fsys.takeReads(); len(reads) != 0 {
		t.Errorf("files read with a loaded cache: %v", reads)
	}
	if diff := cmp.Diff(first.Workspaces(), second.Workspaces()); diff != "" {
		t.Errorf("workspaces (-first +second):\n%s", diff)
	}
	for _, ws := range first.Workspaces() {
		if !cmp.Equal(first.Modules(ws.Dir), second.Modules(ws.Dir)) || !cmp.Equal(first.RequiredVersion(ws.Dir), second.RequiredVersion(ws.Dir)) {
			t.Errorf("%s: modules or required versions differ", ws.Dir)
		}
		if diff := cmp.Diff(first.Paths(ws.Dir), second.Paths(ws.Dir)); diff != "" {
			t.Errorf("%s: paths (-first +second):\n%s", ws.Dir, diff)
		}
		if diff := cmp.Diff(first.Unresolved(ws.Dir), second.Unresolved(ws.Dir)); diff != "" {
			t.Errorf("%s: unresolved (-first +second):\n%s", ws.Dir, diff)
		}
	}
	if len(first.Unresolved("envs/prod")) == 0 {
		t.Error("the fixture has no unresolved reference to carry over")
	}
	// Affected sets, file references included, are the same.
	changed := []string{"modules/base/main.tf", "shared/policy.json", "envs/prod/prod.tfvars"}
	if diff := cmp.Diff(modules.AffectedBy(first, first, changed), modules.AffectedBy(second, second, changed)); diff != "" {
		t.Errorf("affected (-first +second):\n%s", diff)
	}
	// A parse error survives with its diagnostics and code.
	e1, e2 := first.Err("envs/broken"), second.Err("envs/broken")
	var ce *modules.ConfigError
	if e2 == nil || e1.Error() != e2.Error() || landform.ErrorCode(e2) != landform.EINVALID || !errors.As(e2, &ce) {
		t.Errorf("parse error after the round trip: %v (first: %v)", e2, e1)
	}
}

func TestCacheFileDamaged(t *testing.T) {
	c := modules.NewCache(0)
	if _, err := c.ReadFrom(bytes.NewReader([]byte("not a cache"))); err == nil {
		t.Error("a damaged cache file was accepted")
	}
	if c.Len() != 0 {
		t.Errorf("a damaged file added %d entries", c.Len())
	}
}
