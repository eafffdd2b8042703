package terraform

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/landform/landform"
)

// SandboxMode says whether terraform runs in a sandbox (see the package
// documentation, "The sandbox").
type SandboxMode string

const (
	// SandboxRequired runs every terraform process in a bubblewrap sandbox
	// and makes New fail when bubblewrap does not work on the machine.
	SandboxRequired SandboxMode = "required"
	// SandboxOff runs terraform as Landform's own child, seeing what
	// Landform sees.
	SandboxOff SandboxMode = "off"
)

// ParseSandboxMode reads a sandbox setting: "required" (also "") or "off".
// Anything else is EINVALID.
func ParseSandboxMode(s string) (SandboxMode, error) {
	switch SandboxMode(s) {
	case "", SandboxRequired:
		return SandboxRequired, nil
	case SandboxOff:
		return SandboxOff, nil
	}
	return "", landform.Errorf(landform.EINVALID, "sandbox %q: want required or off", s)
}

// WithSandbox sets the sandbox mode (default SandboxRequired). With
// SandboxRequired, New checks once that bubblewrap (bwrap on the PATH of
// Landform's environment) works, so that a machine without it fails at
// start, not at the first plan.
func WithSandbox(m SandboxMode) Option {
	return func(e *Engine) error {
		if m != SandboxRequired && m != SandboxOff {
			return fmt.Errorf("sandbox %q: want required or off", m)
		}
		e.sandbox = m
		return nil
	}
}

// WithSandboxPaths lets every sandbox see more of the machine: the
// directories or files of readOnly, read-only, and of readWrite, writable
// (a local state directory, an emulator's data). Paths must be absolute
// and exist when the engine starts. The operator chooses them; a
// repository never can.
func WithSandboxPaths(readOnly, readWrite []string) Option {
	return func(e *Engine) error {
		for _, set := range []struct {
			paths []string
			kind  mountKind
		}{{readOnly, mountRO}, {readWrite, mountRW}} {
			for _, p := range set.paths {
				if !filepath.IsAbs(p) {
					return landform.Errorf(landform.EINVALID, "sandbox path %q is not absolute", p)
				}
				if _, err := os.Stat(p); err != nil {
					return landform.Errorf(landform.EINVALID, "sandbox path %s: %w", p, err)
				}
				e.extraMounts = append(e.extraMounts, mount{path: filepath.Clean(p), kind: set.kind})
			}
		}
		return nil
	}
}

// sandboxEnv carries bwrap's arguments, quoted for the shell, from a job to
// the wrapper script (see sandboxScript); the sandbox unsets it.
const sandboxEnv = "LANDFORM_SANDBOX"

// systemPaths are bound read-only into every sandbox, those that exist:
// programs and libraries (terraform's providers and what they run: git,
// sh, ...), CA certificates, name resolution, users, the time zone. A
// top-level one that is a symbolic link (/bin -> usr/bin on a merged-/usr
// system) is made the same link instead of a mount: every mount costs
// bwrap time at each terraform command (docs/benchmarks.md).
var systemPaths = []string{
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/alternatives", "/etc/ld.so.cache", "/etc/ssl", "/etc/pki", "/etc/crypto-policies",
	"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/localtime",
}

// sandboxFlags are bwrap's options for every sandbox: terraform and its
// providers in a PID namespace of their own (so that they cannot see or
// signal Landform's processes, nor read their environment in /proc, and
// all die with the namespace's first process), in a session of their own
// (no terminal to inject input into), with IPC namespaced, killed when
// bwrap's parent dies (--die-with-parent). The network stays: providers
// need it.
var sandboxFlags = []string{"--die-with-parent", "--new-session", "--unshare-pid", "--as-pid-1", "--unshare-ipc", "--unsetenv", sandboxEnv}

// mountKind is what a sandbox mount is.
type mountKind int

// In this order among mounts of one path: special file systems first, then
// the strongest bind (see mountArgs).
const (
	mountProc    mountKind = iota // --proc
	mountDev                      // --dev
	mountTmpfs                    // --tmpfs: empty and private
	mountRW                       // --bind: read-write
	mountRO                       // --ro-bind: read-only, must exist
	mountTry                      // --ro-bind-try: read-only, when it exists
	mountSymlink                  // --symlink: a symbolic link to target
)

// mount is one path of the sandbox, at the same path as outside.
type mount struct {
	path string
	kind mountKind
	// target is a symbolic link's target.
	target string
}

func (m mount) bind() bool { return m.kind >= mountRW && m.kind <= mountTry }

func (m mount) args() []string {
	switch m.kind {
	case mountProc:
		return []string{"--proc", m.path}
	case mountDev:
		return []string{"--dev", m.path}
	case mountTmpfs:
		return []string{"--tmpfs", m.path}
	case mountRW:
		return []string{"--bind", m.path, m.path}
	case mountRO:
		return []string{"--ro-bind", m.path, m.path}
	case mountSymlink:
		return []string{"--symlink", m.target, m.path}
	}
	return []string{"--ro-bind-try", m.path, m.path}
}

