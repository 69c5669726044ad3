"""Screening (选址合规初筛): the indexes over one layer snapshot, and the application service
every adapter calls — parse the input, convert its CRS, screen it, store and audit the result.

No route or command reaches the engine around `screen()`, so no path can skip the audit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geo import sites as site_input
from geo import vocabulary
from geo.crs import parse_crs
from geo.errors import DataError, NotFoundError
from geo.screening import (DEFAULT_BANDS_M, LocalFrame, band_label, built_tree, index_kind, method_block, screen_kind, screen_points,
                           site_summary, verdict)
from layers.store import LayerStore

MAX_BAND_M = 50_000
BATCH_MIN_POINTS = 200  # above this many point sites a batch run uses the vectorised engine
BATCH_CHUNK = 10_000


class ScreeningService:
    def __init__(self, store: LayerStore, plans: dict[str, dict]):
        self.store = store
        self.vocab = store.vocab
        self.plans = plans
        self.kinds = {}
        for kind in self.vocab.screened:
            self.kinds[kind.key] = index_kind(kind.key, kind.name_zh, store.read_all(kind.key), kind.attributes + ("adcode", "source"))
        districts = store.read_all("district")
        self.district_geoms = districts.geometry.values
        self.district_codes = districts["adcode"].to_numpy()
        self.district_tree = built_tree(self.district_geoms)
        # per-zone projections and edge indexes for every district's zone, built now, not in a request
        for geom in self.district_geoms:
            frame = LocalFrame(geom.centroid.x, geom.centroid.y)
            for kind in self.kinds.values():
                kind.edge_chunks(frame)

    def districts_of(self, site) -> list[dict]:
        idx = self.district_tree.query(site, predicate="intersects")
        return [{"adcode": str(self.district_codes[i]), "name": self.plans.get(str(self.district_codes[i]), {}).get("name", "")}
                for i in sorted(idx, key=lambda i: self.district_codes[i])]

    def screen(self, site, crs_info: dict, bands_m=DEFAULT_BANDS_M, stated_area_ha: float | None = None,
               name: str | None = None, district: str | None = None) -> dict:
        """Screen one lon/lat site against every thematic layer of every district."""
        bands_m = validate_bands(bands_m)
        c = site.centroid if site.geom_type != "Point" else site
        frame = LocalFrame(c.x, c.y)
        site_m = frame.to_m(site)
        districts = self.districts_of(site)
        summary = site_summary(site, districts, crs_info, stated_area_ha)
        site_area = summary["area_m2"]
        if district and district not in {d["adcode"] for d in districts}:
            raise DataError(f"项目位置不在所选区县（{self.plans[district]['name']}）内", "the site does not lie in the selected district")
        layers = [screen_kind(k, site, site_area, frame, site_m, bands_m, self.vocab.kinds[key].group_by) for key, k in self.kinds.items()]
        # versions of every district the site lies in or has a hit in (a "near" zone may be next door)
        adcodes = {d["adcode"] for d in districts} | {h["attributes"]["adcode"] for layer in layers for h in layer["hits"]}
        versions = {f"{a}/{key}": self.store.layer_version(a, key) for a in sorted(adcodes) for key in self.kinds}
        status = {}
        for layer in layers:
            for h in layer["hits"]:
                h["is_demo"] = self.store.is_demo(h["attributes"]["adcode"], layer["kind"])
            involved = {d["adcode"] for d in districts} | {h["attributes"]["adcode"] for h in layer["hits"]}
            demo = any(self.store.is_demo(a, layer["kind"]) for a in involved) if involved else layer["is_demo"]
            layer["is_demo"] = demo
            layer["status"] = status[layer["kind"]] = vocabulary.status("data", "demo" if demo else "official")
            layer["control_rules"] = self._rules(layer)
        if name:
            summary["name"] = name
        data_info = {"version": self.store.info()["version"], "layers": status, "layer_versions": versions}
        return {"site": summary, "layers": layers, "verdict": verdict(layers, site_area), "method": method_block(crs_info, data_info, bands_m)}

    def _rules(self, layer: dict) -> list[dict]:
        """管控要求 of every plan whose zone the site touches, quoted with the plan and line."""
        rule_key = self.vocab.kinds[layer["kind"]].rule_key
        out = []
        for adcode in sorted({h["attributes"]["adcode"] for h in layer["hits"] if h["relation"] != "near"}):
            plan = self.plans.get(adcode)
            if plan:
                for rule in plan["control_rules"].get(rule_key, []):
                    out.append({"text": rule["text"], "plan": plan["plan_title"], "seed": plan["seed"], "line": rule["source"]["line"]})
        return out


def validate_bands(bands_m) -> tuple[float, ...]:
    try:
        bands = tuple(sorted(float(b) for b in bands_m))
    except (TypeError, ValueError):
        raise DataError("距离分级须为数字列表（米），如 0,100,500,1000,5000", "distance bands must be numbers in metres") from None
    if not bands or not all(np.isfinite(bands)) or bands[0] < 0 or bands[-1] > MAX_BAND_M or len(bands) > 10:
        raise DataError(f"距离分级须为 0–{MAX_BAND_M} 米之间的 1–10 个数", f"distance bands must be 1–10 values in 0–{MAX_BAND_M} m")
    return bands


def screen_sites(service: ScreeningService, sites: list, bands_m=DEFAULT_BANDS_M, district: str | None = None) -> list[dict]:
    results = []
    for site in sites:
        result = service.screen(site.geometry, site.crs, bands_m, site.stated_area_ha, site.name, district)
        result["site"]["notes"] = site.notes
        result["_site_geometry"] = site.geometry
        results.append(result)
    return results


def batch_rows(service: ScreeningService, sites: list, bands_m=DEFAULT_BANDS_M) -> list[dict]:
    """Many point sites through the vectorised engine: per site and kind, the zone it lies in
    or the nearest one within the largest band (rows shaped like exports.result_rows)."""
    lons = np.array([s.geometry.x for s in sites])
    lats = np.array([s.geometry.y for s in sites])
    kinds = list(service.kinds.values())
    out = screen_points(kinds, lons, lats, bands_m[-1])
    rows = []
    for n, site in enumerate(sites):
        name = site.name or f"项目{n + 1}"
        for kind in kinds:
            r = out[kind.key]
            i = r["nearest"][n]
            if i < 0:
                continue
            inside = r["within"][n] >= 0
            rows.append({"site": name, "adcode": str(kind.attrs[i].get("adcode", "")), "kind": kind.key,
                         "layer": kind.name_zh, "feature_id": str(kind.ids[i]),
                         "name": str(kind.names[i]), "relation": "within" if inside else "near", "overlap_m2": 0,
                         "overlap_ha": 0, "overlap_pct_of_site": 100.0 if inside else 0.0,
                         "distance_m": round(float(r["distance_m"][n]), 1), "distance_band": band_label(float(r["distance_m"][n]), bands_m)})
    return rows


def parse_bands(text) -> tuple[float, ...]:
    """Distance bands from a form field, a JSON list or None (the defaults)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return DEFAULT_BANDS_M
    if isinstance(text, (list, tuple)):
        return validate_bands(text)
    try:
        return validate_bands(float(b) for b in str(text).replace("，", ",").split(",") if b.strip())
    except ValueError:
        raise DataError("距离分级须为逗号分隔的数字（米），如 0,100,500,1000,5000", "bands must be comma-separated numbers in metres") from None


