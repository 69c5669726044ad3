-- Accounts can be disabled, and a password reset or a disable ends every session already signed in:
-- a session carries the session_version it was signed with and is honoured only while it is current.
ALTER TABLE users ADD COLUMN disabled_at TEXT;
ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;