// mountArgs returns bwrap's arguments for ms. bwrap mounts in argument
// order and a mount hides what earlier ones put below its path, so parents
// come before children (sorted by path). Of several binds of one path the
// strongest is kept (read-write over read-only), and a bind inside another
// of the same writability is left out.
func mountArgs(ms []mount) []string {
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b mount) int {
		return cmp.Or(strings.Compare(a.path, b.path), cmp.Compare(a.kind, b.kind))
	})
	var out []string
	var done []mount
	for _, m := range ms {
		if m.bind() {
			if enc, ok := enclosingMount(done, m.path); ok && enc.bind() &&
				(enc.path == m.path || (enc.kind == mountRW) == (m.kind == mountRW)) {
				continue
			}
		}
		done = append(done, m)
		out = append(out, m.args()...)
	}
	return out
}

// enclosingMount returns the last of done at p or above it.
func enclosingMount(done []mount, p string) (mount, bool) {
	for i := len(done) - 1; i >= 0; i-- {
		if within(p, done[i].path) {
			return done[i], true
		}
	}
	return mount{}, false
}

// covered reports whether the deepest of ms at p or above it is a bind.
func covered(ms []mount, p string) bool {
	var deepest *mount
	for i, m := range ms {
		if within(p, m.path) && (deepest == nil || len(m.path) > len(deepest.path)) {
			deepest = &ms[i]
		}
	}
	return deepest != nil && deepest.bind()
}

// within reports whether p is dir or below it (both clean and absolute).
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// setupSandbox finds bwrap, works out the mounts every sandbox of this
// engine has, writes the wrapper script (sandboxScript) and checks, by
// running `true` through it, that the sandbox works. mirrors are the
// provider paths of the operator's CLI config.
func (e *Engine) setupSandbox(mirrors []string) error {
	const remedy = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) or turn the sandbox off (server config `sandbox: off`, CLI --sandbox=off)"
	if runtime.GOOS != "linux" {
		return landform.Errorf(landform.EINVALID, "terraform sandbox: bubblewrap runs on Linux only, not %s; turn the sandbox off (server config `sandbox: off`, CLI --sandbox=off)", runtime.GOOS)
	}
	parent := envMap(e.environ())
	bwrap := lookPath("bwrap", cmp.Or(parent["PATH"], defaultPath))
	if bwrap == "" {
		return landform.Errorf(landform.EINVALID, "terraform sandbox: bwrap not found on PATH; %s", remedy)
	}
	e.bwrap = bwrap

	var ms []mount
	for _, p := range systemPaths {
		if t, err := os.Readlink(p); err == nil && strings.Count(p, "/") == 1 && !filepath.IsAbs(t) && !strings.Contains(t, "..") {
			ms = append(ms, mount{path: p, kind: mountSymlink, target: t})
			continue
		}
		ms = append(ms, mount{path: p, kind: mountTry})
	}
	ms = append(ms, mount{path: "/proc", kind: mountProc}, mount{path: "/dev", kind: mountDev}, mount{path: "/tmp", kind: mountTmpfs})
	for _, k := range []string{"SSL_CERT_FILE", "SSL_CERT_DIR"} {
		if p := parent[k]; filepath.IsAbs(p) {
			ms = append(ms, mount{path: filepath.Clean(p), kind: mountTry})
		}
	}
	ms = append(ms, mount{path: e.cliConfigFile, kind: mountRO})
	ms = append(ms, e.extraMounts...)
	var walk []string
	if filepath.IsAbs(e.cacheDir) {
		ms = append(ms, mount{path: filepath.Clean(e.cacheDir), kind: mountRO})
		walk = append(walk, filepath.Clean(e.cacheDir))
	}
	for _, p := range mirrors {
		if filepath.IsAbs(p) {
			ms = append(ms, mount{path: filepath.Clean(p), kind: mountTry})
			walk = append(walk, filepath.Clean(p))
		}
	}
	// Mirrors and the plugin cache hold symlinks (a cached provider links
	// to its mirror directory, a mirror's binary to where it was built):
	// their targets must be there too.
	for _, t := range symlinkTargets(walk, func(p string) bool { return covered(ms, p) }) {
		ms = append(ms, mount{path: t, kind: mountRO})
	}
	e.sandboxMounts = ms

	if _, err := e.writeWrapper("sandbox", sandboxScript(bwrap)); err != nil {
		return err
	}
	args := append(append(slices.Clone(sandboxFlags), mountArgs(ms)...), "--", "true")
	start := time.Now()
	if out, err := e.checkWrapper([]string{sandboxEnv + "=" + shellWords(args)}); err != nil {
		return landform.Errorf(landform.EINVALID, "terraform sandbox: %s does not work here (%v: %s); %s",
			bwrap, err, strings.TrimSpace(string(out)), remedy)
	}
	e.logger.Debug("terraform sandbox", "bwrap", bwrap, "script", e.wrapper, "check", time.Since(start))
	return nil
}

