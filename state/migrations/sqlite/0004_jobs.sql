-- OGC API – Processes jobs: a queue every worker claims from (status accepted → running, with a lease) and the
-- record of each execution (status, progress, compressed inputs and results) kept across restarts.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,                -- 128-bit random (secrets.token_urlsafe(16)): the id grants access to the job
    process_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'running', 'successful', 'failed', 'dismissed')),
    message TEXT NOT NULL DEFAULT '',
    progress INTEGER NOT NULL DEFAULT 0,   -- percent, 0–100
    created_at REAL NOT NULL,           -- seconds since 1970 (UTC), as every *_at below
    started_at REAL,
    finished_at REAL,
    updated_at REAL NOT NULL,
    owner TEXT,                         -- username of the submitter; NULL: anonymous
    owner_role TEXT,
    base_url TEXT NOT NULL,             -- the submitting request's root URL: absolute links in results made outside it
    inputs BLOB NOT NULL,               -- zlib-compressed execution request body
    results BLOB,                       -- zlib-compressed JSON of the outputs; NULL until successful, deleted on dismiss
    result_id TEXT,                     -- the stored screening result the outputs link to (deleted with a dismissed job)
    error TEXT,                         -- JSON exception of a failed job
    worker TEXT,                        -- who holds the lease of a running job
    lease_until REAL,                   -- a running job whose lease expired is claimed again
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_queue ON jobs(status, created_at);
CREATE INDEX jobs_owner ON jobs(owner, created_at);
