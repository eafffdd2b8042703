package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
	hcfs "github.com/hashicorp/hc-install/fs"
	"github.com/hashicorp/hc-install/product"
	"github.com/landform/landform"
)

// Kind is the engine a binary is: Terraform or OpenTofu.
type Kind string

const (
	KindTerraform Kind = "terraform"
	KindTofu      Kind = "tofu"
)

// Binary is one engine executable and its version.
type Binary struct {
	Path    string
	Kind    Kind
	Version *version.Version
}

// String renders the binary the way error messages list it:
// "terraform 1.11.4 at /usr/local/bin/terraform".
func (b *Binary) String() string {
	return fmt.Sprintf("%s %s at %s", b.Kind, b.Version, b.Path)
}

// versionJSON is what `BIN version -json` prints for b, byte for byte,
// in a directory without a dependency lock file: the version, the
// platform, no provider selections, and, for terraform, not outdated
// (CHECKPOINT_DISABLE, which every child gets, turns the check off).
// OpenTofu prints the same object without terraform_outdated. A job's
// wrapper script gives it to terraform-exec's version probe (see
// probeAnswer), which reads terraform_version and provider_selections
// (tfjson.VersionOutput) and keeps the selections, which Landform never
// asks for. The platform is the one Landform was built for: the binary's
// own wherever it runs natively.
func versionJSON(b *Binary) string {
	out := struct {
		Version            string            `json:"terraform_version"`
		Platform           string            `json:"platform"`
		ProviderSelections map[string]string `json:"provider_selections"`
		Outdated           *bool             `json:"terraform_outdated,omitempty"`
	}{Version: b.Version.String(), Platform: runtime.GOOS + "_" + runtime.GOARCH, ProviderSelections: map[string]string{}}
	if b.Kind != KindTofu {
		out.Outdated = new(bool)
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		panic(err) // strings, a map of strings and a bool
	}
	return string(data)
}

// ErrNoSuitableBinary is in the chain of the error Binary and Plan return
// when no binary satisfies a workspace's constraints; callers use errors.Is.
var ErrNoSuitableBinary = errors.New("no suitable terraform binary")

// NoSuitableBinaryError says which versions were wanted and which found.
type NoSuitableBinaryError struct {
	// Wanted is the combined constraint, e.g. `>= 99.0` or `tofu ~> 1.8`.
	Wanted string
	Found  []*Binary
	// InstallErr is why installing a matching release failed, nil when no
	// install was attempted.
	InstallErr error
}

func (e *NoSuitableBinaryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no terraform binary satisfies %q (found: ", e.Wanted)
	if len(e.Found) == 0 {
		b.WriteString("none")
	}
	for i, f := range e.Found {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.String())
	}
	b.WriteString(")")
	if e.InstallErr != nil {
		fmt.Fprintf(&b, "; installing it failed: %v", e.InstallErr)
	} else {
		b.WriteString("; installing is off")
	}
	return b.String()
}

func (e *NoSuitableBinaryError) Is(target error) bool { return target == ErrNoSuitableBinary }
func (e *NoSuitableBinaryError) Unwrap() error        { return e.InstallErr }

// tofuProduct lets hc-install's fs sources look up tofu on PATH.
var tofuProduct = product.Product{
	Name:       "tofu",
	BinaryName: func() string { return "tofu" },
}

// requirement is a parsed set of constraint strings.
type requirement struct {
	kind        Kind // "" for either
	constraints version.Constraints
	text        string
}

// parseRequirement combines constraint strings: required_version values and
// a configured terraform_version. A string may start with an engine name,
// "terraform" or "tofu" (or "opentofu"), to require that engine, e.g.
// "tofu ~> 1.8" or just "tofu"; the rest is a version constraint.
func parseRequirement(constraints []string) (requirement, error) {
	var r requirement
	var texts []string
	for _, c := range constraints {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		texts = append(texts, c)
		word, rest, _ := strings.Cut(c, " ")
		var kind Kind
		switch strings.ToLower(word) {
		case "terraform":
			kind = KindTerraform
		case "tofu", "opentofu":
			kind = KindTofu
		}
		if kind != "" {
			if r.kind != "" && r.kind != kind {
				return r, fmt.Errorf("constraints require both %s and %s", r.kind, kind)
			}
			r.kind = kind
			c = strings.TrimSpace(rest)
			if c == "" {
				continue
			}
		}
		cs, err := version.NewConstraint(c)
		if err != nil {
			return r, fmt.Errorf("version constraint %q: %w", c, err)
		}
		r.constraints = append(r.constraints, cs...)
	}
	r.text = strings.Join(texts, ", ")
	return r, nil
}

func (r requirement) allows(b *Binary) bool {
	return (r.kind == "" || r.kind == b.Kind) && r.constraints.Check(b.Version)
}

// Binaries returns every binary the engine can use, newest first: the
// configured ones, the ones it installed, and terraform and tofu on PATH.
// A binary whose version cannot be read is logged and left out.
func (e *Engine) Binaries(ctx context.Context) ([]*Binary, error) {
	var bins []*Binary
	seen := map[string]bool{}
	for _, p := range e.candidatePaths(ctx) {
		real, err := filepath.EvalSymlinks(p)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		b, err := e.probe(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			e.logger.Warn("skipping terraform binary", "path", p, "err", err)
			continue
		}
		bins = append(bins, b)
	}
	// Stable: among equal versions the earlier source (configured first)
	// wins.
	slices.SortStableFunc(bins, func(a, b *Binary) int { return b.Version.Compare(a.Version) })
	return bins, nil
}

