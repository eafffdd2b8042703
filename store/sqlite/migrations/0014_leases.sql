-- Leases: a name held by one holder until it expires. Replicas of the
-- daemon hold "replica/<owner>" while they live, and one of them holds
-- "poll", which lets it poll, schedule drift and write the ledger.
CREATE TABLE leases (
	name        TEXT PRIMARY KEY,
	holder      TEXT NOT NULL,
	expires_at  TEXT NOT NULL
) STRICT;
