package config

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/gitremote"
)

// ForgeSettings is the forge of a watched repository: where Landform posts
// plan previews and commit statuses, reads pull requests and receives
// webhooks. The zero ForgeSettings is "no forge".
//
//	forge:
//	  kind: gitea                      # gitea, github or gitlab
//	  url: https://git.example.com     # the forge's root (github: https://api.github.com/ by default)
//	  project: org/infra               # default: the repo URL's path without ".git"
//	  token_env: GITEA_TOKEN           # or token_file
//	  webhook_secret_env: HOOK_SECRET  # or webhook_secret_file; without one, webhooks are refused
type ForgeSettings struct {
	Kind landform.ForgeKind
	// URL is the forge's base URL ("" means the public service's, for
	// github and gitlab).
	URL string
	// Project is the repository as the forge names it: "owner/name", or a
	// GitLab path with groups ("group/sub/name").
	Project string
	// TokenEnv or TokenFile hold the API token (exactly one is set).
	TokenEnv, TokenFile string
	// WebhookSecretEnv or WebhookSecretFile hold the webhook secret (at
	// most one; without one, the repo's webhooks are refused).
	WebhookSecretEnv, WebhookSecretFile string
}

// IsZero reports whether f is "no forge".
func (f ForgeSettings) IsZero() bool { return f == ForgeSettings{} }

// PollsComments reports whether pull request comments are read by polling
// the forge: with a forge and no webhook secret (no webhooks reach
// Landform, so chat-ops must work with no inbound network).
func (f ForgeSettings) PollsComments() bool {
	return !f.IsZero() && f.WebhookSecretEnv == "" && f.WebhookSecretFile == ""
}

// Token reads the API token (see Auth.Token for lookupEnv and readFile).
func (f ForgeSettings) Token(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	return readSecret("forge token file", f.TokenEnv, f.TokenFile, lookupEnv, readFile)
}

// WebhookSecret reads the webhook secret; "" and no error when none is
// configured.
func (f ForgeSettings) WebhookSecret(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	return readSecret("webhook secret file", f.WebhookSecretEnv, f.WebhookSecretFile, lookupEnv, readFile)
}

func readSecret(what, env, file string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	var (
		v   string
		err error
	)
	switch {
	case env != "":
		v, err = envSecret(env, lookupEnv)
	case file != "":
		v, err = fileSecret(what, file, readFile)
	}
	if err != nil {
		return "", &landform.Error{Code: landform.EINVALID, Message: err.Error(), Err: err}
	}
	return v, nil
}

// oneOf takes key k as the choice of a group of keys of which one may be
// given (token_env or token_file): false, with an error at k, when
// another of them was chosen before.
func (d *decoder) oneOf(chosen **yaml.Node, k *yaml.Node, fp string) bool {
	if *chosen != nil {
		d.errorf(k, fp, "cannot be used with %s (line %d:%d); choose one", (*chosen).Value, (*chosen).Line, (*chosen).Column)
		return false
	}
	*chosen = k
	return true
}

// secretRef decodes v, the value of a NAME_env or NAME_file key, into env
// or file; isEnv says which key it is.
func (sp *serverParser) secretRef(fp string, v *yaml.Node, isEnv bool, env, file *string) {
	if isEnv {
		*env = sp.envRef(fp, v)
	} else {
		*file = sp.path(fp, v)
	}
}

var forgeFields = []string{"kind", "url", "project", "token_env", "token_file", "webhook_secret_env", "webhook_secret_file"}

// forgeInlineSecrets are the keys refused in a forge mapping: each would
// put a secret in the config.
var forgeInlineSecrets = func() map[string]string {
	token := "inline secrets are not allowed: name an environment variable with forge.token_env or a file with forge.token_file"
	secret := "inline secrets are not allowed: name an environment variable with forge.webhook_secret_env or a file with forge.webhook_secret_file"
	return map[string]string{
		"token": token, "password": token, "access_token": token,
		"secret": secret, "webhook_secret": secret,
	}
}()

// forgeKinds are the kinds as strings, for messages.
var forgeKinds = func() []string {
	out := make([]string, len(landform.ForgeKinds))
	for i, k := range landform.ForgeKinds {
		out[i] = string(k)
	}
	return out
}()

