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


_SHARED = "__geometry__"  # {"__geometry__": n}: the n-th geometry of the result's table
_TABLE_MARK = b"\x00"  # a stored body that starts with this holds its geometry table first (JSON never has a NUL)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} in a screening result")


def _decode(obj: dict):
    """Bodies stored before the geometry table: each geometry inline as WKB."""
    return shapely.from_wkb(obj[_GEOMETRY]) if len(obj) == 1 and _GEOMETRY in obj else obj


def _dumps_sized(results: list[dict]) -> tuple[bytes, int]:
    """Compressed JSON with each distinct geometry stored once: every hit names the whole zone it meets, and a
    2,000-site screening names the same few zones thousands of times (stored inline, decoding them took seconds)."""
    table: list[str] = []
    by_id: dict[int, int] = {}
    by_wkb: dict[str, int] = {}
    kept = []  # the geometries seen, alive while their ids are keys

    def encode(value):
        if isinstance(value, shapely.Geometry):
            n = by_id.get(id(value))
            if n is None:
                wkb = shapely.to_wkb(value, hex=True)
                n = by_wkb.setdefault(wkb, len(table))
                if n == len(table):
                    table.append(wkb)
                by_id[id(value)] = n
                kept.append(value)
            return {_SHARED: n}
        return _plain(value)

    body = json.dumps(results, default=encode, ensure_ascii=False, allow_nan=True).encode()
    raw = _TABLE_MARK + json.dumps(table).encode() + _TABLE_MARK + body
    return zlib.compress(raw, 6), len(raw)


def _loads_sized(body: bytes) -> tuple[list[dict], int]:
    raw = zlib.decompress(bytes(body))
    if not raw.startswith(_TABLE_MARK):
        return json.loads(raw.decode(), object_hook=_decode), len(raw)
    table_json, results_json = raw[1:].split(_TABLE_MARK, 1)
    geoms = shapely.from_wkb(np.array(json.loads(table_json), dtype=object)) if table_json != b"[]" else []

    def decode(obj: dict):
        return geoms[obj[_SHARED]] if len(obj) == 1 and _SHARED in obj else obj

    return json.loads(results_json.decode(), object_hook=decode), len(raw)


def dumps(results: list[dict]) -> bytes:
    return _dumps_sized(results)[0]


def loads(body: bytes) -> list[dict]:
    return _loads_sized(body)[0]


MEMORY_BYTES = 64 * 1024 * 1024  # the decoded results one process keeps, as their uncompressed JSON length
LARGEST_KEPT_FRACTION = 0.25  # a result above this share of the budget is never kept: it is decoded anew per read


