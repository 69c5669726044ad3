-- Section measurements: one row per section × date × parameter; each value names the import that wrote it.
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY,
    source_name TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    n_records INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS measurements (
    section_id TEXT NOT NULL,
    date TEXT NOT NULL,            -- YYYY-MM or YYYY-MM-DD, as imported
    period TEXT NOT NULL,          -- YYYY-MM
    parameter TEXT NOT NULL,
    value REAL NOT NULL,           -- mg/L (pH dimensionless)
    import_id INTEGER NOT NULL REFERENCES imports(id),
    PRIMARY KEY (section_id, date, parameter)
);
CREATE INDEX IF NOT EXISTS measurements_period ON measurements(period);
