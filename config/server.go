package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/landform/landform"
)

// ServerFile is the usual name of the server config.
const ServerFile = "landform.yaml"

// Defaults of the server config.
const (
	DefaultDataDir       = ".landform" // relative to the config's directory
	DefaultListen        = "127.0.0.1:8080"
	DefaultShutdownGrace = 30 * time.Second
	DefaultPollInterval  = time.Minute
	MinPollInterval      = time.Second
)

var lockPolicies = func() []string {
	out := make([]string, len(landform.LockPolicies))
	for i, p := range landform.LockPolicies {
		out[i] = string(p)
	}
	return out
}()

// Server is the server config: what the daemon (landform serve) watches and
// how it runs.
//
//	data_dir: ./.landform          # default .landform next to the config
//	listen: 127.0.0.1:8080         # host:port, port 0 picks a free one
//	external_url: https://landform.example.com   # for links in previews and statuses
//	parallel: 4                    # worker pool size, default the number of CPUs
//	shutdown_grace: 30s            # how long running terraform may finish on SIGTERM
//	ledger: true                   # record finished runs on each repo's ledger branch; or
//	ledger: {enabled: true, signing_key_file: /etc/landform/ledger-key, signing_passphrase_env: KEY_PASS}
//	sandbox: required              # run terraform in a bubblewrap sandbox (default), or off
//	redact: ['AKIA[0-9A-Z]{16}']   # patterns masked in run errors, logs and the ledger
//	limits: {queued_runs_per_repo: 5000}   # see Limits
//	terraform:
//	  cli_config: /etc/landform/terraformrc   # the operator's CLI config
//	  binaries: [/usr/local/bin/terraform]    # besides the ones on PATH
//	  plugin_cache_dir: /var/cache/terraform-plugins
//	  env: {TESTCLOUD_ROOT: /srv/cloud}       # extra environment of every terraform run
//	  pass_env: [AWS_PROFILE]                 # daemon environment variables terraform gets too
//	  allowed_env: [AWS_PROFILE]              # what a repo config's env may set besides TF_VAR_*
//	  sandbox_paths: {read_only: [/etc/pki], read_write: [/srv/tfstate]}   # more of the machine in the sandbox
//	repos:                         # at least one
//	  - name: infra                # unique, [A-Za-z0-9._-]+
//	    url: https://git.example.com/org/infra.git   # or ssh://, git@host:path, git://, file://, a local path
//	    branches: [main]           # default: the remote's default branch
//	    poll_interval: 1m          # at least 1s
//	    auth:                      # default none; one of token_env, token_file, ssh_key_file, none: true
//	      token_env: INFRA_TOKEN
//	      username: x-access-token # with a token
//	    pull_requests: true        # also watch refs/pull/*/head and refs/merge-requests/*/head
//	    ledger_branch: landform/ledger
//	    ledger: false              # overrides the global switch for this repo
//	    lock_policy: strict        # strict, apply or none
//	    forge: {kind: gitea, url: https://git.example.com, token_env: GITEA_TOKEN, webhook_secret_env: HOOK_SECRET}
//	    approvals: {required_approvals: 2}   # overrides the top-level approvals field by field
//	    drift: {remediation: plan}           # overrides the top-level drift field by field
//	    aws: {role_arn: arn:aws:iam::123456789012:role/infra}   # overrides the top-level aws field by field
//	approvals:                     # see Approvals and ApprovalRules
//	  approvers: [alice, "team:platform", "team:org/slug"]
//	  required_approvals: 1
//	  allow_self_approval: false
//	  apply_requirements: [approved, policies_passed]
//	  apply: before_merge          # or on_merge
//	  workspaces: [{match: "envs/prod/**", required_approvals: 2}]
//	teams: {platform: [alice, bob]}
//	identities: {alice: {slack: [U0123ABC], emails: [alice@example.com]}}
//	slack: {signing_secret_env: SLACK_SIGNING_SECRET, channels: {C0123ABC: infra}}
//	api: {tokens: [{identity: ci, token_env: CI_API_TOKEN}]}
//	drift:                         # drift checks; see DriftOptions and DriftSettings
//	  schedule: "@nightly"         # default; off turns them off
//	  timezone: Europe/Berlin
//	  jitter: 10m
//	  slack_webhook_env: DRIFT_SLACK_WEBHOOK
//	  workspaces: [{match: "envs/prod/**", schedule: "0 */4 * * *"}]
//	aws:                           # the AWS role each run assumes; see AWS and AWSSettings
//	  role_arn: arn:aws:iam::123456789012:role/landform
//	  external_id: landform
//	  session_duration: 1h
//	  region: eu-west-1
//	  workspaces: [{match: "envs/prod/**", role_arn: "arn:aws:iam::210987654321:role/landform-prod"}]
//
// Paths are on the machine Landform runs on: "~/" is expanded and relative
// paths are relative to the config's directory. Secrets are never written
// in the file, only the names of environment variables and files that hold
// them.
type Server struct {
	// Path is the config file as given to LoadServer or ParseServer; messages
	// name it.
	Path string
	// DataDir holds Landform's database, plans and clones.
	DataDir string
	// Listen is the HTTP server's host:port.
	Listen string
	// ExternalURL is where people reach Landform's web server (links in
	// plan previews and statuses); "" for no links.
	ExternalURL string
	// Parallel is the size of the worker pool, at least 1.
	Parallel int
	// ShutdownGrace is how long running terraform processes may finish
	// after SIGTERM before they are interrupted.
	ShutdownGrace time.Duration
	// Ledger is the global ledger switch, already folded into each
	// RepoSettings.Ledger.
	Ledger bool
	// LedgerSigningKeyFile, when set, signs every ledger commit (an
	// OpenPGP or OpenSSH private key); LedgerSigningPassphraseEnv names
	// the environment variable holding its passphrase, if it has one.
	LedgerSigningKeyFile       string
	LedgerSigningPassphraseEnv string
	// Sandbox is SandboxRequired (the default) or SandboxOff.
	Sandbox string
	// Redact are patterns (Go regular expressions) of text to mask in
	// everything a run's text reaches: the store, the ledger, logs and the
	// CLI — on top of the values Landform itself hands terraform.
	Redact []*regexp.Regexp
	// Limits bound what one repository can make the daemon do.
	Limits Limits
	// Policies are evaluated on every plan.
	Policies  Policies
	Terraform TerraformSettings
	// Repos are the watched repositories, in file order, names unique.
	Repos []RepoSettings
	// Approvals are the approval settings of every repository (each
	// RepoSettings.Approvals overrides them; see ApprovalRules).
	Approvals Approvals
	// Teams are local teams, "team:NAME" in approvers: names to members
	// (identities). Names are unique ignoring case, and so are the members
	// of a team.
	Teams map[string][]string
	// Identities map Landform identities (forge logins) to what they are
	// known as elsewhere; names unique ignoring case.
	Identities map[string]Identity
	// Slack is the Slack app whose slash commands Landform takes, zero for
	// none.
	Slack Slack
	// API holds the REST API's bearer tokens.
	API API
	// Web are the dashboard's settings.
	Web Web
	// Store is where runs, the queue, locks and leases are kept; Plans
	// where plan artifacts are (defaults: SQLite and a directory, both
	// under DataDir).
	Store Store
	Plans Plans
	// Drift are the drift settings of every repository (each
	// RepoSettings.Drift overrides them; see DriftSettings and DriftRepo).
	Drift Drift
	// AWS are the AWS roles assumed for runs (each RepoSettings.AWS
	// overrides them; see AWSSettings).
	AWS AWSSection

	// pos maps field paths ("repos[0].auth.token_env") to where their
	// values are in the file, for CheckEnvironment; nil for a Server not
	// made by ParseServer or LoadServer.
	pos map[string]position
}

