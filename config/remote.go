package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// remoteKind is how Landform reaches a repository, which decides the auth
// methods that make sense for it.
type remoteKind int

const (
	remoteInvalid remoteKind = iota
	remoteLocal              // a local path or a file:// URL
	remoteHTTP               // http:// or https://
	remoteSSH                // ssh:// or scp-like user@host:path
	remoteGit                // git://
)

// remoteSchemes are the URL schemes a repo url may have, most likely first
// (suggestions prefer the earlier of two equally close).
var remoteSchemes = []string{"https", "http", "ssh", "git", "file"}

const (
	tokenRef     = "name an environment variable with auth.token_env or a file with auth.token_file"
	tokenInstead = "never write secrets in the config: " + tokenRef +
		" (and the user, if needed, with auth.username)"
	sshKeyInstead = "never write secrets in the config: name a private key file with auth.ssh_key_file"
)

// checkRemote checks s, the url of a repo, and returns it as Landform uses
// it: a URL as written, a local path made absolute against base (or joined
// to it when base is relative) with "~" expanded. On failure the message
// says why; it never holds the credentials a URL may carry.
//
// URLs are file://, git://, http(s)://, ssh:// and scp-like user@host:path
// (the rule of gitrepo.Open: a colon before any slash, and an "@" before
// the colon); anything else is a local path.
func checkRemote(s, base string) (string, remoteKind, string) {
	if s == "" {
		return "", remoteInvalid, "must not be empty"
	}
	if strings.Contains(s, "://") {
		kind, msg := checkURL(s)
		return s, kind, msg
	}
	colon, slash := strings.IndexByte(s, ':'), strings.IndexByte(s, '/')
	if colon > 0 && (slash < 0 || colon < slash) {
		return s, remoteSSH, checkSCP(s, colon)
	}
	p, msg := localPath(s, base)
	if msg != "" {
		return "", remoteInvalid, msg
	}
	return p, remoteLocal, ""
}

func checkURL(s string) (remoteKind, string) {
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return remoteInvalid, "invalid URL (not shown: it may hold credentials)"
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return remoteInvalid, fmt.Sprintf("invalid URL %q: %v", s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if u.User != nil {
		_, hasPassword := u.User.Password()
		switch {
		case scheme == "ssh" && hasPassword:
			return remoteInvalid, fmt.Sprintf("URL %s holds a password; %s", redactUserinfo(u), sshKeyInstead)
		case scheme != "ssh":
			return remoteInvalid, fmt.Sprintf("URL %s holds credentials; %s", redactUserinfo(u), tokenInstead)
		}
	}
	if !slices.Contains(remoteSchemes, scheme) {
		msg := fmt.Sprintf("unsupported URL scheme %q (want https, http, ssh, git or file)", u.Scheme)
		if sug := suggest(scheme, remoteSchemes); sug != "" {
			msg += fmt.Sprintf(", did you mean %q?", sug)
		}
		return remoteInvalid, msg
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		// Not echoed: a query is a place people put tokens.
		return remoteInvalid, "a repository URL must not have a query (?…) or fragment (#…)"
	}
	if scheme == "file" {
		switch {
		case u.Host != "" && u.Host != "localhost":
			return remoteInvalid, fmt.Sprintf("file URL %q names host %q; want file:///absolute/path", s, u.Host)
		case u.Path == "" || u.Path == "/":
			return remoteInvalid, fmt.Sprintf("file URL %q has no path", s)
		}
		return remoteLocal, ""
	}
	switch {
	case u.Hostname() == "":
		return remoteInvalid, fmt.Sprintf("URL %q has no host", s)
	case u.Path == "" || u.Path == "/":
		return remoteInvalid, fmt.Sprintf("URL %q has no repository path", s)
	}
	switch scheme {
	case "http", "https":
		return remoteHTTP, ""
	case "ssh":
		return remoteSSH, ""
	}
	return remoteGit, ""
}

// checkSCP checks an scp-like address: user@host:path, with the colon at
// colon. Without an "@" before the colon the address is neither scp-like
// nor (for Landform) a useful local path.
func checkSCP(s string, colon int) string {
	userHost, rest := s[:colon], s[colon+1:]
	at := strings.LastIndexByte(userHost, '@')
	if at < 0 {
		// user:password@host:path puts the first colon inside the userinfo.
		if head, _, _ := strings.Cut(rest, "/"); strings.Contains(head, "@") {
			_, after, _ := strings.Cut(rest, "@")
			return fmt.Sprintf("address ***@%s holds a password; %s", after, sshKeyInstead)
		}
		return fmt.Sprintf("%q is not a URL or a path: write an SSH address as user@host:path (git@%s) or ssh://host/path; "+
			`a local path with a ":" needs a "./" in front`, s, s)
	}
	switch {
	case at == 0:
		return fmt.Sprintf("address %q has an empty user", s)
	case at == len(userHost)-1:
		return fmt.Sprintf("address %q has no host", s)
	case rest == "" || rest == "/":
		return fmt.Sprintf("address %q has no repository path", s)
	}
	return ""
}

// redactUserinfo renders u with its user name and password replaced by
// "***": a token is often passed as the user name (https://TOKEN@host/).
func redactUserinfo(u *url.URL) string {
	c := *u
	c.User = nil
	return strings.Replace(c.String(), "://", "://***@", 1)
}
