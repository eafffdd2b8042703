package runner

import (
	"strings"
	"sync"
	"testing"

	"github.com/landform/landform"
)

// planJSONs gives each workspace's plan JSON, changeable while the daemon
// runs.
type planJSONs struct {
	mu sync.Mutex
	of map[string]string
}

func (p *planJSONs) set(ws, j string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.of[ws] = j
}

func (p *planJSONs) get(ws string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.of[ws]
}

const bucketPlan = `{"resource_changes":[{"address":"testcloud_object.a","change":{"actions":["create"],"after":{"body":"%s"},"after_unknown":{"id":true}}}]}`

func TestApplyOnMerge(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mergeBody  string
		wantApply  bool
		wantReason string
	}{
		{name: "equal plan applies without a new approval", mergeBody: "v1", wantApply: true},
		{name: "different plan asks again", mergeBody: "v2", wantReason: "`testcloud_object.a`: planned values differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol, ap := newFakePolicy("carol"), newFakeApplier()
			pol.set(func(r *landform.ApprovalRules) { r.Mode = landform.ApplyOnMerge })
			h, src, f := applyHarness(t, pol, ap, landform.PullRequest{Number: 7, Author: "alice", BaseBranch: "main"})
			jsons := &planJSONs{of: map[string]string{}}
			h.planner.json = jsons.get
			jsons.set("app", strings.Replace(bucketPlan, "%s", "v1", 1))
			h.start()
			ev := h.polled("infra")
			run, ev := planPR(h, src, ev, "p1", "app")
			if got, err := approve(h, run.ID, "carol"); err != nil || got.State != landform.StateApproved {
				t.Fatalf("approve: %v", err)
			}
			if _, _, err := h.d.Apply(t.Context(), ApplyRequest{RunID: run.ID, By: "carol"}); landform.ErrorCode(err) != landform.EINVALID {
				t.Fatalf("apply from the pull request under on_merge: %v", err)
			}

			// The pull request merges: main moves to a merge commit that
			// contains its head.
			jsons.set("app", strings.Replace(bucketPlan, "%s", tc.mergeBody, 1))
			src.affect("m2", "app")
			src.contains("m2", "p1", "m1")
			src.setRef(mainRef, "m2")
			h.round(ev)
			merged := h.finished("app")
			if merged.Commit != "m2" {
				t.Fatalf("finished %+v, want the merge commit's plan", merged)
			}
			if old, _ := h.db.GetRun(t.Context(), run.ID); old.State != landform.StateSuperseded {
				t.Errorf("the pull request's approved run is %s, want superseded", old.State)
			}
			if tc.wantApply {
				done := h.next("the apply on merge", func(e Event) bool { return e.Kind == EventApplyFinished })
				if done.Run.ID != merged.ID || done.Run.State != landform.StateApplied || ap.count("app") != 1 {
					t.Fatalf("apply on merge: %+v, applied %d", done.Run, ap.count("app"))
				}
				approvals, _ := h.db.ListApprovals(t.Context(), merged.ID)
				if len(approvals) != 1 || approvals[0].By != "carol" || approvals[0].Channel != landform.ChannelOnMerge || approvals[0].Commit != "m2" {
					t.Errorf("carried approvals: %+v", approvals)
				}
				return
			}
			h.flushForge("comment/7/onmerge-" + merged.ID)
			f.mu.Lock()
			replies := strings.Join(f.replies, "\n")
			f.mu.Unlock()
			if !strings.Contains(replies, tc.wantReason) || !strings.Contains(replies, "landform approve "+merged.ID) {
				t.Errorf("the pull request was told:\n%s", replies)
			}
			if got, _ := h.db.GetRun(t.Context(), merged.ID); got.State != landform.StatePlanned || ap.count("app") != 0 {
				t.Errorf("a different plan: %s, applied %d; want planned, none", got.State, ap.count("app"))
			}
		})
	}
}
