// Package tokens makes API tokens and tells who a bearer token is: the
// server config's tokens first, then those `landform token create` keeps
// in the store (their sha256 only).
package tokens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
)

// Prefix starts every token Landform makes, so that secret scanners and
// people recognise one.
const Prefix = "lf_"

// New returns a new random token (160 bits) and its sha256.
func New() (token, sum string) {
	b := make([]byte, 20)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	token = Prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return token, SHA256(token)
}

// SHA256 is a token's sha256 as stored: 64 lower-case hexadecimal digits.
func SHA256(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Store is where tokens made with `landform token create` are kept.
type Store interface {
	TokenBySHA256(ctx context.Context, sum string) (*landform.APIToken, error)
}

// Resolver tells who a bearer token is.
type Resolver struct {
	Config config.API
	// Store holds the tokens made by the CLI; nil for none.
	Store Store
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Principal returns who token acts as: ok false for an unknown or expired
// token. A config token wins over a stored one of the same value. A
// config token that cannot be read (its file is gone) is an error only
// when no token matches.
func (r Resolver) Principal(ctx context.Context, token string) (landform.Principal, bool, error) {
	t, ok, cfgErr := r.Config.Lookup(token, nil, nil)
	if ok {
		return landform.Principal{Identity: t.Identity, Role: t.Role, Via: "token"}, true, nil
	}
	if r.Store != nil && token != "" {
		st, err := r.Store.TokenBySHA256(ctx, SHA256(token))
		switch {
		case err == nil:
			now := time.Now()
			if r.Now != nil {
				now = r.Now()
			}
			if st.Expired(now) {
				return landform.Principal{}, false, nil
			}
			return landform.Principal{Identity: st.Identity, Role: st.Role, Via: "token"}, true, nil
		case landform.ErrorCode(err) != landform.ENOTFOUND:
			return landform.Principal{}, false, err
		}
	}
	return landform.Principal{}, false, cfgErr
}

// Creator stores tokens.
type Creator interface {
	CreateToken(ctx context.Context, t *landform.APIToken) error
}

// Create makes a new token for identity with role, expiring after ttl (0:
// never), stores its sha256 in s and returns the token (shown once: it
// is not kept) with its record. by says who made it.
func Create(ctx context.Context, s Creator, identity string, role landform.Role, ttl time.Duration, by string, now time.Time) (string, *landform.APIToken, error) {
	if ttl < 0 {
		return "", nil, landform.Errorf(landform.EINVALID, "a token's lifetime must not be negative, got %s", ttl)
	}
	token, sum := New()
	t := &landform.APIToken{Identity: identity, Role: role, SHA256: sum, CreatedAt: now.UTC(), CreatedBy: by}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl).UTC()
	}
	if err := s.CreateToken(ctx, t); err != nil {
		return "", nil, err
	}
	return token, t, nil
}