class ResultStore:
    """Screening results in the state database (with their owner: the signed-in user who made them, or None), the
    most recent ones decoded in memory. The memory is bounded by size, not count: a 2,000-site result decodes to
    hundreds of MB, so each is accounted at its uncompressed JSON length (decoded, its Python objects and geometries
    take about two thirds of that), the total stays within memory_bytes, and one larger than LARGEST_KEPT_FRACTION of
    it is not kept at all (a later reader decodes the stored row again)."""

    def __init__(self, db, retention_days: float, memory_items: int = 64, memory_bytes: int = MEMORY_BYTES):
        self.db = db
        self.retention_s = retention_days * 86400
        self._recent: OrderedDict[str, tuple[str | None, list[dict], int]] = OrderedDict()  # id → (owner, results, size)
        self._lock = threading.Lock()
        self.memory_items = memory_items
        self.memory_bytes = memory_bytes
        self.memory_used = 0  # the accounted size of what _recent holds

    def put(self, results: list[dict], owner: str | None = None, with_tx=None, summary: str = "",
            rerun_of: str | None = None) -> str:
        """Store results; with_tx(tx, rid) writes in the same transaction (the audit row: both or neither).
        summary: the conclusion in one line, and the project information of the results, are kept beside the body
        for the owner's history (history()) with the conclusions by count; rerun_of: the stored result this one screened again."""
        rid = secrets.token_urlsafe(16)
        body, size = _dumps_sized(results)
        versions = {k: v for r in results for k, v in r.get("method", {}).get("data", {}).get("layer_versions", {}).items()}
        project = results[0].get("project") or {} if results else {}
        counts: dict[str, int] = {}
        for r in results:
            level = r.get("verdict", {}).get("level", "")
            counts[level] = counts.get(level, 0) + 1
        levels = "、".join(k if len(results) == 1 else f"{k} {n}" for k, n in counts.items())
        now = time.time()
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM results WHERE created_at < ?", (now - self.retention_s,))
            tx.execute("INSERT INTO results (id, created_at, layer_versions, body, owner, project, project_text, n_sites, summary, "
                       "rerun_of, levels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (rid, now, json.dumps(versions, ensure_ascii=False), body, owner, json.dumps(project, ensure_ascii=False),
                        " ".join(project.values()), len(results), summary[:2000], rerun_of, levels))
            if with_tx is not None:
                with_tx(tx, rid)
        if self._keeps(size):
            self._remember(rid, owner, loads(body), size)  # what a later reader gets, byte for byte: the stored form
        return rid

    def entry(self, rid: str) -> tuple[list[dict], str | None] | None:
        """(results, owner) of a stored result, or None if there is none (unknown or past RESULT_RETENTION_DAYS)."""
        with self._lock:
            if rid in self._recent:
                self._recent.move_to_end(rid)
                owner, results, _ = self._recent[rid]
                return results, owner
        rows = self.db.execute("SELECT body, owner FROM results WHERE id = ? AND created_at >= ?",
                               (str(rid)[:64], time.time() - self.retention_s))
        if not rows:
            return None
        results, size = _loads_sized(rows[0][0])
        if self._keeps(size):
            self._remember(rid, rows[0][1], results, size)
        return results, rows[0][1]

    def history(self, owner: str, search: str = "", limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
        """(rows, total) of owner's stored results, newest first, without decoding them: id, created_at (epoch s),
        project, n_sites, summary, layer_versions, rerun_of. search: a text in the project information or the
        conclusion (case-insensitive)."""
        where = "owner = ? AND created_at >= ?"
        args: list = [owner, time.time() - self.retention_s]
        if search:
            pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where += " AND (LOWER(project_text) LIKE LOWER(?) ESCAPE '\\' OR LOWER(summary) LIKE LOWER(?) ESCAPE '\\')"
            args += [pattern, pattern]
        total = self.db.execute(f"SELECT COUNT(*) FROM results WHERE {where}", tuple(args))[0][0]
        rows = self.db.execute(f"SELECT id, created_at, project, n_sites, summary, layer_versions, rerun_of, levels FROM results "
                               f"WHERE {where} ORDER BY created_at DESC LIMIT ? OFFSET ?", (*args, int(limit), int(offset)))
        return [{"id": i, "created_at": c, "project": json.loads(p or "{}"), "n_sites": n, "summary": s, "levels": lv,
                 "layer_versions": json.loads(v), "rerun_of": r} for i, c, p, n, s, v, r, lv in rows], int(total)

    def get(self, rid: str) -> list[dict] | None:
        found = self.entry(rid)
        return found[0] if found else None

    def forget(self, rid: str) -> None:
        """Out of this process's memory (the caller deletes the stored row): a dismissed job's result."""
        with self._lock:
            dropped = self._recent.pop(rid, None)
            if dropped:
                self.memory_used -= dropped[2]

    def _keeps(self, size: int) -> bool:
        return size <= self.memory_bytes * LARGEST_KEPT_FRACTION

    def _remember(self, rid: str, owner: str | None, results: list[dict], size: int) -> None:
        with self._lock:
            old = self._recent.pop(rid, None)
            if old:
                self.memory_used -= old[2]
            self._recent[rid] = (owner, results, size)
            self.memory_used += size
            while len(self._recent) > self.memory_items or self.memory_used > self.memory_bytes:
                self.memory_used -= self._recent.popitem(last=False)[1][2]


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