// TerraformSettings is how the daemon runs terraform (or tofu).
type TerraformSettings struct {
	// CLIConfig is the operator's CLI config file, "" for the usual search
	// (TF_CLI_CONFIG_FILE, then ~/.terraformrc).
	CLIConfig string
	// Binaries are terraform or tofu binaries beyond those on PATH.
	Binaries []string
	// PluginCacheDir is the shared provider plugin cache, "" for the
	// default under DataDir.
	PluginCacheDir string
	// Env is extra environment for every terraform process.
	Env map[string]string
	// PassEnv are variables of the daemon's own environment that every
	// terraform process gets too (terraform gets none of the rest but
	// PATH, LANG, LC_ALL, TZ, SSL_CERT_FILE, SSL_CERT_DIR); valid names,
	// each once, none of them one Landform sets itself.
	PassEnv []string
	// SandboxReadOnly and SandboxReadWrite are more paths of the machine
	// every terraform sandbox sees (a local state directory, an
	// emulator's data): the operator's choice, never a repository's.
	SandboxReadOnly, SandboxReadWrite []string
	// AllowedEnv are the environment variables a repo config's workspaces
	// may set in env besides TF_VAR_* ones (RepoOptions.AllowedEnv); valid
	// names, each once, none of them TF_VAR_* or one Landform sets itself.
	AllowedEnv []string
}

