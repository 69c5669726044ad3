"""Accounts and the audit trail, in one embedded SQLite file (INSTANCE_DIR/app.sqlite).

Passwords are stored as werkzeug scrypt hashes. Roles: reviewer (审查员: view and screen)
and admin (管理员: also import, publish and roll back layers). The audit log records who did
what, when, on which input (SHA-256) with which result and which layer versions, so an old
answer can be traced and reproduced.
"""
from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from geo.errors import DataError

ROLES = {"reviewer": "审查员", "admin": "管理员"}
CHINA_TZ = timezone(timedelta(hours=8))
USERNAME_RE = re.compile(r"^[\w.\-]{3,32}$")
MIN_PASSWORD = 10
_DUMMY_HASH = generate_password_hash("timing-equaliser")

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


class Accounts:
    def __init__(self, db: Database):
        self.db = db

    def create(self, username: str, password: str, role: str) -> None:
        if not USERNAME_RE.match(username or ""):
            raise DataError("用户名须为 3–32 个字母、数字、下划线、点或短横线", "username: 3–32 letters, digits, _ . -")
        if role not in ROLES:
            raise DataError(f"角色须为 {'、'.join(ROLES)}", f"role must be one of {', '.join(ROLES)}")
        if len(password or "") < MIN_PASSWORD:
            raise DataError(f"密码至少 {MIN_PASSWORD} 位", f"password needs at least {MIN_PASSWORD} characters")
        if self.db.execute("SELECT 1 FROM users WHERE username = ?", (username,)):
            raise DataError(f"用户 {username} 已存在", f"user {username} exists", status=409)
        self.db.execute("INSERT INTO users VALUES (?, ?, ?, ?)", (username, generate_password_hash(password), role, now()))

    def verify(self, username: str, password: str) -> dict | None:
        rows = self.db.execute("SELECT username, password_hash, role FROM users WHERE username = ?", (username or "",))
        if not rows:
            check_password_hash(_DUMMY_HASH, password or "")  # same work whether or not the user exists
            return None
        name, pw_hash, role = rows[0]
        return {"username": name, "role": role} if check_password_hash(pw_hash, password or "") else None

    def get(self, username: str) -> dict | None:
        rows = self.db.execute("SELECT username, role FROM users WHERE username = ?", (username,))
        return {"username": rows[0][0], "role": rows[0][1]} if rows else None

    def list(self) -> list[dict]:
        return [{"username": u, "role": r, "created_at": c} for u, r, c in self.db.execute("SELECT username, role, created_at FROM users ORDER BY username")]


class AuditLog:
    def __init__(self, db: Database):
        self.db = db

    def record(self, username: str | None, action: str, summary: str, versions: dict, input_sha256: str | None = None) -> None:
        self.db.execute("INSERT INTO audit (at, username, action, input_sha256, summary, versions) VALUES (?, ?, ?, ?, ?, ?)",
                        (now(), username or "匿名", action, input_sha256, summary[:2000], json.dumps(versions, ensure_ascii=False)))

    def entries(self, limit: int = 200) -> list[dict]:
        rows = self.db.execute("SELECT id, at, username, action, input_sha256, summary, versions FROM audit ORDER BY id DESC LIMIT ?", (limit,))
        return [{"id": i, "at": at, "username": u, "action": a, "input_sha256": h, "summary": s, "versions": json.loads(v)}
                for i, at, u, a, h, s, v in rows]

    def to_csv(self) -> str:
        buf = io.StringIO()
        buf.write("\ufeff")
        writer = csv.writer(buf)
        writer.writerow(["id", "at", "username", "action", "input_sha256", "summary", "versions"])
        for e in reversed(self.entries(limit=1_000_000)):
            writer.writerow([e["id"], e["at"], _cell(e["username"]), e["action"], e["input_sha256"] or "", _cell(e["summary"]),
                             json.dumps(e["versions"], ensure_ascii=False)])
        return buf.getvalue()


def _cell(text: str) -> str:
    """Summaries hold uploaded names: text Excel would run as a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text
