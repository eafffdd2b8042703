package policies

import (
	"context"
	"encoding/json"

	"github.com/landform/landform"
)

// Evaluator judges runs' plans with several policy sets; it implements
// runner.Policies. It is safe for concurrent use.
type Evaluator struct {
	sets []*Set
}

// NewEvaluator returns an evaluator of sets, evaluated in that order.
func NewEvaluator(sets ...*Set) *Evaluator { return &Evaluator{sets: sets} }

// Evaluate evaluates every set over run's plan (planJSON, `terraform show
// -json`, parsed once) and merges their decisions (Merge). The first
// set's error is returned, with no result: policies fail closed.
func (e *Evaluator) Evaluate(ctx context.Context, run *landform.Run, planJSON []byte) (*landform.PolicyResult, error) {
	input, err := InputFor(run, planJSON).value()
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "policies: %w", err)
	}
	ds := make([]Decision, 0, len(e.sets))
	for _, s := range e.sets {
		d, err := s.eval(ctx, input)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return Merge(ds...), nil
}

// InputFor returns the input of run's policies: its workspace, commit and
// pull request (number and author), and planJSON as the plan.
func InputFor(run *landform.Run, planJSON []byte) Input {
	return Input{
		Plan:        json.RawMessage(planJSON),
		Workspace:   InputWorkspace{Name: run.Workspace, Dir: run.Dir, Repo: run.Repo},
		Commit:      run.Commit,
		Author:      run.PR.Author,
		PullRequest: run.PR.Number,
	}
}
