package config

import (
	"errors"
	"fmt"

	"github.com/landform/landform/internal/gitremote"
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

var remoteKinds = map[gitremote.Kind]remoteKind{
	gitremote.Local: remoteLocal,
	gitremote.File:  remoteLocal,
	gitremote.HTTP:  remoteHTTP,
	gitremote.SSH:   remoteSSH,
	gitremote.Git:   remoteGit,
}

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
// What is a URL and what is a path is gitremote.Parse's rule, the one
// gitrepo.Open follows. On top of it the config refuses credentials in a
// URL: a token or password belongs in auth, and an SSH user name is the
// only userinfo allowed.
func checkRemote(s, base string) (string, remoteKind, string) {
	r, err := gitremote.Parse(s)
	if err != nil {
		msg := err.Error()
		var se *gitremote.SchemeError
		if errors.As(err, &se) {
			if sug := suggest(se.Scheme, gitremote.Schemes); sug != "" {
				msg += fmt.Sprintf(", did you mean %q?", sug)
			}
		}
		return "", remoteInvalid, msg
	}
	if r.Kind == gitremote.Local {
		p, msg := localPath(s, base)
		if msg != "" {
			return "", remoteInvalid, msg
		}
		return p, remoteLocal, ""
	}
	if r.User != nil {
		_, hasPassword := r.User.Password()
		switch {
		case r.SCP && hasPassword:
			return "", remoteInvalid, fmt.Sprintf("address %s holds a password; %s", r.Redacted(), sshKeyInstead)
		case r.Kind == gitremote.SSH && hasPassword:
			return "", remoteInvalid, fmt.Sprintf("URL %s holds a password; %s", r.Redacted(), sshKeyInstead)
		case r.Kind != gitremote.SSH:
			return "", remoteInvalid, fmt.Sprintf("URL %s holds credentials; %s", r.Redacted(), tokenInstead)
		}
	}
	return s, remoteKinds[r.Kind], ""
}
