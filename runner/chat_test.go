package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/chatops"
)

// TestCommentCommandsWithoutWebhooks: with comment polling on, a pull
// request comment approves and applies, with replies on the pull request;
// a comment seen twice is handled once.
func TestCommentCommandsWithoutWebhooks(t *testing.T) {
	pol, ap := newFakePolicy("carol"), newFakeApplier()
	src := newFakeSource(map[string]string{mainRef: "m1"})
	f := newFakeForge(landform.PullRequest{Number: 7, Author: "alice", BaseBranch: "main"})
	actions := &ChatActions{}
	var h *harness
	handler := func(ctx context.Context, repo string, pr int, c landform.Comment) {
		chatops.OnComment(actions, h.d.Reply, nil)(ctx, repo, pr, c)
	}
	r := forgeRepo(src, f)
	r.PollComments = true
	h = newHarnessWith(t, harnessConfig{opts: []Option{WithApplier(ap)},
		dopts: []DaemonOption{WithApprovalPolicy(pol), WithCommentHandler(handler)}}, r)
	actions.D = h.d
	h.start()
	ev := h.polled("infra") // the first poll starts the comment cursor
	run, ev := planPR(h, src, ev, "p1", "app")

	comment := func(id int64, who, body string) {
		f.addComment(7, landform.Comment{ID: id, Author: who, Body: body, CreatedAt: h.clk.now()})
	}
	comment(1, "mallory", "LGTM\n\nlandform approve "+run.ID)
	comment(2, "carol", "landform approve "+run.ID)
	comment(3, "bob", "landform aprove 3") // a typo: answered with the usage
	comment(4, "bob", "nice work")         // no command: no reply
	ev = h.round(ev)
	h.flushForge("comment/7/c3")
	got, _ := h.db.GetRun(t.Context(), run.ID)
	if got.State != landform.StateApproved {
		t.Fatalf("after the approve comments: %s", got.State)
	}
	f.mu.Lock()
	replies := strings.Join(f.replies, "\n")
	f.mu.Unlock()
	for _, want := range []string{"@mallory: - ⛔ run " + run.ID + ": mallory may not approve", "@carol: - ✅ run " + run.ID + ": approved by carol", "@bob: ⚠️ unknown command", "landform approve RUN"} {
		if !strings.Contains(replies, want) {
			t.Errorf("replies lack %q:\n%s", want, replies)
		}
	}
	if strings.Contains(replies, "nice work") || strings.Count(replies, "#7:") != 3 {
		t.Errorf("want exactly three replies:\n%s", replies)
	}

	// The next round sees the same comments again (the poll overlaps):
	// nothing happens twice. Then "landform apply" applies the approved plan.
	comment(5, "carol", "landform apply")
	h.round(ev)
	done := h.next("the apply", func(e Event) bool { return e.Kind == EventApplyFinished })
	if done.Run.State != landform.StateApplied || ap.count("app") != 1 || done.Run.Apply.Channel != landform.ChannelComment {
		t.Fatalf("apply by comment: %+v, applied %d", done.Run, ap.count("app"))
	}
	approvals, _ := h.db.ListApprovals(t.Context(), run.ID)
	if len(approvals) != 2 {
		t.Errorf("approvals recorded: %d, want 2 (each comment once)", len(approvals))
	}
}

// TestCommentPlanUnlockAndForeignRuns: "landform plan" plans the pull
// request's head again, "landform unlock" releases its locks, and a run of
// another pull request cannot be approved from this one.
func TestCommentPlanUnlockAndForeignRuns(t *testing.T) {
	pol, ap := newFakePolicy(), newFakeApplier()
	src := newFakeSource(map[string]string{mainRef: "m1"})
	f := newFakeForge(landform.PullRequest{Number: 7, Author: "alice"}, landform.PullRequest{Number: 8, Author: "bob"})
	actions := &ChatActions{}
	var h *harness
	handler := func(ctx context.Context, repo string, pr int, c landform.Comment) {
		chatops.OnComment(actions, h.d.Reply, nil)(ctx, repo, pr, c)
	}
	r := forgeRepo(src, f)
	r.PollComments, r.PullRequests = true, true
	h = newHarnessWith(t, harnessConfig{opts: []Option{WithApplier(ap)},
		dopts: []DaemonOption{WithApprovalPolicy(pol), WithCommentHandler(handler)}}, r)
	actions.D = h.d
	h.start()
	ev := h.polled("infra")
	run7, ev := planPR(h, src, ev, "p1", "app")
	src.affect("q1", "db")
	src.setRef("refs/pull/8/head", "q1")
	ev = h.round(ev)
	run8 := h.finished("db")
	if l := h.locks("infra"); len(l) != 2 {
		t.Fatalf("locks: %v", l)
	}

	f.addComment(7, landform.Comment{ID: 1, Author: "carol", Body: "landform plan -w app", CreatedAt: h.clk.now()})
	f.addComment(7, landform.Comment{ID: 2, Author: "carol", Body: "landform approve " + run8.ID, CreatedAt: h.clk.now()})
	ev = h.round(ev)
	replan := h.finished("app")
	if replan.ID == run7.ID || replan.Commit != "p1" || replan.State != landform.StatePlanned {
		t.Errorf("landform plan: %+v", replan)
	}
	if old, _ := h.db.GetRun(t.Context(), run7.ID); old.State != landform.StateSuperseded {
		t.Errorf("the older plan is %s, want superseded", old.State)
	}
	if got, _ := h.db.GetRun(t.Context(), run8.ID); got.State != landform.StatePlanned {
		t.Errorf("run of pull request 8 approved from 7: %s", got.State)
	}

	f.addComment(7, landform.Comment{ID: 3, Author: "carol", Body: "landform unlock", CreatedAt: h.clk.now()})
	h.round(ev)
	h.flushForge("comment/7/c3")
	if l := h.locks("infra"); len(l) != 1 || l[0] != "db=pr/8" {
		t.Errorf("locks after unlock: %v, want only pull request 8's", l)
	}
	f.mu.Lock()
	replies := strings.Join(f.replies, "\n")
	f.mu.Unlock()
	for _, want := range []string{"Planning 1 workspace", "is not a plan of this pull request", "Released 1 lock"} {
		if !strings.Contains(replies, want) {
			t.Errorf("replies lack %q:\n%s", want, replies)
		}
	}
}
