package runner

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landform/landform"
	planfs "github.com/landform/landform/planstore/fs"
	"github.com/landform/landform/store/sqlite"
)

// TestApplyModel is a model-based test of approvals and applies: random,
// seeded sequences of 15 to 30 steps (push — polled now or later, with the
// forge answering or not —, poll, approve, apply — once or twice at once
// —, state change, tamper with a stored plan, merge, close, mergeable,
// restart — at rest, while terraform applies, or by a crash) against one
// daemon watching one repository with one or two workspaces and one or
// two pull requests under strict locks, and, beside it, a small model of
// what the daemon must do. The rules of each sequence are drawn too: one
// or two approvals, self-approval or not, undiverged and mergeable
// required or not, before_merge or on_merge.
//
// The model mirrors the rules the daemon is built on, and after every
// step the store must agree with it: every run's state (and, queued, what
// blocks it), every workspace lock (holder and run), the outcome of every
// approval and apply request (its error code), which applies reach
// terraform, and terraform's state. The rules it mirrors:
//
//   - a poll round (poll.go, lock.go) first releases the locks of pull
//     requests whose head ref is gone (or that the forge no longer lists),
//     then unblocks queued runs whose workspace is free or held by their
//     own pull request, then queues a plan per workspace the moved ref's
//     head commit affects (main first, then pull requests by number; a
//     run records its pull request's author when the forge answers, and
//     its commit's author), waiting for the lock when another holder has
//     it, and supersedes the older unapplied plans (queued, planned,
//     awaiting_approval, approved) of that ref and workspace;
//   - the worker plans the oldest claimable run; a pull request's plan
//     takes its workspace's lock, or goes back to the queue behind its
//     holder. Runs of several pull requests unblocked at once for one
//     workspace race for its lock (unblock frees them one by one and wakes
//     the worker after each, while the round goes on queueing): any may
//     win, so there the model takes the store's word for those runs and
//     that lock, and a seed replays exactly only up to such a race;
//   - on_merge (onmerge.go): a plan of main takes over the newest approved
//     plan of a pull request its commit contains (superseded, its lock
//     released), the approvals carry over (the fake plans' changes are
//     equal) and it is applied;
//   - an approval counts when its identity is an approver (a team's
//     member counts) and, without allow_self_approval, neither the pull
//     request's author the run records nor its commit's author; the run
//     is approved once it has the rules' required number of distinct
//     ones;
//   - an apply is refused in StartApply's order (applying or applied;
//     not in an applyable state; on_merge for a pull request; not
//     approved; its ref gone; its head moved: then it is superseded;
//     diverged; not open or not mergeable; the workspace locked by
//     another holder: then it is approved again); once started, a plan
//     whose artifact is gone is not started (approved again), a tampered
//     one fails without reaching terraform, and terraform applies it,
//     refuses it (a state change since its plan: stale, and a fresh plan
//     is queued), breaks midway (apply_failed) or is interrupted by a
//     shutdown; a branch's applied plan releases the lock; a crash leaves
//     the run applying, and the next start flags it (interrupted, needs
//     attention), never applying it again.
//
// Terraform is modelApplier: each workspace's state has a serial that
// every apply (and the state-change step) moves; the planner writes the
// serial it planned at in the plan's JSON, and a plan made at another
// serial is stale, as terraform's saved plans are.
//
// Whatever the model says, these invariants are checked on their own,
// from the store, the remote, the forge and what reached terraform:
//
//   - every apply terraform ran is of a run that was applying, approved
//     (the store's approvals, approved and bound to the run's commit and
//     plan sha256 — the sha256 of what the planner made — by at least the
//     required number of distinct identities the rules allow: approvers,
//     without allow_self_approval neither the pull request's real opener
//     nor the commit's author; an approval carried over on merge counts
//     as the one of the merged plan it names), at the head of its ref and
//     the newest plan of its ref and workspace (not superseded), in
//     before_merge mode for a pull request, undiverged and mergeable when
//     the rules require it, holding its workspace's lock, and with the
//     plan file the planner made (not tampered);
//   - terraform is run at most once per run: a run applied, failed,
//     interrupted or stale is never applied again (a stale plan's fresh
//     plan is a new run with its own approvals);
//   - no lock without a reason. A pull request's lock ("pr/N") names a
//     run of that pull request and workspace, and its pull request is open
//     (its head ref on the remote) or closed since the last poll round
//     (reconcileLocks releases it in the next). A branch's lock
//     ("branch/B", taken by an apply under a strict or apply lock policy)
//     names a run of that branch and workspace that is applying, or whose
//     apply reached terraform and ended neither applied nor stale
//     (apply_failed, interrupted: the state may be half changed, a person
//     looks; FinishApply releases a branch's lock once applied);
//   - strict locks: the newest plan of an open pull request's workspace at
//     its head, once planned, holds the workspace's lock (two pull
//     requests never have live plans of one workspace).
//
// The test found three bugs, fixed since and kept as failures:
// "branch-lock-kept" (a branch's apply that applied nothing — stale,
// tampered plan, artifact gone — kept the workspace lock), "closed-pr-lock"
// (a queued plan of a closed pull request was planned after the close was
// seen, and took the lock for it), and "self-approval-unknown-author" (a
// pull request's run queued while the forge did not answer had no author,
// so its opener's approval counted despite allow_self_approval: false; now
// the daemon asks the forge at approval time, and refuses when it cannot
// tell).
//
// A failure prints the seed, the step and the step log; -model.seed=N runs
// that one sequence and logs its steps, -model.debug logs the daemons'.
func TestApplyModel(t *testing.T) {
	seeds := make([]int64, 0, modelSeeds)
	switch {
	case *modelSeed != 0:
		seeds = append(seeds, *modelSeed)
	case testing.Short() || raceEnabled():
		// The race detector slows the pure Go SQLite several times: the
		// concurrency it checks is in every sequence, so fewer do.
		for s := range int64(modelShortSeeds) {
			seeds = append(seeds, s+1)
		}
	default:
		for s := range int64(modelSeeds) {
			seeds = append(seeds, s+1)
		}
	}
	// The sequences wait on the disk (the store's and the plan store's
	// syncs) more than they compute: modelConcurrency run at once,
	// each a subtest.
	var tally modelTally
	ch := make(chan int64)
	var wg sync.WaitGroup
	for range min(modelConcurrency, len(seeds)) {
		wg.Go(func() {
			for seed := range ch {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					m := newModel(t, seed)
					m.runSteps()
					if *modelSeed != 0 {
						t.Logf("seed %d, steps:\n%s", seed, strings.Join(m.log, "\n"))
					}
					tally.add(m)
				})
			}
		})
	}
	for _, seed := range seeds {
		ch <- seed
	}
	close(ch)
	wg.Wait()
	t.Logf("%d sequences, %d steps: %d approvals (%d accepted), %d apply requests (%d started), %d applies by terraform (%d applied, %d stale), %d restarts, %d applies on merge; %d times several pull requests' plans raced for a lock released (%d times not as the model would have it)",
		tally.seqs, tally.steps, tally.approvals, tally.accepted, tally.applyRequests, tally.started, tally.invoked, tally.applied, tally.stale, tally.restarts,
		tally.onMerge, tally.contests, tally.raceDiffered)
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	return ok && slices.ContainsFunc(info.Settings, func(s debug.BuildSetting) bool { return s.Key == "-race" && s.Value == "true" })
}

var (
	modelSeed  = flag.Int64("model.seed", 0, "TestApplyModel: run only the sequence of this seed")
	modelDebug = flag.Bool("model.debug", false, "TestApplyModel: the daemons log to stderr")
)

const (
	// modelSeeds sequences run in a full run, modelShortSeeds with -short
	// or -race.
	modelSeeds      = 240
	modelShortSeeds = 30
	// Each sequence has between modelMinSteps and modelMaxSteps steps.
	modelMinSteps = 15
	modelMaxSteps = 30
	// modelGrace is the daemons' shutdown grace: a duration no other
	// timer of the daemon has, so that a test can find it.
	modelGrace = 17 * time.Second
	// modelConcurrency sequences run at once.
	modelConcurrency = 8
)

// The identities: carol and alice and bob are approvers, dave is one
// through team:ops, mallory is not; alice and bob author the pull
// requests.
var modelIdentities = []string{"carol", "carol", "dave", "alice", "bob", "mallory"}

// modelPR is a pull request of the model's world.
type modelPR struct {
	n         int
	author    string
	head      string // its head commit; "" before its first push
	open      bool   // its head ref is on the remote
	merged    bool
	mergeable bool
	closedAt  int // the poll rounds done when it closed
}

func prRefOf(n int) string    { return fmt.Sprintf("%s%d/head", pullPrefix, n) }
func prHolderOf(n int) string { return fmt.Sprintf("pr/%d", n) }

