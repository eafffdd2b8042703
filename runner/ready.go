package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/landform/landform"
)

// PollStallSlack is how late, beyond two poll intervals, a repository's
// poll round may end before Ready calls its poll loop stuck: a round due
// at NextPoll must have ended by NextPoll + 2×interval + PollStallSlack.
// Without failures that is about three intervals and a minute after the
// last round ended; after failures it counts from the end of the backoff.
const PollStallSlack = time.Minute

// Ready reports whether the daemon does its job, for a readiness probe
// (/readyz): nil when its store answers a query and the poll loop of every
// watched repository is alive, else an error naming each problem:
//
//   - "the store does not answer: …" when the query fails;
//   - "<repo> has not polled yet" until the repository's first poll round
//     ends — before Run and while the first round (the first fetch of the
//     remote) runs, the daemon is not ready, however recently it started:
//     it has not looked at its repositories yet;
//   - "<repo>: the poll loop is stuck: …" when the round due at NextPoll
//     has not ended PollStallSlack after two more intervals (a hung fetch,
//     a loop that died, a daemon that stopped).
//
// Failing polls do not make the daemon unready: a round that fails still
// ends, and Health reports why it failed. Ready asks the store once and
// nothing remote. A replica that does not hold the poll lease (see
// WithReplicas) polls nothing: it is ready when its store answers (it
// works the queue and answers the API).
func (d *Daemon) Ready(ctx context.Context) error {
	if _, err := d.store.ListRuns(ctx, landform.RunFilter{Limit: 1}); err != nil {
		return fmt.Errorf("the store does not answer: %w", err)
	}
	if !d.IsPoller() {
		return nil
	}
	now := d.now()
	var problems []string
	for _, s := range d.Statuses() {
		if s.Polls == 0 {
			problems = append(problems, s.Repo+" has not polled yet")
			continue
		}
		repo, _ := d.repo(s.Repo)
		bound := 2*repo.PollInterval + PollStallSlack
		if late := now.Sub(s.NextPoll); late > bound {
			problems = append(problems, fmt.Sprintf("%s: the poll loop is stuck: the round due at %s has not ended (%s late, more than %s)",
				s.Repo, s.NextPoll.UTC().Format(time.RFC3339), late.Round(time.Second), bound))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}
