"""The data a request is answered from, swapped whole when a layer version is published.

Every service that holds layer data (district summaries, screening indexes, share caches,
section locations) is rebuilt together off to the side, then one reference assignment makes
it current: a request that started on the old snapshot finishes on it, the next one sees the
new one, and none sees a mix. refresh() (once per request) compares the repository's generation
with the snapshot's, so a publish by another process is served from that process's next request on;
while one thread rebuilds, the others go on answering from the previous snapshot.
"""
from __future__ import annotations

import ctypes
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from layers.versions import LayerRepository
from services.air import AirService
from services.districts import DistrictService
from services.layer_tiles import LayerTiles
from services.screening import ScreeningService
from services.sections import SectionService
from services.shares import ShareService
from state.air_measurements import AirMeasurementStore
from state.measurements import MeasurementStore


def release_freed_memory() -> None:
    """Hand the heap that building the indexes used and freed back to the system (glibc keeps it otherwise:
    ~200 MB of a 5 M-vertex red line's temporaries stay in the resident size)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


@dataclass(frozen=True)
class Snapshot:
    store: object
    districts: DistrictService
    screening: ScreeningService
    shares: ShareService
    sections: SectionService
    air: AirService
    layer_tiles: LayerTiles


class LiveData:
    def __init__(self, repo: LayerRepository, plans: dict, evidence: dict, measurements: MeasurementStore, raster_dir: Path,
                 tolerance_pp: float, area_tolerance_pct: float, air_measurements: AirMeasurementStore | None = None, *,
                 shares_dir: Path | None = None, precompute_shares: bool = False, tiles_dir: Path | None = None,
                 tiles_min_vertices: int | None = None):
        self.repo = repo
        self.plans = plans
        self.evidence = evidence
        self.measurements = measurements
        self.air_measurements = air_measurements or AirMeasurementStore(measurements.db)
        self.share_args = (Path(raster_dir), tolerance_pp, area_tolerance_pct, shares_dir)
        self.precompute_shares = precompute_shares
        self.tile_args = (tiles_dir, tiles_min_vertices)
        self._lock = threading.Lock()
        self._generation = None
        self._snapshot = self._build()
        self._generation = self._next_generation
        self._warm(self._snapshot)

    def _warm(self, snap: Snapshot) -> None:
        """Every district's shares computed (or read back) in the background as soon as a snapshot is live, so
        the home page and the shares page read them instead of computing on a reviewer's request."""
        if self.precompute_shares:
            threading.Thread(target=self._warm_all, args=(snap,), name="shares-warm-up", daemon=True).start()
        if snap.layer_tiles.heavy():  # the heavy layers' vector tiles, cut (or found on disk) while GeoJSON stands in
            threading.Thread(target=snap.layer_tiles.build_all, name="layer-tiles", daemon=True).start()

    @staticmethod
    def _warm_all(snap: Snapshot) -> None:
        try:
            snap.shares.all_districts()
        except Exception:  # noqa: BLE001 — a request computes it again and shows the error there
            logging.getLogger(__name__).exception("shares warm-up failed")

    def _build(self) -> Snapshot:
        self._next_generation = self.repo.generation()  # read before the data: a later change is seen by the next refresh
        store = self.repo.load_store()
        districts = DistrictService(store, self.plans, self.evidence)
        snap = Snapshot(store, districts, ScreeningService(store, self.plans), ShareService(store, self.plans, *self.share_args),
                        SectionService(store, self.plans, self.measurements), AirService(store, self.plans, self.air_measurements),
                        LayerTiles(store, districts.vocab, *self.tile_args))
        release_freed_memory()
        return snap

    def get(self) -> Snapshot:
        return self._snapshot

    def refresh(self) -> Snapshot:
        """The current snapshot, rebuilt first if the published versions changed since it was built."""
        if self.repo.generation() != self._generation and self._lock.acquire(blocking=False):
            try:
                if self.repo.generation() != self._generation:
                    self._swap()
            finally:
                self._lock.release()
        return self._snapshot

    def reload(self) -> Snapshot:
        """Rebuild from the repository's current versions and make it live in one step."""
        with self._lock:
            return self._swap()

    def _swap(self) -> Snapshot:
        fresh = self._build()
        self._snapshot, self._generation = fresh, self._next_generation
        self._warm(fresh)
        return fresh
