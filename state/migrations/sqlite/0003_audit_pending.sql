-- A publish or version switch on the file store writes its audit row first, marked pending, and completes it once the
-- new manifest is in place; start-up completes or removes what a killed process left pending.
ALTER TABLE audit ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
