-- A queued run waiting for another holder's workspace lock is not claimed.
ALTER TABLE runs ADD COLUMN blocked_by TEXT NOT NULL DEFAULT '';
