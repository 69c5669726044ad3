-- Air-quality monitoring: daily and hourly values per station × pollutant (µg/m³, CO mg/m³); each value names the
-- import that wrote it. A re-imported station × day (or hour) replaces every value of that row.
CREATE TABLE IF NOT EXISTS air_imports (
    id INTEGER PRIMARY KEY,
    source_name TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    resolution TEXT NOT NULL CHECK (resolution IN ('daily', 'hourly')),
    n_records INTEGER NOT NULL,
    n_values INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS air_daily (
    station_id TEXT NOT NULL,
    date TEXT NOT NULL,            -- YYYY-MM-DD
    pollutant TEXT NOT NULL,       -- PM2.5 PM10 SO2 NO2 CO (24-h means), O3 (daily maximum 1-h), O3_8h (daily maximum 8-h)
    value REAL NOT NULL,
    import_id INTEGER NOT NULL REFERENCES air_imports(id),
    PRIMARY KEY (station_id, date, pollutant)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS air_daily_date ON air_daily(date);
CREATE TABLE IF NOT EXISTS air_hourly (
    station_id TEXT NOT NULL,
    datetime TEXT NOT NULL,        -- YYYY-MM-DD HH:MM, as the file labels the hour
    pollutant TEXT NOT NULL,       -- PM2.5 PM10 SO2 NO2 CO O3 (1-h values)
    value REAL NOT NULL,
    import_id INTEGER NOT NULL REFERENCES air_imports(id),
    PRIMARY KEY (station_id, datetime, pollutant)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS air_hourly_datetime ON air_hourly(datetime);
