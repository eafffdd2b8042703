package publish_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/forge"
	planfs "github.com/landform/landform/planstore/fs"
	"github.com/landform/landform/publish"
)

// memForge is a forge.Client keeping one pull request's comments and the
// statuses in memory.
type memForge struct {
	mu       sync.Mutex
	next     int64
	comments []forge.Comment
	statuses []forge.Status
	max      int
	edits    int
}

func (m *memForge) Kind() forge.Kind { return forge.Gitea }
func (m *memForge) ListPullRequests(context.Context) ([]forge.PullRequest, error) {
	return []forge.PullRequest{{Number: 12, Author: "alice"}}, nil
}
func (m *memForge) ListComments(context.Context, int, time.Time) ([]forge.Comment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.comments), nil
}
func (m *memForge) CreateComment(_ context.Context, _ int, body string) (forge.Comment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	c := forge.Comment{ID: m.next, Body: body, CreatedAt: time.Unix(m.next, 0)}
	m.comments = append(m.comments, c)
	return c, nil
}
func (m *memForge) EditComment(_ context.Context, _ int, id int64, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.comments {
		if m.comments[i].ID == id {
			m.comments[i].Body = body
			m.edits++
			return nil
		}
	}
	return landform.Errorf(landform.ENOTFOUND, "comment %d", id)
}
func (m *memForge) DeleteComment(_ context.Context, _ int, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.comments = slices.DeleteFunc(m.comments, func(c forge.Comment) bool { return c.ID == id })
	return nil
}
func (m *memForge) SetStatus(_ context.Context, s forge.Status) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.statuses = append(m.statuses, s)
	return nil
}
func (m *memForge) CreateIssue(context.Context, string, string) (forge.Issue, error) {
	return forge.Issue{}, nil
}
func (m *memForge) EditIssue(context.Context, int, string, string, bool) (forge.Issue, error) {
	return forge.Issue{}, nil
}
func (m *memForge) FindIssue(context.Context, string) (*forge.Issue, error) { return nil, nil }
func (m *memForge) IsTeamMember(_ context.Context, team, user string) (bool, error) {
	return team == "acme/platform" && user == "alice", nil
}
func (m *memForge) MaxCommentLength() int { return m.max }

const planJSON = `{"format_version":"1.2","resource_changes":[{"address":"terraform_data.a","change":{"actions":["create"]}}]}`