// modelRun is what the model says of one run.
type modelRun struct {
	id     string // "" until the store's run is matched to it
	ref    string
	ws     string
	commit string
	pr     int // its pull request's number, 0 for the main branch
	// author is its pull request's author as the daemon knows it: ""
	// when the forge did not answer when it was queued.
	author string
	// commitAuthor is the email of its commit's author.
	commitAuthor string
	state        landform.RunState
	// blockedBy is the holder a queued run waits for.
	blockedBy string
	// serial is the state serial of its workspace when it was planned.
	serial    int
	planned   bool
	approvers []string
	// tampered: its stored plan was rewritten; planGone: removed.
	tampered, planGone bool
	// invoked: its apply reached terraform, which said result.
	invoked bool
	result  string
	// crashed: the process crashed while terraform applied it.
	crashed bool
}

func (r *modelRun) String() string {
	on := "main"
	if r.pr != 0 {
		on = prHolderOf(r.pr)
	}
	return fmt.Sprintf("run %s (%s@%s on %s, %s)", cmpOr(r.id, "?"), r.ws, r.commit, on, r.state)
}

type modelLock struct {
	holder string
	run    *modelRun
}

// model is one sequence: the daemon under test, its world, and what the
// daemon must have done.
type model struct {
	t    *testing.T
	seed int64
	rng  *rand.Rand

	rules landform.ApprovalRules
	pol   *fakePolicy
	src   *modelSource
	forge *fakeForge
	ap    *modelApplier
	repo  WatchedRepo
	h     *harness
	db    *sqlite.DB  // the store every daemon of the sequence uses
	store *crashStore // the current daemon's way to it
	ev    Event       // the last poll round's

	step int
	log  []string

	// The world.
	workspaces []string
	main       string
	mains      int
	commits    int
	slots      []int // the pull request number of each author's slot
	prs        map[int]*modelPR
	affects    map[string][]string
	tampered   map[string]bool // run IDs whose stored plan is not the planner's
	forgeDown  bool            // the forge does not answer
	// serial is each workspace's state serial, failNext whether its next
	// apply breaks midway: what terraform (modelApplier) must say.
	serial   map[string]int
	failNext map[string]bool

	// What the daemon must have done.
	runs  []*modelRun // in creation order (their IDs' order)
	byID  map[string]*modelRun
	locks map[string]*modelLock // workspace → lock
	// resync are the workspaces whose pull request runs and lock the
	// model takes from the store after a race for a lock.
	resync map[string]bool
	last   map[string]string // ref → last commit processed
	rounds int

	// Bookkeeping of the checks.
	calls   int             // applier calls checked
	invoked map[string]bool // run IDs terraform applied
	stats   modelTally
}

func newModel(t *testing.T, seed int64) *model {
	var err error
	m := &model{
		t: t, seed: seed, rng: rand.New(rand.NewPCG(uint64(seed), 0x6c616e64666f726d)),
		main: "m0", prs: map[int]*modelPR{}, affects: map[string][]string{}, tampered: map[string]bool{},
		byID: map[string]*modelRun{}, locks: map[string]*modelLock{}, last: map[string]string{}, invoked: map[string]bool{},
		serial: map[string]int{}, failNext: map[string]bool{}, resync: map[string]bool{},
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d, steps:\n%s\nreproduce: go test ./runner -run 'TestApplyModel' -model.seed=%d -v", seed, strings.Join(m.log, "\n"), seed)
		}
	})
	// The world's shape and its rules, per sequence.
	m.workspaces = []string{"app", "db"}[:1+m.rng.IntN(2)]
	m.slots = []int{1, 2}[:1+m.rng.IntN(2)]
	for i, n := range m.slots {
		m.prs[n] = &modelPR{n: n, author: []string{"alice", "bob"}[i]}
	}
	m.rules = landform.ApprovalRules{
		Approvers: []string{"carol", "alice", "bob", "team:ops"}, Required: 1 + m.rng.IntN(3)/2, AllowSelf: m.rng.IntN(4) == 0,
		Requirements: slices.Clone(landform.DefaultApplyRequirements), Mode: landform.ApplyBeforeMerge,
	}
	if m.rng.IntN(2) == 0 {
		m.rules.Requirements = append(m.rules.Requirements, landform.RequireUndiverged)
	}
	if m.rng.IntN(3) == 0 {
		m.rules.Requirements = append(m.rules.Requirements, landform.RequireMergeable)
	}
	if m.rng.IntN(4) == 0 {
		m.rules.Mode = landform.ApplyOnMerge
	}
	m.pol = newFakePolicy()
	m.pol.set(func(r *landform.ApprovalRules) { *r = m.rules })
	m.pol.teams["team:ops"] = []string{"dave"}
	m.logf("world: workspaces %v, pull requests %v; rules: %d approval(s), self-approval %v, requirements %v, mode %s",
		m.workspaces, m.slots, m.rules.Required, m.rules.AllowSelf, m.rules.Requirements, m.rules.Mode)

	m.src = &modelSource{fakeSource: newFakeSource(map[string]string{mainRef: m.main}), parents: map[string][]string{}, authors: map[string]string{}}
	m.src.commit(m.main, "carol")
	m.forge = newFakeForge()
	m.ap = newModelApplier()
	m.repo = repo("infra", m.src, func(r *landform.Repo) { r.PullRequests, r.LockPolicy = true, landform.LockStrict })
	m.repo.Forge = m.forge
	m.repo.PollInterval = interval
	m.h = newHarnessWith(t, harnessConfig{
		store: func(db *sqlite.DB) DaemonStore { m.store = &crashStore{DB: db}; return m.store },
		opts:  []Option{WithApplier(m.ap), WithLogger(debugLogger(seed))},
		dopts: []DaemonOption{WithApprovalPolicy(m.pol), WithShutdownGrace(modelGrace)},
	}, m.repo)
	m.db = m.h.db
	m.ap.observe = m.observe
	if m.ap.plans, err = planfs.New(m.h.plansDir); err != nil {
		m.fail("plan store: %v", err)
	}
	m.h.planner.json = m.ap.planJSON
	m.h.start()
	m.polled(m.h.polled("infra"))
	m.last[mainRef] = m.main // the baseline
	m.rounds++
	return m
}

func (m *model) logf(format string, args ...any) {
	m.log = append(m.log, fmt.Sprintf("  step %d: ", m.step)+fmt.Sprintf(format, args...))
}

// fail ends the sequence; the cleanup prints the seed and the steps.
func (m *model) fail(format string, args ...any) {
	m.t.Helper()
	m.t.Fatalf("seed %d step %d: %s", m.seed, m.step, fmt.Sprintf(format, args...))
}

func (m *model) runSteps() {
	n := modelMinSteps + m.rng.IntN(modelMaxSteps-modelMinSteps+1)
	for m.step = 1; m.step <= n; m.step++ {
		m.act()
		m.check()
	}
	m.stats.seqs, m.stats.steps = 1, n
}

// act takes one random step.
func (m *model) act() {
	switch k := m.rng.IntN(100); {
	case k < 22:
		m.push()
	case k < 27:
		m.logf("poll")
		m.round()
	case k < 49:
		m.approve()
	case k < 71:
		if !m.liveRun(landform.StateApproved) && m.rng.IntN(3) != 0 {
			m.approve() // mostly approve first
			return
		}
		m.apply()
	case k < 77:
		m.stateChange()
	case k < 81:
		m.tamper()
	case k < 87:
		m.mergeOrClose(true)
	case k < 91:
		m.mergeOrClose(false)
	case k < 94:
		m.toggleMergeable()
	default:
		m.restart()
	}
}

// --- steps ---

// push pushes a new commit to a pull request (opening it again when it
// was closed, or opening the next one when it was merged) and, unless the
// push is deferred, polls.
func (m *model) push() {
	slot := m.rng.IntN(len(m.slots))
	pr := m.prs[m.slots[slot]]
	if pr.merged {
		n := pr.n + len(m.slots)
		pr = &modelPR{n: n, author: pr.author}
		m.prs[n], m.slots[slot] = pr, n
	}
	m.commits++
	c := fmt.Sprintf("c%d", m.commits)
	var ws []string
	for len(ws) == 0 {
		for _, w := range m.workspaces {
			if m.rng.IntN(2) == 0 {
				ws = append(ws, w)
			}
		}
	}
	parent := m.main // a branch off main (or rebased on it)
	if pr.open && pr.head != "" && m.rng.IntN(2) == 0 {
		parent = pr.head // a commit on top
	}
	author := pr.author
	if m.rng.IntN(5) == 0 { // a colleague's commit
		author = map[string]string{"alice": "bob", "bob": "alice"}[author]
	}
	m.affects[c] = ws
	m.src.affect(c, ws...)
	m.src.commit(c, author, parent)
	reopened := ""
	if !pr.open {
		if pr.head != "" {
			reopened = " (reopened)"
		}
		pr.open, pr.mergeable = true, m.rng.IntN(3) != 0
	}
	pr.head = c
	m.src.setRef(prRefOf(pr.n), c)
	m.syncForge(pr)
	deferred := m.rng.IntN(4) == 0 && m.rules.Mode != landform.ApplyOnMerge
	down := !deferred && m.rng.IntN(8) == 0
	downText := ""
	if down {
		downText = "; the forge is down while it is polled"
	}
	m.logf("push %s by %s to %s%s (on %s, affects %v, mergeable %v)%s%s", c, author, prHolderOf(pr.n), reopened, parent, ws, pr.mergeable, deferredText(deferred), downText)
	if !deferred {
		m.forgeDown = down
		m.forge.setDown(down)
		m.round()
		m.forgeDown = false
		m.forge.setDown(false)
	}
}

