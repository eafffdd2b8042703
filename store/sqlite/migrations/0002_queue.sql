-- The queue is the runs in state queued. ClaimRun takes the oldest one whose
-- workspace has no run running or applying, and records who claimed it.
-- RecoverRuns flags the runs a crash cut off while applying: they need a
-- person (the backend's state lock may still be held), and stay in
-- ListAttention until ClearAttention.
ALTER TABLE runs ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN needs_attention INTEGER NOT NULL DEFAULT 0;

-- Oldest queued first, read in order; the old state-only index is its prefix.
DROP INDEX runs_state;
CREATE INDEX runs_state_created ON runs (state, created_at);
-- "Is a run of this workspace running?" without reading its whole history.
CREATE INDEX runs_repo_workspace_state ON runs (repo, workspace, state);
CREATE INDEX runs_attention ON runs (created_at) WHERE needs_attention = 1;
