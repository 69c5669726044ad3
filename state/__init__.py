"""Everything that is state besides the layers: accounts, audit trail, monitoring measurements (SQLite by default)."""