func deferredText(deferred bool) string {
	if deferred {
		return "; not polled yet"
	}
	return ""
}

// mergeOrClose merges or closes an open pull request: its head ref goes,
// and a merge moves main to a commit affecting what the pull request did.
func (m *model) mergeOrClose(merge bool) {
	var open []*modelPR
	for _, n := range m.slots {
		if pr := m.prs[n]; pr.open {
			open = append(open, pr)
		}
	}
	if len(open) == 0 {
		m.push()
		return
	}
	pr := open[m.rng.IntN(len(open))]
	if merge {
		prev := m.main
		m.mains++
		m.main = fmt.Sprintf("m%d", m.mains)
		m.affects[m.main] = m.affects[pr.head]
		m.src.affect(m.main, m.affects[pr.head]...)
		m.src.commit(m.main, pr.author, prev, pr.head) // a merge commit by the pull request's author
		m.src.setRef(mainRef, m.main)
		pr.merged = true
	}
	pr.open, pr.closedAt = false, m.rounds
	m.src.setRef(prRefOf(pr.n), "")
	m.syncForge(pr)
	deferred := m.rng.IntN(4) == 0 && m.rules.Mode != landform.ApplyOnMerge
	if merge {
		m.logf("merge %s at %s: main at %s%s", prHolderOf(pr.n), pr.head, m.main, deferredText(deferred))
	} else {
		m.logf("close %s at %s%s", prHolderOf(pr.n), pr.head, deferredText(deferred))
	}
	if !deferred {
		m.round()
	}
}

func (m *model) toggleMergeable() {
	var open []*modelPR
	for _, n := range m.slots {
		if pr := m.prs[n]; pr.open {
			open = append(open, pr)
		}
	}
	if len(open) == 0 {
		m.push()
		return
	}
	pr := open[m.rng.IntN(len(open))]
	pr.mergeable = !pr.mergeable
	m.syncForge(pr)
	m.logf("the forge says %s mergeable: %v", prHolderOf(pr.n), pr.mergeable)
}

// syncForge makes the forge list pr as it is: open ones only.
func (m *model) syncForge(pr *modelPR) {
	f := m.forge
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.prs, func(p landform.PullRequest) bool { return p.Number == pr.n })
	if !pr.open {
		if i >= 0 {
			f.prs = slices.Delete(f.prs, i, i+1)
		}
		return
	}
	p := landform.PullRequest{Number: pr.n, Author: pr.author, BaseBranch: "main", HeadSHA: pr.head, Mergeable: landform.MergeableNo}
	if pr.mergeable {
		p.Mergeable = landform.MergeableYes
	}
	if i >= 0 {
		f.prs[i] = p
	} else {
		f.prs = append(f.prs, p)
	}
}

// liveRun reports whether a run at the head of its ref is in state.
func (m *model) liveRun(state landform.RunState) bool {
	return slices.ContainsFunc(m.runs, func(r *modelRun) bool {
		head, _ := m.headOf(r.ref)
		return r.id != "" && r.state == state && head == r.commit
	})
}

// pickRun picks a matched run: mostly one in a preferred state at the
// head of its ref, else any.
func (m *model) pickRun(prefer ...landform.RunState) *modelRun {
	var all, good []*modelRun
	for _, r := range m.runs {
		if r.id == "" {
			continue
		}
		all = append(all, r)
		if head, _ := m.headOf(r.ref); slices.Contains(prefer, r.state) && head == r.commit {
			good = append(good, r)
		}
	}
	if len(all) == 0 {
		return nil
	}
	if len(good) > 0 && m.rng.IntN(6) != 0 {
		return good[m.rng.IntN(len(good))]
	}
	return all[m.rng.IntN(len(all))]
}

func (m *model) approve() {
	r := m.pickRun(landform.StatePlanned, landform.StateAwaitingApproval)
	if r == nil {
		m.push()
		return
	}
	by := modelIdentities[m.rng.IntN(len(modelIdentities))]
	if m.rng.IntN(10) < 7 { // mostly someone whose approval counts
		var ok []string
		for _, who := range []string{"carol", "dave", "alice", "bob"} {
			if m.accepts(who, r) && !slices.Contains(r.approvers, who) {
				ok = append(ok, who)
			}
		}
		if len(ok) > 0 {
			by = ok[m.rng.IntN(len(ok))]
		}
	}
	before := r.String()
	want := m.modelApprove(r, by)
	_, err := m.h.d.Approve(context.Background(), ApprovalRequest{RunID: r.id, By: by, Channel: landform.ChannelComment})
	m.logf("approve %s by %s → %s", before, by, errText(err))
	m.stats.approvals++
	if err == nil {
		m.stats.accepted++
	}
	if got := landform.ErrorCode(err); got != want {
		m.fail("approval of %s by %s: got %q (%v), the model says %q", before, by, got, err, want)
	}
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return landform.ErrorCode(err) + ": " + err.Error()
}

func (m *model) isApprover(who string) bool {
	return slices.Contains(m.rules.Approvers, who) || who == "dave"
}

// openerOf is who really opened ref's pull request ("" for main).
func (m *model) openerOf(ref string) string {
	if n, ok := prNumber(ref); ok && m.prs[n] != nil {
		return m.prs[n].author
	}
	return ""
}

// allowed reports whether who's approval of a plan of commit on ref may
// count: an approver, and without allow_self_approval neither the pull
// request's opener nor the commit's author.
func (m *model) allowed(who, ref, commit string) bool {
	return m.isApprover(who) && (m.rules.AllowSelf || (who != m.openerOf(ref) && who+"@example.com" != m.src.authorOf(commit)))
}

// accepts reports whether the daemon accepts who's approval of r: it
// knows r's pull request's author from the forge, when the forge
// answered, and its commit's author from the remote.
func (m *model) accepts(who string, r *modelRun) bool {
	return m.isApprover(who) && (m.rules.AllowSelf || (who != r.author && who+"@example.com" != r.commitAuthor))
}

// modelApprove is Approve in the model: the error code it must return,
// and the run as it must become.
func (m *model) modelApprove(r *modelRun, by string) string {
	if !slices.Contains(approvable, r.state) {
		return landform.ECONFLICT
	}
	if r.pr != 0 && r.author == "" && !m.forgeDown && m.prs[r.pr].open {
		r.author = m.prs[r.pr].author // the daemon asks the forge
	}
	if !m.isApprover(by) {
		return landform.EUNAUTHORIZED
	}
	if r.pr != 0 && r.author == "" && !m.rules.AllowSelf {
		return landform.ECONFLICT // who opened it is unknown: refused
	}
	if !m.accepts(by, r) {
		return landform.EUNAUTHORIZED
	}
	if !slices.Contains(r.approvers, by) {
		r.approvers = append(r.approvers, by)
	}
	if len(r.approvers) >= m.rules.Required {
		r.state = landform.StateApproved
	} else {
		r.state = landform.StateAwaitingApproval
	}
	return ""
}

// applyExpect is what an apply request must do.
type applyExpect struct {
	code string // "" when it starts
	// invoked: terraform is run; notStarted: started, but the artifact
	// is gone and the run is approved again (so concurrent requests may
	// each start one).
	invoked, notStarted bool
}

// modelApply is StartApply and FinishApply in the model: what the request
// must return, and the runs and locks as they must become. With
// interrupt, terraform is cut off by a shutdown.
func (m *model) modelApply(r *modelRun, interrupt bool) applyExpect {
	refuse := func(code string) applyExpect { return applyExpect{code: code} }
	switch {
	case r.state == landform.StateApplying || r.state == landform.StateApplied:
		return refuse(landform.ECONFLICT)
	case !slices.Contains(applyable, r.state):
		return refuse(landform.ECONFLICT)
	case r.pr != 0 && m.rules.Mode == landform.ApplyOnMerge:
		return refuse(landform.EINVALID)
	case r.state != landform.StateApproved:
		return refuse(landform.ECONFLICT)
	}
	head, ok := m.headOf(r.ref)
	if !ok {
		return refuse(landform.ECONFLICT)
	}
	if head != r.commit {
		r.state = landform.StateSuperseded
		return refuse(landform.ECONFLICT)
	}
	if r.pr != 0 {
		if slices.Contains(m.rules.Requirements, landform.RequireUndiverged) && !m.src.contains(r.commit, m.main) {
			return refuse(landform.EINVALID)
		}
		if slices.Contains(m.rules.Requirements, landform.RequireMergeable) {
			if !m.prs[r.pr].open {
				return refuse(landform.ECONFLICT)
			}
			if !m.prs[r.pr].mergeable {
				return refuse(landform.EINVALID)
			}
		}
	}
	holder := "branch/main"
	if r.pr != 0 {
		holder = prHolderOf(r.pr)
	}
	if l := m.locks[r.ws]; l != nil && l.holder != holder {
		return refuse(landform.ECONFLICT) // locked: approved again
	}
	m.locks[r.ws] = &modelLock{holder: holder, run: r}
	// A branch's lock goes once nothing of the apply can have moved the
	// state: applied, stale, tampered, not started.
	releaseBranch := func() {
		if r.pr == 0 {
			delete(m.locks, r.ws)
		}
	}
	switch {
	case r.planGone:
		releaseBranch()
		return applyExpect{notStarted: true} // approved again
	case r.tampered:
		r.state = landform.StateApplyFailed
		releaseBranch()
		return applyExpect{}
	}
	r.invoked = true
	switch {
	case r.serial != m.serial[r.ws]:
		r.state, r.result = landform.StateStale, "stale"
		releaseBranch()
		m.runs = append(m.runs, &modelRun{ref: r.ref, ws: r.ws, commit: r.commit, pr: r.pr, author: r.author, commitAuthor: r.commitAuthor, state: landform.StateQueued})
		return applyExpect{invoked: true}
	case m.failNext[r.ws]:
		delete(m.failNext, r.ws)
		r.state, r.result = landform.StateApplyFailed, "failed"
	case interrupt:
		r.state, r.result = landform.StateInterrupted, "interrupted"
	default:
		r.state, r.result = landform.StateApplied, "applied"
		releaseBranch()
	}
	m.serial[r.ws]++ // applied, or half
	return applyExpect{invoked: true}
}

