-- Landform's schema on PostgreSQL: what store/sqlite's migrations 1 to 14
-- built, in one step.
--
-- Times are text: UTC RFC 3339 with exactly nine fractional digits
-- ("2026-11-23T13:57:01.123456789Z"), as in store/sqlite, in the "C"
-- collation, so that text order is time order whatever the database's
-- locale, and nanoseconds round-trip (timestamptz keeps microseconds).
-- NULL started_at/finished_at means not yet. Leases alone are timestamptz:
-- they expire by the database's clock.

-- Run records: one row per workspace at one commit. IDs come from a
-- sequence and are never reused, because people type them ("landform
-- approve 42"). CACHE 1 (the default) matters: EnsureNextRunID raises the
-- sequence while no insert runs, which a session's cached values would
-- escape.
CREATE SEQUENCE runs_id_seq AS bigint CACHE 1;

CREATE TABLE runs (
	id              bigint  PRIMARY KEY DEFAULT nextval('runs_id_seq'),
	repo            text    NOT NULL,
	workspace       text    NOT NULL,
	dir             text    NOT NULL DEFAULT '',
	commit_sha      text    NOT NULL DEFAULT '',
	ref             text    NOT NULL DEFAULT '',
	kind            text    COLLATE "C" NOT NULL,
	state           text    COLLATE "C" NOT NULL,
	add_count       integer NOT NULL DEFAULT 0,
	change_count    integer NOT NULL DEFAULT 0,
	destroy_count   integer NOT NULL DEFAULT 0,
	replace_count   integer NOT NULL DEFAULT 0,
	error           text    NOT NULL DEFAULT '',
	plan_sha256     text    NOT NULL DEFAULT '',
	created_at      text    COLLATE "C" NOT NULL,
	started_at      text    COLLATE "C",
	finished_at     text    COLLATE "C",
	-- A queued run waiting for another holder's workspace lock is not
	-- claimed.
	blocked_by      text    NOT NULL DEFAULT '',
	-- Pull request metadata, from the forge.
	pr_number       integer NOT NULL DEFAULT 0,
	pr_author       text    NOT NULL DEFAULT '',
	pr_base         text    NOT NULL DEFAULT '',
	-- landform.PolicyResult, ApplyResult and WorkspaceDrift as JSON text
	-- (what json.Marshal wrote, kept verbatim), '' for none.
	policy          text    NOT NULL DEFAULT '',
	apply           text    NOT NULL DEFAULT '',
	drift           text    NOT NULL DEFAULT '',
	commit_author   text    NOT NULL DEFAULT '',
	-- The replica (worker) that claimed the run.
	claimed_by      text    NOT NULL DEFAULT '',
	-- Flagged by RecoverRuns for a person, until ClearAttention.
	needs_attention boolean NOT NULL DEFAULT false
);
ALTER SEQUENCE runs_id_seq OWNED BY runs.id;

-- Newest first, overall and per workspace, ref and kind.
CREATE INDEX runs_created ON runs (created_at, id);
CREATE INDEX runs_repo_workspace_created ON runs (repo, workspace, created_at, id);
CREATE INDEX runs_repo_ref_created ON runs (repo, ref, created_at, id);
CREATE INDEX runs_kind_workspace ON runs (repo, workspace, kind, id);
CREATE INDEX runs_state_created ON runs (state, created_at, id);
-- The queue: oldest first, and the head of each workspace's queue.
CREATE INDEX runs_queued ON runs (created_at, id) WHERE state = 'queued';
CREATE INDEX runs_queued_workspace ON runs (repo, workspace, created_at, id) WHERE state = 'queued' AND blocked_by = '';
-- "Is a run of this workspace running?", and the runs a crash cut off.
CREATE INDEX runs_busy ON runs (repo, workspace) WHERE state IN ('running', 'applying');
CREATE INDEX runs_attention ON runs (created_at, id) WHERE needs_attention;

-- Workspace locks: at most one per (repo, workspace). "C" collation: listed
-- in byte order, as store/sqlite lists them.
CREATE TABLE workspace_locks (
	repo       text COLLATE "C" NOT NULL,
	workspace  text COLLATE "C" NOT NULL,
	holder     text NOT NULL,
	run_id     text NOT NULL DEFAULT '',
	reason     text NOT NULL DEFAULT '',
	created_at text COLLATE "C" NOT NULL,
	PRIMARY KEY (repo, workspace)
);
-- ReleaseLocksOf: a closed pull request frees all its locks.
CREATE INDEX workspace_locks_holder ON workspace_locks (repo, holder);

-- The last commit Landform processed per (repo, ref).
CREATE TABLE poll_state (
	repo       text NOT NULL,
	ref        text NOT NULL,
	commit_sha text NOT NULL,
	updated_at text NOT NULL,
	PRIMARY KEY (repo, ref)
);

-- Runs whose ledger record is still to be written, per repo, in the order
-- they were first enqueued (id). dirty: enqueued since PendingLedger last
-- returned it, so MarkLedgerDone keeps it. A record set aside (set_aside_at
-- not '') stays with its reason, out of PendingLedger, until enqueued again.
CREATE TABLE ledger_outbox (
	id               bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	repo             text    NOT NULL,
	run_id           bigint  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	dirty            boolean NOT NULL DEFAULT true,
	enqueued_at      text    COLLATE "C" NOT NULL,
	set_aside_at     text    NOT NULL DEFAULT '',
	set_aside_reason text    NOT NULL DEFAULT '',
	UNIQUE (repo, run_id)
);
CREATE INDEX ledger_outbox_run ON ledger_outbox (run_id);

-- What is to be said on a repository's forge, one row per thing said
-- (key); a newer message replaces the payload and bumps version.
CREATE TABLE forge_outbox (
	id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	repo        text    NOT NULL,
	key         text    NOT NULL,
	payload     bytea   NOT NULL,
	version     bigint  NOT NULL DEFAULT 1,
	enqueued_at text    NOT NULL,
	attempts    integer NOT NULL DEFAULT 0,
	last_error  text    NOT NULL DEFAULT '',
	UNIQUE (repo, key)
);

-- Approvals of runs' plans, and refused approvals.
CREATE TABLE approvals (
	id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	run_id      bigint  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	by_who      text    NOT NULL,
	channel     text    NOT NULL,
	commit_sha  text    NOT NULL DEFAULT '',
	plan_sha256 text    NOT NULL DEFAULT '',
	approved    boolean NOT NULL,
	reason      text    NOT NULL DEFAULT '',
	at          text    NOT NULL
);
CREATE INDEX approvals_run ON approvals (run_id, id);

-- Chat-ops commands already handled, and where each repo's comment poll
-- got to.
CREATE TABLE chatops_seen (
	repo    text NOT NULL,
	key     text NOT NULL,
	seen_at text NOT NULL,
	PRIMARY KEY (repo, key)
);
CREATE TABLE chatops_cursor (
	repo   text PRIMARY KEY,
	cursor text NOT NULL
);

-- API tokens (their sha256 only) and dashboard sessions.
CREATE TABLE api_tokens (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	identity   text   NOT NULL,
	role       text   NOT NULL,
	sha256     text   NOT NULL UNIQUE,
	created_at text   NOT NULL,
	expires_at text,
	created_by text   NOT NULL DEFAULT ''
);
CREATE TABLE web_sessions (
	sha256     text PRIMARY KEY,
	identity   text NOT NULL,
	role       text NOT NULL,
	csrf       text NOT NULL,
	created_at text NOT NULL,
	expires_at text COLLATE "C" NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- Leases: a name held by one holder until it expires, by the database's
-- clock. Replicas hold "replica/<owner>" while they live; one of them
-- holds "poll", which lets it poll, schedule drift and write the ledger.
CREATE TABLE leases (
	name       text        PRIMARY KEY,
	holder     text        NOT NULL,
	expires_at timestamptz NOT NULL
);
