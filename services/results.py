"""Things kept between requests: screening results by id (the result page, exports and PDF without a
re-upload, also after a restart and on any worker) and uploads awaiting an administrator's review.

A result is stored as compressed JSON (geometries as WKB) with the layer versions it was computed from,
so the answer can be traced and recomputed identically. Ids are 128-bit random, not guessable.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
import zlib
from collections import OrderedDict

import numpy as np
import shapely

STAGING_TTL_S = 3600
_GEOMETRY = "__geometry_wkb__"


def _encode(value):
    if isinstance(value, shapely.Geometry):
        return {_GEOMETRY: shapely.to_wkb(value, hex=True)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} in a screening result")


def _decode(obj: dict):
    return shapely.from_wkb(obj[_GEOMETRY]) if len(obj) == 1 and _GEOMETRY in obj else obj


def dumps(results: list[dict]) -> bytes:
    return zlib.compress(json.dumps(results, default=_encode, ensure_ascii=False, allow_nan=True).encode(), 6)


def loads(body: bytes) -> list[dict]:
    return json.loads(zlib.decompress(bytes(body)).decode(), object_hook=_decode)


class ResultStore:
    """Screening results in the state database, with the most recent ones decoded in memory."""

    def __init__(self, db, retention_days: float, memory_items: int = 64):
        self.db = db
        self.retention_s = retention_days * 86400
        self._recent: OrderedDict[str, list[dict]] = OrderedDict()
        self._lock = threading.Lock()
        self.memory_items = memory_items

    def put(self, results: list[dict]) -> str:
        rid = secrets.token_urlsafe(16)
        body = dumps(results)
        versions = {k: v for r in results for k, v in r.get("method", {}).get("data", {}).get("layer_versions", {}).items()}
        now = time.time()
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM results WHERE created_at < ?", (now - self.retention_s,))
            tx.execute("INSERT INTO results (id, created_at, layer_versions, body) VALUES (?, ?, ?, ?)",
                       (rid, now, json.dumps(versions, ensure_ascii=False), body))
        self._remember(rid, loads(body))  # what a later reader gets, byte for byte: the stored form
        return rid

    def get(self, rid: str) -> list[dict] | None:
        with self._lock:
            if rid in self._recent:
                self._recent.move_to_end(rid)
                return self._recent[rid]
        rows = self.db.execute("SELECT body FROM results WHERE id = ? AND created_at >= ?", (str(rid)[:64], time.time() - self.retention_s))
        if not rows:
            return None
        results = loads(rows[0][0])
        self._remember(rid, results)
        return results

    def forget(self, rid: str) -> None:
        """Out of this process's memory (the caller deletes the stored row): a dismissed job's result."""
        with self._lock:
            self._recent.pop(rid, None)

    def _remember(self, rid: str, results: list[dict]) -> None:
        with self._lock:
            self._recent[rid] = results
            while len(self._recent) > self.memory_items:
                self._recent.popitem(last=False)


class Staging:
    """Uploads awaiting review, in this process's memory for an hour (the embedded, single-process default)."""

    def __init__(self):
        self._items: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def put(self, staged, source: dict | None = None, data: bytes | None = None):
        with self._lock:
            cutoff = time.time() - STAGING_TTL_S
            self._items = {k: v for k, v in self._items.items() if v[0] > cutoff}
            self._items[staged.token] = (time.time(), staged)

    def get(self, token):
        with self._lock:
            item = self._items.get(token)
        return item[1] if item and item[0] > time.time() - STAGING_TTL_S else None

    def pop(self, token):
        with self._lock:
            self._items.pop(token, None)


class SharedStaging(Staging):
    """Uploads awaiting review in the shared database, so review and publish may reach different workers:
    a worker that has not read the upload rebuilds it from the stored bytes (rebuild(source, data) → staged)."""

    def __init__(self, db, rebuild):
        super().__init__()
        self.db = db
        self.rebuild = rebuild

    def put(self, staged, source: dict | None = None, data: bytes | None = None):
        super().put(staged)
        now = time.time()
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM staged_imports WHERE created_at < ?", (now - STAGING_TTL_S,))
            tx.execute("INSERT INTO staged_imports (token, created_at, source, data) VALUES (?, ?, ?, ?)",
                       (staged.token, now, json.dumps(source, ensure_ascii=False), data))

    def get(self, token):
        found = super().get(token)
        if found is not None:
            return found
        rows = self.db.execute("SELECT source, data FROM staged_imports WHERE token = ? AND created_at >= ?",
                               (str(token)[:64], time.time() - STAGING_TTL_S))
        if not rows:
            return None
        staged = self.rebuild(json.loads(rows[0][0]), bytes(rows[0][1]))
        staged.token = token
        super().put(staged)
        return staged

    def pop(self, token):
        super().pop(token)
        self.db.execute("DELETE FROM staged_imports WHERE token = ?", (str(token)[:64],))