// applyRequest is one Apply call's outcome.
type applyRequest struct {
	err  error
	done <-chan struct{}
}

// waitDone waits for a started apply.
func (m *model) waitDone(done <-chan struct{}) {
	m.t.Helper()
	select {
	case <-done:
	case <-time.After(failsafe):
		m.fail("the apply did not finish")
	}
}

func (m *model) apply() {
	r := m.pickRun(landform.StateApproved)
	if r == nil {
		m.push()
		return
	}
	by := modelIdentities[m.rng.IntN(len(modelIdentities))]
	n := 1
	if m.rng.IntN(4) == 0 {
		n = 2 // two requests at once: one applies
	}
	before, calls := r.String(), m.ap.callCount()
	want := m.modelApply(r, false)
	reqs := make([]applyRequest, n)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Go(func() {
			_, done, err := m.h.d.Apply(context.Background(), ApplyRequest{RunID: r.id, By: by, Channel: landform.ChannelAPI})
			reqs[i] = applyRequest{err: err, done: done}
		})
	}
	wg.Wait()
	started := 0
	var got []string
	for _, q := range reqs {
		got = append(got, errText(q.err))
		if q.err == nil {
			started++
			m.waitDone(q.done)
		}
	}
	m.settle()
	m.work() // a stale plan's fresh plan
	m.logf("apply %s by %s ×%d → %s; now %s", before, by, n, strings.Join(got, " | "), r.state)
	m.stats.applyRequests += n
	m.stats.started += started
	switch {
	case want.code != "":
		for _, q := range reqs {
			if c := landform.ErrorCode(q.err); c != want.code {
				m.fail("apply of %s: got %q (%v), the model says %s", before, c, q.err, want.code)
			}
		}
	case want.notStarted && started < 1, !want.notStarted && started != 1:
		m.fail("apply of %s ×%d: %d started (%s), the model says one", before, n, started, strings.Join(got, " | "))
	default:
		for _, q := range reqs {
			if q.err != nil && landform.ErrorCode(q.err) != landform.ECONFLICT {
				m.fail("apply of %s: a concurrent request got %v, want ECONFLICT", before, q.err)
			}
		}
	}
	m.checkInvoked(calls, r, want.invoked)
}

// checkInvoked checks that terraform was run once for r since calls, or
// not at all.
func (m *model) checkInvoked(calls int, r *modelRun, want bool) {
	m.t.Helper()
	got := m.ap.callsFrom(calls)
	switch {
	case want && (len(got) != 1 || got[0].run != r.id):
		m.fail("terraform applied %v, the model says %s once", callRuns(got), r)
	case !want && len(got) != 0:
		m.fail("terraform applied %v, the model says nothing", callRuns(got))
	}
}

func callRuns(calls []applyCall) []string {
	var out []string
	for _, c := range calls {
		out = append(out, "run "+c.run+" ("+c.result+")")
	}
	return out
}

// stateChange moves a workspace's state under its plans (they are stale),
// or makes its next apply break midway.
func (m *model) stateChange() {
	ws := m.workspaces[m.rng.IntN(len(m.workspaces))]
	if m.rng.IntN(3) == 0 {
		m.ap.failNextApply(ws)
		m.failNext[ws] = true
		m.logf("the next apply of %s breaks midway", ws)
		return
	}
	m.ap.changeState(ws)
	m.serial[ws]++
	m.logf("the state of %s changes under its plans", ws)
}

// tamper rewrites (or removes) the stored plan of a run.
func (m *model) tamper() {
	var planned []*modelRun
	for _, r := range m.runs {
		if r.id != "" && r.planned {
			planned = append(planned, r)
		}
	}
	if len(planned) == 0 {
		m.push()
		return
	}
	r := planned[m.rng.IntN(len(planned))]
	if m.liveRun(landform.StateApproved) && m.rng.IntN(2) == 0 {
		r = m.pickRun(landform.StateApproved) // one about to be applied
	}
	dir := filepath.Join(m.h.plansDir, r.id)
	if err := os.RemoveAll(dir); err != nil {
		m.fail("tamper: %v", err)
	}
	if m.rng.IntN(4) == 0 {
		r.planGone = true
		m.tampered[r.id] = false
		m.logf("remove the stored plan of %s", r)
		return
	}
	art := &landform.PlanArtifact{Plan: fmt.Appendf(nil, "destroy %s (step %d)", r.ws, m.step), JSON: []byte("{}")}
	if _, err := m.h.d.Runner.plans.Put(context.Background(), r.id, art); err != nil {
		m.fail("tamper: %v", err)
	}
	r.tampered, r.planGone = true, false
	m.tampered[r.id] = true
	m.logf("rewrite the stored plan of %s", r)
}

// restart stops the daemon and starts another on the same store and plan
// directory: at rest, or while terraform applies — it finishes within the
// shutdown grace, or is interrupted when the grace is over, or the
// process crashes (nothing it writes from then on reaches the store, and
// the next start finds the run applying: RecoverRuns flags it).
func (m *model) restart() {
	m.stats.restarts++
	var r *modelRun
	if m.rng.IntN(5) < 2 {
		r = m.fullApplyCandidate()
	}
	if r == nil {
		m.logf("restart")
		if err := m.h.stop(); err != nil {
			m.fail("stopping: %v", err)
		}
	} else {
		how := []string{"finishes within the grace", "interrupted after the grace", "crash"}[m.rng.IntN(3)]
		before, calls := r.String(), m.ap.callCount()
		want := m.modelApply(r, how != "finishes within the grace")
		if !want.invoked {
			m.fail("model: %s is no candidate for an apply cut by a restart", before)
		}
		entered, release := m.ap.blockNext()
		_, done, err := m.h.d.Apply(context.Background(), ApplyRequest{RunID: r.id, By: "carol", Channel: landform.ChannelAPI})
		if err != nil {
			m.fail("apply of %s before a restart: %v", before, err)
		}
		select {
		case <-entered:
		case <-time.After(failsafe):
			m.fail("the apply of %s did not reach terraform", before)
		}
		h := m.h
		if how == "crash" {
			m.store.crash()
		}
		cancel := h.cancel
		h.cancel = nil
		cancel()
		if how == "finishes within the grace" {
			release()
		} else {
			h.clk.waitPending(m.t, modelGrace, 1)
			h.clk.advance(modelGrace)
		}
		m.waitDone(done)
		select {
		case err := <-h.done:
			if err != nil {
				m.fail("stopping: %v", err)
			}
		case <-time.After(failsafe):
			m.fail("the daemon did not stop")
		}
		release()
		m.ap.unblock()
		r.crashed = how == "crash"
		m.logf("restart while terraform applies %s (%s) → %s", before, how, r.state)
		m.checkInvoked(calls, r, true)
		if how == "crash" {
			if got, err := m.db.GetRun(context.Background(), r.id); err != nil || got.State != landform.StateApplying {
				m.fail("after the crash, run %s is %v (%v), want applying until the next start", r.id, got.State, err)
			}
		}
	}
	m.h = m.newDaemon()
	m.polled(m.h.polled("infra"))
	m.settle()
	m.simRound()
	attention, err := m.db.ListAttention(context.Background())
	if err != nil {
		m.fail("listing the runs that need attention: %v", err)
	}
	for _, a := range attention {
		if a.State != landform.StateInterrupted || a.Error != sqlite.InterruptedApply {
			m.fail("run %s needs attention as %s (%q), want an interrupted apply", a.ID, a.State, a.Error)
		}
		if mr := m.byID[a.ID]; mr == nil || !mr.crashed {
			m.fail("run %s needs attention, and no apply of it was cut by a crash", a.ID)
		}
	}
	if r != nil && r.crashed && !slices.ContainsFunc(attention, func(a *landform.Run) bool { return a.ID == r.id }) {
		m.fail("run %s, applying when Landform crashed, does not need attention", r.id)
	}
}

