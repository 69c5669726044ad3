"""The audit trail: who did what, when, on which input (SHA-256), with which result and which
layer versions, so an old answer can be traced and reproduced."""
from __future__ import annotations

import json

from state.db import now


class AuditLog:
    def __init__(self, db):
        self.db = db

    def record(self, username: str | None, action: str, summary: str, versions: dict, input_sha256: str | None = None, tx=None) -> None:
        """tx: write inside that open transaction (a publish and its audit row commit together or not at all)."""
        (tx or self.db).execute("INSERT INTO audit (at, username, action, input_sha256, summary, versions) VALUES (?, ?, ?, ?, ?, ?)",
                        (now(), username or "匿名", action, input_sha256, summary[:2000], json.dumps(versions, ensure_ascii=False)))

    def entries(self, limit: int = 200) -> list[dict]:
        rows = self.db.execute("SELECT id, at, username, action, input_sha256, summary, versions FROM audit ORDER BY id DESC LIMIT ?", (limit,))
        return [{"id": i, "at": at, "username": u, "action": a, "input_sha256": h, "summary": s, "versions": json.loads(v)}
                for i, at, u, a, h, s, v in rows]
