package policies

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Input is what policies see as input; it marshals to the input document
// (see the package doc).
type Input struct {
	// Plan is the plan's JSON, as `terraform show -json PLANFILE` prints
	// it. It must be a JSON object.
	Plan json.RawMessage `json:"plan"`
	// Workspace is the workspace the plan is for.
	Workspace InputWorkspace `json:"workspace"`
	// Commit is the commit planned; Author and PullRequest are its pull
	// request's author and number ("" and 0: none).
	Commit      string `json:"commit"`
	Author      string `json:"author"`
	PullRequest int    `json:"pull_request"`
}

// InputWorkspace is input.workspace: the workspace's name, its directory
// relative to the repository root, and the repository.
type InputWorkspace struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
	Repo string `json:"repo"`
}

// value builds the input document as an AST value, parsing the plan once.
func (in Input) value() (ast.Value, error) {
	plan, err := parsePlan(in.Plan)
	if err != nil {
		return nil, err
	}
	ws := ast.NewObject(
		ast.Item(ast.StringTerm("name"), ast.StringTerm(in.Workspace.Name)),
		ast.Item(ast.StringTerm("dir"), ast.StringTerm(in.Workspace.Dir)),
		ast.Item(ast.StringTerm("repo"), ast.StringTerm(in.Workspace.Repo)),
	)
	return ast.NewObject(
		ast.Item(ast.StringTerm("plan"), ast.NewTerm(plan)),
		ast.Item(ast.StringTerm("workspace"), ast.NewTerm(ws)),
		ast.Item(ast.StringTerm("commit"), ast.StringTerm(in.Commit)),
		ast.Item(ast.StringTerm("author"), ast.StringTerm(in.Author)),
		ast.Item(ast.StringTerm("pull_request"), ast.IntNumberTerm(in.PullRequest)),
	), nil
}

// parsePlan parses the plan JSON into an AST object.
func parsePlan(plan json.RawMessage) (ast.Value, error) {
	if len(bytes.TrimSpace(plan)) == 0 {
		return nil, errors.New("no plan JSON")
	}
	v, err := jsonValue(plan)
	if err != nil {
		return nil, errors.New("plan JSON: " + err.Error())
	}
	if _, ok := v.(ast.Object); !ok {
		return nil, errors.New("plan JSON is not an object")
	}
	return v, nil
}
