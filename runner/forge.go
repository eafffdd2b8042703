package runner

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/backoff"
)

// Forge is what the daemon says on, and asks of, a repository's forge. The
// daemon decides when and about which runs; the implementation decides how
// it reads (the preview's Markdown, a status's wording and link).
type Forge interface {
	// PullRequests lists the open pull requests.
	PullRequests(ctx context.Context) ([]landform.PullRequest, error)
	// Preview posts the plan preview of a pull request: it creates
	// Landform's comment on it or updates it in place.
	Preview(ctx context.Context, p landform.PullRequestPlans) error
	// Status sets the commit status of run's workspace at run's commit
	// from the run as it is now.
	Status(ctx context.Context, run *landform.Run) error
	// Comments lists the comments of pull request number created or
	// updated at or after since, oldest first.
	Comments(ctx context.Context, number int, since time.Time) ([]landform.Comment, error)
	// Comment adds a comment to pull request number.
	Comment(ctx context.Context, number int, body string) error
}

// ForgeOutbox keeps what is to be said on a forge until it is said: a
// forge outage delays a preview or a status, never loses it, and never
// changes a run's outcome.
type ForgeOutbox interface {
	// EnqueueForge replaces the message pending under key, or adds it.
	EnqueueForge(ctx context.Context, repo, key string, payload []byte) error
	PendingForge(ctx context.Context, repo string, limit int) ([]landform.OutboxMessage, error)
	ForgeDone(ctx context.Context, repo, key string, version int64) error
	ForgeFailed(ctx context.Context, repo, key string, version int64, reason string) error
}

// Forge loop waits: how long a woken loop lets messages enqueued together
// gather (runs finishing together update one preview once), and the
// longest wait between retries while the forge fails.
const (
	forgeGather   = 300 * time.Millisecond
	forgeRetryCap = 5 * time.Minute
	forgeBatch    = 50
)

// previewMessage is the payload of a "preview/<number>" message.
type previewMessage struct {
	Ref     string   `json:"ref"`
	Commit  string   `json:"commit"`
	Deleted []string `json:"deleted,omitempty"`
}

// statusMessage is the payload of a "status/<commit>/<workspace>" message.
type statusMessage struct {
	Run string `json:"run"`
}

func previewKey(pr int) string { return "preview/" + strconv.Itoa(pr) }

func statusKey(run *landform.Run) string { return "status/" + run.Commit + "/" + run.Workspace }

// prNumber returns the number of a pull/merge request head ref.
func prNumber(ref string) (int, bool) {
	holder, ok := pullRequest(ref)
	if !ok {
		return 0, false
	}
	_, num, _ := strings.Cut(holder, "/")
	n, err := strconv.Atoi(num)
	return n, err == nil && n > 0
}

// pullRequests returns the open pull requests of repo's forge by number,
// nil without a forge or when the forge does not answer (logged: the runs
// go on without the metadata).
func (d *Daemon) pullRequests(ctx context.Context, repo WatchedRepo) map[int]landform.PullRequest {
	if repo.Forge == nil {
		return nil
	}
	prs, err := repo.Forge.PullRequests(ctx)
	if err != nil {
		d.logger.Warn("forge: listing pull requests failed; runs are queued without their author and base branch", "repo", repo.Name, "err", err)
		return nil
	}
	out := make(map[int]landform.PullRequest, len(prs))
	for _, pr := range prs {
		out[pr.Number] = pr
	}
	return out
}

// prOf is the pull request of ref, with what the forge says of it.
func prOf(ref string, prs map[int]landform.PullRequest) landform.RunPR {
	n, ok := prNumber(ref)
	if !ok {
		return landform.RunPR{}
	}
	pr := prs[n]
	return landform.RunPR{Number: n, Author: pr.Author, BaseBranch: pr.BaseBranch}
}

// enqueueForge puts the status of each run and the preview of their pull
// request in repo's forge outbox, and wakes its loop. Runs of a branch,
// and any run of a repository without a forge, say nothing.
func (d *Daemon) enqueueForge(ctx context.Context, repo WatchedRepo, ref, commit string, deleted []string, runs ...*landform.Run) error {
	if d.forgeOutbox == nil {
		return nil
	}
	said, err := enqueueForge(ctx, d.forgeOutbox, repo, ref, commit, deleted, runs...)
	if said {
		d.wakeLoop(LoopForge, repo.Name)
	}
	return err
}

