-- The token of the pending audit row an import was made under: at start-up a pending row whose token is here is
-- completed (the import happened), one whose token is not is removed (the process died before the import committed).
ALTER TABLE imports ADD COLUMN audit_token TEXT;
ALTER TABLE air_imports ADD COLUMN audit_token TEXT;