// fullApplyCandidate returns an approved run whose apply the model says
// reaches terraform and applies, nil when there is none.
func (m *model) fullApplyCandidate() *modelRun {
	for _, r := range m.runs {
		if r.id == "" || r.state != landform.StateApproved || r.planGone || r.tampered {
			continue
		}
		// Try it on a copy of the model.
		saved, locks, serial, failNext := *r, m.locks, maps.Clone(m.serial), maps.Clone(m.failNext)
		m.locks = maps.Clone(locks)
		n := len(m.runs)
		want := m.modelApply(r, false)
		ok := want.invoked && r.state == landform.StateApplied
		*r, m.locks, m.runs, m.serial, m.failNext = saved, locks, m.runs[:n], serial, failNext
		if ok {
			return r
		}
	}
	return nil
}

// newDaemon returns a started daemon on the store, plan directory and
// clock of the current one, as a restart makes it.
func (m *model) newDaemon() *harness {
	old := m.h
	h := &harness{t: m.t, clk: old.clk, db: old.db, planner: old.planner, plansDir: old.plansDir,
		consumed: map[int]bool{}, more: make(chan struct{})}
	plans, err := planfs.New(h.plansDir)
	if err != nil {
		m.fail("plan store: %v", err)
	}
	m.store = &crashStore{DB: h.db}
	r := New(m.store, plans, h.planner, WithClock(h.clk.now), WithParallel(workers), WithWorkDir(m.t.TempDir()), WithApplier(m.ap),
		WithLogger(debugLogger(m.seed)))
	h.d = NewDaemon(r, m.store, []WatchedRepo{m.repo}, WithTimer(h.clk.after), WithOwner("test"), WithEvents(h.record),
		WithApprovalPolicy(m.pol), WithShutdownGrace(modelGrace))
	h.start()
	return h
}

// --- the daemon's work ---

// round lets the daemon poll once and waits until it has planned all it
// can, then does the same in the model.
func (m *model) round() {
	m.t.Helper()
	m.polled(m.h.round(m.ev))
	m.settle()
	m.simRound()
	var waiting []string
	for _, r := range m.runs {
		if r.state == landform.StateQueued && r.blockedBy != "" {
			waiting = append(waiting, fmt.Sprintf("%s behind %s", r, r.blockedBy))
		}
	}
	if len(waiting) > 0 {
		m.logf("  polled; waiting for a lock: %s", strings.Join(waiting, ", "))
	}
}

// polled takes the event of a poll round.
func (m *model) polled(ev Event) {
	m.t.Helper()
	if ev.Err != nil {
		m.fail("poll: %v", ev.Err)
	}
	m.ev = ev
}

// settle waits until no run is running, applying, or queued and not
// waiting for a lock, every apply started has finished (its run is saved
// before a branch's lock is released), and the worker waits for its claim
// interval (it is done with the run it claimed last: a plan saved planned
// may still be taking over approvals on merge). Every event, and every
// timer armed or stopped, wakes it to look again.
func (m *model) settle() {
	m.t.Helper()
	h := m.h
	deadline := time.After(failsafe)
	for {
		// The events and the timers are read before the store, and the
		// view counts only if neither moved until the store answered: a
		// worker that saved a plan approved and started its apply between
		// the two reads would otherwise look idle beside a store that has
		// not yet seen the apply.
		more, changed := h.changes()
		applying := len(h.all(EventApplyStarted)) - len(h.all(EventApplyFinished))
		idle := slices.Contains(h.clk.pending(), claimInterval)
		busy, err := h.db.ListRuns(context.Background(), landform.RunFilter{States: []landform.RunState{
			landform.StateQueued, landform.StateRunning, landform.StateApplying}})
		if err != nil {
			m.fail("listing runs: %v", err)
		}
		if !slices.ContainsFunc(busy, func(r *landform.Run) bool { return r.State != landform.StateQueued || r.BlockedBy == "" }) &&
			applying == 0 && idle && !closed(more) && !closed(changed) {
			return
		}
		select {
		case <-more:
		case <-changed:
		case <-deadline:
			m.fail("the daemon did not settle: %s busy; timers %v; events:%s", storedText(busy), h.clk.pending(), h.describe())
		}
	}
}

// closed reports whether ch is closed (it is only ever closed, never sent on).
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// headOf is ref's head on the remote.
func (m *model) headOf(ref string) (string, bool) {
	if ref == mainRef {
		return m.main, true
	}
	n, _ := prNumber(ref)
	if pr := m.prs[n]; pr != nil && pr.open {
		return pr.head, true
	}
	return "", false
}

// simRound is a poll round in the model: reconcile the locks, unblock,
// queue the moved refs' plans, then plan.
func (m *model) simRound() {
	m.rounds++
	for ws, l := range m.locks {
		if n, ok := prNumber(refForHolder(l.holder)); ok && !m.prs[n].open {
			delete(m.locks, ws)
		}
	}
	// The queued plans of a closed pull request are dropped, never planned.
	for _, r := range m.runs {
		if r.pr != 0 && !m.prs[r.pr].open && r.state == landform.StateQueued {
			r.state, r.blockedBy = landform.StateSuperseded, ""
		}
	}
	// Runs of several pull requests waiting for one workspace's lock,
	// unblocked at once, race for it: unblock clears them one by one
	// (newest first) and wakes the worker after each, which claims the
	// oldest claimable run it sees, while the round goes on queueing (and
	// superseding) the moved refs' plans. Any of them may win, and the
	// others wait behind it: the model takes what the store says of that
	// workspace's pull request runs and lock (resync), and the invariants
	// check it.
	unblocked := map[string][]*modelRun{}
	for _, r := range m.runs {
		if r.state != landform.StateQueued || r.blockedBy == "" {
			continue
		}
		if l := m.locks[r.ws]; l == nil || l.holder == prHolderOf(r.pr) {
			r.blockedBy = ""
			unblocked[r.ws] = append(unblocked[r.ws], r)
		}
	}
	for ws, rs := range unblocked {
		if slices.ContainsFunc(rs, func(r *modelRun) bool { return r.pr != rs[0].pr }) {
			m.resync[ws] = true
			m.stats.contests++
		}
	}
	refs := []string{mainRef}
	var open []int
	for n, pr := range m.prs {
		if pr.open {
			open = append(open, n)
		}
	}
	slices.Sort(open)
	for _, n := range open {
		refs = append(refs, prRefOf(n))
	}
	for _, ref := range refs {
		head, _ := m.headOf(ref)
		if m.last[ref] == head {
			continue
		}
		n, _ := prNumber(ref)
		for _, ws := range m.affects[head] {
			run := &modelRun{ref: ref, ws: ws, commit: head, pr: n, state: landform.StateQueued}
			if n != 0 && !m.forgeDown {
				run.author = m.prs[n].author
			}
			run.commitAuthor = m.src.authorOf(head)
			if l := m.locks[ws]; n != 0 && l != nil && l.holder != prHolderOf(n) {
				run.blockedBy = l.holder
			}
			for _, old := range m.runs {
				if old.ref == ref && old.ws == ws && slices.Contains(unapplied, old.state) {
					old.state = landform.StateSuperseded
				}
			}
			m.runs = append(m.runs, run)
		}
		m.last[ref] = head
	}
	m.work()
}

// unapplied are the states QueueRuns supersedes.
var unapplied = []landform.RunState{landform.StateQueued, landform.StatePlanned, landform.StateAwaitingApproval, landform.StateApproved}

func refForHolder(holder string) string {
	ref, _ := refFor(holder)
	return ref
}

// work is the worker in the model: it plans the oldest claimable run
// until none is left; a pull request's plan takes the lock or waits.
func (m *model) work() {
	for {
		i := slices.IndexFunc(m.runs, func(r *modelRun) bool { return r.state == landform.StateQueued && r.blockedBy == "" })
		if i < 0 {
			return
		}
		r := m.runs[i]
		if r.pr != 0 {
			holder := prHolderOf(r.pr)
			if l := m.locks[r.ws]; l != nil && l.holder != holder {
				r.blockedBy = l.holder
				continue
			}
			m.locks[r.ws] = &modelLock{holder: holder, run: r}
		}
		r.state, r.planned, r.serial = landform.StatePlanned, true, m.serial[r.ws]
		if r.pr == 0 && m.rules.Mode == landform.ApplyOnMerge {
			m.onMerge(r)
		}
	}
}

// onMerge is onmerge.go in the model: a branch's new plan takes over the
// newest approved plan of a pull request its commit contains (which is
// superseded, and its pull request's lock released); their changes are
// equal (the fake plans have none), so the approvals carry over and the
// plan is applied.
func (m *model) onMerge(r *modelRun) {
	var merged *modelRun
	for i := len(m.runs) - 1; i >= 0 && merged == nil; i-- {
		if c := m.runs[i]; c.pr != 0 && c.ws == r.ws && c.state == landform.StateApproved && m.src.contains(r.commit, c.commit) {
			merged = c
		}
	}
	if merged == nil {
		return
	}
	merged.state = landform.StateSuperseded
	if l := m.locks[r.ws]; l != nil && l.holder == prHolderOf(merged.pr) {
		delete(m.locks, r.ws)
	}
	if merged.planGone {
		return // its plan cannot be read to compare: r waits for approvals
	}
	r.approvers = slices.Clone(merged.approvers)
	r.state = landform.StateApproved
	if want := m.modelApply(r, false); want.code == "" {
		m.stats.onMerge++
	}
	m.logf("  on merge: %s takes over the approvals of run %s; now %s", r, merged.id, r.state)
}

