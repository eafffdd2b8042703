package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/landform/landform"
)

// ApprovalStore keeps approvals and refused approvals of runs.
type ApprovalStore interface {
	// AddApproval records a and sets its ID (and At when zero); ENOTFOUND
	// for an unknown run, EINVALID without who or channel.
	AddApproval(ctx context.Context, a *landform.Approval) error
	// ListApprovals returns a run's approvals oldest first, never nil.
	ListApprovals(ctx context.Context, runID string) ([]*landform.Approval, error)
}

func testApprovals(t *testing.T, s Store) {
	ctx := context.Background()
	run := create(t, s, NewRun("infra", "envs/prod"))
	other := create(t, s, NewRun("infra", "envs/dev"))
	refused := &landform.Approval{RunID: run.ID, By: "mallory", Channel: landform.ChannelComment, Commit: "c1", PlanSHA256: "sha",
		Approved: false, Reason: "mallory is not an approver", At: base}
	approved := &landform.Approval{RunID: run.ID, By: "alice", Channel: landform.ChannelSlack, Commit: "c1", PlanSHA256: "sha",
		Approved: true, At: base.Add(time.Minute)}
	for _, a := range []*landform.Approval{refused, approved, {RunID: other.ID, By: "bob", Channel: landform.ChannelCLI, Approved: true}} {
		if err := s.AddApproval(ctx, a); err != nil {
			t.Fatal(err)
		}
		if a.ID == "" || a.At.IsZero() {
			t.Fatalf("AddApproval left ID %q, At %v", a.ID, a.At)
		}
	}
	got, err := s.ListApprovals(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || *got[0] != *refused || *got[1] != *approved {
		t.Errorf("ListApprovals = %+v %+v, want the refusal then the approval", got[0], got[1])
	}
	if got, err := s.ListApprovals(ctx, "999"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("ListApprovals of an unknown run = %v, %v", got, err)
	}
	wantCode(t, "AddApproval of an unknown run", s.AddApproval(ctx, &landform.Approval{RunID: "999", By: "a", Channel: "cli"}), landform.ENOTFOUND)
	wantCode(t, "AddApproval without who", s.AddApproval(ctx, &landform.Approval{RunID: run.ID, Channel: "cli"}), landform.EINVALID)
}
