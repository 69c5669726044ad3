"""Area shares (面积占比核对) per district, computed once per layer version and cached (the layers
rarely change), and the application service the page, the API and the CLI call."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from geo import vocabulary
from geo.shares import district_shares
from layers.store import LayerStore

TABLE_COLUMNS = ("adcode", "district", "indicator", "name_zh", "computed_pct", "plan_pct", "diff_pct_points", "status",
                 "numerator_m2", "denominator_m2", "method")


class ShareService:
    def __init__(self, store: LayerStore, plans: dict[str, dict], raster_dir: Path, tolerance_pp: float, area_tolerance_pct: float):
        self.store = store
        self.vocab = store.vocab
        self.kinds = ["district"] + [k.key for k in self.vocab.kinds.values() if k.in_shares]
        self.overlap_by = {k.key: k.overlap_by for k in self.vocab.kinds.values() if k.in_shares and k.overlap_by}
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
            layers = {k: self.store.read(k, adcode) for k in self.kinds}
            raster = self.raster_for(adcode)
            cached = district_shares(layers, self.plans[adcode], self.tolerance_pp, self.area_tolerance_pct,
                                     overlap_by=self.overlap_by, raster_path=raster,
                                     kind_names={k: v.name_zh for k, v in self.vocab.kinds.items()})
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
                for r in self.district(adcode)["indicators"] if r["status"] != vocabulary.status("share", "none") and ":" not in r["indicator"]]


def _summary(result: dict) -> str:
    return "；".join(f"{r['name_zh']} {r['computed_pct']:.3f}% {r['status']}" for r in result["indicators"]
                    if r["computed_pct"] is not None and ":" not in r["indicator"])


def shares_report(ctx, actor, adcode: str, geometry: bool = True) -> dict:
    """One district's shares, audited; without geometry the conflict areas carry no GeoJSON."""
    snap = ctx.live.get()
    snap.districts.check(adcode)
    result = snap.shares.district(adcode)
    ctx.record(actor, "shares", _summary(result), ctx.layer_versions(snap, adcode))
    if not geometry:
        result = {**result, "conflicts": {k: {kk: vv for kk, vv in v.items() if kk != "geometry"} for k, v in result["conflicts"].items()}}
    return result


def shares_reports(ctx, actor, adcode: str | None) -> dict[str, dict]:
    """Shares of one or every district by adcode, each district's report audited."""
    plans = ctx.live.get().districts.plans
    return {code: shares_report(ctx, actor, code, geometry=False) for code in ([adcode] if adcode else list(plans))}


def indicator_rows(ctx, reports: dict[str, dict]) -> list[dict]:
    """One row per district × indicator (TABLE_COLUMNS), for CSV/Excel."""
    plans = ctx.live.get().districts.plans
    return [{"adcode": code, "district": plans[code]["name"], **{c: r[c] for c in TABLE_COLUMNS[2:]}}
            for code, result in reports.items() for r in result["indicators"]]


def home_badges(ctx) -> dict[str, list[dict]]:
    """Pass/fail badges of every district for the home page (the first visit computes all in parallel)."""
    snap = ctx.live.get()
    snap.shares.all_districts()
    return {a: snap.shares.badges(a) for a in snap.districts.plans}