// --- checks ---

// check matches the store's new runs to the model's, then checks that
// the store is what the model says and that the invariants hold.
func (m *model) check() {
	m.t.Helper()
	ctx := context.Background()
	stored, err := m.h.db.ListRuns(ctx, landform.RunFilter{Repo: "infra"})
	if err != nil {
		m.fail("listing runs: %v", err)
	}
	slices.SortFunc(stored, func(a, b *landform.Run) int { return cmpID(a.ID, b.ID) })
	var fresh []*modelRun
	for _, r := range m.runs {
		if r.id == "" {
			fresh = append(fresh, r)
		}
	}
	var created []*landform.Run
	for _, s := range stored {
		if m.byID[s.ID] == nil {
			created = append(created, s)
		}
	}
	if len(created) != len(fresh) {
		m.fail("the store created %s, the model %s", storedText(created), modelText(fresh))
	}
	// In creation order, but for runs of different workspaces created at
	// once (the fresh plans of two applies on merge going stale).
	for _, s := range created {
		i := slices.IndexFunc(fresh, func(r *modelRun) bool {
			return r.id == "" && s.Ref == r.ref && s.Workspace == r.ws && s.Commit == r.commit && s.Kind == landform.RunPlan
		})
		if i < 0 || slices.ContainsFunc(fresh[:i], func(r *modelRun) bool { return r.id == "" && r.ws == s.Workspace }) {
			m.fail("the store created %s, the model %s", storedText(created), modelText(fresh))
		}
		fresh[i].id = s.ID
		m.byID[s.ID] = fresh[i]
	}
	locks, err := m.h.db.ListLocks(ctx, "infra")
	if err != nil {
		m.fail("listing locks: %v", err)
	}
	m.takeRaced(stored, locks)
	byID := map[string]*landform.Run{}
	for _, s := range stored {
		byID[s.ID] = s
		r := m.byID[s.ID]
		if s.State != r.state || (s.State == landform.StateQueued && s.BlockedBy != r.blockedBy) {
			m.fail("run %s (%s@%s on %s) is %s (blocked by %q), the model says %s (blocked by %q)",
				s.ID, s.Workspace, s.Commit, s.Ref, s.State, s.BlockedBy, r.state, r.blockedBy)
		}
	}
	if got, want := locksText(locks), m.locksText(); got != want {
		m.fail("locks %s, the model says %s", got, want)
	}
	for _, ws := range m.workspaces {
		if serial, failNext := m.ap.stateOf(ws); serial != m.serial[ws] || failNext != m.failNext[ws] {
			m.fail("terraform's state of %s is at serial %d (next apply breaks: %v), the model says %d (%v)", ws, serial, failNext, m.serial[ws], m.failNext[ws])
		}
	}
	m.checkApplies()
	m.checkLocks(locks, byID)
}

// takeRaced makes the model say of the pull request runs and the lock of
// each workspace raced for what the store says.
func (m *model) takeRaced(stored []*landform.Run, locks []*landform.Lock) {
	for ws := range m.resync {
		var raced []string
		for _, s := range stored {
			r := m.byID[s.ID]
			if s.Workspace != ws || r.pr == 0 || (s.State == r.state && s.BlockedBy == r.blockedBy) {
				continue
			}
			raced = append(raced, fmt.Sprintf("run %s %s→%s", s.ID, r.state, s.State))
			r.state, r.blockedBy = s.State, s.BlockedBy
			if s.PlanSHA256 != "" && !r.planned {
				r.planned, r.serial = true, m.serial[ws]
			}
		}
		delete(m.locks, ws)
		for _, l := range locks {
			if l.Workspace == ws {
				m.locks[ws] = &modelLock{holder: l.Holder, run: m.byID[l.RunID]}
			}
		}
		m.logf("  the race for the lock of %s: %s; locked by %s", ws, cmpOr(strings.Join(raced, ", "), "as the model says"), cmpOr(m.lockHolderOf(ws), "nobody"))
		if len(raced) > 0 {
			m.stats.raceDiffered++
		}
	}
	clear(m.resync)
}

func (m *model) lockHolderOf(ws string) string {
	if l := m.locks[ws]; l != nil {
		return l.holder
	}
	return ""
}

func cmpID(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b)) }

