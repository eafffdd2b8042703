package landform

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Role is what a person or an API token may do through the dashboard and
// the REST API. Each role includes the ones before it:
//
//	viewer    read: repositories, workspaces, runs, plans, locks, drift
//	approver  and approve and apply runs (who may approve a given run is
//	          still decided by the approvals rules: the role opens the
//	          door, the rules decide)
//	admin     and unlock workspaces and manage tokens
type Role string

const (
	RoleViewer   Role = "viewer"
	RoleApprover Role = "approver"
	RoleAdmin    Role = "admin"
)

// Roles are the roles, least first.
var Roles = []Role{RoleViewer, RoleApprover, RoleAdmin}

func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether r may do what need may: an unknown role allows
// nothing.
func (r Role) Allows(need Role) bool {
	return r.rank() > 0 && r.rank() >= need.rank()
}

// ParseRole returns the role named s; EINVALID naming the roles otherwise.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", Errorf(EINVALID, "unknown role %q: one of viewer, approver, admin", s)
}

// Principal is who a request acts as.
type Principal struct {
	// Identity is the name approvals are recorded under and the
	// approvals rules match; empty for an anonymous reader.
	Identity string `json:"identity,omitempty"`
	Role     Role   `json:"role"`
	// Via says how the request proved it: "token", "session" or
	// "anonymous".
	Via string `json:"via"`
}

// Anonymous reports whether p is the anonymous reader.
func (p Principal) Anonymous() bool { return p.Identity == "" }

// APIToken is a bearer token kept in the store: only its sha256 is kept,
// the token itself is shown once, when it is created.
type APIToken struct {
	// ID is assigned by the store.
	ID       string `json:"id"`
	Identity string `json:"identity"`
	Role     Role   `json:"role"`
	// SHA256 is the token's sha256, 64 lower-case hexadecimal digits.
	SHA256    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the token stops working, zero for never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// CreatedBy is who made it ("cli" for the command line).
	CreatedBy string `json:"created_by,omitempty"`
}

// Expired reports whether t no longer works at now.
func (t *APIToken) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// Check returns EINVALID when t cannot be stored.
func (t *APIToken) Check() error {
	if err := CheckIdentity(t.Identity); err != nil {
		return err
	}
	if !t.Role.Valid() {
		return Errorf(EINVALID, "token of %s: unknown role %q", t.Identity, t.Role)
	}
	if !isSHA256Hex(t.SHA256) {
		return Errorf(EINVALID, "token of %s: its sha256 is not 64 lower-case hexadecimal digits", t.Identity)
	}
	return nil
}

// WebSession is a browser's sign-in, kept in the store by the sha256 of
// its cookie's value (a replica, or a restart, keeps it).
type WebSession struct {
	SHA256   string `json:"-"`
	Identity string `json:"identity"`
	Role     Role   `json:"role"`
	// CSRF is the token every form of this session carries.
	CSRF      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Check returns EINVALID when s cannot be stored: it needs an identity, a
// valid role, a sha256, a CSRF token and an expiry.
func (s *WebSession) Check() error {
	if err := CheckIdentity(s.Identity); err != nil {
		return err
	}
	if !s.Role.Valid() || !isSHA256Hex(s.SHA256) || s.CSRF == "" || s.ExpiresAt.IsZero() {
		return Errorf(EINVALID, "a session needs a role, a sha256, a CSRF token and an expiry")
	}
	return nil
}

// CheckIdentity returns EINVALID, saying why, for a name that cannot be
// a person's or a token's identity: it is not empty, at most 200 bytes,
// has no white space, control or formatting characters, no ":" and is not
// a team ("team:NAME"). The config's approvers and tokens, and the tokens
// `landform token create` stores, are checked with it.
func CheckIdentity(s string) error {
	if msg := IdentityProblem(s); msg != "" {
		return Errorf(EINVALID, "identity: %s", msg)
	}
	return nil
}

// IdentityProblem says what is wrong with s as an identity, "" when
// nothing is (see CheckIdentity).
func IdentityProblem(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > 200:
		return "at most 200 bytes"
	case strings.ContainsFunc(s, BadIdentityRune):
		return fmt.Sprintf("%q is not an identity: no white space, control or formatting characters", s)
	case strings.HasPrefix(s, TeamPrefix):
		return fmt.Sprintf("%q is a team, not an identity", s)
	case len(s) > len(TeamPrefix) && strings.EqualFold(s[:len(TeamPrefix)], TeamPrefix):
		return fmt.Sprintf("%q: write a team as %q, in lower case", s, TeamPrefix+s[len(TeamPrefix):])
	case strings.Contains(s, ":"):
		return fmt.Sprintf(`%q is not an identity: no ":" (a team is "team:NAME")`, s)
	}
	return ""
}

// BadIdentityRune reports whether r may not appear in an identity: white
// space, control and formatting characters.
func BadIdentityRune(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// TeamPrefix starts an approvers entry that names a team.
const TeamPrefix = "team:"

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
