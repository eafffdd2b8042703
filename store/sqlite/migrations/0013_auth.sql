-- API tokens made with `landform token create` (only their sha256), and
-- the dashboard's sign-in sessions (by the sha256 of the cookie's value).
CREATE TABLE api_tokens (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	identity    TEXT NOT NULL,
	role        TEXT NOT NULL,
	sha256      TEXT NOT NULL UNIQUE,
	created_at  TEXT NOT NULL,
	expires_at  TEXT,
	created_by  TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE web_sessions (
	sha256      TEXT PRIMARY KEY,
	identity    TEXT NOT NULL,
	role        TEXT NOT NULL,
	csrf        TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	expires_at  TEXT NOT NULL
) STRICT;

CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
