// Package gitremote parses the string that names a git repository — a
// local path or a remote URL — once, for both the server config (which
// checks what it is given) and gitrepo (which opens it), so that the two
// agree on what is a URL, what kind it is, and how it is shown without its
// credentials.
package gitremote

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/landform/landform"
)

// Kind is how a repository is reached.
type Kind int

const (
	// Local is a path on this machine.
	Local Kind = iota + 1
	// File is a file:// URL.
	File
	// HTTP is an http:// or https:// URL.
	HTTP
	// SSH is an ssh:// URL or an scp-like address, user@host:path.
	SSH
	// Git is a git:// URL.
	Git
)

func (k Kind) String() string {
	switch k {
	case Local:
		return "a local path"
	case File:
		return "a file:// URL"
	case HTTP:
		return "an http(s) URL"
	case SSH:
		return "an SSH URL"
	case Git:
		return "a git:// URL"
	}
	return "an invalid URL"
}

// Schemes are the URL schemes Parse accepts, most used first (a
// suggestion for a misspelt one prefers the earlier of two equally close).
var Schemes = []string{"https", "http", "ssh", "git", "file"}

// Remote is a parsed repository address.
type Remote struct {
	Kind Kind
	// SCP is true for an scp-like address (user@host:path), whose Kind is
	// SSH.
	SCP bool
	// Raw is the address as given, credentials included: for the
	// transport only, never for messages or logs (use String).
	Raw string
	// User is the user name and password of a URL or an scp-like address,
	// nil when it has none. A user name alone may be a token
	// (https://TOKEN@host/…).
	User *url.Userinfo
	// Host is the host, with its port when one is given; "" for Local and
	// File.
	Host string
	// Path is the local path of Local (as given) and File, else the
	// repository's path on the host.
	Path string
}

// Username returns the user name of r, "" when it has none.
func (r Remote) Username() string { return r.User.Username() }

// Password returns the password of r, "" when it has none.
func (r Remote) Password() string {
	p, _ := r.User.Password()
	return p
}

// IsURL reports whether r is reached through git's transport (a URL or an
// scp-like address) rather than opened as a local path.
func (r Remote) IsURL() bool { return r.Kind != Local }

// String shows r without credentials: a URL without its user name and
// password, an scp-like address without its password (git@host:path keeps
// its user), a local path as given.
func (r Remote) String() string {
	switch {
	case r.Kind == Local:
		return r.Path
	case r.SCP:
		if _, ok := r.User.Password(); ok {
			return r.Host + ":" + r.Path
		}
		return r.Raw
	}
	u, err := url.Parse(r.Raw)
	if err != nil {
		return "" // Parse made r from a URL that parsed
	}
	u.User = nil
	return u.String()
}

// Redacted is String with "***@" where r's user name and password were, for
// messages that say credentials were found ("https://***@host/org/x.git").
func (r Remote) Redacted() string {
	if r.User == nil || r.Kind == Local {
		return r.String()
	}
	if r.SCP {
		return "***@" + r.Host + ":" + r.Path
	}
	return strings.Replace(r.String(), "://", "://***@", 1)
}

// SchemeError is the cause of Parse's error for a URL whose scheme is not
// one of Schemes.
type SchemeError struct {
	Scheme string
}

func (e *SchemeError) Error() string {
	return fmt.Sprintf("unsupported URL scheme %q (want %s, %s, %s, %s or %s)", e.Scheme,
		Schemes[0], Schemes[1], Schemes[2], Schemes[3], Schemes[4])
}

