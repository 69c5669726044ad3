"""Area shares (面积占比核对) per district, computed once per layer version and kept (the layers
rarely change), and the application service the page, the API and the CLI call.

A district's result is kept in memory and on disk (INSTANCE_DIR/derived/shares, one JSON file per
district and inputs), so a restart reads it back instead of dissolving the layers again; the key is a
hash of everything the figures depend on (the district's layer versions, the land-cover raster, the
plan, the tolerances, the labels and the code that computes them), so no stale figure is ever read."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from geo import control_units, vocabulary
from geo.shares import district_shares, figure_rule
from layers.store import LayerStore, layer_content

TABLE_COLUMNS = ("adcode", "district", "indicator", "name_zh", "computed_pct", "plan_figure", "plan_pct", "diff_pct_points", "rule_zh",
                 "status", "value_2020_text", "target_2025_text", "target_2025_status", "is_demo", "numerator_m2", "denominator_m2", "method")
# which layer an indicator row is computed from (its demo flag is that layer's); forest cover: the raster's
ROW_LAYERS = {"redline_share": "redline", "redline_share_alt": "redline", "protected_area_share": "protected_area",
              "control_unit_share": control_units.KIND}
SHARE_INDICATOR_KEYS = ("redline_share", "protected_area_share", "forest_cover")  # plan indicators the shares check judges
_ROOT = Path(__file__).resolve().parent.parent
_CODE = [_ROOT / "services" / "shares.py", _ROOT / "geo" / "area.py", _ROOT / "geo" / "raster_share.py", _ROOT / "geo" / "control_units.py",
         *sorted((_ROOT / "geo" / "shares").glob("*.py"))]
CODE_FINGERPRINT = hashlib.sha256(b"".join(f.read_bytes() for f in _CODE)).hexdigest()  # a new version of the code: new figures


class ShareService:
    def __init__(self, store: LayerStore, plans: dict[str, dict], raster_dir: Path, tolerance_pp: float | None, area_tolerance_pct: float,
                 cache_dir: Path | None = None):
        self.store = store
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._computing: dict[tuple[str, str], threading.Event] = {}
        self._paths: dict[str, Path] = {}
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
        while True:
            with self._lock:
                cached = self._cache.get(key)
                busy = self._computing.get(key) if cached is None else None
                if cached is None and busy is None:
                    mine = self._computing[key] = threading.Event()
                    break
            if cached is not None:
                return cached
            busy.wait()  # another thread (the start-up warm-up, or a request) is computing this district
        try:
            # computed outside the lock so districts can run in parallel (GEOS and exactextract release the GIL)
            cached = self._read_kept(adcode) or self._compute(adcode)
            cached["data_version"] = key[1]
            with self._lock:
                self._cache[key] = cached
            return cached
        finally:
            with self._lock:
                self._computing.pop(key, None)
            mine.set()

    def _compute(self, adcode: str) -> dict:
        layers = {k: self.store.read(k, adcode) for k in self.kinds}
        raster = self.raster_for(adcode)
        unit_kind = self.vocab.kinds.get(control_units.KIND)
        units = {"kind": unit_kind, "published": control_units.published(), "adcode": adcode} if unit_kind and unit_kind.in_shares else None
        result = district_shares(layers, self.plans[adcode], self.tolerance_pp, self.area_tolerance_pct,
                                 overlap_by=self.overlap_by, raster_path=raster,
                                 kind_names={k: v.name_zh for k, v in self.vocab.kinds.items()},
                                 conflict_labels={k: v["label"] for k, v in self.vocab.conflicts.items()}, control_units=units)
        result["raster"] = {"path": raster.name if raster else None, "is_demo": bool(raster and raster.name.endswith("_demo.tif"))}
        for row in result["indicators"]:
            layer = ROW_LAYERS.get(row["indicator"].partition(":")[0])
            row["is_demo"] = self.store.is_demo(adcode, layer) if layer else bool(result["raster"]["is_demo"])
        self._keep(adcode, result)
        return result

    def inputs_key(self, adcode: str) -> str:
        """A hash of everything a district's figures are computed from."""
        raster = self.raster_for(adcode)
        stat = raster.stat() if raster else None
        inputs = {"layers": self._layers_fingerprint(adcode),
                  "raster": [raster.name, stat.st_size, stat.st_mtime_ns] if raster else None, "plan": self.plans[adcode],
                  "tolerance_pp": self.tolerance_pp, "area_tolerance_pct": self.area_tolerance_pct, "overlap_by": self.overlap_by,
                  "published_units": control_units.published(), "code": CODE_FINGERPRINT,
                  "labels": [{k: v.name_zh for k, v in self.vocab.kinds.items()}, {k: v["label"] for k, v in self.vocab.conflicts.items()}]}
        return hashlib.sha256(json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:32]

    def _layers_fingerprint(self, adcode: str) -> str:
        h = hashlib.sha256()
        for kind in sorted({*self.kinds, *ROW_LAYERS.values()} & set(self.vocab.kinds)):
            layer_content(self.store, adcode, kind, h)
        return h.hexdigest()

    def _kept_path(self, adcode: str) -> Path | None:
        if self.cache_dir is None:
            return None
        if adcode not in self._paths:  # the layers of a snapshot never change: their fingerprint is taken once
            self._paths[adcode] = self.cache_dir / f"{adcode}-{self.inputs_key(adcode)}.json"
        return self._paths[adcode]

    def _read_kept(self, adcode: str) -> dict | None:
        path = self._kept_path(adcode)
        if path is None or not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # unreadable or cut short: computed again
            return None

    def _keep(self, adcode: str, result: dict) -> None:
        """Written beside its final name and renamed into place; older files of the district removed."""
        path = self._kept_path(adcode)
        if path is None:
            return
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(result, ensure_ascii=False))  # dumps: the C encoder (json.dump streams in Python, 8x slower)
            os.replace(tmp, path)
            for old in path.parent.glob(f"{adcode}-*.json"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError as exc:  # a full or read-only disk: the figures are still answered, computed again next start
            logging.getLogger(__name__).warning("shares of %s not kept on disk: %s", adcode, exc)
            if tmp:
                Path(tmp).unlink(missing_ok=True)

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
