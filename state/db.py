"""The embedded SQLite database of accounts and the audit trail (INSTANCE_DIR/app.sqlite)."""
from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

CHINA_TZ = timezone(timedelta(hours=8))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('reviewer', 'admin')),
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    input_sha256 TEXT,
    summary TEXT NOT NULL,
    versions TEXT NOT NULL
);
"""


def now() -> str:
    """Local time in China, as reviewers read it in the audit log."""
    return datetime.now(CHINA_TZ).isoformat(timespec="seconds")


class Database:
    """One locked connection shared by threads; every write is its own transaction."""

    def __init__(self, path: Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        with self._lock, self._conn:
            self._conn.executescript(_SCHEMA)

    def execute(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock, self._conn:
            return self._conn.execute(sql, args).fetchall()
