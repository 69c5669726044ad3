"""Accounts: werkzeug scrypt password hashes; roles reviewer (审查员: view and screen) and
admin (管理员: also import, publish and roll back layers). A disabled account cannot sign in, and a
password reset or a disable raises session_version and deletes the account's session rows, which ends its sessions."""
from __future__ import annotations

import re
import time

from werkzeug.security import check_password_hash, generate_password_hash

from geo.errors import ConflictError, DataError, NotFoundError
from state.db import now
from state.sessions import end_user_sessions

ROLES = {"reviewer": "审查员", "admin": "管理员"}
USERNAME_RE = re.compile(r"^[\w.\-]{3,32}$")
MIN_PASSWORD = 10
_DUMMY_HASH = generate_password_hash("timing-equaliser")


LOGIN_FREE_FAILURES = 5  # failures in a row before an account name is locked
LOGIN_LOCK_SECONDS = 30  # the first lock; each further failure doubles it
LOGIN_LOCK_MAX_SECONDS = 15 * 60
LOGIN_FAILURES_FORGOTTEN_S = 24 * 3600  # a name that has not failed for a day starts again


class Accounts:
    def __init__(self, db):
        self.db = db

    # --- failed logins, per account name (the per-client budget is the rate limiter's) -----------------------------

    def locked_for(self, username: str) -> float:
        """Seconds the name is still locked for after failed logins (0 when it is not)."""
        rows = self.db.execute("SELECT locked_until FROM login_failures WHERE username = ?", (username or "",))
        return max(0.0, rows[0][0] - time.time()) if rows and rows[0][0] else 0.0

    def record_failure(self, username: str) -> dict:
        """One more failed login for the name: {"failures", "locked_for_s"} (0 until LOGIN_FREE_FAILURES in a row; then
        LOGIN_LOCK_SECONDS, doubling with each further failure, at most LOGIN_LOCK_MAX_SECONDS)."""
        now = time.time()
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM login_failures WHERE last_failure_at < ?", (now - LOGIN_FAILURES_FORGOTTEN_S,))
            tx.execute("INSERT INTO login_failures (username, failures, last_failure_at) VALUES (?, 1, ?) "
                       "ON CONFLICT (username) DO UPDATE SET failures = login_failures.failures + 1, last_failure_at = excluded.last_failure_at",
                       (username or "", now))
            failures = tx.execute("SELECT failures FROM login_failures WHERE username = ?", (username or "",))[0][0]
            lock = 0.0
            if failures >= LOGIN_FREE_FAILURES:
                lock = float(min(LOGIN_LOCK_SECONDS * 2 ** (failures - LOGIN_FREE_FAILURES), LOGIN_LOCK_MAX_SECONDS))
                tx.execute("UPDATE login_failures SET locked_until = ? WHERE username = ?", (now + lock, username or ""))
        return {"failures": failures, "locked_for_s": lock}

    def clear_failures(self, username: str) -> None:
        self.db.execute("DELETE FROM login_failures WHERE username = ?", (username,))

    def create(self, username: str, password: str, role: str) -> None:
        if not USERNAME_RE.match(username or ""):
            raise DataError("用户名须为 3–32 个字母、数字、下划线、点或短横线", "username: 3–32 letters, digits, _ . -")
        if role not in ROLES:
            raise DataError(f"角色须为 {'、'.join(ROLES)}", f"role must be one of {', '.join(ROLES)}")
        if len(password or "") < MIN_PASSWORD:
            raise DataError(f"密码至少 {MIN_PASSWORD} 位", f"password needs at least {MIN_PASSWORD} characters")
        if self.db.execute("SELECT 1 FROM users WHERE username = ?", (username,)):
            raise ConflictError(f"用户 {username} 已存在", f"user {username} exists")
        self.db.execute("INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                        (username, generate_password_hash(password), role, now()))

    def verify(self, username: str, password: str) -> dict | None:
        """The account (username, role, session_version) if the password is right and it is not disabled."""
        rows = self.db.execute("SELECT username, password_hash, role, session_version, disabled_at FROM users WHERE username = ?",
                               (username or "",))
        if not rows:
            check_password_hash(_DUMMY_HASH, password or "")  # same work whether or not the user exists
            return None
        name, pw_hash, role, version, disabled_at = rows[0]
        right = check_password_hash(pw_hash, password or "")
        return {"username": name, "role": role, "session_version": version} if right and disabled_at is None else None

    def get(self, username: str) -> dict | None:
        """An enabled account, or None (unknown or disabled)."""
        rows = self.db.execute("SELECT username, role, session_version FROM users WHERE username = ? AND disabled_at IS NULL", (username,))
        return {"username": rows[0][0], "role": rows[0][1], "session_version": rows[0][2]} if rows else None

    def list(self) -> list[dict]:
        return [{"username": u, "role": r, "created_at": c, "disabled_at": d}
                for u, r, c, d in self.db.execute("SELECT username, role, created_at, disabled_at FROM users ORDER BY username")]

    def _existing(self, username: str) -> None:
        if not self.db.execute("SELECT 1 FROM users WHERE username = ?", (username,)):
            raise NotFoundError(f"没有用户 {str(username)[:40]}", f"no user {str(username)[:40]!r}")

    def reset_password(self, username: str, password: str) -> None:
        """A new password; every session signed in before it ends."""
        self._existing(username)
        if len(password or "") < MIN_PASSWORD:
            raise DataError(f"密码至少 {MIN_PASSWORD} 位", f"password needs at least {MIN_PASSWORD} characters")
        with self.db.transaction() as tx:
            tx.execute("UPDATE users SET password_hash = ?, session_version = session_version + 1 WHERE username = ?",
                       (generate_password_hash(password), username))
            end_user_sessions(tx, username)

    def disable(self, username: str) -> None:
        """No more sign-ins, and the account's open sessions end (its history and audit rows stay)."""
        self._existing(username)
        with self.db.transaction() as tx:
            tx.execute("UPDATE users SET disabled_at = COALESCE(disabled_at, ?), session_version = session_version + 1 WHERE username = ?",
                       (now(), username))
            end_user_sessions(tx, username)

    def enable(self, username: str) -> None:
        self._existing(username)
        self.db.execute("UPDATE users SET disabled_at = NULL WHERE username = ?", (username,))
