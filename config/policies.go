package config

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/landform/landform"
)

// Policies is the server config's policies: the policy sets every plan is
// evaluated with, and who may override a deny.
//
//	policies:
//	  owners: [alice, platform-team]       # who may override a deny (landform approve --override-policy)
//	  sets:
//	    - name: guard-rails
//	      source: builtin                  # builtin, dir:/etc/landform/policies, or repo
//	      enforcement: deny                # deny (default): a deny blocks; warn: shown only
//	      workspaces: ["envs/prod/**"]     # default: every workspace
//	      params:                          # what the built-ins read (data.params)
//	        protect_types: {types: [aws_db_instance]}
//	        max_destroys: {max: 5}
type Policies struct {
	Owners []string
	Sets   []PolicySet
}

// PolicySet is one set of policies.
type PolicySet struct {
	Name string
	// Source is PolicyBuiltin, PolicyRepo, or a directory on the machine
	// (an absolute path, from "dir:PATH").
	Source      string
	Enforcement string
	// Workspaces are globs of workspace names; empty means every one.
	Workspaces []string
	// Params are given to the policies as data.params.
	Params map[string]any
}

// Policy set sources besides a directory.
const (
	// PolicyBuiltin: the policies embedded in Landform.
	PolicyBuiltin = "builtin"
	// PolicyRepo: the repository's .landform/policies/, read from its
	// default branch (a pull request cannot change the rules that judge
	// it).
	PolicyRepo = "repo"
)

// RepoPolicyDir is where a repository keeps its policies.
const RepoPolicyDir = ".landform/policies"

var (
	policiesFields  = []string{"owners", "sets"}
	policySetFields = []string{"name", "source", "enforcement", "workspaces", "params"}
	enforcements    = []string{landform.EnforceDeny, landform.EnforceWarn}
)

func (sp *serverParser) decodePolicies(p string, n *yaml.Node) Policies {
	d := sp.d
	var out Policies
	names := map[string]*yaml.Node{}
	d.object(n, p, policiesFields, func(name, fp string, _, v *yaml.Node) {
		switch name {
		case "owners":
			d.stringList(v, fp, func(s, ip string, item *yaml.Node) {
				if strings.TrimSpace(s) == "" {
					d.errorf(item, ip, "must not be empty")
					return
				}
				out.Owners = append(out.Owners, s)
			})
		case "sets":
			d.list(v, fp, func(_ int, ip string, item *yaml.Node) {
				set, ok := sp.decodePolicySet(ip, item)
				if !ok {
					return
				}
				if first := names[set.Name]; first != nil {
					d.errorf(item, ip, "policy set %q is defined twice (first at line %d)", set.Name, first.Line)
					return
				}
				names[set.Name] = item
				out.Sets = append(out.Sets, set)
			})
		}
	})
	return out
}

func (sp *serverParser) decodePolicySet(p string, n *yaml.Node) (PolicySet, bool) {
	d := sp.d
	set := PolicySet{Enforcement: landform.EnforceDeny}
	var nameGiven, sourceGiven, nameSeen, sourceSeen bool
	ok := d.object(n, p, policySetFields, func(name, fp string, _, v *yaml.Node) {
		switch name {
		case "name":
			nameSeen = true
			if s, ok := d.str(v, fp); ok {
				if msg := checkRepoName(s); msg != "" {
					d.errorf(v, fp, "%s", strings.Replace(msg, "repo name", "policy set name", 1))
				} else {
					set.Name, nameGiven = s, true
				}
			}
		case "source":
			sourceSeen = true
			if s, ok := d.str(v, fp); ok {
				switch {
				case s == PolicyBuiltin || s == PolicyRepo:
					set.Source, sourceGiven = s, true
				case strings.HasPrefix(s, "dir:"):
					pv := *v
					pv.Value = strings.TrimPrefix(s, "dir:")
					if dir := sp.path(fp, &pv); dir != "" {
						set.Source, sourceGiven = dir, true
					}
				default:
					d.errorf(v, fp, "unknown policy source %q (want builtin, repo, or dir:PATH)", s)
				}
			}
		case "enforcement":
			if s, ok := d.str(v, fp); ok {
				if !slices.Contains(enforcements, s) {
					d.errorf(v, fp, "unknown enforcement %q (want deny or warn)", s)
				} else {
					set.Enforcement = s
				}
			}
		case "workspaces":
			d.stringList(v, fp, func(s, ip string, item *yaml.Node) {
				if c, msg := cleanGlob(s); msg != "" {
					d.errorf(item, ip, "%s", msg)
				} else {
					set.Workspaces = append(set.Workspaces, c)
				}
			})
		case "params":
			var params map[string]any
			if v.Kind != yaml.MappingNode {
				d.errorf(v, fp, "expected a mapping, got %s", describe(v))
			} else if err := v.Decode(&params); err != nil {
				d.errorf(v, fp, "%v", err)
			} else {
				set.Params = params
			}
		}
	})
	if !ok {
		return set, false
	}
	if !nameSeen {
		d.errorf(n, p, `missing required field "name"`)
	}
	if !sourceSeen {
		d.errorf(n, p, `missing required field "source" (builtin, repo, or dir:PATH)`)
	}
	return set, nameGiven && sourceGiven
}

// IsOwner reports whether who may override a policy deny.
func (p Policies) IsOwner(who string) bool {
	return who != "" && slices.Contains(p.Owners, who)
}

// String names the set for messages.
func (s PolicySet) String() string { return fmt.Sprintf("policy set %s (%s)", s.Name, s.Source) }
