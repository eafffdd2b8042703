package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/go-version"
	"gopkg.in/yaml.v3"

	"github.com/landform/landform"
)

// RepoFile is the name of the repo config, at the root of an infrastructure
// repository.
const RepoFile = ".landform.yaml"

// RepoVersion is the format version of the repo config this package reads,
// and the version assumed when the file does not say.
const RepoVersion = 1

// Repo is the repo config: how Landform treats one infrastructure
// repository.
//
//	version: 1            # optional, default 1; no other version exists
//	autodiscover: true    # default: true when no workspaces are listed, false when some are
//	parallel: 4           # optional, at least 1
//	changes: read         # which changed paths affect a workspace: read (default) or directory
//	workspaces:
//	  - name: prod-app                  # optional, default landform.WorkspaceName(dir, workspace)
//	    dir: envs/prod/app              # required, relative to the repository root
//	    workspace: blue                 # Terraform workspace, default "default"
//	    terraform_version: ">= 1.5"     # version constraint
//	    when_modified: ["shared/**"]    # globs relative to the repository root
//	    var_files: [prod.tfvars]        # relative to dir
//	    env: {TF_VAR_region: eu-west-1}
//	    changes: directory              # overrides the repo's rule for this workspace
//	approvals:            # read from the default branch only; see Approvals
//	  required_approvals: 2
//	  workspaces: [{match: "envs/prod/**", approvers: ["team:sre"]}]
type Repo struct {
	// Version is the format version, always RepoVersion.
	Version int
	// Autodiscover says whether the caller also discovers workspaces in the
	// repository, beyond the listed ones. It defaults to true when the file
	// lists no workspace and to false when it lists some.
	Autodiscover bool
	// Parallel caps the plans that run at once for this repository; 0 means
	// "not set": the server's limit applies.
	Parallel int
	// Changes is the rule for which changed paths affect a workspace that
	// does not set its own: landform.ChangesRead (the default) or
	// landform.ChangesDirectory.
	Changes string
	// Workspaces are the listed workspaces, in file order, each with its
	// Name set (defaulted when the file leaves it out), Dir, VarFiles and
	// WhenModified cleaned. Names are unique.
	Workspaces []landform.Workspace
	// Approvals override the server config's approval settings of this
	// repository, field by field (see Server.ApprovalRules). Only the
	// default branch's are ever used: a pull request cannot weaken the
	// rules that gate it.
	Approvals Approvals

	// file and pos locate Workspaces in the file, for CheckPaths; pos is
	// empty for a Repo not made by ParseRepo.
	file string
	pos  []workspacePos
}

// workspacePos is where one listed workspace is in the file.
type workspacePos struct {
	dir      *yaml.Node
	varFiles []*yaml.Node
}

// DefaultRepo returns the config of a repository without RepoFile: version
// 1, workspaces discovered.
func DefaultRepo() *Repo {
	return &Repo{Version: RepoVersion, Autodiscover: true, Changes: landform.ChangesRead}
}

// Defaults of RepoOptions.
const (
	// DefaultMaxRepoFileSize is the largest repo config read, in bytes.
	DefaultMaxRepoFileSize = 1 << 20
	// DefaultMaxWorkspaces is the most workspaces a repo config may list.
	DefaultMaxWorkspaces = 10_000
)

// RepoOptions are what the repo config may hold beyond its own rules: the
// repository's content is untrusted, so the server decides. The zero
// RepoOptions means the defaults: env may set only TF_VAR_* variables, and
// the limits are DefaultMaxRepoFileSize and DefaultMaxWorkspaces.
type RepoOptions struct {
	// AllowedEnv are the environment variables a workspace's env may set
	// besides TF_VAR_* (the server config's terraform.allowed_env). Names
	// that are not valid environment variable names never match.
	AllowedEnv []string
	// MaxFileSize is the largest repo config accepted, in bytes; 0 (or
	// less) means DefaultMaxRepoFileSize. LoadRepo checks it before reading
	// the file.
	MaxFileSize int64
	// MaxWorkspaces is the most workspaces the file may list; 0 (or less)
	// means DefaultMaxWorkspaces.
	MaxWorkspaces int
}

