package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/landform/landform"
)

// Auth says who a request is: a bearer token (the API; config tokens and
// those made with `landform token create`), or a browser's session
// cookie (the dashboard, signed in with such a token), or nobody.
type Auth struct {
	// Token returns who a bearer token acts as: ok false for an unknown
	// or expired token; an error when it cannot tell. It should compare
	// in constant time. Nil refuses every token.
	Token func(ctx context.Context, token string) (p landform.Principal, ok bool, err error)
	// Sessions keeps the browsers' sessions; nil: no one can sign in.
	Sessions SessionStore
	// Anonymous is the role of a request without credentials: "" (the
	// default) refuses it; RoleViewer opens the read-only pages and API.
	// Nothing else is accepted: acting needs someone.
	Anonymous landform.Role
	// SessionTTL is how long a sign-in lasts (default 12 hours).
	SessionTTL time.Duration
	// SecureCookies marks cookies Secure (set it when the dashboard is
	// reached over https, as external_url says).
	SecureCookies bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// SessionStore keeps dashboard sessions by the sha256 of their cookie's
// value (the store implements it).
type SessionStore interface {
	CreateSession(ctx context.Context, s *landform.WebSession) error
	Session(ctx context.Context, sum string, now time.Time) (*landform.WebSession, error)
	DeleteSession(ctx context.Context, sum string) error
}

// Cookie names. The session cookie is HttpOnly and SameSite=Lax (a link
// from a pull request opens a signed-in page; a cross-site POST carries
// no session); every form also carries the session's CSRF token.
const (
	sessionCookie = "landform_session"
	// signinCookie holds the sign-in form's own CSRF token (double
	// submit), before there is a session.
	signinCookie = "landform_signin"
	csrfField    = "csrf"
)

const defaultSessionTTL = 12 * time.Hour

func (a *Auth) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Auth) ttl() time.Duration {
	if a.SessionTTL > 0 {
		return a.SessionTTL
	}
	return defaultSessionTTL
}

// who is the principal of a request, how it came, and its session.
type who struct {
	landform.Principal
	// session is the browser's session, nil for a token or nobody.
	session *landform.WebSession
}

// authError says why a request has no principal: 401 without
// credentials or with bad ones, 500 when the check itself failed.
type authError struct {
	status int
	msg    string
	err    error
	// challenge is the WWW-Authenticate value of a 401 to an API client.
	challenge string
}

// identify returns who r is. Bearer tokens win over cookies. Without
// credentials the anonymous role applies when configured.
func (a *Auth) identify(r *http.Request) (who, *authError) {
	if len(r.Header.Values("Authorization")) > 0 {
		token, ok := bearerToken(r)
		if !ok || a.Token == nil {
			return who{}, &authError{status: http.StatusUnauthorized, challenge: `Bearer realm="landform"`,
				msg: "an API token is needed: Authorization: Bearer TOKEN"}
		}
		p, ok, err := a.Token(r.Context(), token)
		if err != nil {
			return who{}, &authError{status: http.StatusInternalServerError, msg: "internal error", err: err}
		}
		if !ok || p.Identity == "" || !p.Role.Valid() {
			return who{}, &authError{status: http.StatusUnauthorized, challenge: `Bearer realm="landform", error="invalid_token"`,
				msg: "unknown or expired API token"}
		}
		p.Via = "token"
		return who{Principal: p}, nil
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" && a.Sessions != nil {
		s, err := a.Sessions.Session(r.Context(), sum256(c.Value), a.now())
		switch {
		case err == nil:
			return who{Principal: landform.Principal{Identity: s.Identity, Role: s.Role, Via: "session"}, session: s}, nil
		case landform.ErrorCode(err) != landform.ENOTFOUND:
			return who{}, &authError{status: http.StatusInternalServerError, msg: "internal error", err: err}
		}
		// An expired or unknown session: as if there were none.
	}
	if a.Anonymous == landform.RoleViewer {
		return who{Principal: landform.Principal{Role: landform.RoleViewer, Via: "anonymous"}}, nil
	}
	return who{}, &authError{status: http.StatusUnauthorized, challenge: `Bearer realm="landform"`,
		msg: "sign in, or give an API token: Authorization: Bearer TOKEN"}
}

// signIn checks token and starts a session for its principal: it sets
// the session cookie on w and returns the session.
func (a *Auth) signIn(ctx context.Context, w http.ResponseWriter, token string) (*landform.WebSession, *authError) {
	if a.Token == nil || a.Sessions == nil {
		return nil, &authError{status: http.StatusUnauthorized, msg: "signing in is not configured"}
	}
	p, ok, err := a.Token(ctx, token)
	if err != nil {
		return nil, &authError{status: http.StatusInternalServerError, msg: "internal error", err: err}
	}
	if !ok || p.Identity == "" || !p.Role.Valid() {
		return nil, &authError{status: http.StatusUnauthorized, msg: "unknown or expired token"}
	}
	value := randomToken()
	now := a.now()
	s := &landform.WebSession{SHA256: sum256(value), Identity: p.Identity, Role: p.Role, CSRF: randomToken(),
		CreatedAt: now.UTC(), ExpiresAt: now.Add(a.ttl()).UTC()}
	if err := a.Sessions.CreateSession(ctx, s); err != nil {
		return nil, &authError{status: http.StatusInternalServerError, msg: "internal error", err: err}
	}
	// Sessions that ended go when new ones start: no timer, and a
	// daemon nobody signs in to keeps none but the live ones.
	if sw, ok := a.Sessions.(interface {
		DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	}); ok {
		_, _ = sw.DeleteExpiredSessions(ctx, now)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: a.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: int(a.ttl() / time.Second)})
	return s, nil
}

// signOut ends r's session, if any, and clears its cookie.
func (a *Auth) signOut(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: a.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || a.Sessions == nil {
		return nil
	}
	return a.Sessions.DeleteSession(r.Context(), sum256(c.Value))
}

// signinCSRF returns the sign-in form's CSRF token, setting its cookie on
// w when r has none.
func (a *Auth) signinCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(signinCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	v := randomToken()
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: v, Path: "/", HttpOnly: true, Secure: a.SecureCookies,
		SameSite: http.SameSiteStrictMode, MaxAge: int(time.Hour / time.Second)})
	return v
}

// checkSigninCSRF reports whether r's sign-in form carries the CSRF token
// of its cookie.
func checkSigninCSRF(r *http.Request) bool {
	c, err := r.Cookie(signinCookie)
	if err != nil || len(c.Value) < 32 {
		return false
	}
	return equalTokens(r.PostFormValue(csrfField), c.Value)
}

// checkCSRF reports whether r, a form posted by w's session, carries
// its CSRF token. A request with a bearer token needs none (a browser
// never adds one by itself); anonymous requests never act.
func checkCSRF(r *http.Request, w who) bool {
	if w.Via == "token" {
		return true
	}
	if w.session == nil {
		return false
	}
	got := r.PostFormValue(csrfField)
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	return equalTokens(got, w.session.CSRF)
}

func equalTokens(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// randomToken is 32 random bytes, URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sum256(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