func storedText(runs []*landform.Run) string {
	var s []string
	for _, r := range runs {
		s = append(s, fmt.Sprintf("%s %s@%s on %s", r.ID, r.Workspace, r.Commit, r.Ref))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func modelText(runs []*modelRun) string {
	var s []string
	for _, r := range runs {
		s = append(s, fmt.Sprintf("%s@%s on %s", r.ws, r.commit, r.ref))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func locksText(locks []*landform.Lock) string {
	var s []string
	for _, l := range locks {
		s = append(s, fmt.Sprintf("%s=%s(run %s)", l.Workspace, l.Holder, l.RunID))
	}
	slices.Sort(s)
	return "[" + strings.Join(s, " ") + "]"
}

func (m *model) locksText() string {
	var s []string
	for ws, l := range m.locks {
		s = append(s, fmt.Sprintf("%s=%s(run %s)", ws, l.holder, l.run.id))
	}
	slices.Sort(s)
	return "[" + strings.Join(s, " ") + "]"
}

// checkApplies checks every apply terraform ran since the last check
// against the invariants, from what the store, the remote and the forge
// said when terraform started.
func (m *model) checkApplies() {
	m.t.Helper()
	calls := m.ap.callsFrom(m.calls)
	m.calls += len(calls)
	for _, c := range calls {
		m.stats.invoked++
		switch c.result {
		case "applied":
			m.stats.applied++
		case "stale":
			m.stats.stale++
		}
		s := c.snap
		if s.err != nil {
			m.fail("terraform applied run %q: %v", c.run, s.err)
		}
		run := s.run
		bad := func(format string, args ...any) {
			m.t.Helper()
			m.fail("terraform applied run %s (%s@%s on %s): %s", run.ID, run.Workspace, run.Commit, run.Ref, fmt.Sprintf(format, args...))
		}
		if m.invoked[run.ID] {
			bad("a second time")
		}
		m.invoked[run.ID] = true
		if c.ws != run.Workspace {
			bad("in workspace %s", c.ws)
		}
		if run.State != landform.StateApplying {
			bad("while it was %s, not applying", run.State)
		}
		if want := "plan of " + run.Workspace; c.plan != want || m.tampered[run.ID] {
			bad("a tampered plan: %q, the planner made %q", c.plan, want)
		}
		if sum := sha256.Sum256([]byte("plan of " + run.Workspace)); run.PlanSHA256 != hex.EncodeToString(sum[:]) {
			bad("its plan sha256 %s is not the sha256 of what the planner made", run.PlanSHA256)
		}
		var ok, self []string
		for _, a := range s.approvals {
			if slices.Contains(ok, a.By) || slices.Contains(self, a.By) {
				continue
			}
			switch m.approvalCounts(a, run, s) {
			case "yes":
				ok = append(ok, a.By)
			case "self":
				self = append(self, a.By)
			}
		}
		switch {
		case len(ok) >= m.rules.Required:
		case len(ok)+len(self) >= m.rules.Required:
			m.fail("self-approval-unknown-author: run %s (%s@%s on %s) applied with the approval of %v, who opened the pull request (allow_self_approval is off): the forge did not answer when it was queued, so its run has no pull request author (and the commit is a colleague's)",
				run.ID, run.Workspace, run.Commit, run.Ref, self)
		default:
			bad("unapproved: approvals that count %v, %d required", ok, m.rules.Required)
		}
		if head := s.refs[run.Ref]; head != run.Commit {
			bad("superseded: its ref's head is %q", head)
		}
		for _, o := range s.runs {
			if o.Ref == run.Ref && o.Kind == landform.RunPlan && cmpID(o.ID, run.ID) > 0 {
				bad("superseded: run %s (%s) is a newer plan of its ref", o.ID, o.State)
			}
		}
		if n, isPR := prNumber(run.Ref); isPR {
			if m.rules.Mode != landform.ApplyBeforeMerge {
				bad("a pull request's plan in mode %s", m.rules.Mode)
			}
			if slices.Contains(m.rules.Requirements, landform.RequireUndiverged) && !m.src.contains(run.Commit, s.refs[mainRef]) {
				bad("diverged: it does not contain main's head %s", s.refs[mainRef])
			}
			if slices.Contains(m.rules.Requirements, landform.RequireMergeable) &&
				!slices.ContainsFunc(s.prs, func(p landform.PullRequest) bool { return p.Number == n && p.Mergeable == landform.MergeableYes }) {
				bad("not mergeable: the forge lists %+v", s.prs)
			}
		}
		if !slices.ContainsFunc(s.locks, func(l *landform.Lock) bool {
			return l.Workspace == run.Workspace && l.Holder == lockHolder(run) && l.RunID == run.ID
		}) {
			bad("without holding its workspace's lock: %s", locksText(s.locks))
		}
	}
}

// approvalCounts says whether approval a may count for run: "yes" when
// it is approved, bound to run's commit and plan sha256, and by an
// identity the rules allow (an approval carried over on merge counts as
// the approval of the merged pull request's plan it names, which the
// merge commit must contain); "self" when it is allowed but for being the
// pull request's opener, whom the run does not know (the forge did not
// answer when it was queued); else "".
func (m *model) approvalCounts(a *landform.Approval, run *landform.Run, s applySnapshot) string {
	if !a.Approved || a.Commit != run.Commit || a.PlanSHA256 != run.PlanSHA256 {
		return ""
	}
	if a.Channel == landform.ChannelOnMerge {
		src := s.sources[carriedFrom(a)]
		if src == nil || src.Workspace != run.Workspace || !strings.HasPrefix(src.Ref, pullPrefix) || !m.src.contains(run.Commit, src.Commit) {
			return ""
		}
		for _, b := range s.carried[src.ID] {
			if b.By == a.By && b.Channel != landform.ChannelOnMerge {
				if got := m.approvalCounts(b, src, s); got != "" {
					return got
				}
			}
		}
		return ""
	}
	switch {
	case m.allowed(a.By, run.Ref, run.Commit):
		return "yes"
	case m.isApprover(a.By) && a.By == m.openerOf(run.Ref) && run.PR.Author == "" && a.By+"@example.com" != m.src.authorOf(run.Commit):
		return "self"
	}
	return ""
}

// carriedFrom is the run an approval carried over on merge names.
func carriedFrom(a *landform.Approval) string {
	_, rest, _ := strings.Cut(a.Reason, "carried over from run ")
	id, _, _ := strings.Cut(rest, " ")
	return id
}

// checkLocks checks that no lock is without a reason, and that every
// open pull request's live plan holds its lock.
func (m *model) checkLocks(locks []*landform.Lock, runs map[string]*landform.Run) {
	m.t.Helper()
	for _, l := range locks {
		run := runs[l.RunID]
		what := fmt.Sprintf("the lock of %s held by %s (run %s)", l.Workspace, l.Holder, l.RunID)
		if n, ok := prNumber(refForHolder(l.Holder)); ok {
			if run == nil || run.Ref != prRefOf(n) || run.Workspace != l.Workspace {
				m.fail("%s: not a run of that pull request and workspace", what)
			}
			if pr := m.prs[n]; !pr.open && m.rounds > pr.closedAt {
				m.fail("closed-pr-lock: %s: the pull request closed, and a poll round ran since", what)
			}
			continue
		}
		if run == nil || lockHolder(run) != l.Holder || run.Workspace != l.Workspace {
			m.fail("%s: not a run of that branch and workspace", what)
		}
		r := m.byID[run.ID]
		if run.State == landform.StateApplying || (r.invoked && (r.result == "failed" || r.result == "interrupted")) {
			continue
		}
		m.fail("branch-lock-kept: %s: its run is %s, and nothing of it was applied", what, run.State)
	}
	held := map[string]string{}
	for _, l := range locks {
		held[l.Workspace] = l.Holder
	}
	for n, pr := range m.prs {
		if !pr.open {
			continue
		}
		for _, ws := range m.workspaces {
			var newest *modelRun
			for _, r := range m.runs {
				if r.pr == n && r.ws == ws && r.commit == pr.head {
					newest = r
				}
			}
			if newest == nil || newest.state == landform.StateQueued || newest.state == landform.StateRunning {
				continue
			}
			if held[ws] != prHolderOf(n) {
				m.fail("%s is %s at the head of its open pull request, and the lock of %s is held by %q", newest, newest.state, ws, held[ws])
			}
		}
	}
}

// --- the world's parts ---

// modelSource is the remote: fakeSource with a commit graph (each commit
// names its parents) and commit authors.
type modelSource struct {
	*fakeSource
	gmu     sync.Mutex
	parents map[string][]string
	authors map[string]string // commit → its author's email
}

// commit adds commit, by author, on parents.
func (s *modelSource) commit(commit, author string, parents ...string) {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	s.parents[commit] = parents
	s.authors[commit] = author + "@example.com"
}

// ancestors returns commit and every commit it contains; nil for a commit
// the source does not have. s.gmu is held.
func (s *modelSource) ancestors(commit string) map[string]bool {
	if _, ok := s.parents[commit]; !ok {
		return nil
	}
	out := map[string]bool{}
	todo := []string{commit}
	for len(todo) > 0 {
		c := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if !out[c] {
			out[c] = true
			todo = append(todo, s.parents[c]...)
		}
	}
	return out
}

// contains reports whether commit b contains commit a.
func (s *modelSource) contains(b, a string) bool {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	return s.ancestors(b)[a]
}

// MergeBase returns the best common ancestor of a and b: one that no
// other common ancestor contains.
func (s *modelSource) MergeBase(_ context.Context, a, b string) (string, error) {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	A, B := s.ancestors(a), s.ancestors(b)
	if A == nil || B == nil {
		return "", fmt.Errorf("merge base of %s and %s: no such commit", a, b)
	}
	var common []string
	for c := range A {
		if B[c] {
			common = append(common, c)
		}
	}
	slices.Sort(common)
	for _, c := range common {
		if !slices.ContainsFunc(common, func(d string) bool { return d != c && s.ancestors(d)[c] }) {
			return c, nil
		}
	}
	return "", fmt.Errorf("merge base of %s and %s: none", a, b)
}

// CommitAuthor is the email of commit's author (CommitAuthors).
func (s *modelSource) CommitAuthor(_ context.Context, commit string) (string, error) {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	if a, ok := s.authors[commit]; ok {
		return a, nil
	}
	return "", fmt.Errorf("no commit %s", commit)
}

func (s *modelSource) authorOf(commit string) string {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	return s.authors[commit]
}

// crashStore is a daemon's store, which a crash cuts off: from then on
// nothing the daemon writes reaches the database, as nothing a crashed
// process writes does.
type crashStore struct {
	*sqlite.DB
	crashed atomic.Bool
}

func (s *crashStore) crash() { s.crashed.Store(true) }

var errCrashed = errors.New("the process crashed")

func (s *crashStore) ok() error {
	if s.crashed.Load() {
		return errCrashed
	}
	return nil
}

func (s *crashStore) AddApproval(ctx context.Context, a *landform.Approval) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.AddApproval(ctx, a)
}

func (s *crashStore) EnqueueForge(ctx context.Context, repo, key string, payload []byte) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.EnqueueForge(ctx, repo, key, payload)
}

func (s *crashStore) ForgeDone(ctx context.Context, repo, key string, version int64) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.ForgeDone(ctx, repo, key, version)
}

func (s *crashStore) ForgeFailed(ctx context.Context, repo, key string, version int64, reason string) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.ForgeFailed(ctx, repo, key, version, reason)
}

func (s *crashStore) EnqueueLedger(ctx context.Context, repo, runID string) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.EnqueueLedger(ctx, repo, runID)
}

func (s *crashStore) MarkLedgerDone(ctx context.Context, repo string, runIDs []string) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.MarkLedgerDone(ctx, repo, runIDs)
}

func (s *crashStore) SetAsideLedger(ctx context.Context, repo, runID, reason string) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.SetAsideLedger(ctx, repo, runID, reason)
}

func (s *crashStore) AcquireLock(ctx context.Context, l landform.Lock) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.AcquireLock(ctx, l)
}

func (s *crashStore) ReleaseLock(ctx context.Context, repo, workspace, holder string) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.ReleaseLock(ctx, repo, workspace, holder)
}

func (s *crashStore) ForceUnlock(ctx context.Context, repo, workspace string) (*landform.Lock, error) {
	if err := s.ok(); err != nil {
		return nil, err
	}
	return s.DB.ForceUnlock(ctx, repo, workspace)
}

func (s *crashStore) ReleaseLocksOf(ctx context.Context, repo, holder string) (int, error) {
	if err := s.ok(); err != nil {
		return 0, err
	}
	return s.DB.ReleaseLocksOf(ctx, repo, holder)
}

func (s *crashStore) SetLastProcessed(ctx context.Context, repo, ref, sha string) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.SetLastProcessed(ctx, repo, ref, sha)
}

func (s *crashStore) QueueRuns(ctx context.Context, repo, ref, commit string, runs []*landform.Run) ([]*landform.Run, error) {
	if err := s.ok(); err != nil {
		return nil, err
	}
	return s.DB.QueueRuns(ctx, repo, ref, commit, runs)
}

func (s *crashStore) ClaimRun(ctx context.Context, owner string) (*landform.Run, error) {
	if err := s.ok(); err != nil {
		return nil, err
	}
	return s.DB.ClaimRun(ctx, owner)
}

func (s *crashStore) SupersedeRuns(ctx context.Context, repo, workspace, ref, keepID string) ([]*landform.Run, error) {
	if err := s.ok(); err != nil {
		return nil, err
	}
	return s.DB.SupersedeRuns(ctx, repo, workspace, ref, keepID)
}