// RepoSettings is one watched repository: the domain's landform.Repo and
// how to authenticate to it. URL is the remote as written, or a local path
// made absolute against the config's directory (joined to it when
// ParseServer got a relative file name); Ledger is the repo's own ledger
// setting when it has one, else the global one.
type RepoSettings struct {
	landform.Repo
	Auth Auth
	// Forge is the repo's forge, zero for none (Repo.Forge is its kind).
	Forge ForgeSettings
	// Approvals are the repo's approval settings, overriding the server
	// config's top-level ones field by field.
	Approvals Approvals
	// Drift are the repo's drift settings, overriding the server config's
	// top-level ones field by field.
	Drift Drift
	// AWS are the repo's AWS settings, overriding the server config's
	// top-level ones field by field.
	AWS AWSSection
}

type position struct{ line, column int }

// ParseServer decodes data, the contents of a server config named filename
// (used in messages), applying the defaults. Relative paths in it are
// resolved against filename's directory, as given (so they stay relative
// when filename is). It reads no other file: CheckEnvironment does.
//
// Every problem is reported, each with file:line:column and the field; the
// error has code landform.EINVALID and wraps a *ValidationError. Messages
// never hold the secrets a misplaced token or password would put in the
// file.
func ParseServer(filename string, data []byte) (*Server, error) {
	s, errs := parseServer(filename, filepath.Dir(filename), data)
	if err := invalid(errs); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadServer reads the server config at path and decodes it like
// ParseServer, relative paths resolved against the file's directory made
// absolute. A missing file is ENOTFOUND; other reading errors are returned
// wrapped, with no code.
func LoadServer(path string) (*Server, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, landform.Errorf(landform.ENOTFOUND, "server config %s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading server config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("reading server config: %w", err)
	}
	s, errs := parseServer(path, filepath.Dir(abs), data)
	if err := invalid(errs); err != nil {
		return nil, err
	}
	return s, nil
}

var (
	serverFields       = []string{"data_dir", "listen", "external_url", "parallel", "shutdown_grace", "ledger", "sandbox", "redact", "limits", "policies", "terraform", "repos", "approvals", "teams", "identities", "slack", "api", "web", "drift", "store", "plans", "aws"}
	terraformFields    = []string{"cli_config", "binaries", "plugin_cache_dir", "env", "allowed_env", "pass_env", "sandbox_paths"}
	repoSettingsFields = []string{"name", "url", "branches", "poll_interval", "auth", "pull_requests", "ledger_branch", "ledger", "lock_policy", "forge", "approvals", "drift", "aws"}
	repoName           = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

// serverParser decodes one server config.
type serverParser struct {
	d    *decoder
	base string              // relative paths are joined to it
	pos  map[string]position // see Server.pos
}

func parseServer(file, base string, data []byte) (*Server, []*FieldError) {
	sp := &serverParser{d: &decoder{file: file}, base: base, pos: make(map[string]position)}
	d := sp.d
	s := &Server{
		Path:          file,
		DataDir:       filepath.Join(base, DefaultDataDir),
		Listen:        DefaultListen,
		Parallel:      runtime.NumCPU(),
		ShutdownGrace: DefaultShutdownGrace,
		Sandbox:       SandboxRequired,
		Ledger:        true,
		Store:         Store{Kind: StoreSQLite},
		Plans:         Plans{Kind: PlansFS},
		pos:           sp.pos,
	}
	root, ok := d.parseDocument(data)
	if !ok {
		return s, d.errs
	}
	if root == nil {
		d.errorf(nil, "", `missing required field "repos"`)
		return s, d.errs
	}
	var (
		decls     []*repoDecl
		approvers []approverAt // of the top-level approvals
		channels  []channelAt
		drift     driftDecl
	)
	reposGiven := false
	isMapping := d.object(root, "", serverFields, func(name, p string, _, v *yaml.Node) {
		switch name {
		case "data_dir":
			if dir := sp.path(p, v); dir != "" {
				s.DataDir = dir
			}
		case "listen":
			if str, ok := d.str(v, p); ok {
				if msg := checkListen(str); msg != "" {
					d.errorf(v, p, "%s", msg)
				} else {
					s.Listen = str
				}
			}
		case "external_url":
			if str, ok := d.str(v, p); ok {
				if msg := checkHTTPURL(str); msg != "" {
					d.errorf(v, p, "%s", msg)
				} else {
					s.ExternalURL = strings.TrimRight(str, "/")
				}
			}
		case "parallel":
			if n, ok := d.integer(v, p); ok {
				if n < 1 {
					d.errorf(v, p, "must be at least 1, got %d", n)
				} else {
					s.Parallel = n
				}
			}
		case "shutdown_grace":
			if g, ok := d.duration(v, p); ok {
				s.ShutdownGrace = g
			}
		case "ledger":
			if v.Kind == yaml.MappingNode {
				s.Ledger = true
				sp.decodeLedger(p, v, s)
			} else if b, ok := d.boolean(v, p); ok {
				s.Ledger = b
			}
		case "sandbox":
			s.Sandbox = decodeSandbox(d, p, v)
		case "limits":
			s.Limits = decodeLimits(d, p, v)
		case "policies":
			s.Policies = sp.decodePolicies(p, v)
		case "redact":
			d.stringList(v, p, func(str, ip string, n *yaml.Node) {
				re, err := regexp.Compile(str)
				switch {
				case err != nil:
					d.errorf(n, ip, "invalid regular expression: %v", err)
				case re.MatchString(""):
					d.errorf(n, ip, "pattern %q matches the empty string: it would mask nothing useful and everything else", str)
				default:
					s.Redact = append(s.Redact, re)
				}
			})
		case "terraform":
			sp.decodeTerraform(p, v, &s.Terraform)
		case "approvals":
			s.Approvals, approvers = decodeApprovals(d, p, v)
		case "teams":
			s.Teams = decodeTeams(d, p, v)
		case "identities":
			s.Identities = decodeIdentities(d, p, v)
		case "slack":
			s.Slack, channels = sp.decodeSlack(p, v)
		case "api":
			s.API = sp.decodeAPI(p, v)
		case "web":
			s.Web = sp.decodeWeb(p, v)
		case "store":
			s.Store = sp.decodeStore(p, v)
		case "plans":
			s.Plans = sp.decodePlans(p, v)
		case "drift":
			s.Drift, drift = sp.decodeDrift(p, v)
		case "aws":
			s.AWS = sp.decodeAWS(p, v)
		case "repos":
			reposGiven = true
			d.list(v, p, func(_ int, ip string, item *yaml.Node) {
				if r := sp.decodeRepo(ip, item); r != nil {
					decls = append(decls, r)
				}
			})
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				d.errorf(v, p, "at least one repo is required")
			}
		}
	})
	if isMapping && !reposGiven {
		d.errorf(root, "", `missing required field "repos"`)
	}
	checkUniqueRepoNames(d, decls)
	checkTeams(d, s.Teams, approvers, decls)
	checkChannels(d, channels, decls)
	checkDrift(d, drift, decls, s.Ledger)
	for _, r := range decls {
		r.rs.Ledger = s.Ledger
		if r.ledger != nil {
			r.rs.Ledger = *r.ledger
		}
		s.Repos = append(s.Repos, r.rs)
	}
	return s, d.errs
}

// path reads a local path at p, resolved (see localPath), and records its
// position; "" when it is refused.
func (sp *serverParser) path(p string, v *yaml.Node) string {
	str, ok := sp.d.str(v, p)
	if !ok {
		return ""
	}
	c, msg := localPath(str, sp.base)
	if msg != "" {
		sp.d.errorf(v, p, "%s", msg)
		return ""
	}
	sp.mark(p, v)
	return c
}

// envRef reads the name of an environment variable that holds a secret and
// records its position; "" when it is refused.
func (sp *serverParser) envRef(p string, v *yaml.Node) string {
	str, ok := sp.d.str(v, p)
	if !ok {
		return ""
	}
	if msg := checkEnvRef(str); msg != "" {
		sp.d.errorf(v, p, "%s", msg)
		return ""
	}
	sp.mark(p, v)
	return str
}

func (sp *serverParser) mark(p string, v *yaml.Node) {
	sp.pos[p] = position{v.Line, v.Column}
}

// reservedEnv are the variables Landform sets for terraform itself.
var reservedEnv = map[string]string{
	"TF_CLI_CONFIG_FILE":  "set terraform.cli_config instead: Landform passes terraform a CLI config of its own that includes it",
	"TF_PLUGIN_CACHE_DIR": "set terraform.plugin_cache_dir instead",
}

func (sp *serverParser) decodeTerraform(p string, n *yaml.Node, t *TerraformSettings) {
	d := sp.d
	d.object(n, p, terraformFields, func(name, fp string, _, v *yaml.Node) {
		switch name {
		case "cli_config":
			t.CLIConfig = sp.path(fp, v)
		case "plugin_cache_dir":
			t.PluginCacheDir = sp.path(fp, v)
		case "binaries":
			d.list(v, fp, func(_ int, ip string, item *yaml.Node) {
				if b := sp.path(ip, item); b != "" {
					t.Binaries = append(t.Binaries, b)
				}
			})
		case "env":
			d.stringMap(v, fp, func(key, value, ep string, k, _ *yaml.Node) {
				if !envName.MatchString(key) {
					d.errorf(k, ep, "%q is not a valid environment variable name", key)
					return
				}
				if msg, ok := reservedEnv[key]; ok {
					d.errorf(k, ep, "%s", msg)
					return
				}
				if landform.EngineEnv(key) {
					d.errorf(k, ep, "%q is set by Landform itself", key)
					return
				}
				if t.Env == nil {
					t.Env = make(map[string]string)
				}
				t.Env[key] = value
			})
		case "allowed_env":
			t.AllowedEnv = decodeAllowedEnv(d, fp, v)
		case "pass_env":
			t.PassEnv = decodePassEnv(d, fp, v)
		case "sandbox_paths":
			d.object(v, fp, []string{"read_only", "read_write"}, func(name, sp2 string, _, list *yaml.Node) {
				d.list(list, sp2, func(i int, ip string, item *yaml.Node) {
					if path := sp.path(ip, item); path != "" {
						if name == "read_only" {
							t.SandboxReadOnly = append(t.SandboxReadOnly, path)
						} else {
							t.SandboxReadWrite = append(t.SandboxReadWrite, path)
						}
					}
				})
			})
		}
	})
}

// repoDecl is one entry of repos as decoded, with the nodes that later
// checks point at.
type repoDecl struct {
	rs     RepoSettings
	path   string     // repos[i]
	item   *yaml.Node // the entry
	name   *yaml.Node // nil when missing or invalid
	ledger *bool      // nil when not set
	// approvers are the entries of the repo's approvals.
	approvers []approverAt
	forge     bool // a forge is given, valid or not
	drift     driftDecl
}

// decodeRepo decodes the entry item at path p; nil when it is not a
// mapping.
func (sp *serverParser) decodeRepo(p string, item *yaml.Node) *repoDecl {
	d := sp.d
	r := &repoDecl{path: p, item: item}
	r.rs.PollInterval = DefaultPollInterval
	r.rs.LedgerBranch = landform.DefaultLedgerBranch
	r.rs.LockPolicy = landform.LockStrict
	var (
		nameGiven, urlGiven bool
		kind                = remoteInvalid
		auth                *authDecl
		ledgerBranch        *yaml.Node
		forgeNode           *yaml.Node
		forgePath           string
		branches            = make(map[string]*branchAt)
	)
	ok := d.objectRefusing(item, p, repoSettingsFields, inlineSecrets, func(name, fp string, _, v *yaml.Node) {
		switch name {
		case "name":
			nameGiven = true
			if s, ok := d.str(v, fp); ok {
				if msg := checkRepoName(s); msg != "" {
					d.errorf(v, fp, "%s", msg)
				} else {
					r.rs.Name, r.name = s, v
				}
			}
		case "url":
			urlGiven = true
			if s, ok := d.str(v, fp); ok {
				u, k, msg := checkRemote(s, sp.base)
				if msg != "" {
					d.errorf(v, fp, "%s", msg)
				} else {
					r.rs.URL, kind = u, k
					sp.mark(fp, v)
				}
			}
		case "branches":
			d.stringList(v, fp, func(s, ip string, n *yaml.Node) {
				switch msg := checkBranchName(s); {
				case msg != "":
					d.errorf(n, ip, "%s", msg)
				case branches[s] != nil:
					d.errorf(n, ip, "branch %q listed twice", s)
				default:
					branches[s] = &branchAt{n, ip}
					r.rs.Branches = append(r.rs.Branches, s)
				}
			})
		case "poll_interval":
			if iv, ok := d.duration(v, fp); ok {
				if iv < MinPollInterval {
					d.errorf(v, fp, "must be at least %s, got %s", MinPollInterval, v.Value)
				} else {
					r.rs.PollInterval = iv
				}
			}
		case "auth":
			auth = sp.decodeAuth(fp, v)
		case "pull_requests":
			r.rs.PullRequests, _ = d.boolean(v, fp)
		case "ledger_branch":
			if s, ok := d.str(v, fp); ok {
				if msg := checkBranchName(s); msg != "" {
					d.errorf(v, fp, "%s", msg)
				} else {
					r.rs.LedgerBranch, ledgerBranch = s, v
				}
			}
		case "ledger":
			if b, ok := d.boolean(v, fp); ok {
				r.ledger = &b
			}
		case "lock_policy":
			if s, ok := d.str(v, fp); ok {
				if msg := checkLockPolicy(s); msg != "" {
					d.errorf(v, fp, "%s", msg)
				} else {
					r.rs.LockPolicy = landform.LockPolicy(s)
				}
			}
		case "forge":
			forgeNode, forgePath = v, fp
		case "approvals":
			r.rs.Approvals, r.approvers = decodeApprovals(d, fp, v)
		case "drift":
			r.rs.Drift, r.drift = sp.decodeDrift(fp, v)
		case "aws":
			r.rs.AWS = sp.decodeAWS(fp, v)
		}
	})
	if forgeNode != nil {
		r.forge = true
		// After the loop: the project defaults from url, wherever it is.
		r.rs.Forge = sp.decodeForge(forgePath, forgeNode, r.rs.URL)
		r.rs.Repo.Forge = r.rs.Forge.Kind
	}
	if !ok {
		return nil
	}
	if !nameGiven {
		d.errorf(item, p, `missing required field "name"`)
	}
	if !urlGiven {
		d.errorf(item, p, `missing required field "url"`)
	}
	if auth != nil {
		auth.check(d, joinPath(p, "auth"), kind)
		r.rs.Auth = auth.auth
	}
	if b := branches[r.rs.LedgerBranch]; b != nil {
		if ledgerBranch != nil {
			d.errorf(ledgerBranch, joinPath(p, "ledger_branch"),
				"%q is also a watched branch (in branches); the ledger needs a branch of its own", r.rs.LedgerBranch)
		} else {
			d.errorf(b.node, b.path, "%q is the ledger branch; set ledger_branch to another branch to watch this one", r.rs.LedgerBranch)
		}
	}
	checkLedgerRefConflicts(d, p, r.rs, ledgerBranch, branches)
	return r
}

// branchAt is where a watched branch is in the file.
type branchAt struct {
	node *yaml.Node
	path string
}

func checkRepoName(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case !repoName.MatchString(s):
		return fmt.Sprintf(`invalid repo name %q: use letters, digits, ".", "_" and "-"`, s)
	case s == "." || s == "..":
		return fmt.Sprintf("invalid repo name %q", s)
	}
	return ""
}