func (o RepoOptions) maxFileSize() int64 {
	if o.MaxFileSize <= 0 {
		return DefaultMaxRepoFileSize
	}
	return o.MaxFileSize
}

func (o RepoOptions) maxWorkspaces() int {
	if o.MaxWorkspaces <= 0 {
		return DefaultMaxWorkspaces
	}
	return o.MaxWorkspaces
}

// ParseRepo decodes data, the contents of a repo config named filename
// (used in messages), with the limits and allowed environment of opts. An
// empty file (or one holding only comments or null) gives DefaultRepo.
//
// ParseRepo checks the file on its own: it does not look at the tree the
// paths point into; LoadRepo and CheckPaths do. Every problem is reported,
// each with file:line:column and the field; the error has code
// landform.EINVALID and wraps a *ValidationError. Data larger than
// opts.MaxFileSize is refused without being parsed.
func ParseRepo(filename string, data []byte, opts RepoOptions) (*Repo, error) {
	if limit := opts.maxFileSize(); int64(len(data)) > limit {
		return nil, invalid([]*FieldError{tooLarge(filename, int64(len(data)), limit)})
	}
	r, errs := parseRepo(filename, data, opts)
	if err := invalid(errs); err != nil {
		return nil, err
	}
	return r, nil
}

func tooLarge(file string, size, limit int64) *FieldError {
	return &FieldError{File: file, Msg: fmt.Sprintf("the file is %d bytes; at most %d are allowed", size, limit)}
}

// LoadRepo reads RepoFile at the root of fsys, the tree of one commit, and
// checks it with ParseRepo and CheckPaths, all problems reported together.
// A missing RepoFile gives DefaultRepo. A RepoFile that is a symbolic link is
// followed when it stays inside the tree; one that leaves the tree or
// points to nothing is EINVALID, and so is one larger than
// opts.MaxFileSize, found from its size before it is read (and read no
// further than that limit whatever fsys says its size is). Reading errors
// are returned wrapped, with no code (EINTERNAL).
func LoadRepo(fsys fs.FS, opts RepoOptions) (*Repo, error) {
	res, err := resolve(fsys, RepoFile)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", RepoFile, err)
	}
	switch {
	case res.problem != "":
		return nil, invalid([]*FieldError{{File: RepoFile, Msg: res.problem}})
	case res.missing && res.links > 0:
		return nil, invalid([]*FieldError{{File: RepoFile, Msg: "symbolic link that points to nothing"}})
	case res.missing:
		return DefaultRepo(), nil
	}
	data, err := readLimited(fsys, res.path, opts.maxFileSize())
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultRepo(), nil
	}
	var big *fileTooLarge
	if errors.As(err, &big) {
		return nil, invalid([]*FieldError{tooLarge(RepoFile, big.size, big.limit)})
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", RepoFile, err)
	}
	r, errs := parseRepo(RepoFile, data, opts)
	perrs, err := checkPaths(fsys, r)
	if err != nil {
		return nil, err
	}
	if err := invalid(append(errs, perrs...)); err != nil {
		return nil, err
	}
	return r, nil
}

var (
	repoFields      = []string{"version", "autodiscover", "parallel", "changes", "workspaces", "approvals"}
	workspaceFields = []string{"name", "dir", "workspace", "terraform_version", "when_modified", "var_files", "env", "changes"}
	envName         = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// operatorOnly are the keys refused in a repo config: settings of the
	// server config's alone.
	operatorOnly = map[string]string{
		"drift": "drift checks are the operator's: set them in the server config (drift, or repos[i].drift), not in the repository",
		"aws":   "the AWS role a run assumes is the operator's choice: set it in the server config (aws, or repos[i].aws), never in the repository",
	}
)