@dataclass
class ScreeningRun:
    """One screening request's answer: full per-site results, or batch rows for many points."""

    results: list[dict] = field(default_factory=list)
    rows: list[dict] | None = None
    result_id: str | None = None

    @property
    def is_batch(self) -> bool:
        return self.rows is not None


def _summary(results: list[dict]) -> str:
    return "；".join(f"{r['site'].get('name') or '项目'}：{r['verdict']['summary']}" for r in results)


def screen(ctx, actor, *, upload: tuple[str, bytes] | None = None, text: str | None = None, geometry=None, crs=None,
           district=None, bands=None, raw: bytes | None = None, allow_batch: bool = False, progress=None) -> ScreeningRun:
    """Parse, convert, screen (one data snapshot throughout), store and audit once.

    upload: (filename, bytes); text: typed coordinates; geometry: a GeoJSON object. raw: the request
    body hashed for the audit when neither upload nor text is given. allow_batch: many point sites
    go through the vectorised engine (rows per site and kind, not stored). progress(n) is told how
    many sites were done.
    """
    snap = ctx.live.get()
    if not isinstance(district, (str, type(None))) or not isinstance(crs, (str, type(None))):
        raise DataError("district 与 crs 须为字符串", "district and crs must be strings")
    crs_value = parse_crs(crs)
    district = snap.districts.check(district) if district else None
    district_lon = snap.districts.district_centre_lon(district) if district else None
    bands_m = parse_bands(bands)
    if upload is not None:
        sites = site_input.sites_from_upload(upload[0], upload[1], crs_value, ctx.limits, district_lon)
        raw = upload[1]
    elif text:
        sites = site_input.sites_from_text(text, crs_value, ctx.limits, district_lon)
        raw = text.encode()
    elif geometry is not None:
        sites = site_input.sites_from_geojson(geometry, crs_value, ctx.limits, district_lon)
    else:
        raise DataError("请上传文件或提供坐标", "upload a file or give coordinates")
    if allow_batch and len(sites) > BATCH_MIN_POINTS and all(s.geometry.geom_type == "Point" for s in sites):
        rows = []
        for start in range(0, len(sites), BATCH_CHUNK):
            rows.extend(batch_rows(snap.screening, sites[start:start + BATCH_CHUNK], bands_m))
            if progress:
                progress(min(BATCH_CHUNK, len(sites) - start))
        adcodes = sorted({r["adcode"] for r in rows})
        versions = {f"{a}/{k}": snap.store.layer_version(a, k) for a in adcodes for k in snap.screening.kinds}
        ctx.record(actor, "screen", f"批量点位初筛 {len(sites)} 个点位（批量引擎），{len(rows)} 条命中", versions, raw)
        return ScreeningRun(rows=rows)
    results = []
    for site in sites:
        results.extend(screen_sites(snap.screening, [site], bands_m, district))
        if progress:
            progress(1)
    versions = {k: v for r in results for k, v in r["method"]["data"]["layer_versions"].items()}
    ctx.record(actor, "screen", _summary(results), versions, raw)
    return ScreeningRun(results=results, result_id=ctx.results.put(results))


def stored_results(ctx, rid: str) -> list[dict]:
    results = ctx.results.get(rid)
    if results is None:
        raise NotFoundError("初筛结果不存在或已过期，请重新初筛", f"screening result {rid[:40]} not found or expired")
    return results
