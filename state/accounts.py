"""Accounts: werkzeug scrypt password hashes; roles reviewer (审查员: view and screen) and
admin (管理员: also import, publish and roll back layers)."""
from __future__ import annotations

import re

from werkzeug.security import check_password_hash, generate_password_hash

from geo.errors import ConflictError, DataError
from state.db import now

ROLES = {"reviewer": "审查员", "admin": "管理员"}
USERNAME_RE = re.compile(r"^[\w.\-]{3,32}$")
MIN_PASSWORD = 10
_DUMMY_HASH = generate_password_hash("timing-equaliser")


class Accounts:
    def __init__(self, db):
        self.db = db

    def create(self, username: str, password: str, role: str) -> None:
        if not USERNAME_RE.match(username or ""):
            raise DataError("用户名须为 3–32 个字母、数字、下划线、点或短横线", "username: 3–32 letters, digits, _ . -")
        if role not in ROLES:
            raise DataError(f"角色须为 {'、'.join(ROLES)}", f"role must be one of {', '.join(ROLES)}")
        if len(password or "") < MIN_PASSWORD:
            raise DataError(f"密码至少 {MIN_PASSWORD} 位", f"password needs at least {MIN_PASSWORD} characters")
        if self.db.execute("SELECT 1 FROM users WHERE username = ?", (username,)):
            raise ConflictError(f"用户 {username} 已存在", f"user {username} exists")
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