// parseRepo decodes data as far as it can. The Repo is complete when no
// problem is returned; otherwise it holds what could be read (an invalid
// dir left ""), which LoadRepo still checks against the tree.
func parseRepo(file string, data []byte, opts RepoOptions) (*Repo, []*FieldError) {
	d := &decoder{file: file}
	r := DefaultRepo()
	r.file = file
	root, ok := d.parseDocument(data)
	if !ok || root == nil {
		return r, d.errs
	}
	autodiscoverSet := false
	var decls []*workspaceDecl
	d.objectRefusing(root, "", repoFields, operatorOnly, func(name, p string, _, v *yaml.Node) {
		switch name {
		case "version":
			if n, ok := d.integer(v, p); ok && n != RepoVersion {
				d.errorf(v, p, "unsupported version %d (this Landform reads version %d)", n, RepoVersion)
			}
		case "autodiscover":
			r.Autodiscover, autodiscoverSet = d.boolean(v, p)
		case "parallel":
			if n, ok := d.integer(v, p); ok {
				if n < 1 {
					d.errorf(v, p, "must be at least 1, got %d", n)
				} else {
					r.Parallel = n
				}
			}
		case "changes":
			if s, ok := d.changeRule(v, p); ok {
				r.Changes = s
			}
		case "workspaces":
			if limit := opts.maxWorkspaces(); v.Kind == yaml.SequenceNode && len(v.Content) > limit {
				d.errorf(v, p, "%d workspaces listed; at most %d are allowed", len(v.Content), limit)
				return
			}
			d.list(v, p, func(_ int, ip string, item *yaml.Node) {
				if w := decodeWorkspace(d, ip, item, opts); w != nil {
					decls = append(decls, w)
				}
			})
		case "approvals":
			r.Approvals, _ = decodeApprovals(d, p, v)
		}
	})
	if !autodiscoverSet {
		r.Autodiscover = len(decls) == 0
	}
	checkUniqueNames(d, decls)
	for _, w := range decls {
		r.Workspaces = append(r.Workspaces, w.ws)
		r.pos = append(r.pos, workspacePos{dir: w.dir, varFiles: w.varFiles})
	}
	return r, d.errs
}

// workspaceDecl is one entry of workspaces as decoded, with the nodes that
// later checks point at.
type workspaceDecl struct {
	ws       landform.Workspace
	path     string     // workspaces[i]
	item     *yaml.Node // the entry
	name     *yaml.Node // nil when the name is defaulted
	dir      *yaml.Node
	varFiles []*yaml.Node
}

