"""The audit trail: who did what, when, on which input (SHA-256), with which result and which
layer versions, so an old answer can be traced and reproduced."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from state.db import CHINA_TZ, now

SETTLE_AFTER = timedelta(seconds=60)  # a pending row younger than this may belong to a publish still running


class AuditLog:
    def __init__(self, db):
        self.db = db

    def record(self, username: str | None, action: str, summary: str, versions: dict, input_sha256: str | None = None, tx=None,
               pending: bool = False, result_id: str | None = None) -> int:
        """tx: write inside that open transaction (a publish and its audit row commit together or not at all).
        pending: a row for a change not yet in place, left out of the log until complete() (see settle()).
        result_id: the stored screening result the action produced (the log links to it)."""
        return (tx or self.db).execute(
            "INSERT INTO audit (at, username, action, input_sha256, summary, versions, pending, result_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (now(), username or "匿名", action, input_sha256, summary[:2000], json.dumps(versions, ensure_ascii=False), int(pending),
             result_id))[0][0]

    def complete(self, row_id: int, summary: str | None = None, versions: dict | None = None) -> bool:
        """A pending row into the log, with the summary and versions known only once the change is made. False if the
        row is gone (settled away by a process that started while a long change was still running)."""
        return bool(self.db.execute(
            "UPDATE audit SET pending = 0, summary = COALESCE(?, summary), versions = COALESCE(?, versions) WHERE id = ? RETURNING id",
            (summary[:2000] if summary else None, json.dumps(versions, ensure_ascii=False) if versions is not None else None, row_id)))

    def discard(self, row_id: int | None) -> None:
        """A pending row whose change failed. Best effort: a full disk may refuse this too, and settle() at the next
        start-up removes what is left."""
        if row_id is None:
            return
        try:
            self.db.execute("DELETE FROM audit WHERE id = ? AND pending = 1", (row_id,))
        except Exception:  # noqa: BLE001 — the caller is already failing with the error that matters
            pass

    def settle(self, happened) -> None:
        """Rows a killed process left pending: kept where happened(action, versions) says the change is in place,
        removed where it never took effect, so the log names exactly the changes that were made."""
        for row_id, at, action, versions in self.db.execute("SELECT id, at, action, versions FROM audit WHERE pending = 1"):
            if datetime.now(CHINA_TZ) - datetime.fromisoformat(at) < SETTLE_AFTER:
                continue  # another process may be between its row and its manifest right now
            outcome = happened(action, json.loads(versions))  # True, or {"summary", "versions"} to complete the row with
            if outcome:
                self.complete(row_id, **(outcome if isinstance(outcome, dict) else {}))
            else:
                self.db.execute("DELETE FROM audit WHERE id = ? AND pending = 1", (row_id,))

    def entries(self, limit: int = 200) -> list[dict]:
        rows = self.db.execute("SELECT id, at, username, action, input_sha256, summary, versions, result_id FROM audit "
                               "WHERE pending = 0 ORDER BY id DESC LIMIT ?", (limit,))
        return [{"id": i, "at": at, "username": u, "action": a, "input_sha256": h, "summary": s, "versions": json.loads(v),
                 "result_id": r} for i, at, u, a, h, s, v, r in rows]
