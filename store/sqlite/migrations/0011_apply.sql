-- The apply of a run's plan (landform.ApplyResult as JSON, '' before one is
-- asked for) and the email of the commit's author (self-approval checks).
ALTER TABLE runs ADD COLUMN apply TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN commit_author TEXT NOT NULL DEFAULT '';

-- Chat-ops commands already handled, by where they came from ("comment/
-- <pr>/<id>", "slack/<trigger>"): a comment seen by both a webhook and a
-- comment poll is handled once.
CREATE TABLE chatops_seen (
	repo    TEXT NOT NULL,
	key     TEXT NOT NULL,
	seen_at TEXT NOT NULL,
	PRIMARY KEY (repo, key)
) STRICT;

-- Where the comment poll of a repository got to (the newest comment time
-- it has read, RFC 3339).
CREATE TABLE chatops_cursor (
	repo   TEXT PRIMARY KEY,
	cursor TEXT NOT NULL
) STRICT;