// decodeWorkspace decodes the entry item at path p; nil when it is not a
// mapping.
func decodeWorkspace(d *decoder, p string, item *yaml.Node, opts RepoOptions) *workspaceDecl {
	w := &workspaceDecl{path: p, item: item}
	var (
		varFiles  []string
		nameGiven bool
	)
	ok := d.object(item, p, workspaceFields, func(name, fp string, _, v *yaml.Node) {
		switch name {
		case "name":
			nameGiven = true
			if s, ok := d.str(v, fp); ok {
				if err := landform.CheckWorkspaceName(s); err != nil {
					d.errorf(v, fp, "%s", err)
				} else {
					w.ws.Name, w.name = s, v
				}
			}
		case "dir":
			w.dir = v
			if s, ok := d.str(v, fp); ok {
				if c, msg := cleanRepoPath(s); msg != "" {
					d.errorf(v, fp, "%s", msg)
				} else {
					w.ws.Dir = c
				}
			}
		case "workspace":
			if s, ok := d.str(v, fp); ok {
				if s == "" || url.PathEscape(s) != s {
					d.errorf(v, fp, "%q is not a valid Terraform workspace name", s)
				} else {
					w.ws.TFWorkspace = s
				}
			}
		case "terraform_version":
			if s, ok := d.str(v, fp); ok {
				if _, err := version.NewConstraint(s); err != nil {
					d.errorf(v, fp, `invalid version constraint %q (want e.g. ">= 1.5, < 2.0")`, s)
				} else {
					w.ws.TerraformVersion = s
				}
			}
		case "when_modified":
			d.list(v, fp, func(_ int, ip string, n *yaml.Node) {
				if s, ok := d.str(n, ip); ok {
					if c, msg := cleanGlob(s); msg != "" {
						d.errorf(n, ip, "%s", msg)
					} else {
						w.ws.WhenModified = append(w.ws.WhenModified, c)
					}
				}
			})
		case "var_files":
			d.list(v, fp, func(_ int, ip string, n *yaml.Node) {
				if s, ok := d.str(n, ip); ok {
					varFiles = append(varFiles, s)
					w.varFiles = append(w.varFiles, n)
				}
			})
		case "changes":
			if s, ok := d.changeRule(v, fp); ok {
				w.ws.Changes = s
			}
		case "env":
			d.stringMap(v, fp, func(key, value, ep string, k, _ *yaml.Node) {
				if !envName.MatchString(key) {
					d.errorf(k, ep, "%q is not a valid environment variable name", key)
					return
				}
				if !opts.EnvAllowed(key) {
					d.errorf(k, ep, "%s", envRefused(key, opts.AllowedEnv))
					return
				}
				if w.ws.Env == nil {
					w.ws.Env = make(map[string]string)
				}
				w.ws.Env[key] = value
			})
		}
	})
	if !ok {
		return nil
	}
	if w.dir == nil {
		d.errorf(item, p, `missing required field "dir"`)
	}
	// var_files need dir, which may come after them in the entry.
	for i, f := range varFiles {
		n := w.varFiles[i]
		c, msg := cleanVarFile(w.ws.Dir, f)
		if msg != "" {
			d.errorf(n, indexPath(joinPath(p, "var_files"), i), "%s", msg)
		}
		w.ws.VarFiles = append(w.ws.VarFiles, c)
	}
	if !nameGiven && w.ws.Dir != "" {
		name := landform.WorkspaceName(w.ws.Dir, w.ws.TFWorkspace)
		if err := landform.CheckWorkspaceName(name); err != nil {
			d.errorf(item, p, "%s (the default from dir and workspace); set name", err)
		} else {
			w.ws.Name = name
		}
	}
	return w
}

// checkUniqueNames reports each workspace whose name an earlier one already
// has, at its name (or, for a defaulted name, at the entry), naming where
// the earlier one is.
func checkUniqueNames(d *decoder, decls []*workspaceDecl) {
	first := make(map[string]*workspaceDecl)
	for _, w := range decls {
		if w.ws.Name == "" {
			continue // its name or dir is invalid, already reported
		}
		prev, dup := first[w.ws.Name]
		if !dup {
			first[w.ws.Name] = w
			continue
		}
		at, field, how := w.item, w.path, " (the default from dir and workspace)"
		if w.name != nil {
			at, field, how = w.name, joinPath(w.path, "name"), ""
		}
		prevAt := prev.item
		if prev.name != nil {
			prevAt = prev.name
		}
		d.errorf(at, field, "duplicate workspace name %q%s, already used by %s at line %d:%d",
			w.ws.Name, how, prev.path, prevAt.Line, prevAt.Column)
	}
}

// changeRule decodes a change rule: one of landform.ChangeRules.
func (d *decoder) changeRule(v *yaml.Node, p string) (string, bool) {
	s, ok := d.str(v, p)
	if !ok {
		return "", false
	}
	if slices.Contains(landform.ChangeRules, s) {
		return s, true
	}
	want := strings.Join(landform.ChangeRules, " or ")
	if sug := suggest(s, landform.ChangeRules); sug != "" {
		d.errorf(v, p, "unknown change rule %q, did you mean %q? (want %s)", s, sug, want)
	} else {
		d.errorf(v, p, "unknown change rule %q (want %s)", s, want)
	}
	return "", false
}