// enqueueForge puts what the daemon's enqueueForge says in outbox, and
// reports whether it put anything.
func enqueueForge(ctx context.Context, outbox ForgeOutbox, repo WatchedRepo, ref, commit string, deleted []string, runs ...*landform.Run) (bool, error) {
	n, isPR := prNumber(ref)
	if repo.Forge == nil || !isPR {
		return false, nil
	}
	for _, run := range runs {
		if run.Workspace == ConfigWorkspace || run.State == landform.StateSuperseded {
			continue
		}
		payload, _ := json.Marshal(statusMessage{Run: run.ID})
		if err := outbox.EnqueueForge(ctx, repo.Name, statusKey(run), payload); err != nil {
			return false, err
		}
	}
	payload, _ := json.Marshal(previewMessage{Ref: ref, Commit: commit, Deleted: deleted})
	if err := outbox.EnqueueForge(ctx, repo.Name, previewKey(n), payload); err != nil {
		return false, err
	}
	return true, nil
}

// AnnounceStore is what Announce needs of a store.
type AnnounceStore interface {
	ForgeOutbox
	EnqueueLedger(ctx context.Context, repo, runID string) error
}

// Announce puts run's record in repo's ledger outbox (when it keeps a
// ledger) and its status and preview in the forge outbox (with a forge),
// for a command that changed a run outside a daemon (the CLI on the local
// store). A daemon of the same store writes and says them when its loops
// next look: at its start, or when it next writes for that repository.
func Announce(ctx context.Context, s AnnounceStore, repo WatchedRepo, run *landform.Run) error {
	if repo.Ledger {
		if err := s.EnqueueLedger(ctx, repo.Name, run.ID); err != nil {
			return err
		}
	}
	_, err := enqueueForge(ctx, s, repo, run.Ref, run.Commit, nil, run)
	return err
}

// forgeLoop says what repo's forge outbox holds: at start (what a previous
// process left), when something is enqueued, and, while deliveries fail,
// again after a backoff. An idle loop arms no timer, except on a replica,
// where other replicas' messages are looked for every
// replicaForgeInterval.
func (d *Daemon) forgeLoop(ctx context.Context, repo WatchedRepo) {
	failures := 0
	for {
		var retry <-chan time.Time
		stop := func() bool { return false }
		if err := d.deliverForge(ctx, repo); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait := backoff.Policy{Base: 2 * time.Second, Cap: forgeRetryCap}.Delay(failures - 1)
			d.logger.Warn("forge: delivery failed; the messages stay in the outbox", "repo", repo.Name, "err", err, "retry_in", wait)
			retry, stop = d.after(wait)
		} else {
			failures = 0
			if d.replicas != nil {
				// Other replicas put messages here too; their
				// signal may be lost.
				retry, stop = d.after(replicaForgeInterval)
			}
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case <-d.forgeWake[repo.Name]:
			stop()
			if !d.sleep(ctx, forgeGather, nil) {
				return
			}
		case <-retry:
		}
	}
}

// deliverForge says the pending messages of repo in order; it stops at the
// first failure (the forge is likely down: the rest wait too) and returns
// it.
func (d *Daemon) deliverForge(ctx context.Context, repo WatchedRepo) error {
	for {
		msgs, err := d.forgeOutbox.PendingForge(ctx, repo.Name, forgeBatch)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			err := d.deliver(ctx, repo, m)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if ferr := d.forgeOutbox.ForgeFailed(ctx, repo.Name, m.Key, m.Version, err.Error()); ferr != nil {
					return ferr
				}
				d.emit(Event{Kind: EventForgeDelivered, Repo: repo.Name, Holder: m.Key, Err: err, Count: m.Attempts + 1})
				return fmt.Errorf("%s: %w", m.Key, err)
			}
			if err := d.forgeOutbox.ForgeDone(ctx, repo.Name, m.Key, m.Version); err != nil {
				return err
			}
			d.emit(Event{Kind: EventForgeDelivered, Repo: repo.Name, Holder: m.Key})
		}
		if len(msgs) < forgeBatch {
			return nil
		}
	}
}

