package config

import (
	"fmt"
	"os"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/landform/landform"
)

// Auth says how Landform authenticates to a repository's remote. At most one
// of TokenEnv, TokenFile and SSHKeyFile is set; the zero Auth is "none".
// The config holds references to secrets only, never secrets: Token and
// Passphrase read them when the daemon starts.
type Auth struct {
	// TokenEnv names the environment variable that holds a token for an
	// http(s) remote.
	TokenEnv string
	// TokenFile is the file that holds a token for an http(s) remote.
	TokenFile string
	// SSHKeyFile is the private key for an SSH remote.
	SSHKeyFile string
	// SSHPassphraseEnv names the environment variable that holds the
	// passphrase of SSHKeyFile; "" for a key without one.
	SSHPassphraseEnv string
	// Username goes with a token (HTTP basic auth); "" leaves it to the git
	// layer's default.
	Username string
}

// IsZero reports whether a is "no authentication".
func (a Auth) IsZero() bool { return a == Auth{} }

// Token returns the token a names, read from the environment variable
// TokenEnv through lookupEnv or from the file TokenFile through readFile
// (nil means os.LookupEnv and os.ReadFile), with surrounding white space
// trimmed; "" and no error when a has no token. An unset variable, an
// unreadable file and an empty token are EINVALID errors that name the
// variable or the file, never the value.
func (a Auth) Token(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	var (
		v   string
		err error
	)
	switch {
	case a.TokenEnv != "":
		v, err = envSecret(a.TokenEnv, lookupEnv)
	case a.TokenFile != "":
		v, err = fileSecret("token file", a.TokenFile, readFile)
	}
	if err != nil {
		return "", &landform.Error{Code: landform.EINVALID, Message: err.Error(), Err: err}
	}
	return v, nil
}

// Passphrase returns the passphrase of SSHKeyFile from the environment
// variable SSHPassphraseEnv through lookupEnv (nil means os.LookupEnv),
// trimmed; "" and no error when a names none. Errors are as Token's.
func (a Auth) Passphrase(lookupEnv func(string) (string, bool)) (string, error) {
	if a.SSHPassphraseEnv == "" {
		return "", nil
	}
	v, err := envSecret(a.SSHPassphraseEnv, lookupEnv)
	if err != nil {
		return "", &landform.Error{Code: landform.EINVALID, Message: err.Error(), Err: err}
	}
	return v, nil
}

func envSecret(name string, lookupEnv func(string) (string, bool)) (string, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	v, ok := lookupEnv(name)
	if !ok {
		return "", fmt.Errorf("environment variable %s is not set", name)
	}
	if v = strings.TrimSpace(v); v == "" {
		return "", fmt.Errorf("environment variable %s is empty", name)
	}
	return v, nil
}

func fileSecret(what, path string, readFile func(string) ([]byte, error)) (string, error) {
	if readFile == nil {
		readFile = os.ReadFile
	}
	data, err := readFile(path)
	if err != nil {
		return "", pathError(what, path, err)
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		return "", fmt.Errorf("%s %s is empty", what, path)
	}
	return v, nil
}

var authFields = []string{"token_env", "token_file", "ssh_key_file", "ssh_passphrase_env", "username", "none"}

// inlineSecrets are the keys refused in a repo entry and in its auth: each
// would put a secret in the config.
var inlineSecrets = func() map[string]string {
	token := "inline secrets are not allowed: " + tokenRef
	key := "inline keys are not allowed: name a private key file with auth.ssh_key_file"
	pass := "inline secrets are not allowed: name an environment variable with auth.ssh_passphrase_env"
	return map[string]string{
		"token": token, "password": token, "access_token": token, "secret": token,
		"ssh_key": key, "private_key": key,
		"passphrase": pass, "ssh_passphrase": pass,
	}
}()

// authDecl is an auth mapping as decoded, with the keys later checks point
// at.
type authDecl struct {
	auth       Auth
	methods    []authMethod // in file order
	username   *yaml.Node   // key
	passphrase *yaml.Node   // key
}

// authMethod is one key that picks an auth method: token_env, token_file,
// ssh_key_file, or none set to true.
type authMethod struct {
	name string
	key  *yaml.Node
}