// setupWrapper writes the wrapper script terraform-exec runs instead of
// terraform, and checks that it runs: with the sandbox off plainScript,
// checked when written, else (setupSandbox) sandboxScript. mirrors are the
// provider paths of the operator's CLI config. On Windows, which runs no
// shell script, there is none: terraform-exec runs the binary, and its
// version probe is a terraform process.
func (e *Engine) setupWrapper(mirrors []string) error {
	if e.sandbox != SandboxOff {
		return e.setupSandbox(mirrors)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	written, err := e.writeWrapper("terraform", plainScript())
	if err != nil || !written {
		return err
	}
	// The check, after a write (see checkWrapper), answers a version probe:
	// it starts no terraform.
	if out, err := e.checkWrapper([]string{versionEnv + "=ok"}, "version", "-json"); err != nil || string(out) != "ok\n" {
		return fmt.Errorf("terraform wrapper %s does not work (%v): %q", e.wrapper, err, out)
	}
	return nil
}

// writeWrapper writes script into the engine's work directory, named by
// its content, unless it is there already, and makes it e.wrapper. It
// reports whether it wrote the file.
func (e *Engine) writeWrapper(name string, script []byte) (written bool, err error) {
	sum := sha256.Sum256(script)
	e.wrapper = filepath.Join(e.workDir, name+"-"+hex.EncodeToString(sum[:6])+".sh")
	if old, err := os.ReadFile(e.wrapper); err == nil && bytes.Equal(old, script) {
		return false, nil
	}
	if err := writeFileAtomic(e.wrapper, script, 0o755); err != nil {
		return false, fmt.Errorf("writing the terraform wrapper script: %w", err)
	}
	return true, nil
}

// checkWrapper runs the wrapper script with env and args and returns its
// combined output. A first successful run also proves that no process
// holds the script open for writing any more: a child forked elsewhere in
// the process while the script was written keeps it open until it execs
// (golang/go#22315), and an exec meanwhile fails with ETXTBSY, so the
// check tries again then. Later runs, the jobs', cannot meet that.
func (e *Engine) checkWrapper(env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		cmd := exec.CommandContext(ctx, e.wrapper, args...)
		cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
		cmd.Dir = "/"
		out, err := cmd.CombinedOutput()
		if errors.Is(err, syscall.ETXTBSY) && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		return out, err
	}
}

// versionEnv carries, from a job to its wrapper script, the answer to
// terraform-exec's version probe: what `terraform version -json` prints
// for the job's binary (see versionJSON). The wrapper unsets it before it
// runs anything.
const versionEnv = "LANDFORM_VERSION_JSON"

// terraformEnv carries, with the sandbox off, the terraform binary from a
// job to plainScript, which unsets it.
const terraformEnv = "LANDFORM_TERRAFORM"

// probeAnswer are the first lines of both wrapper scripts. terraform-exec
// (v0.26.0, tfexec/version.go) starts every tfexec.Terraform with
// `TERRAFORM version -json` to learn the version; when that is the command
// and the job set $LANDFORM_VERSION_JSON, the script prints it, as
// terraform would, and exits, without starting terraform (nor, sandboxed,
// bwrap). Anything else goes to terraform, without the variable.
const probeAnswer = `if [ $# -eq 2 ] && [ "$1" = version ] && [ "$2" = -json ] && [ -n "${` + versionEnv + `-}" ]; then
	printf '%s\n' "$` + versionEnv + `"
	exit 0
fi
unset ` + versionEnv + `
`

// sandboxScript is the wrapper terraform-exec runs instead of terraform
// with the sandbox on: it answers the version probe (probeAnswer), else
// runs bwrap with the arguments in $LANDFORM_SANDBOX (shell words, each
// quoted, the last ones "-- TERRAFORM") followed by its own arguments. It
// is a file of the engine's work directory, which no sandbox sees, so a
// sandboxed step cannot change how the next one is run.
func sandboxScript(bwrap string) []byte {
	return []byte(`#!/bin/sh
# Written by Landform (package github.com/landform/landform/terraform): runs
# terraform in a bubblewrap sandbox. $` + sandboxEnv + ` holds bwrap's arguments,
# quoted for the shell, ending with "--" and the terraform binary; this
# script's own arguments (terraform's) follow them. terraform-exec's version
# probe is answered from $` + versionEnv + `.
` + probeAnswer + `eval "set -- $` + sandboxEnv + `"' "$@"'
exec ` + shellQuote(bwrap) + ` "$@"
`)
}

