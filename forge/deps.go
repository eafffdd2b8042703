package forge

import (
	_ "code.gitea.io/sdk/gitea"
	_ "github.com/google/go-github/v75/github"
	_ "gitlab.com/gitlab-org/api/client-go"
)