// decodeForge decodes the forge mapping n at path p of the repo whose
// remote is repoURL.
func (sp *serverParser) decodeForge(p string, n *yaml.Node, repoURL string) ForgeSettings {
	d := sp.d
	var f ForgeSettings
	var kindNode, projectNode, tokenKey, secretKey *yaml.Node
	if n.Kind == yaml.ScalarNode {
		d.errorf(n, p, "expected a mapping such as {kind: gitea, url: …, token_env: NAME}, got a scalar")
		return f
	}
	ok := d.objectRefusing(n, p, forgeFields, forgeInlineSecrets, func(name, fp string, k, v *yaml.Node) {
		switch name {
		case "kind":
			kindNode = v
			if s, ok := d.str(v, fp); ok {
				if slices.Contains(forgeKinds, s) {
					f.Kind = landform.ForgeKind(s)
				} else if sug := suggest(s, forgeKinds); sug != "" {
					d.errorf(v, fp, "unknown forge %q, did you mean %q? (want gitea, github or gitlab)", s, sug)
				} else {
					d.errorf(v, fp, "unknown forge %q (want gitea, github or gitlab)", s)
				}
			}
		case "url":
			if s, ok := d.str(v, fp); ok {
				if msg := checkHTTPURL(s); msg != "" {
					d.errorf(v, fp, "%s", msg)
				} else {
					f.URL = strings.TrimRight(s, "/")
				}
			}
		case "project":
			projectNode = v
			if s, ok := d.str(v, fp); ok {
				if msg := checkProject(s); msg != "" {
					d.errorf(v, fp, "%s", msg)
				} else {
					f.Project = s
				}
			}
		case "token_env", "token_file":
			if d.oneOf(&tokenKey, k, fp) {
				sp.secretRef(fp, v, name == "token_env", &f.TokenEnv, &f.TokenFile)
			}
		case "webhook_secret_env", "webhook_secret_file":
			if d.oneOf(&secretKey, k, fp) {
				sp.secretRef(fp, v, name == "webhook_secret_env", &f.WebhookSecretEnv, &f.WebhookSecretFile)
			}
		}
	})
	if !ok {
		return f
	}
	if kindNode == nil {
		d.errorf(n, p, `missing required field "kind" (gitea, github or gitlab)`)
	}
	if tokenKey == nil {
		d.errorf(n, p, "missing the API token: name it with token_env or token_file")
	}
	if f.URL == "" && f.Kind == landform.ForgeGitea {
		d.errorf(n, p, `missing required field "url" (a Gitea server has no default address)`)
	}
	if projectNode == nil && repoURL != "" {
		proj, msg := projectOf(repoURL)
		if msg != "" {
			d.errorf(n, p, "%s; set project", msg)
		}
		f.Project = proj
	}
	return f
}

// checkHTTPURL says what is wrong with s as a forge's base URL.
func checkHTTPURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Sprintf("invalid URL %q: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("invalid URL %q: want http:// or https://", s)
	case u.Host == "":
		return fmt.Sprintf("invalid URL %q: no host", s)
	case u.User != nil:
		return fmt.Sprintf("invalid URL %q: credentials do not go in the URL; name them with token_env or token_file", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Sprintf("invalid URL %q: no query or fragment", s)
	}
	return ""
}

// checkProject says what is wrong with s as a forge's project path.
func checkProject(s string) string {
	parts := strings.Split(s, "/")
	if len(parts) < 2 {
		return fmt.Sprintf("invalid project %q: want owner/name (or group/sub/name on GitLab)", s)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, " \t\n\\?#%") {
			return fmt.Sprintf("invalid project %q: want owner/name (or group/sub/name on GitLab)", s)
		}
	}
	return ""
}

// projectOf works the forge project out of a repo's remote URL: its path
// without a leading "/" and a trailing ".git".
func projectOf(repoURL string) (string, string) {
	r, err := gitremote.Parse(repoURL)
	if err != nil || r.Kind == gitremote.Local || r.Kind == gitremote.File {
		return "", fmt.Sprintf("cannot tell the forge project from the repo url %q", repoURL)
	}
	p := strings.TrimSuffix(strings.Trim(path.Clean("/"+r.Path), "/"), ".git")
	if msg := checkProject(p); msg != "" {
		return "", fmt.Sprintf("cannot tell the forge project from the repo url %q", r.Redacted())
	}
	return p, ""
}

// Secrets returns the values of the token and webhook secret f names that
// can be read now, for redaction.
func (f ForgeSettings) Secrets() []string {
	var out []string
	if tok, err := f.Token(nil, nil); err == nil && tok != "" {
		out = append(out, tok)
	}
	if sec, err := f.WebhookSecret(nil, nil); err == nil && sec != "" {
		out = append(out, sec)
	}
	return out
}