// plainScript is the wrapper terraform-exec runs instead of terraform with
// the sandbox off: it answers the version probe (probeAnswer), else execs
// the terraform binary in $LANDFORM_TERRAFORM with its own arguments.
func plainScript() []byte {
	return []byte(`#!/bin/sh
# Written by Landform (package github.com/landform/landform/terraform): runs
# the terraform binary in $` + terraformEnv + ` with this script's arguments.
# terraform-exec's version probe is answered from $` + versionEnv + `.
` + probeAnswer + `tf=$` + terraformEnv + `
unset ` + terraformEnv + `
exec "$tf" "$@"
`)
}

// shellWords quotes args for sandboxScript's eval.
func shellWords(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// lookPath finds an executable file named name in the directories of
// path (a PATH value).
func lookPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// maxSymlinkWalk bounds the entries symlinkTargets looks at.
const maxSymlinkWalk = 100_000

// symlinkTargets walks roots and returns the resolved targets of the
// symlinks in them that bound does not cover, walking target directories
// in turn.
func symlinkTargets(roots []string, bound func(string) bool) []string {
	var out []string
	seen := map[string]bool{}
	n := 0
	for len(roots) > 0 {
		root := roots[0]
		roots = roots[1:]
		if seen[root] {
			continue
		}
		seen[root] = true
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if n++; n > maxSymlinkWalk {
				return filepath.SkipAll
			}
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			t, err := filepath.EvalSymlinks(p)
			if err != nil || seen[t] {
				return nil
			}
			if !bound(t) && !slices.Contains(out, t) {
				out = append(out, t)
			}
			if fi, err := os.Stat(t); err == nil && fi.IsDir() {
				roots = append(roots, t)
			}
			return nil
		})
	}
	return out
}

// providerPaths returns the local paths of the operator's CLI config src
// that terraform reads providers from: filesystem_mirror paths and
// dev_overrides. A config that does not parse gives none (mergeCLIConfig
// reports it).
func providerPaths(src []byte) []string {
	f, err := hcl.ParseBytes(src)
	if err != nil {
		return nil
	}
	list, ok := f.Node.(*ast.ObjectList)
	if !ok {
		return nil
	}
	var out []string
	for _, pi := range list.Filter("provider_installation").Items {
		if body, ok := pi.Val.(*ast.ObjectType); ok {
			for _, m := range body.List.Filter("filesystem_mirror").Items {
				var fm struct {
					Path string `hcl:"path"`
				}
				if hcl.DecodeObject(&fm, m.Val) == nil && fm.Path != "" {
					out = append(out, fm.Path)
				}
			}
			for _, m := range body.List.Filter("dev_overrides").Items {
				var dm map[string]string
				if hcl.DecodeObject(&dm, m.Val) == nil {
					for _, k := range slices.Sorted(maps.Keys(dm)) {
						out = append(out, dm[k])
					}
				}
			}
		}
	}
	return out
}

// jobMounts are the mounts of a job's sandbox besides the engine's: the
// binary, read-only, and the job's directories, read-write.
func (j *Job) jobMounts() []mount {
	ms := []mount{
		{path: j.binReal, kind: mountRO},
		{path: j.root, kind: mountRW},
		{path: j.scratch, kind: mountRW},
		{path: filepath.Dir(j.planFile), kind: mountRW},
	}
	if j.dataDir != "" {
		ms = append(ms, mount{path: j.dataDir, kind: mountRW})
	}
	return ms
}

// cacheMount is the plugin cache, writable: init's extra mount.
func (j *Job) cacheMount() []mount {
	if !filepath.IsAbs(j.engine.cacheDir) {
		return nil // none, or inside the job's directory
	}
	return []mount{{path: filepath.Clean(j.engine.cacheDir), kind: mountRW}}
}

// useSandbox makes the job's next commands run in a sandbox with the
// engine's mounts, the job's and extra. A no-op without the sandbox.
func (j *Job) useSandbox(extra ...mount) error {
	if j.engine.sandbox == SandboxOff {
		return nil
	}
	ms := append(slices.Concat(j.engine.sandboxMounts, j.jobMounts()), extra...)
	args := slices.Concat(sandboxFlags, mountArgs(ms),
		[]string{"--chdir", j.dir, "--setenv", jobMarkerEnv, j.marker, "--", j.binReal})
	j.env[sandboxEnv] = shellWords(args)
	return setTFEnv(j.tf, j.env)
}

// prepareSandboxDirs creates the directories a job's sandbox binds that
// terraform would otherwise create itself (the data directory, the plan
// file's directory): a bind needs them to exist.
func (j *Job) prepareSandboxDirs() error {
	for _, d := range []string{j.dataDir, filepath.Dir(j.planFile)} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("terraform job of %s: %w", j.name, err)
		}
	}
	return nil
}
