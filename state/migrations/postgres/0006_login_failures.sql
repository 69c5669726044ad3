-- Failed logins per account name (known or not, so the answer says nothing about which names exist): after a few in a
-- row the name is locked for a time that doubles with each further failure; a successful login clears the row.
CREATE TABLE IF NOT EXISTS login_failures (
    username TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at DOUBLE PRECISION NOT NULL,
    locked_until DOUBLE PRECISION
);
