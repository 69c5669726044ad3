"""The data a request is answered from, swapped whole when a layer version is published.

Every service that holds layer data (district summaries, screening indexes, share caches,
section locations) is rebuilt together off to the side, then one reference assignment makes
it current: a request that started on the old snapshot finishes on it, the next one sees the
new one, and none sees a mix.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from layers.versions import LayerRepository
from services.districts import DistrictService
from services.screening import ScreeningService
from services.sections import SectionService
from services.shares import ShareService
from state.measurements import MeasurementStore


@dataclass(frozen=True)
class Snapshot:
    store: object
    districts: DistrictService
    screening: ScreeningService
    shares: ShareService
    sections: SectionService


class LiveData:
    def __init__(self, repo: LayerRepository, plans: dict, evidence: dict, measurements: MeasurementStore, raster_dir: Path,
                 tolerance_pp: float, area_tolerance_pct: float):
        self.repo = repo
        self.plans = plans
        self.evidence = evidence
        self.measurements = measurements
        self.share_args = (Path(raster_dir), tolerance_pp, area_tolerance_pct)
        self._lock = threading.Lock()
        self._snapshot = self._build()

    def _build(self) -> Snapshot:
        store = self.repo.load_store()
        districts = DistrictService(store, self.plans, self.evidence)
        return Snapshot(store, districts, ScreeningService(store, self.plans), ShareService(store, self.plans, *self.share_args),
                        SectionService(store, self.plans, self.measurements))

    def get(self) -> Snapshot:
        return self._snapshot

    def reload(self) -> Snapshot:
        """Rebuild from the repository's current manifest and make it live in one step."""
        with self._lock:
            fresh = self._build()
            self._snapshot = fresh
        return fresh
