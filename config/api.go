package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/landform/landform"
)

// API is the server config's REST API access: bearer tokens and the
// identity each one acts as. With no tokens, the API accepts none.
//
//	api:
//	  tokens:
//	    - {identity: alice, sha256: 9f86d0…}    # the token's sha256 (printf %s TOKEN | sha256sum)
//	    - {identity: ops, role: admin, token_env: OPS_TOKEN}  # role: viewer, approver (default) or admin
//	    - {identity: ci, token_env: CI_TOKEN}   # or the token itself in an environment variable
//	    - {identity: bot, token_file: /etc/landform/bot-token}   # or in a file
type API struct {
	Tokens []APIToken
}

// APIToken is one bearer token of the API. Exactly one of SHA256,
// TokenEnv and TokenFile is set.
type APIToken struct {
	// Role is what the token may do (default approver: approve and
	// apply; viewer reads only; admin also unlocks).
	Role landform.Role
	// Identity is who the token acts as.
	Identity string
	// SHA256 is the token's sha256, 64 lower-case hexadecimal digits.
	SHA256 string
	// TokenEnv or TokenFile hold the token itself.
	TokenEnv, TokenFile string
}

// Identity returns the identity the bearer token token acts as: ok is
// false when no configured token is token. Every configured token is
// compared, each in constant time, against token's sha256 (so neither the
// time taken nor the lengths compared depend on how much of a token
// matches). Tokens held in environment variables and files are read at
// each call, through lookupEnv and readFile (nil means os.LookupEnv and
// os.ReadFile): a rotated file takes effect without a restart. A token
// that cannot be read is skipped, and when no other token matches the
// error says which (EINVALID, naming the variable or file, never a value).
func (a API) Identity(token string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (identity string, ok bool, err error) {
	t, ok, err := a.Lookup(token, lookupEnv, readFile)
	return t.Identity, ok, err
}

// Lookup is Identity returning the whole configured token: its identity
// and role.
func (a API) Lookup(token string, lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (found APIToken, ok bool, err error) {
	if token == "" {
		return APIToken{}, false, nil
	}
	sum := sha256.Sum256([]byte(token))
	var errs []error
	for _, t := range a.Tokens {
		var want [sha256.Size]byte
		if t.SHA256 != "" {
			if n, herr := hex.Decode(want[:], []byte(t.SHA256)); herr != nil || n != sha256.Size {
				errs = append(errs, fmt.Errorf("api token of %s: invalid sha256", t.Identity))
				continue
			}
		} else {
			secret, rerr := readSecret("api token file", t.TokenEnv, t.TokenFile, lookupEnv, readFile)
			if rerr != nil {
				errs = append(errs, fmt.Errorf("api token of %s: %w", t.Identity, rerr))
				continue
			}
			want = sha256.Sum256([]byte(secret))
		}
		if subtle.ConstantTimeCompare(sum[:], want[:]) == 1 && !ok {
			found, ok = t, true
		}
	}
	if ok {
		return found, true, nil
	}
	if len(errs) > 0 {
		err := errors.Join(errs...)
		return APIToken{}, false, &landform.Error{Code: landform.EINVALID, Message: err.Error(), Err: err}
	}
	return APIToken{}, false, nil
}

// Secrets returns the tokens held in environment variables and files that
// can be read now, for redaction.
func (a API) Secrets() []string {
	var out []string
	for _, t := range a.Tokens {
		if t.SHA256 != "" {
			continue
		}
		if tok, err := readSecret("api token file", t.TokenEnv, t.TokenFile, nil, nil); err == nil && tok != "" {
			out = append(out, tok)
		}
	}
	return out
}

var (
	apiFields      = []string{"tokens"}
	apiTokenFields = []string{"identity", "role", "sha256", "token_env", "token_file"}
	// apiInlineSecrets are the keys refused in api and its tokens.
	apiInlineSecrets = func() map[string]string {
		msg := "inline secrets are not allowed: give the token's sha256, or name an environment variable with token_env or a file with token_file"
		return map[string]string{"token": msg, "secret": msg, "value": msg, "password": msg, "bearer": msg}
	}()
	sha256Hex = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// decodeAPI decodes the api mapping n at p.
func (sp *serverParser) decodeAPI(p string, n *yaml.Node) API {
	d := sp.d
	var a API
	sources := map[string]string{} // what holds or identifies a token → path
	if n.Kind == yaml.ScalarNode {
		d.errorf(n, p, "expected a mapping such as {tokens: [{identity: ci, token_env: NAME}]}, got a scalar; a secret never goes in the config itself")
		return a
	}
	d.objectRefusing(n, p, apiFields, apiInlineSecrets, func(_, fp string, _, v *yaml.Node) {
		if v.Kind == yaml.ScalarNode {
			d.errorf(v, fp, "expected a list such as [{identity: ci, token_env: NAME}], got a scalar; a secret never goes in the config itself")
			return
		}
		d.list(v, fp, func(_ int, ip string, item *yaml.Node) {
			if item.Kind == yaml.ScalarNode {
				// Not described with its value, which may be a token.
				d.errorf(item, ip, "expected a mapping such as {identity: ci, token_env: NAME}, got a scalar; a secret never goes in the config itself")
				return
			}
			var (
				t                   APIToken
				identityGiven       bool
				tokenKey, tokenNode *yaml.Node
				source              string
			)
			ok := d.objectRefusing(item, ip, apiTokenFields, apiInlineSecrets, func(name, tp string, k, v *yaml.Node) {
				if name == "role" {
					if str, ok := d.str(v, tp); ok {
						if r, err := landform.ParseRole(str); err != nil {
							d.errorf(v, tp, "%s", landform.ErrorMessage(err))
						} else {
							t.Role = r
						}
					}
					return
				}
				if name == "identity" {
					identityGiven = true
					if s, ok := d.str(v, tp); ok {
						if msg := checkIdentity(s); msg != "" {
							d.errorf(v, tp, "%s", msg)
						} else {
							t.Identity = s
						}
					}
					return
				}
				if !d.oneOf(&tokenKey, k, tp) {
					return
				}
				tokenNode = v
				switch name {
				case "sha256":
					// Not echoed: it may be the token itself, misplaced.
					if v.Kind != yaml.ScalarNode || !sha256Hex.MatchString(v.Value) {
						d.errorf(v, tp, "want the token's sha256: 64 hexadecimal digits (printf %%s TOKEN | sha256sum)")
						return
					}
					t.SHA256 = strings.ToLower(v.Value)
					source = "sha256 " + t.SHA256
				case "token_env":
					if t.TokenEnv = sp.envRef(tp, v); t.TokenEnv != "" {
						source = "environment variable " + t.TokenEnv
					}
				case "token_file":
					if t.TokenFile = sp.path(tp, v); t.TokenFile != "" {
						source = "file " + t.TokenFile
					}
				}
			})
			if !ok {
				return
			}
			if !identityGiven {
				d.errorf(item, ip, `missing required field "identity" (who the token acts as)`)
			}
			if tokenKey == nil {
				if hasKeyOf(item, apiInlineSecrets) {
					return
				}
				d.errorf(item, ip, "missing the token: give its sha256, or name it with token_env or token_file")
				return
			}
			if source == "" {
				return // invalid, reported
			}
			if first, dup := sources[source]; dup {
				what := source
				if t.SHA256 != "" {
					what = "the same sha256"
				}
				d.errorf(tokenNode, joinPath(ip, tokenKey.Value), "%s is the token of %s already; a token acts as one identity", what, first)
				return
			}
			sources[source] = ip
			if t.Role == "" {
				t.Role = landform.RoleApprover
			}
			a.Tokens = append(a.Tokens, t)
		})
	})
	return a
}