// candidatePaths lists binary paths in order of preference among equal
// versions.
func (e *Engine) candidatePaths(ctx context.Context) []string {
	paths := slices.Clone(e.extraBinaries)
	installed, _ := filepath.Glob(filepath.Join(e.installDir, "*", product.Terraform.BinaryName()))
	slices.Sort(installed)
	paths = append(paths, installed...)
	for _, p := range []*product.Product{&product.Terraform, &tofuProduct} {
		src := &hcfs.AnyVersion{Product: p}
		if path, err := src.Find(ctx); err == nil {
			paths = append(paths, path)
		}
	}
	return paths
}

// Binary picks the newest binary satisfying all constraints (see
// parseRequirement for their syntax; none means "any"), preferring
// terraform to tofu unless the constraints name tofu. When none does and
// installs are allowed, it installs the newest matching terraform release;
// the release list must answer within 4 seconds. Returns EINVALID for an
// invalid constraint, and an error matching ErrNoSuitableBinary (code
// EINVALID, a *NoSuitableBinaryError in the chain) naming the wanted and the
// found versions when no binary fits.
func (e *Engine) Binary(ctx context.Context, constraints ...string) (*Binary, error) {
	req, err := parseRequirement(constraints)
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "choosing terraform binary: %w", err)
	}
	bins, err := e.Binaries(ctx)
	if err != nil {
		return nil, err
	}
	// Without an engine named, terraform is preferred: a newer tofu never
	// takes over a workspace that did not ask for it.
	kinds := []Kind{req.kind}
	if req.kind == "" {
		kinds = []Kind{KindTerraform, KindTofu}
	}
	for _, kind := range kinds {
		for _, b := range bins {
			if b.Kind == kind && req.allows(b) {
				return b, nil
			}
		}
	}
	nerr := &NoSuitableBinaryError{Wanted: req.text, Found: bins}
	if req.text == "" {
		nerr.Wanted = "any version"
	}
	if e.install {
		b, err := e.installRelease(ctx, req)
		if err == nil {
			return b, nil
		}
		nerr.InstallErr = err
	}
	return nil, &landform.Error{Code: landform.EINVALID, Message: nerr.Error(), Err: nerr}
}

// versionEntry is one binary's probed version, valid while the file's size
// and modification time are unchanged.
type versionEntry struct {
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
	Kind    Kind      `json:"kind"`
	Version string    `json:"version"`
}

const versionCacheFile = "binaries.json"

func (e *Engine) loadVersionCache() {
	data, err := os.ReadFile(filepath.Join(e.workDir, versionCacheFile))
	if err != nil {
		return
	}
	m := map[string]versionEntry{}
	if err := json.Unmarshal(data, &m); err != nil {
		e.logger.Warn("ignoring terraform version cache", "err", err)
		return
	}
	e.mu.Lock()
	e.versions = m
	e.mu.Unlock()
}

func (e *Engine) saveVersionCacheLocked() {
	data, err := json.MarshalIndent(e.versions, "", "  ")
	if err == nil {
		err = writeFileAtomic(filepath.Join(e.workDir, versionCacheFile), data, 0o644)
	}
	if err != nil {
		e.logger.Warn("writing terraform version cache", "err", err)
	}
}

// probe returns the binary at path with its kind and version, from the
// cache when the file is unchanged, else by running `BIN version`.
func (e *Engine) probe(ctx context.Context, path string) (*Binary, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	ent, ok := e.versions[path]
	e.mu.Unlock()
	if ok && ent.Size == fi.Size() && ent.ModTime.Equal(fi.ModTime()) {
		if v, err := version.NewVersion(ent.Version); err == nil {
			return &Binary{Path: path, Kind: ent.Kind, Version: v}, nil
		}
	}
	kind, v, err := e.readVersion(ctx, path)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.versions[path] = versionEntry{Size: fi.Size(), ModTime: fi.ModTime(), Kind: kind, Version: v.String()}
	e.saveVersionCacheLocked()
	e.mu.Unlock()
	return &Binary{Path: path, Kind: kind, Version: v}, nil
}

// readVersion runs `BIN version`. The plain output, unlike -json, names the
// engine: "Terraform v1.11.4" or "OpenTofu v1.12.6".
func (e *Engine) readVersion(ctx context.Context, path string) (Kind, *version.Version, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	env, err := e.Environ(nil)
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, path, "version")
	cmd.Dir = e.workDir // no lock file here for it to read
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", nil, fmt.Errorf("%s version: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	e.logger.Debug("read terraform version", "path", path, "duration", time.Since(start))
	return parseVersionOutput(stdout.String())
}

var versionLineRe = regexp.MustCompile(`(?m)^(Terraform|OpenTofu) v(\S+)`)

// parseVersionOutput reads the engine and version from `version` output.
func parseVersionOutput(out string) (Kind, *version.Version, error) {
	m := versionLineRe.FindStringSubmatch(out)
	if m == nil {
		first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		return "", nil, fmt.Errorf("unrecognised version output %q", first)
	}
	v, err := version.NewVersion(m[2])
	if err != nil {
		return "", nil, err
	}
	kind := KindTerraform
	if m[1] == "OpenTofu" {
		kind = KindTofu
	}
	return kind, v, nil
}