func checkLockPolicy(s string) string {
	if slices.Contains(lockPolicies, s) {
		return ""
	}
	if sug := suggest(s, lockPolicies); sug != "" {
		return fmt.Sprintf("unknown lock policy %q, did you mean %q? (want strict, apply or none)", s, sug)
	}
	return fmt.Sprintf("unknown lock policy %q (want strict, apply or none)", s)
}

// checkUniqueRepoNames reports each repo whose name an earlier one already
// has, naming where the earlier one is.
func checkUniqueRepoNames(d *decoder, decls []*repoDecl) {
	first := make(map[string]*repoDecl)
	for _, r := range decls {
		if r.name == nil {
			continue
		}
		prev, dup := first[r.rs.Name]
		if !dup {
			first[r.rs.Name] = r
			continue
		}
		d.errorf(r.name, joinPath(r.path, "name"), "duplicate repo name %q, already used by %s at line %d:%d",
			r.rs.Name, prev.path, prev.name.Line, prev.name.Column)
	}
}

var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$`)

// checkListen checks a host:port address to listen on: the host an IP
// address, a host name or empty (every interface), the port a number from
// 0 (any free port) to 65535.
func checkListen(s string) string {
	const want = `want host:port, e.g. "127.0.0.1:8080" or ":8080"`
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		reason := err.Error()
		if errors.As(err, &ae) {
			reason = ae.Err
		}
		return fmt.Sprintf("invalid listen address %q: %s (%s)", s, reason, want)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Sprintf("invalid listen address %q: port %q is not a number from 0 to 65535", s, port)
	}
	if host != "" && !hostName.MatchString(host) {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Sprintf("invalid listen address %q: %q is not an IP address or a host name", s, host)
		}
	}
	return ""
}