func (s *crashStore) RecoverRuns(ctx context.Context) (requeued, flagged []*landform.Run, err error) {
	if err := s.ok(); err != nil {
		return nil, nil, err
	}
	return s.DB.RecoverRuns(ctx)
}

func (s *crashStore) ClearAttention(ctx context.Context, id string) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.ClearAttention(ctx, id)
}

func (s *crashStore) CreateRun(ctx context.Context, r *landform.Run) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.CreateRun(ctx, r)
}

func (s *crashStore) UpdateRun(ctx context.Context, r *landform.Run) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.UpdateRun(ctx, r)
}

func (s *crashStore) EnsureNextRunID(ctx context.Context, next int64) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.EnsureNextRunID(ctx, next)
}

func (s *crashStore) TransitionRun(ctx context.Context, id string, from []landform.RunState, change func(*landform.Run) error) (*landform.Run, error) {
	if err := s.ok(); err != nil {
		return nil, err
	}
	return s.DB.TransitionRun(ctx, id, from, change)
}

func (s *crashStore) MarkCommandSeen(ctx context.Context, repo, key string) (bool, error) {
	if err := s.ok(); err != nil {
		return false, err
	}
	return s.DB.MarkCommandSeen(ctx, repo, key)
}

func (s *crashStore) SetCommentCursor(ctx context.Context, repo, cursor string) error {
	if err := s.ok(); err != nil {
		return err
	}
	return s.DB.SetCommentCursor(ctx, repo, cursor)
}

// applySnapshot is what the store, the remote and the forge said when
// terraform was started on a run.
type applySnapshot struct {
	err       error
	run       *landform.Run
	runs      []*landform.Run // of its workspace
	approvals []*landform.Approval
	locks     []*landform.Lock
	refs      map[string]string
	prs       []landform.PullRequest
	// sources are the runs approvals carried over on merge name, carried
	// their approvals.
	sources map[string]*landform.Run
	carried map[string][]*landform.Approval
}

// observe takes the snapshot of an apply of run id; it runs in the
// daemon's apply goroutine.
func (m *model) observe(id string) applySnapshot {
	ctx := context.Background()
	var s applySnapshot
	db := m.db
	if s.run, s.err = db.GetRun(ctx, id); s.err != nil {
		return s
	}
	if s.runs, s.err = db.ListRuns(ctx, landform.RunFilter{Repo: s.run.Repo, Workspace: s.run.Workspace}); s.err != nil {
		return s
	}
	if s.approvals, s.err = db.ListApprovals(ctx, id); s.err != nil {
		return s
	}
	s.sources, s.carried = map[string]*landform.Run{}, map[string][]*landform.Approval{}
	for _, a := range s.approvals {
		if src := carriedFrom(a); a.Channel == landform.ChannelOnMerge && s.sources[src] == nil {
			if s.sources[src], s.err = db.GetRun(ctx, src); s.err != nil {
				return s
			}
			if s.carried[src], s.err = db.ListApprovals(ctx, src); s.err != nil {
				return s
			}
		}
	}
	if s.locks, s.err = db.ListLocks(ctx, s.run.Repo); s.err != nil {
		return s
	}
	if s.refs, _, s.err = m.src.Refs(ctx); s.err != nil {
		return s
	}
	s.prs, s.err = m.forge.PullRequests(ctx)
	return s
}

// modelApplier is terraform applying saved plans: each workspace's state
// has a serial, moved by every apply that changed something; a plan made
// at another serial is stale. The planner writes the serial it planned at
// in the plan's JSON (planJSON), as terraform's plans carry the state's
// lineage and serial. It applies through fakeApplier (which can block)
// and records every call with what the world looked like.
type modelApplier struct {
	fake    *fakeApplier
	plans   PlanStore
	observe func(runID string) applySnapshot

	mu       sync.Mutex
	serial   map[string]int  // workspace → its state's serial
	failNext map[string]bool // workspace → its next apply breaks midway
	calls    []applyCall
	entered  chan string // when set, told the run of the next call
}

// planJSON is the JSON of a plan of ws made now: what the fake planner
// stores.
func (a *modelApplier) planJSON(ws string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return fmt.Sprintf(`{"format_version":"1.2","resource_changes":[],"landform_test_serial":%d}`, a.serial[ws])
}

// planSerial is the serial run id's stored plan was made at, -1 when it
// does not say.
func (a *modelApplier) planSerial(ctx context.Context, id string) int {
	art, err := a.plans.Get(ctx, id)
	if err != nil {
		return -1
	}
	var p struct {
		Serial *int `json:"landform_test_serial"`
	}
	if json.Unmarshal(art.JSON, &p) != nil || p.Serial == nil {
		return -1
	}
	return *p.Serial
}

type applyCall struct {
	run, ws string
	plan    string // the plan file's content
	result  string // applied, stale, failed, interrupted
	snap    applySnapshot
}

func newModelApplier() *modelApplier {
	return &modelApplier{fake: newFakeApplier(), serial: map[string]int{}, failNext: map[string]bool{}}
}

// applyRunID is the run whose plan file path is planFile: the runner
// applies in "apply-<run ID>-<random>/scratch" of its work directory.
func applyRunID(planFile string) string {
	dir := filepath.Base(filepath.Dir(filepath.Dir(planFile)))
	rest, ok := strings.CutPrefix(dir, "apply-")
	id, _, ok2 := strings.Cut(rest, "-")
	if _, err := strconv.Atoi(id); !ok || !ok2 || err != nil {
		return "unknown:" + dir
	}
	return id
}

func (a *modelApplier) Apply(ctx context.Context, job ApplyJob) (*ApplyOutput, error) {
	id, ws := applyRunID(job.PlanFile), job.Workspace.Name
	snap := a.observe(id)
	plan, err := os.ReadFile(job.PlanFile)
	if err != nil {
		snap.err = errors.Join(snap.err, err)
	}
	planned := a.planSerial(ctx, id)
	a.mu.Lock()
	i := len(a.calls)
	a.calls = append(a.calls, applyCall{run: id, ws: ws, plan: string(plan), snap: snap})
	stale := planned != a.serial[ws]
	fail := !stale && a.failNext[ws]
	if fail {
		delete(a.failNext, ws)
		a.serial[ws]++ // half applied
	}
	entered := a.entered
	a.entered = nil
	a.mu.Unlock()
	result := func(r string) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.calls[i].result = r
	}
	switch {
	case stale:
		result("stale")
		return nil, fmt.Errorf("terraform apply in %s: Error: Saved plan is stale: %w", ws, landform.ErrStalePlan)
	case fail:
		result("failed")
		return nil, fmt.Errorf("terraform apply in %s: Error: creating the database: 409 Conflict", ws)
	}
	if entered != nil {
		entered <- id
	}
	out, err := a.fake.Apply(ctx, job)
	a.mu.Lock()
	a.serial[ws]++ // applied, or cut off midway
	a.mu.Unlock()
	if err != nil {
		result("interrupted")
		return nil, err
	}
	result("applied")
	return out, nil
}

// stateOf returns ws's serial and whether its next apply breaks.
func (a *modelApplier) stateOf(ws string) (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.serial[ws], a.failNext[ws]
}

func (a *modelApplier) changeState(ws string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.serial[ws]++
}

func (a *modelApplier) failNextApply(ws string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failNext[ws] = true
}

func (a *modelApplier) callCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.calls)
}

func (a *modelApplier) callsFrom(i int) []applyCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls[i:])
}

// blockNext makes the next apply that changes state wait in terraform:
// entered receives its run once it waits; release lets it go on.
func (a *modelApplier) blockNext() (entered <-chan string, release func()) {
	ch, block := make(chan string, 1), make(chan struct{})
	a.mu.Lock()
	a.entered = ch
	a.mu.Unlock()
	a.fake.mu.Lock()
	a.fake.block = block
	a.fake.mu.Unlock()
	var once sync.Once
	return ch, func() { once.Do(func() { close(block) }) }
}

func (a *modelApplier) unblock() {
	a.fake.mu.Lock()
	a.fake.block = nil
	a.fake.mu.Unlock()
}

// modelTally counts what the sequences did.
type modelTally struct {
	mu                                                        sync.Mutex
	seqs, steps, approvals, accepted, applyRequests, started  int
	invoked, applied, stale, restarts, contests, raceDiffered int
	onMerge                                                   int
}

func (t *modelTally) add(m *model) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &m.stats
	t.seqs += s.seqs
	t.steps += s.steps
	t.approvals += s.approvals
	t.accepted += s.accepted
	t.applyRequests += s.applyRequests
	t.started += s.started
	t.invoked += s.invoked
	t.applied += s.applied
	t.stale += s.stale
	t.restarts += s.restarts
	t.contests += s.contests
	t.raceDiffered += s.raceDiffered
	t.onMerge += s.onMerge
}

// debugLogger is the daemons' logger: to stderr with -model.debug.
func debugLogger(seed int64) *slog.Logger {
	if !*modelDebug {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("seed", seed)
}
