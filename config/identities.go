package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/landform/landform"
	"gopkg.in/yaml.v3"
)

// Identity is what a Landform identity (a forge login) is known as
// elsewhere: in Slack, and as the author of commits.
//
//	identities:
//	  alice:
//	    slack: [U0123ABC]             # her slash commands act as alice
//	    emails: [alice@example.com]   # commits with this author email are her changes
type Identity struct {
	// Slack are Slack user IDs (U… or W…), each of one identity only.
	Slack []string
	// Emails are commit author emails, each of one identity only
	// (compared ignoring case).
	Emails []string
}

var (
	identityFields = []string{"slack", "emails"}
	slackUserID    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
)

// decodeTeams decodes the server config's teams at p: team names to their
// members.
//
//	teams:
//	  platform: [alice, bob]
//
// Team names are compared ignoring case, and so are members.
func decodeTeams(d *decoder, p string, n *yaml.Node) map[string][]string {
	out := map[string][]string{}
	names := map[string]*yaml.Node{} // lower case → key
	d.mapping(n, p, "a mapping of team names to lists of members", func(name, ep string, k, v *yaml.Node) {
		if msg := checkTeamName(name); msg != "" {
			d.errorf(k, ep, "%s", msg)
			return
		}
		lower := strings.ToLower(name)
		if first := names[lower]; first != nil {
			d.errorf(k, ep, "team %q differs from %q (line %d:%d) only in case; team names are compared ignoring case", name, first.Value, first.Line, first.Column)
			return
		}
		names[lower] = k
		members := []string{}
		seen := map[string]string{}
		d.list(v, ep, func(_ int, ip string, item *yaml.Node) {
			s, ok := d.str(item, ip)
			if !ok {
				return
			}
			if strings.HasPrefix(s, TeamPrefix) {
				d.errorf(item, ip, "teams do not nest: list the members of %q here instead", s)
				return
			}
			if msg := checkIdentity(s); msg != "" {
				d.errorf(item, ip, "%s", msg)
				return
			}
			key := strings.ToLower(s)
			if first, dup := seen[key]; dup {
				d.errorf(item, ip, "%q is listed already (%s)", s, first)
				return
			}
			seen[key] = ip
			members = append(members, s)
		})
		out[name] = members
	})
	return out
}

func checkTeamName(s string) string {
	if s == "" || s == "." || s == ".." || !teamName.MatchString(s) {
		return fmt.Sprintf(`invalid team name %q: use letters, digits, ".", "_" and "-"`, s)
	}
	return ""
}

// hasTeam reports whether teams holds the team name, ignoring case.
func hasTeam(teams map[string][]string, name string) bool {
	for t := range teams {
		if strings.EqualFold(t, name) {
			return true
		}
	}
	return false
}

// decodeIdentities decodes the server config's identities at p.
func decodeIdentities(d *decoder, p string, n *yaml.Node) map[string]Identity {
	out := map[string]Identity{}
	names := map[string]*yaml.Node{} // lower case → key
	slackIDs := map[string]string{}  // ID → path
	emails := map[string]string{}    // lower case → path
	d.mapping(n, p, "a mapping of identities (forge logins) to {slack: [...], emails: [...]}", func(name, ep string, k, v *yaml.Node) {
		if msg := checkIdentity(name); msg != "" {
			d.errorf(k, ep, "%s", msg)
			return
		}
		lower := strings.ToLower(name)
		if first := names[lower]; first != nil {
			d.errorf(k, ep, "identity %q differs from %q (line %d:%d) only in case; logins are compared ignoring case", name, first.Value, first.Line, first.Column)
			return
		}
		names[lower] = k
		var id Identity
		ok := d.object(v, ep, identityFields, func(field, fp string, _, v *yaml.Node) {
			d.stringList(v, fp, func(s, ip string, item *yaml.Node) {
				if field == "slack" {
					switch first, dup := slackIDs[s]; {
					case !slackUserID.MatchString(s):
						d.errorf(item, ip, "%q is not a Slack user ID (want e.g. U0123ABC: the member ID of the user's Slack profile)", s)
					case dup:
						d.errorf(item, ip, "Slack user %s is listed already (%s); a Slack user is one identity", s, first)
					default:
						slackIDs[s] = ip
						id.Slack = append(id.Slack, s)
					}
					return
				}
				key := strings.ToLower(s)
				switch first, dup := emails[key]; {
				case !isEmail(s):
					d.errorf(item, ip, "%q is not an email address (want e.g. alice@example.com)", s)
				case dup:
					d.errorf(item, ip, "email %s is listed already (%s); an email is one identity's", s, first)
				default:
					emails[key] = ip
					id.Emails = append(id.Emails, s)
				}
			})
		})
		if ok {
			out[name] = id
		}
	})
	return out
}

// isEmail reports whether s looks like a commit author's email: a local
// part, "@", a domain, nothing else.
func isEmail(s string) bool {
	at := strings.LastIndex(s, "@")
	return at > 0 && at < len(s)-1 && !strings.ContainsFunc(s, landform.BadIdentityRune) && !strings.ContainsAny(s, `<>,"`)
}
