-- Screening results kept for their links (/screen/results/<id>, PDF, Excel) across restarts.
CREATE TABLE results (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,          -- seconds since 1970 (UTC)
    layer_versions TEXT NOT NULL,      -- JSON {"adcode/kind": version} the answer was computed from
    body BLOB NOT NULL                 -- zlib-compressed JSON of the results
);
CREATE INDEX results_created ON results(created_at);
