package terraform

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/landform/landform"
)

// DefaultInterruptGrace is how long a cancelled command may take to stop
// after SIGINT before its process group is killed.
const DefaultInterruptGrace = 20 * time.Second

// Engine finds engine binaries and runs them. It is safe for concurrent use;
// every call builds its own command.
type Engine struct {
	extraBinaries []string
	cliConfig     string // the operator's CLI config, "" for none
	cliConfigSet  bool
	pluginCache   string
	workDir       string
	logger        *slog.Logger
	releasesURL   string
	releasesKey   string // armored PGP key releases are signed with; "" for HashiCorp's
	installDir    string
	install       bool
	grace         time.Duration
	environ       func() []string // the parent environment; os.Environ
	passEnv       []string        // parent variables children get (WithPassEnv)
	sandbox       SandboxMode

	// Set up by New.
	cliConfigFile string   // the generated CLI config every child gets
	cacheDir      string   // the plugin cache in effect, "" for none
	providerPaths []string // the operator's provider mirrors and dev overrides
	bwrap         string   // the bwrap binary, sandboxed
	wrapper       string   // the script terraform-exec runs instead of terraform (sandboxScript, plainScript; "" on Windows)
	sandboxMounts []mount  // what every sandbox sees besides its job's own
	extraMounts   []mount  // the operator's sandbox paths (WithSandboxPaths)

	mu       sync.Mutex
	versions map[string]versionEntry  // binary path → probed version
	initSems map[string]chan struct{} // plugin cache dir → in-process init lock
	// installMu serializes installs so that two workspaces needing the same
	// missing version download it once.
	installMu sync.Mutex
}

// Option configures an Engine.
type Option func(*Engine) error

// WithBinaries adds terraform or tofu binaries to the ones found on PATH.
// They are preferred over PATH binaries of the same version.
func WithBinaries(paths ...string) Option {
	return func(e *Engine) error {
		for _, p := range paths {
			if p == "" {
				continue
			}
			abs, err := filepath.Abs(p)
			if err != nil {
				return err
			}
			e.extraBinaries = append(e.extraBinaries, abs)
		}
		return nil
	}
}

// WithCLIConfig sets the operator's CLI config file, which Landform honours
// (provider mirrors, credentials, ...) and extends with its plugin cache. An
// empty path means "none". Without this option the operator's file is
// TF_CLI_CONFIG_FILE when that file exists, else ~/.terraformrc when it
// exists, else none.
func WithCLIConfig(path string) Option {
	return func(e *Engine) error {
		e.cliConfig, e.cliConfigSet = path, true
		return nil
	}
}

// WithPluginCacheDir sets the shared provider plugin cache (default:
// WORKDIR/plugin-cache). It is ignored when the operator's CLI config sets
// its own plugin_cache_dir.
func WithPluginCacheDir(dir string) Option {
	return func(e *Engine) error {
		e.pluginCache = dir
		return nil
	}
}

// WithWorkDir sets where the engine writes its generated files: the CLI
// config, the binary version cache, and by default the plugin cache and
// installed binaries. Default: the user cache directory's "landform/terraform".
func WithWorkDir(dir string) Option {
	return func(e *Engine) error {
		e.workDir = dir
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(e *Engine) error {
		if l != nil {
			e.logger = l
		}
		return nil
	}
}

// WithReleasesURL sets the base URL of the HashiCorp releases API that
// installs use (default: hc-install's, https://releases.hashicorp.com).
func WithReleasesURL(url string) Option {
	return func(e *Engine) error {
		e.releasesURL = url
		return nil
	}
}

// WithInstallDir sets where installed binaries go (default: WORKDIR/bin).
func WithInstallDir(dir string) Option {
	return func(e *Engine) error {
		e.installDir = dir
		return nil
	}
}

// WithInstall allows downloading a terraform release when no binary
// satisfies a workspace's constraints. Off by default.
func WithInstall(allow bool) Option {
	return func(e *Engine) error {
		e.install = allow
		return nil
	}
}

// WithInterruptGrace sets how long a cancelled terraform command may take to
// exit after SIGINT before its process group is killed (default
// DefaultInterruptGrace).
func WithInterruptGrace(d time.Duration) Option {
	return func(e *Engine) error {
		if d <= 0 {
			return fmt.Errorf("interrupt grace must be positive, not %s", d)
		}
		e.grace = d
		return nil
	}
}

// withReleasesKey replaces HashiCorp's release signing key (tests, with a
// fake releases site).
func withReleasesKey(armored string) Option {
	return func(e *Engine) error {
		e.releasesKey = armored
		return nil
	}
}

// withEnviron replaces the parent environment (tests).
func withEnviron(f func() []string) Option {
	return func(e *Engine) error {
		e.environ = f
		return nil
	}
}

// New returns an Engine. It reads the operator's CLI config and writes the
// generated one and the wrapper script jobs run terraform through (with
// the sandbox, the default, see WithSandbox, the sandbox's), and checks
// that the wrapper and the sandbox work. Returns EINVALID when an
// option is invalid, a configured binary or CLI config file does not
// exist, the operator's CLI config does not parse, or the sandbox is
// required and bubblewrap is missing or does not work (the message says to
// install bubblewrap or turn the sandbox off).
func New(opts ...Option) (*Engine, error) {
	e := &Engine{
		logger:   slog.New(slog.DiscardHandler),
		grace:    DefaultInterruptGrace,
		sandbox:  SandboxRequired,
		environ:  os.Environ,
		versions: map[string]versionEntry{},
		initSems: map[string]chan struct{}{},
	}
	for _, opt := range opts {
		if err := opt(e); err != nil {
			return nil, landform.Errorf(landform.EINVALID, "terraform engine: %w", err)
		}
	}
	if e.workDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, landform.Errorf(landform.EINVALID, "terraform engine: no work directory given and %w", err)
		}
		e.workDir = filepath.Join(base, "landform", "terraform")
	}
	var err error
	if e.workDir, err = filepath.Abs(e.workDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(e.workDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating terraform work directory: %w", err)
	}
	if e.pluginCache == "" {
		e.pluginCache = filepath.Join(e.workDir, "plugin-cache")
	}
	if e.installDir == "" {
		e.installDir = filepath.Join(e.workDir, "bin")
	}
	for _, p := range e.extraBinaries {
		if _, err := os.Stat(p); err != nil {
			return nil, landform.Errorf(landform.EINVALID, "terraform binary: %w", err)
		}
	}
	if err := e.setupCLIConfig(); err != nil {
		return nil, err
	}
	if err := e.setupWrapper(e.providerPaths); err != nil {
		return nil, err
	}
	e.loadVersionCache()
	return e, nil
}

// CLIConfigFile is the generated CLI config every child process gets as
// TF_CLI_CONFIG_FILE.
func (e *Engine) CLIConfigFile() string { return e.cliConfigFile }

// PluginCacheDir is the plugin cache in effect: the operator's
// plugin_cache_dir when their CLI config sets one, else Landform's.
func (e *Engine) PluginCacheDir() string { return e.cacheDir }
