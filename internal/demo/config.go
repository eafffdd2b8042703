package demo

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
)

// The demo's names: the watched repository and the person trying it.
const (
	// RepoName is the example repository's name in the daemon.
	RepoName = "infra"
	// Identity is who the demo's API token acts as: an admin, the only
	// approver, allowed to approve their own commits (the demo makes them
	// in their name).
	Identity = "demo"
)

// DefaultListen is where the demo's daemon serves the dashboard and the
// API unless told otherwise.
const DefaultListen = config.DefaultListen

// DefaultDriftEvery is how often the demo's daemon checks for drift unless
// told otherwise: often enough that `landform demo drift` shows its edit
// within a minute.
const DefaultDriftEvery = 30 * time.Second

// Settings are what the demo's daemon is told beyond the layout.
type Settings struct {
	// DataDir is the data directory (absolute).
	DataDir string
	// Listen is the daemon's host:port, with a port (see FreeListen).
	Listen string
	// RepoURL is the example repository's remote (Remote.URL).
	RepoURL string
	// DriftEvery is the drift schedule's interval: whole seconds, at
	// least config.MinDriftEvery.
	DriftEvery time.Duration
	// Sandbox is terraform's sandbox mode ("" for the default).
	Sandbox string
	// Terraform is how terraform runs; the layout adds its binaries, the
	// test cloud's environment and the sandbox paths.
	Terraform config.TerraformSettings
}

// ServerConfig is the demo daemon's config: the example repository polled
// every second with its ledger, the demo user's admin token (TokenFile,
// which the caller writes), one approval needed and the author allowed to
// give it, applies from the tracked branch, drift checked every
// s.DriftEvery with reports on the ledger, and, on a loopback address,
// read-only dashboard pages open without signing in. Returns EINVALID for
// a listen address without a port or a drift interval out of bounds.
func ServerConfig(l Layout, s Settings) (*config.Server, error) {
	host, port, err := net.SplitHostPort(s.Listen)
	if err != nil || port == "0" {
		return nil, landform.Errorf(landform.EINVALID, "listen %q: want host:port with a port (see FreeListen)", s.Listen)
	}
	if s.DriftEvery < config.MinDriftEvery || s.DriftEvery%time.Second != 0 {
		return nil, landform.Errorf(landform.EINVALID, "drift interval %s: want whole seconds, at least %s", s.DriftEvery, config.MinDriftEvery)
	}
	tf := s.Terraform
	tf.Env = map[string]string{}
	for k, v := range l.Env {
		tf.Env[k] = v
	}
	for k, v := range s.Terraform.Env {
		tf.Env[k] = v
	}
	tf.Binaries = append(append([]string(nil), s.Terraform.Binaries...), l.Binaries...)
	tf.SandboxReadWrite = append(append([]string(nil), s.Terraform.SandboxReadWrite...), l.SandboxPaths()...)
	selfApproval, ledger := true, true
	cfg := &config.Server{
		Path: "(demo)", DataDir: s.DataDir, Listen: s.Listen, ExternalURL: BaseURL(s.Listen),
		Parallel: runtime.NumCPU(), ShutdownGrace: 10 * time.Second, Ledger: true, Sandbox: s.Sandbox,
		Terraform: tf,
		Repos: []config.RepoSettings{{Repo: landform.Repo{
			Name: RepoName, URL: s.RepoURL, Branches: []string{Branch}, PollInterval: time.Second,
			LedgerBranch: landform.DefaultLedgerBranch, Ledger: true, LockPolicy: landform.LockStrict,
		}}},
		Approvals: config.Approvals{ApprovalSettings: config.ApprovalSettings{
			Approvers: []string{Identity}, RequiredApprovals: 1, AllowSelfApproval: &selfApproval,
			ApplyRequirements: []string{landform.RequireApproved, landform.RequirePoliciesPassed},
			Apply:             landform.ApplyBeforeMerge,
		}},
		API: config.API{Tokens: []config.APIToken{{Identity: Identity, Role: landform.RoleAdmin, TokenFile: l.TokenFile}}},
		Drift: config.Drift{DriftOptions: config.DriftOptions{
			Schedule: "@every " + strconv.Itoa(int(s.DriftEvery/time.Second)) + "s", Ledger: &ledger,
		}},
	}
	if isLoopback(host) {
		cfg.Web.Anonymous = landform.RoleViewer
	}
	return cfg, nil
}

// isLoopback reports whether host is a loopback address or localhost.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// FreeListen returns addr (host:port) when it can be listened on, with a
// free port in place of port 0: the demo must know the dashboard's URL
// before its daemon starts, to print it and to write it in the session
// file, and says early that the address is taken. Another process may
// take the port between this check and the daemon's listen; the daemon
// then fails to start, saying so. EINVALID for an address that is not
// host:port or cannot be listened on.
func FreeListen(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", landform.Errorf(landform.EINVALID, "--listen %q: want host:port such as %s", addr, DefaultListen)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", landform.Errorf(landform.EINVALID, "--listen %s: %w (is another demo running? --listen 127.0.0.1:0 picks a free port)", addr, err)
	}
	defer l.Close()
	return net.JoinHostPort(host, strconv.Itoa(l.Addr().(*net.TCPAddr).Port)), nil
}

// BaseURL is the URL of the daemon listening on listen (host:port): an
// unspecified host (0.0.0.0, ::) is reached on loopback.
func BaseURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if a, err := netip.ParseAddr(host); host == "" || (err == nil && a.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// RunURL is the dashboard's page of run id of the daemon at base
// (BaseURL).
func RunURL(base, id string) string { return fmt.Sprintf("%s/runs/%s", base, id) }

// SignInURL is the dashboard's sign-in page of the daemon at base.
func SignInURL(base string) string { return base + "/signin" }

// DriftURL is the dashboard's drift page of the example repository.
func DriftURL(base string) string { return base + "/repos/" + RepoName + "/drift" }