// deliver says one message. A message about runs the store no longer has
// is dropped (nil).
func (d *Daemon) deliver(ctx context.Context, repo WatchedRepo, m landform.OutboxMessage) error {
	kind, _, _ := strings.Cut(m.Key, "/")
	switch kind {
	case "status":
		var sm statusMessage
		if err := json.Unmarshal(m.Payload, &sm); err != nil {
			d.logger.Error("forge: dropping a malformed status message", "repo", repo.Name, "key", m.Key, "err", err)
			return nil
		}
		run, err := d.store.GetRun(ctx, sm.Run)
		if landform.ErrorCode(err) == landform.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		return repo.Forge.Status(ctx, run)
	case "preview":
		var pm previewMessage
		if err := json.Unmarshal(m.Payload, &pm); err != nil {
			d.logger.Error("forge: dropping a malformed preview message", "repo", repo.Name, "key", m.Key, "err", err)
			return nil
		}
		p, err := d.preview(ctx, repo, pm)
		if err != nil || len(p.Runs) == 0 && len(p.Deleted) == 0 {
			return err
		}
		return repo.Forge.Preview(ctx, p)
	}
	if kind == "comment" {
		var cm commentMessage
		if err := json.Unmarshal(m.Payload, &cm); err != nil {
			d.logger.Error("forge: dropping a malformed comment message", "repo", repo.Name, "key", m.Key, "err", err)
			return nil
		}
		return repo.Forge.Comment(ctx, cm.PR, cm.Body)
	}
	d.logger.Error("forge: dropping a message of an unknown kind", "repo", repo.Name, "key", m.Key)
	return nil
}

// preview gathers what the preview of a pull request's head shows.
func (d *Daemon) preview(ctx context.Context, repo WatchedRepo, pm previewMessage) (landform.PullRequestPlans, error) {
	p := landform.PullRequestPlans{Repo: repo.Name, Ref: pm.Ref, Commit: pm.Commit, Deleted: pm.Deleted}
	all, err := d.store.ListRuns(ctx, landform.RunFilter{Repo: repo.Name, Ref: pm.Ref, Kind: landform.RunPlan, Limit: 2000})
	if err != nil {
		return p, err
	}
	var (
		cur, prev []*landform.Run
	)
	seenCurrent := false
	for _, r := range all { // newest first
		switch {
		case r.Commit == pm.Commit:
			seenCurrent = true
			cur = append(cur, r)
		case seenCurrent && p.PreviousCommit == "":
			p.PreviousCommit = r.Commit
			prev = append(prev, r)
		case r.Commit == p.PreviousCommit:
			prev = append(prev, r)
		}
	}
	p.Runs, p.Previous = latestPerWorkspace(cur), latestPerWorkspace(prev)
	for _, r := range p.Runs {
		if r.Approvals, err = d.store.ListApprovals(ctx, r.ID); err != nil {
			return p, err
		}
		if len(r.Approvals) == 0 {
			r.Approvals = nil
		}
	}
	for _, r := range p.Runs {
		if r.PR.Number != 0 {
			p.PR = r.PR
			break
		}
	}
	if p.PR.Number == 0 {
		p.PR.Number, _ = prNumber(pm.Ref)
	}
	return p, nil
}

// latestPerWorkspace keeps the newest run of each workspace of runs
// (newest first), sorted by workspace; the configuration's pseudo
// workspace too.
func latestPerWorkspace(runs []*landform.Run) []*landform.Run {
	seen := map[string]bool{}
	var out []*landform.Run
	for _, r := range runs {
		if !seen[r.Workspace] {
			seen[r.Workspace] = true
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *landform.Run) int { return cmp.Compare(a.Workspace, b.Workspace) })
	return out
}

// deletedAt is what a pull request head deletes.
type deletedAt struct {
	commit string
	names  []string
}

// rememberDeleted keeps the workspaces commit, the new head of ref,
// deletes, for the previews its finishing runs update.
func (d *Daemon) rememberDeleted(repo, ref, commit string, names []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.deleted[[2]string{repo, ref}] = deletedAt{commit, slices.Clone(names)}
}

// deletedBy returns the workspaces commit of ref deletes, as remembered.
func (d *Daemon) deletedBy(repo, ref, commit string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if da, ok := d.deleted[[2]string{repo, ref}]; ok && da.commit == commit {
		return da.names
	}
	return nil
}
