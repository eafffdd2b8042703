package config

import (
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"
)

// Slack is the server config's Slack app: the secret its slash commands
// are verified with, and which repository each channel's commands refer
// to. The zero Slack is "no Slack": slash commands are refused.
//
//	slack:
//	  signing_secret_env: SLACK_SIGNING_SECRET   # or signing_secret_file
//	  channels: {C0123ABC: infra}                # channel ID → repo name
type Slack struct {
	// SigningSecretEnv or SigningSecretFile hold the app's signing secret
	// (exactly one is set when Slack is configured).
	SigningSecretEnv, SigningSecretFile string
	// Channels map Slack channel IDs to the name of the repo (one of
	// Server.Repos) a slash command typed in the channel refers to.
	Channels map[string]string
}

// IsZero reports whether s is "no Slack".
func (s Slack) IsZero() bool {
	return s.SigningSecretEnv == "" && s.SigningSecretFile == "" && len(s.Channels) == 0
}

// SigningSecret reads the signing secret (see Auth.Token for lookupEnv and
// readFile); "" and no error when none is configured.
func (s Slack) SigningSecret(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	return readSecret("slack signing secret file", s.SigningSecretEnv, s.SigningSecretFile, lookupEnv, readFile)
}

// Secrets returns the signing secret when it can be read now, for
// redaction.
func (s Slack) Secrets() []string {
	if sec, err := s.SigningSecret(nil, nil); err == nil && sec != "" {
		return []string{sec}
	}
	return nil
}

var (
	slackFields = []string{"signing_secret_env", "signing_secret_file", "channels"}
	// slackInlineSecrets are the keys refused in the slack mapping.
	slackInlineSecrets = func() map[string]string {
		msg := "inline secrets are not allowed: name an environment variable with slack.signing_secret_env or a file with slack.signing_secret_file"
		return map[string]string{"signing_secret": msg, "secret": msg, "token": msg, "bot_token": msg}
	}()
	slackChannelID = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
)

// channelAt is a channels entry and where it is, checked against the repos
// once they are all read.
type channelAt struct {
	repo, path string
	node       *yaml.Node
}

// decodeSlack decodes the slack mapping n at p, and returns its channels
// entries with their places.
func (sp *serverParser) decodeSlack(p string, n *yaml.Node) (Slack, []channelAt) {
	d := sp.d
	var (
		s         Slack
		chans     []channelAt
		secretKey *yaml.Node
	)
	if n.Kind == yaml.ScalarNode {
		d.errorf(n, p, "expected a mapping such as {signing_secret_env: NAME, channels: {C0123ABC: infra}}, got a scalar; a secret never goes in the config itself")
		return s, nil
	}
	ok := d.objectRefusing(n, p, slackFields, slackInlineSecrets, func(name, fp string, k, v *yaml.Node) {
		switch name {
		case "signing_secret_env", "signing_secret_file":
			if d.oneOf(&secretKey, k, fp) {
				sp.secretRef(fp, v, name == "signing_secret_env", &s.SigningSecretEnv, &s.SigningSecretFile)
			}
		case "channels":
			d.stringMap(v, fp, func(id, repo, ep string, k, v *yaml.Node) {
				if !slackChannelID.MatchString(id) {
					d.errorf(k, ep, "%q is not a Slack channel ID (want e.g. C0123ABC: the ID at the bottom of the channel's details)", id)
					return
				}
				if s.Channels == nil {
					s.Channels = map[string]string{}
				}
				s.Channels[id] = repo
				chans = append(chans, channelAt{repo, ep, v})
			})
		}
	})
	if ok && secretKey == nil && !hasKeyOf(n, slackInlineSecrets) {
		d.errorf(n, p, "missing the signing secret: name it with signing_secret_env or signing_secret_file (without it, no slash command can be verified)")
	}
	return s, chans
}

// checkChannels reports the channels entries whose repo is not one of
// decls.
func checkChannels(d *decoder, chans []channelAt, decls []*repoDecl) {
	var names []string
	for _, r := range decls {
		if r.name != nil {
			names = append(names, r.rs.Name)
		}
	}
	for _, c := range chans {
		if slices.Contains(names, c.repo) {
			continue
		}
		if sug := suggest(c.repo, names); sug != "" {
			d.errorf(c.node, c.path, "unknown repo %q, did you mean %q?", c.repo, sug)
		} else {
			d.errorf(c.node, c.path, "unknown repo %q (want the name of one of repos)", c.repo)
		}
	}
}
