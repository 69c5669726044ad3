"""Area shares per district, computed once per layer version and cached (the layers rarely change)."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from geo.shares import district_shares
from layers.store import LayerStore

SHARE_KINDS = ("district", "redline", "water_source_zone", "protected_area")


class ShareService:
    def __init__(self, store: LayerStore, plans: dict[str, dict], raster_dir: Path, tolerance_pp: float, area_tolerance_pct: float):
        self.store = store
        self.plans = plans
        self.raster_dir = Path(raster_dir)
        self.tolerance_pp = tolerance_pp
        self.area_tolerance_pct = area_tolerance_pct
        self._cache: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    def raster_for(self, adcode: str) -> Path | None:
        """A land-cover GeoTIFF the user dropped in (<adcode>_landcover.tif) wins over the demo one."""
        for name in (f"{adcode}_landcover.tif", f"{adcode}_landcover_demo.tif"):
            if (self.raster_dir / name).exists():
                return self.raster_dir / name
        return None

    def district(self, adcode: str) -> dict:
        key = (adcode, self.store.info()["version"])
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            # computed outside the lock so districts can run in parallel (GEOS and exactextract release the GIL)
            layers = {k: self.store.read(k, adcode) for k in SHARE_KINDS}
            raster = self.raster_for(adcode)
            cached = district_shares(layers, self.plans[adcode], self.tolerance_pp, self.area_tolerance_pct,
                                     overlap_by={"water_source_zone": "zone"}, raster_path=raster)
            cached["raster"] = {"path": raster.name if raster else None, "is_demo": bool(raster and raster.name.endswith("_demo.tif"))}
            cached["data_version"] = key[1]
            with self._lock:
                self._cache[key] = cached
        return cached

    def all_districts(self) -> dict[str, dict]:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            return dict(zip(self.plans, pool.map(self.district, self.plans)))

    def badges(self, adcode: str) -> list[dict]:
        """Pass/fail per indicator that has a plan figure, for the home page."""
        return [{"indicator": r["indicator"], "name_zh": r.get("name_zh", r["indicator"]), "status": r["status"]}
                for r in self.district(adcode)["indicators"] if r["status"] != "无目标" and ":" not in r["indicator"]]
