"""Server-side sessions: the signed cookie names a session row, so logging out, a password reset or a disable ends
it for every copy of the cookie. The cookie carries a random 128-bit token and the table only its SHA-256, so a copy
of the table signs nobody in. A session is refused once it has been idle longer than idle_s or is older than max_age_s;
last_seen_at is written at most once a minute (not on every request), expired rows are removed as they are met."""
from __future__ import annotations

import hashlib
import secrets
import time

TOUCH_EVERY_S = 60  # how stale last_seen_at may get: the idle limit is exact to within this


def _key(token: str) -> str:
    return hashlib.sha256(str(token).encode()).hexdigest()


def end_user_sessions(tx, username: str) -> None:
    """Every session of username ends (inside the caller's transaction: a reset or a disable and this are one step)."""
    tx.execute("DELETE FROM sessions WHERE username = ?", (username,))


class SessionStore:
    clock = staticmethod(time.time)  # seconds since 1970; a test moves it

    def __init__(self, db, idle_s: float, max_age_s: float):
        self.db = db
        self.idle_s = idle_s
        self.max_age_s = max_age_s

    def create(self, username: str) -> str:
        """A new session for username; returns the token the cookie carries. Expired rows of anyone go now."""
        token = secrets.token_urlsafe(16)
        now = self.clock()
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?", (now - self.idle_s, now - self.max_age_s))
            tx.execute("INSERT INTO sessions (id, username, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                       (_key(token), username, now, now))
        return token

    def check(self, token: str | None, username: str | None) -> bool:
        """Whether token is a live session of username; a live one seen over a minute ago is marked seen now."""
        if not token or not username:
            return False
        key, now = _key(token), self.clock()
        rows = self.db.execute("SELECT username, created_at, last_seen_at FROM sessions WHERE id = ?", (key,))
        if not rows or rows[0][0] != username:
            return False
        _, created_at, last_seen_at = rows[0]
        if now - last_seen_at > self.idle_s or now - created_at > self.max_age_s:
            self.db.execute("DELETE FROM sessions WHERE id = ?", (key,))
            return False
        if now - last_seen_at >= TOUCH_EVERY_S:
            self.db.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", (now, key))
        return True

    def end(self, token: str | None) -> None:
        if token:
            self.db.execute("DELETE FROM sessions WHERE id = ?", (_key(token),))

    def end_all(self, username: str) -> None:
        with self.db.transaction() as tx:
            end_user_sessions(tx, username)

    def count(self, username: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM sessions WHERE username = ?", (username,))[0][0]
