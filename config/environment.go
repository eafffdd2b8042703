package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/landform/landform/internal/gitremote"
)

// CheckEnvironment checks what s refers to outside its file, as the daemon
// finds it at startup (landform validate and landform serve call it after
// LoadServer): every environment variable named for a secret (tokens,
// webhook and Slack signing secrets, API tokens, drift Slack webhooks) is
// set, through lookupEnv (nil means os.LookupEnv), and not empty; every
// token or secret file holds one; a drift Slack webhook is an http(s) URL;
// every SSH key file and terraform.cli_config is a readable file; every
// terraform binary is an executable file; every local repository (a path
// or a file:// URL) is a directory; and data_dir and
// terraform.plugin_cache_dir, which Landform creates when missing, are
// directories when they exist.
//
// Problems are reported like ParseServer's, all at once: EINVALID wrapping a
// *ValidationError, each problem with the file position of the field (when
// s came from ParseServer or LoadServer), the field's path and, for a repo's
// fields, the repo's name. No message holds a secret's value.
func (s *Server) CheckEnvironment(lookupEnv func(string) (string, bool)) error {
	c := &envChecker{s: s}
	c.dir("data_dir", "data directory", s.DataDir)
	t := s.Terraform
	if t.CLIConfig != "" {
		c.file("terraform.cli_config", "terraform CLI config", t.CLIConfig, "")
	}
	for i, b := range t.Binaries {
		c.executable(indexPath("terraform.binaries", i), b)
	}
	c.dir("terraform.plugin_cache_dir", "plugin cache directory", t.PluginCacheDir)
	for i, p := range t.SandboxReadOnly {
		c.exists(indexPath("terraform.sandbox_paths.read_only", i), p)
	}
	for i, p := range t.SandboxReadWrite {
		c.exists(indexPath("terraform.sandbox_paths.read_write", i), p)
		if inside(p, s.DataDir) || inside(s.DataDir, p) {
			c.problem(indexPath("terraform.sandbox_paths.read_write", i), "",
				fmt.Errorf("sandbox path %s overlaps the data directory %s: terraform would reach the database and every plan", p, s.DataDir))
		}
	}
	if s.LedgerSigningKeyFile != "" {
		c.file("ledger.signing_key_file", "ledger signing key", s.LedgerSigningKeyFile, "")
	}
	if s.LedgerSigningPassphraseEnv != "" {
		_, err := envSecret(s.LedgerSigningPassphraseEnv, lookupEnv)
		c.problem("ledger.signing_passphrase_env", "", err)
	}
	for i, set := range s.Policies.Sets {
		if set.Source != PolicyBuiltin && set.Source != PolicyRepo {
			c.dir(joinPath(indexPath("policies.sets", i), "source"), "policy directory", set.Source)
		}
	}
	switch st := s.Store; {
	case st.DSNEnv != "":
		_, err := envSecret(st.DSNEnv, lookupEnv)
		c.problem("store.dsn_env", "", err)
	case st.DSNFile != "":
		_, err := fileSecret("store dsn file", st.DSNFile, nil)
		c.problem("store.dsn_file", "", err)
	}
	switch st := s.Store; {
	case st.ListenDSNEnv != "":
		_, err := envSecret(st.ListenDSNEnv, lookupEnv)
		c.problem("store.listen_dsn_env", "", err)
	case st.ListenDSNFile != "":
		_, err := fileSecret("store listen dsn file", st.ListenDSNFile, nil)
		c.problem("store.listen_dsn_file", "", err)
	}
	switch pl := s.Plans; {
	case pl.EncryptionKeyEnv != "":
		_, err := envSecret(pl.EncryptionKeyEnv, lookupEnv)
		c.problem("plans.encryption_key_env", "", err)
	case pl.KeyFile != "":
		_, err := fileSecret("plan encryption key file", pl.KeyFile, nil)
		c.problem("plans.encryption_key_file", "", err)
	}
	switch sl := s.Slack; {
	case sl.SigningSecretEnv != "":
		_, err := envSecret(sl.SigningSecretEnv, lookupEnv)
		c.problem("slack.signing_secret_env", "", err)
	case sl.SigningSecretFile != "":
		_, err := fileSecret("slack signing secret file", sl.SigningSecretFile, nil)
		c.problem("slack.signing_secret_file", "", err)
	}
	c.driftWebhook("drift", "", s.Drift.DriftOptions, lookupEnv)
	for i, t := range s.API.Tokens {
		p := indexPath("api.tokens", i)
		switch {
		case t.TokenEnv != "":
			_, err := envSecret(t.TokenEnv, lookupEnv)
			c.problem(joinPath(p, "token_env"), "", err)
		case t.TokenFile != "":
			_, err := fileSecret("api token file", t.TokenFile, nil)
			c.problem(joinPath(p, "token_file"), "", err)
		}
	}
	for i, r := range s.Repos {
		p := indexPath("repos", i)
		if r.URL != "" {
			c.localRepo(joinPath(p, "url"), r.URL, r.Name)
		}
		ap := joinPath(p, "auth")
		a := r.Auth
		switch {
		case a.TokenEnv != "":
			_, err := envSecret(a.TokenEnv, lookupEnv)
			c.problem(joinPath(ap, "token_env"), r.Name, err)
		case a.TokenFile != "":
			_, err := fileSecret("token file", a.TokenFile, nil)
			c.problem(joinPath(ap, "token_file"), r.Name, err)
		case a.SSHKeyFile != "":
			c.file(joinPath(ap, "ssh_key_file"), "SSH key file", a.SSHKeyFile, r.Name)
		}
		if a.SSHPassphraseEnv != "" {
			_, err := envSecret(a.SSHPassphraseEnv, lookupEnv)
			c.problem(joinPath(ap, "ssh_passphrase_env"), r.Name, err)
		}
		c.driftWebhook(joinPath(p, "drift"), r.Name, r.Drift.DriftOptions, lookupEnv)
		fp, f := joinPath(p, "forge"), r.Forge
		for _, sec := range []struct{ field, env, file, what string }{
			{"token", f.TokenEnv, f.TokenFile, "forge token file"},
			{"webhook_secret", f.WebhookSecretEnv, f.WebhookSecretFile, "webhook secret file"},
		} {
			switch {
			case sec.env != "":
				_, err := envSecret(sec.env, lookupEnv)
				c.problem(joinPath(fp, sec.field+"_env"), r.Name, err)
			case sec.file != "":
				_, err := fileSecret(sec.what, sec.file, nil)
				c.problem(joinPath(fp, sec.field+"_file"), r.Name, err)
			}
		}
	}
	return invalid(c.errs)
}

