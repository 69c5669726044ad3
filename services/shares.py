"""Area shares (面积占比核对) per district, computed once per layer version and cached (the layers
rarely change), and the application service the page, the API and the CLI call."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from geo import control_units, vocabulary
from geo.shares import district_shares, figure_rule
from layers.store import LayerStore

TABLE_COLUMNS = ("adcode", "district", "indicator", "name_zh", "computed_pct", "plan_figure", "plan_pct", "diff_pct_points", "rule_zh",
                 "status", "value_2020_text", "target_2025_text", "target_2025_status", "is_demo", "numerator_m2", "denominator_m2", "method")
# which layer an indicator row is computed from (its demo flag is that layer's); forest cover: the raster's
ROW_LAYERS = {"redline_share": "redline", "redline_share_alt": "redline", "protected_area_share": "protected_area",
              "control_unit_share": control_units.KIND}
SHARE_INDICATOR_KEYS = ("redline_share", "protected_area_share", "forest_cover")  # plan indicators the shares check judges


class ShareService:
    def __init__(self, store: LayerStore, plans: dict[str, dict], raster_dir: Path, tolerance_pp: float | None, area_tolerance_pct: float):
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
            unit_kind = self.vocab.kinds.get(control_units.KIND)
            units = {"kind": unit_kind, "published": control_units.published(), "adcode": adcode} if unit_kind and unit_kind.in_shares else None
            cached = district_shares(layers, self.plans[adcode], self.tolerance_pp, self.area_tolerance_pct,
                                     overlap_by=self.overlap_by, raster_path=raster,
                                     kind_names={k: v.name_zh for k, v in self.vocab.kinds.items()},
                                     conflict_labels={k: v["label"] for k, v in self.vocab.conflicts.items()}, control_units=units)
            cached["raster"] = {"path": raster.name if raster else None, "is_demo": bool(raster and raster.name.endswith("_demo.tif"))}
            for row in cached["indicators"]:
                layer = ROW_LAYERS.get(row["indicator"].partition(":")[0])
                row["is_demo"] = self.store.is_demo(adcode, layer) if layer else bool(cached["raster"]["is_demo"])
            cached["data_version"] = key[1]
            with self._lock:
                self._cache[key] = cached
        return cached

    def all_districts(self) -> dict[str, dict]:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            return dict(zip(self.plans, pool.map(self.district, self.plans)))

    def badges(self, adcode: str) -> list[dict]:
        """Pass/fail per indicator that has a plan figure, for the home page; a badge computed on demo data says so."""
        return [{"indicator": r["indicator"], "name_zh": r["name_zh"], "short_zh": r["short_zh"], "status": r["status"],
                 "is_demo": r["is_demo"], "rule_zh": r["rule_zh"]}
                for r in self.district(adcode)["indicators"] if r["status"] != vocabulary.status("share", "none") and ":" not in r["indicator"]]

    def figure_rules(self, adcode: str) -> dict[str, list[dict]]:
        """The rule each plan figure the shares check judges is read by, keyed by its path in the plan data (plan page)."""
        plan = self.plans[adcode]
        out = {}
        rl, pas = plan.get("redline") or {}, plan.get("protected_area_share") or {}
        figures = {"redline/share_pct": [(rl.get("share_pct"), "规划值")],
                   "protected_area_share": [(pas.get("share_pct"), "规划值"), (pas.get("target"), "2025 年目标")]}
        for i, ind in enumerate(plan.get("indicators") or []):
            if ind.get("key") in SHARE_INDICATOR_KEYS:
                figures[f"indicators/{i}"] = [(ind.get("value_2020"), "2020 年现状值"), (ind.get("target_2025"), "2025 年目标")]
        for path, pairs in figures.items():
            rules = [r for r in (figure_rule(figure, self.tolerance_pp, what) for figure, what in pairs) if r]
            if rules:
                out[path] = rules
        return out


def _summary(result: dict) -> str:
    return "；".join(f"{r['name_zh']} {r['computed_pct']:.3f}% {r['status']}" for r in result["indicators"]
                    if r["computed_pct"] is not None and ":" not in r["indicator"])


def _without_geometry(conflicts: dict) -> dict:
    """Conflict areas without GeoJSON: neither the union nor any feature's part (asked for with geometry=1)."""
    out = {}
    for key, c in conflicts.items():
        c = {k: v for k, v in c.items() if k != "geometry"}
        if "features" in c:
            c["features"] = [{k: v for k, v in f.items() if k != "geometry"} for f in c["features"]]
        out[key] = c
    return out


def shares_report(ctx, actor, adcode: str, geometry: bool = True) -> dict:
    """One district's shares, audited; without geometry the conflict areas carry no GeoJSON at all."""
    snap = ctx.live.get()
    snap.districts.check(adcode)
    result = snap.shares.district(adcode)
    ctx.record(actor, "shares", _summary(result), ctx.layer_versions(snap, adcode), read=True)
    if not geometry:
        result = {**result, "conflicts": _without_geometry(result["conflicts"])}
    return result


def figure_rules(ctx, adcode: str) -> dict[str, list[dict]]:
    """For the plan page: plan-data path → the rules its share figures are judged by."""
    snap = ctx.live.get()
    snap.districts.check(adcode)
    return snap.shares.figure_rules(adcode)


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
