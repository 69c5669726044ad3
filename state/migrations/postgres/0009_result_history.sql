-- What "我的初筛" lists without decoding every stored result: the project information given (JSON, {} when none),
-- the values given as one text for searching, the number of sites and the conclusion in one line; and the result an audit row
-- produced (a screening's row links to its result page).
ALTER TABLE results ADD COLUMN project TEXT NOT NULL DEFAULT '{}';
ALTER TABLE results ADD COLUMN project_text TEXT NOT NULL DEFAULT '';  -- the values given, for searching
ALTER TABLE results ADD COLUMN n_sites INTEGER NOT NULL DEFAULT 0;
ALTER TABLE results ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE results ADD COLUMN levels TEXT NOT NULL DEFAULT '';  -- the conclusions by count, e.g. 涉及 2、临近 1
ALTER TABLE results ADD COLUMN rerun_of TEXT;
CREATE INDEX IF NOT EXISTS results_owner ON results(owner, created_at);
ALTER TABLE audit ADD COLUMN result_id TEXT;