// envChecker collects the problems CheckEnvironment finds.
type envChecker struct {
	s    *Server
	errs []*FieldError
}

// problem records err, if any, as a problem of the field at path p, of the
// repo named repo ("" for a server-wide field).
func (c *envChecker) problem(p, repo string, err error) {
	if err == nil {
		return
	}
	msg := err.Error()
	if repo != "" {
		msg += fmt.Sprintf(" (repo %q)", repo)
	}
	pos := c.s.pos[p]
	c.errs = append(c.errs, &FieldError{File: c.s.Path, Line: pos.line, Column: pos.column, Field: p, Msg: msg})
}

// file checks that path is a file this process can read.
func (c *envChecker) file(p, what, path, repo string) {
	f, err := os.Open(path)
	if err != nil {
		c.problem(p, repo, pathError(what, path, err))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		c.problem(p, repo, pathError(what, path, err))
	case fi.IsDir():
		c.problem(p, repo, fmt.Errorf("%s %s is a directory", what, path))
	}
}

// executable checks that path is an executable file.
func (c *envChecker) executable(p, path string) {
	const what = "terraform binary"
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		c.problem(p, "", pathError(what, path, err))
	case fi.IsDir():
		c.problem(p, "", fmt.Errorf("%s %s is a directory", what, path))
	case fi.Mode().Perm()&0o111 == 0:
		c.problem(p, "", fmt.Errorf("%s %s is not executable", what, path))
	}
}

// dir checks that path, which Landform creates when it is missing, is a
// directory if it exists.
func (c *envChecker) dir(p, what, path string) {
	if path == "" {
		return
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		c.problem(p, "", pathError(what, path, err))
	case !fi.IsDir():
		c.problem(p, "", fmt.Errorf("%s %s is not a directory", what, path))
	}
}

// localRepo checks that a repository given by a local path or a file://
// URL is a directory; remote URLs (and invalid ones, which ParseServer
// reports) are not checked here.
func (c *envChecker) localRepo(p, src, repo string) {
	r, err := gitremote.Parse(src)
	if err != nil || (r.Kind != gitremote.Local && r.Kind != gitremote.File) {
		return
	}
	path := r.Path
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		c.problem(p, repo, pathError("repository", path, err))
	case !fi.IsDir():
		c.problem(p, repo, fmt.Errorf("repository %s is not a directory", path))
	}
}

// pathError names what and path once in front of err's reason.
func pathError(what, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s %s: %w", what, path, err)
}

// exists records a problem when the path at p does not exist.
func (c *envChecker) exists(p, path string) {
	if _, err := os.Stat(path); err != nil {
		c.problem(p, "", pathError("sandbox path", path, err))
	}
}

// inside reports whether path is dir or below it.
func inside(path, dir string) bool {
	if dir == "" {
		return false
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
