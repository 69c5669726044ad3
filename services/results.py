"""Short-lived things kept in memory between requests: screening results by id (for the result
page, exports and PDF without a re-upload) and uploads awaiting an administrator's review."""
from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict

STAGING_TTL_S = 3600


class ResultCache:
    """Recent screening results by id."""

    def __init__(self, max_items: int = 200):
        self._items: OrderedDict[str, list[dict]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_items = max_items

    def put(self, results: list[dict]) -> str:
        rid = uuid.uuid4().hex[:16]
        with self._lock:
            self._items[rid] = results
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return rid

    def get(self, rid: str) -> list[dict] | None:
        with self._lock:
            return self._items.get(rid)


class Staging:
    """Uploads awaiting review, in memory for an hour: nothing reaches disk before publishing."""

    def __init__(self):
        self._items: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def put(self, staged):
        with self._lock:
            cutoff = time.time() - STAGING_TTL_S
            self._items = {k: v for k, v in self._items.items() if v[0] > cutoff}
            self._items[staged.token] = (time.time(), staged)

    def get(self, token):
        with self._lock:
            item = self._items.get(token)
        return item[1] if item else None

    def pop(self, token):
        with self._lock:
            self._items.pop(token, None)