// decodeAuth decodes the auth mapping n at path p.
func (sp *serverParser) decodeAuth(p string, n *yaml.Node) *authDecl {
	d := sp.d
	a := &authDecl{}
	if n.Kind == yaml.ScalarNode {
		// Not described with its value, which may be a token.
		d.errorf(n, p, "expected a mapping such as {token_env: NAME}, got a scalar; a secret never goes in the config itself")
		return a
	}
	d.objectRefusing(n, p, authFields, inlineSecrets, func(name, fp string, k, v *yaml.Node) {
		switch name {
		case "token_env", "token_file", "ssh_key_file":
			a.methods = append(a.methods, authMethod{name, k})
		case "ssh_passphrase_env":
			a.passphrase = k
		case "username":
			a.username = k
		}
		switch name {
		case "token_env":
			a.auth.TokenEnv = sp.envRef(fp, v)
		case "ssh_passphrase_env":
			a.auth.SSHPassphraseEnv = sp.envRef(fp, v)
		case "token_file":
			a.auth.TokenFile = sp.path(fp, v)
		case "ssh_key_file":
			a.auth.SSHKeyFile = sp.path(fp, v)
		case "username":
			if s, ok := d.str(v, fp); ok {
				if msg := checkUsername(s); msg != "" {
					d.errorf(v, fp, "%s", msg)
				} else {
					a.auth.Username = s
				}
			}
		case "none":
			if b, ok := d.boolean(v, fp); ok && b {
				a.methods = append(a.methods, authMethod{name, k})
			}
		}
	})
	return a
}

// check reports what does not fit together in a, the auth at path p of a
// repo reached as kind (remoteInvalid when its url is invalid or missing).
func (a *authDecl) check(d *decoder, p string, kind remoteKind) {
	for _, m := range a.methods[min(1, len(a.methods)):] {
		first := a.methods[0]
		d.errorf(m.key, joinPath(p, m.name), "cannot be used with %s (line %d:%d); choose one auth method",
			first.name, first.key.Line, first.key.Column)
	}
	method := ""
	if len(a.methods) > 0 {
		method = a.methods[0].name
	}
	if a.passphrase != nil && method != "ssh_key_file" {
		d.errorf(a.passphrase, joinPath(p, "ssh_passphrase_env"), "goes with ssh_key_file, which is not set")
	}
	if a.username != nil && method != "token_env" && method != "token_file" {
		d.errorf(a.username, joinPath(p, "username"),
			"goes with token_env or token_file; for SSH, put the user in the URL (ssh://git@host/path or git@host:path)")
	}
	if len(a.methods) == 0 || kind == remoteInvalid {
		return
	}
	m := a.methods[0]
	switch {
	case (method == "token_env" || method == "token_file") && kind != remoteHTTP:
		d.errorf(m.key, joinPath(p, m.name), "token authentication works only with an http(s) URL, not with %s", kind)
	case method == "ssh_key_file" && kind != remoteSSH:
		d.errorf(m.key, joinPath(p, m.name), "SSH key authentication works only with an ssh:// or user@host:path URL, not with %s", kind)
	}
}

func (k remoteKind) String() string {
	switch k {
	case remoteLocal:
		return "a local path"
	case remoteHTTP:
		return "an http(s) URL"
	case remoteSSH:
		return "an SSH URL"
	case remoteGit:
		return "a git:// URL"
	}
	return "an invalid URL"
}

// tokenPrefixes start the tokens of well-known forges and chat services.
var tokenPrefixes = []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-", "xoxb-", "xoxp-"}

func looksLikeToken(s string) bool {
	for _, p := range tokenPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// checkEnvRef checks the name of an environment variable that holds a
// secret. The value is not echoed when refused: it may be the secret.
func checkEnvRef(s string) string {
	switch {
	case looksLikeToken(s):
		return "looks like a token itself; name the environment variable that holds it instead"
	case !envName.MatchString(s):
		return "not a valid environment variable name (letters, digits and _, not starting with a digit)"
	}
	return ""
}

// checkUsername checks the user name sent with a token; it is not echoed
// when refused.
func checkUsername(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case looksLikeToken(s):
		return "looks like a token, not a user name; " + tokenRef
	case strings.ContainsFunc(s, func(r rune) bool { return r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) }):
		return `a user name must not contain ":", white space or control characters`
	}
	return ""
}

// Secrets returns the secret values a names that can be read now (the
// token, the key's passphrase), for redaction: a value that cannot be
// read is left out (starting the daemon reports it).
func (a Auth) Secrets() []string {
	var out []string
	if tok, err := a.Token(nil, nil); err == nil && tok != "" {
		out = append(out, tok)
	}
	if pass, err := a.Passphrase(nil); err == nil && pass != "" {
		out = append(out, pass)
	}
	return out
}