func TestPreviewIsOneCommentEditedInPlaceAndSplitWhenLong(t *testing.T) {
	ctx := context.Background()
	plans, err := planfs.New(filepath.Join(t.TempDir(), "plans"))
	if err != nil {
		t.Fatal(err)
	}
	put := func(id, text string) string {
		sha, err := plans.Put(ctx, id, &landform.PlanArtifact{Plan: []byte("p" + id), JSON: []byte(planJSON), Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return sha
	}
	run := func(id, ws, commit string, text string) *landform.Run {
		return &landform.Run{ID: id, Workspace: ws, Commit: commit, State: landform.StatePlanned, Kind: landform.RunPlan,
			Summary: landform.PlanSummary{Add: 1}, PlanSHA256: put(id, text), PR: landform.RunPR{Number: 12}}
	}
	mf := &memForge{max: forge.MaxCommentGitHub}
	f := publish.New(mf, plans, "https://landform.example.com", publish.WithClock(func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }))

	first := landform.PullRequestPlans{Repo: "infra", PR: landform.RunPR{Number: 12}, Ref: "refs/pull/12/head", Commit: "c1",
		Runs: []*landform.Run{run("1", "envs/a", "c1", "Plan: 1 to add, 0 to change, 0 to destroy.")}}
	if err := f.Preview(ctx, first); err != nil {
		t.Fatal(err)
	}
	if len(mf.comments) != 1 || !strings.Contains(mf.comments[0].Body, "envs/a") || !strings.Contains(mf.comments[0].Body, "Plan: 1 to add") ||
		!strings.Contains(mf.comments[0].Body, "https://landform.example.com/runs/1") {
		t.Fatalf("first preview: %+v", mf.comments)
	}
	id := mf.comments[0].ID

	// The next push edits the same comment and says what changed.
	second := first
	second.Commit, second.PreviousCommit, second.Previous = "c2", "c1", first.Runs
	second.Runs = []*landform.Run{run("2", "envs/a", "c2", "Plan: 1 to add."), run("3", "envs/b", "c2", "Plan: 1 to add.")}
	if err := f.Preview(ctx, second); err != nil {
		t.Fatal(err)
	}
	if len(mf.comments) != 1 || mf.comments[0].ID != id || !strings.Contains(mf.comments[0].Body, "envs/b") || !strings.Contains(mf.comments[0].Body, "Since") {
		t.Fatalf("second preview: %+v", mf.comments)
	}

	// A plan too long for one comment: the summary stays in the first,
	// the plan goes on in follow-ups; a shorter preview later deletes them.
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "  + resource line %05d\n", i)
	}
	third := second
	third.Commit, third.Runs = "c3", []*landform.Run{run("4", "envs/a", "c3", b.String())}
	if err := f.Preview(ctx, third); err != nil {
		t.Fatal(err)
	}
	if len(mf.comments) < 2 || mf.comments[0].ID != id {
		t.Fatalf("long preview: %d comments, first %d", len(mf.comments), mf.comments[0].ID)
	}
	all := ""
	for _, c := range mf.comments {
		if n := len([]rune(c.Body)); n > forge.MaxCommentGitHub {
			t.Errorf("comment of %d characters", n)
		}
		all += c.Body
	}
	for _, line := range []string{"resource line 00000", "resource line 02500", "resource line 04999"} {
		if !strings.Contains(all, line) {
			t.Errorf("%q lost", line)
		}
	}
	if err := f.Preview(ctx, second); err != nil {
		t.Fatal(err)
	}
	if len(mf.comments) != 1 || mf.comments[0].ID != id {
		t.Errorf("after a shorter preview: %d comments", len(mf.comments))
	}

	if err := f.Status(ctx, second.Runs[0]); err != nil {
		t.Fatal(err)
	}
	if s := mf.statuses[0]; s.Context != "landform/plan: envs/a" || s.State != forge.StatusSuccess || s.SHA != "c2" || s.TargetURL != "https://landform.example.com/runs/2" {
		t.Errorf("status: %+v", s)
	}
}

func TestIsTeamMemberAsksTheForge(t *testing.T) {
	// chat-ops holds the Forge as a TeamChecker.
	var tc interface {
		IsTeamMember(ctx context.Context, team, user string) (bool, error)
	} = publish.New(&memForge{max: forge.MaxCommentGitHub}, nil, "")
	for _, c := range []struct {
		team, user string
		want       bool
	}{{"acme/platform", "alice", true}, {"acme/platform", "bob", false}, {"acme/other", "alice", false}} {
		if got, err := tc.IsTeamMember(context.Background(), c.team, c.user); err != nil || got != c.want {
			t.Errorf("IsTeamMember(%q, %q) = %v, %v; want %v", c.team, c.user, got, err, c.want)
		}
	}
}

func TestStatusSetsTheApplysBesideThePlans(t *testing.T) {
	ctx := context.Background()
	mf := &memForge{max: forge.MaxCommentGitHub}
	f := publish.New(mf, nil, "")
	run := &landform.Run{ID: "7", Workspace: "envs/a", Commit: "c1", State: landform.StateApproved, Summary: landform.PlanSummary{Add: 1}}
	if err := f.Status(ctx, run); err != nil {
		t.Fatal(err)
	}
	run.State, run.Apply = landform.StateApplied, &landform.ApplyResult{By: "alice", Summary: "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."}
	if err := f.Status(ctx, run); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range mf.statuses {
		got = append(got, fmt.Sprintf("%s %s %s", s.Context, s.State, s.Description))
	}
	want := []string{
		"landform/plan: envs/a success plan +1 ~0 -0 ±0 (approved)",
		"landform/plan: envs/a success plan +1 ~0 -0 ±0 (planned)",
		"landform/apply: envs/a success Apply complete! Resources: 1 added, 0 changed, 0 destroyed.",
	}
	if !slices.Equal(got, want) {
		t.Errorf("statuses:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
