-- Everything that is state, in one schema (search_path <schema>, public; PostGIS lives in public).
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('reviewer', 'admin')),
    created_at TEXT NOT NULL
);
CREATE TABLE audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    input_sha256 TEXT,
    summary TEXT NOT NULL,
    versions TEXT NOT NULL
);

CREATE TABLE imports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_name TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    n_records INTEGER NOT NULL
);
CREATE TABLE measurements (
    section_id TEXT NOT NULL,
    date TEXT NOT NULL,
    period TEXT NOT NULL,
    parameter TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    import_id BIGINT NOT NULL REFERENCES imports(id),
    PRIMARY KEY (section_id, date, parameter)
);
CREATE INDEX measurements_period ON measurements(period);

CREATE TABLE results (
    id TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    layer_versions TEXT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX results_created ON results(created_at);

-- Shared by every worker: rate-limit events (sliding 60 s window), uploads awaiting review, the session key.
CREATE TABLE rate_events (
    client TEXT NOT NULL,
    bucket TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL
);
CREATE INDEX rate_events_key ON rate_events(client, bucket, at);
CREATE TABLE staged_imports (
    token TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    source TEXT NOT NULL,              -- JSON: file name, district, kind, CRS, user
    data BYTEA NOT NULL
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Layer versions: one row per version (its manifest entry), one row per feature, the published pointer per
-- district × kind, and a generation counter every worker compares on each request.
CREATE TABLE layer_versions (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    adcode TEXT NOT NULL,
    kind TEXT NOT NULL,
    entry JSONB NOT NULL
);
CREATE TABLE layer_features (
    version_id TEXT NOT NULL REFERENCES layer_versions(id),
    ord INTEGER NOT NULL,
    feature_id TEXT NOT NULL,
    properties JSONB NOT NULL,
    geom geometry(Geometry, 4490) NOT NULL,
    PRIMARY KEY (version_id, ord)
);
CREATE INDEX layer_features_geom ON layer_features USING gist (geom);
CREATE TABLE published (
    adcode TEXT NOT NULL,
    kind TEXT NOT NULL,
    version_id TEXT NOT NULL REFERENCES layer_versions(id),
    PRIMARY KEY (adcode, kind)
);
CREATE TABLE publication (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO publication VALUES (1, 0);
-- What a GIS client adds as a layer: the features of every published version.
CREATE VIEW published_features AS
    SELECT p.adcode, p.kind, f.version_id, f.feature_id, f.properties, f.geom
    FROM published p JOIN layer_features f ON f.version_id = p.version_id;
