-- Server-side sessions: the cookie carries a random token, the table its SHA-256 (a copy of the table signs nobody in).
-- A session counts only while its row exists: logout deletes it, a password reset or a disable deletes the account's rows,
-- and a row idle longer than SESSION_IDLE_MINUTES or older than SESSION_MAX_HOURS is refused and removed.
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,                -- hex SHA-256 of the token in the cookie
    username TEXT NOT NULL,
    created_at REAL NOT NULL,           -- seconds since 1970 (UTC), as last_seen_at
    last_seen_at REAL NOT NULL          -- refreshed at most once a minute
);
CREATE INDEX IF NOT EXISTS sessions_username ON sessions(username);
CREATE INDEX IF NOT EXISTS sessions_last_seen ON sessions(last_seen_at);
-- Who made a stored screening result (NULL: anonymous); with RESULTS_PRIVATE only they and administrators read it.
ALTER TABLE results ADD COLUMN owner TEXT;