// Parse parses s, a repository's address:
//
//   - with "://", a URL: file:///path (host empty or localhost),
//     http(s)://, ssh:// and git://host/path, with no query or fragment;
//   - with a colon before any slash, an scp-like address user@host:path
//     (the "@" is required: without it the address is neither scp-like
//     nor, for Landform, a useful local path);
//   - anything else, a local path, returned as given.
//
// A URL may hold a user name and password (Remote.User); whether they are
// welcome is the caller's business.
//
// Errors: EINVALID saying why s is refused, never with the credentials it
// may hold (a *SchemeError in its chain for an unknown scheme).
func Parse(s string) (Remote, error) {
	if s == "" {
		return Remote{}, invalid("must not be empty")
	}
	if strings.Contains(s, "://") {
		return parseURL(s)
	}
	colon, slash := strings.IndexByte(s, ':'), strings.IndexByte(s, '/')
	if colon > 0 && (slash < 0 || colon < slash) {
		return parseSCP(s, colon)
	}
	return Remote{Kind: Local, Raw: s, Path: s}, nil
}

func invalid(format string, args ...any) error {
	return landform.Errorf(landform.EINVALID, format, args...)
}

func parseURL(s string) (Remote, error) {
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return Remote{}, invalid("invalid URL (not shown: it may hold credentials)")
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Remote{}, invalid("invalid URL %q: %v", s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if !slices.Contains(Schemes, scheme) {
		e := &SchemeError{Scheme: u.Scheme}
		return Remote{}, &landform.Error{Code: landform.EINVALID, Message: e.Error(), Err: e}
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		// Not echoed: a query is a place people put tokens.
		return Remote{}, invalid("a repository URL must not have a query (?…) or fragment (#…)")
	}
	r := Remote{Kind: urlKinds[scheme], Raw: s, User: u.User, Host: u.Host, Path: u.Path}
	// In messages: s as written, unless it holds credentials.
	shown := strconv.Quote(s)
	if u.User != nil {
		shown = r.Redacted()
	}
	if r.Kind == File {
		switch {
		case u.Host != "" && u.Host != "localhost":
			return Remote{}, invalid("file URL %s names host %q; want file:///absolute/path", shown, u.Host)
		case u.Path == "" || u.Path == "/":
			return Remote{}, invalid("file URL %s has no path", shown)
		}
		r.Host = ""
		return r, nil
	}
	switch {
	case u.Hostname() == "":
		return Remote{}, invalid("URL %s has no host", shown)
	case u.Path == "" || u.Path == "/":
		return Remote{}, invalid("URL %s has no repository path", shown)
	}
	return r, nil
}

var urlKinds = map[string]Kind{"file": File, "http": HTTP, "https": HTTP, "ssh": SSH, "git": Git}

// parseSCP parses an scp-like address, user@host:path, with the first
// colon at colon.
func parseSCP(s string, colon int) (Remote, error) {
	userHost, rest := s[:colon], s[colon+1:]
	r := Remote{Kind: SSH, SCP: true, Raw: s}
	shown := strconv.Quote(s)
	if at := strings.LastIndexByte(userHost, '@'); at >= 0 {
		if at == 0 {
			return Remote{}, invalid("address %s has an empty user", shown)
		}
		r.User, r.Host = url.User(userHost[:at]), userHost[at+1:]
	} else if head, _, _ := strings.Cut(rest, "/"); strings.Contains(head, "@") {
		// user:password@host:path puts the first colon inside the userinfo.
		password, after, _ := strings.Cut(rest, "@")
		host, path, ok := strings.Cut(after, ":")
		if !ok {
			return Remote{}, invalid("address ***@%s is not a URL or a path: write an SSH address as user@host:path", after)
		}
		r.User, r.Host, r.Path, rest = url.UserPassword(userHost, password), host, path, path
		shown = r.Redacted()
	} else {
		return Remote{}, invalid("%s is not a URL or a path: write an SSH address as user@host:path (git@%s) or ssh://host/path; "+
			`a local path with a ":" needs a "./" in front`, shown, s)
	}
	r.Path = rest
	switch {
	case r.Host == "":
		return Remote{}, invalid("address %s has no host", shown)
	case rest == "" || rest == "/":
		return Remote{}, invalid("address %s has no repository path", shown)
	}
	return r, nil
}
