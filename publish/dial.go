package publish

import (
	"strings"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/forge"
	"github.com/landform/landform/forge/gitea"
	"github.com/landform/landform/forge/github"
	"github.com/landform/landform/forge/gitlab"
)

// Dial returns the client of a repository's forge as configured, with the
// token read now. Errors: EINVALID when the token cannot be read or the
// settings do not make a client (a project that is not owner/name for
// Gitea or GitHub).
func Dial(fs config.ForgeSettings) (forge.Client, error) {
	token, err := fs.Token(nil, nil)
	if err != nil {
		return nil, err
	}
	owner, name, twoParts := strings.Cut(fs.Project, "/")
	if fs.Kind != landform.ForgeGitLab && (!twoParts || strings.Contains(name, "/")) {
		return nil, landform.Errorf(landform.EINVALID, "forge project %q: want owner/name", fs.Project)
	}
	var c forge.Client
	switch fs.Kind {
	case landform.ForgeGitea:
		c, err = gitea.New(gitea.Options{BaseURL: fs.URL, Token: token, Owner: owner, Repo: name})
	case landform.ForgeGitHub:
		c, err = github.New(github.Options{BaseURL: fs.URL, Token: token, Owner: owner, Repo: name})
	case landform.ForgeGitLab:
		c, err = gitlab.New(gitlab.Options{BaseURL: fs.URL, Token: token, Project: fs.Project})
	default:
		return nil, landform.Errorf(landform.EINVALID, "unknown forge %q", fs.Kind)
	}
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "forge %s of %s: %w", fs.Kind, fs.Project, err)
	}
	return c, nil
}
