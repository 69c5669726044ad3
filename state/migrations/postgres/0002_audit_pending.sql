-- The same column as the SQLite audit table (PostgreSQL writes a publish and its audit row in one transaction, so
-- its rows are never pending).
ALTER TABLE audit ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
