"""Screening over the loaded layers: indexes built once at start-up, plan rules attached to hits."""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict

import numpy as np
import shapely
import shapely.geometry

from geo.errors import DataError
from geo.screening import DEFAULT_BANDS_M, LocalFrame, built_tree, index_kind, method_block, screen_kind, site_summary, verdict
from layers.catalogue import KINDS
from layers.store import LayerStore

MAX_BAND_M = 50_000
SCREENED_KINDS = ("redline", "water_source_zone", "protected_area")  # the zones a site must not fall in
GROUP_BY = {"water_source_zone": "zone", "protected_area": "pa_type"}


class ScreeningService:
    def __init__(self, store: LayerStore, plans: dict[str, dict]):
        self.store = store
        self.plans = plans
        self.kinds = {}
        for key in SCREENED_KINDS:
            kind = KINDS[key]
            self.kinds[key] = index_kind(key, kind.name_zh, store.read_all(key), kind.attributes + ("adcode", "source"))
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
        if district is not None and district not in self.plans:
            raise DataError(f"未知的行政区划代码：{district}", f"unknown district: {district}", status=404)
        c = site.centroid if site.geom_type != "Point" else site
        frame = LocalFrame(c.x, c.y)
        site_m = frame.to_m(site)
        districts = self.districts_of(site)
        summary = site_summary(site, districts, crs_info, stated_area_ha)
        site_area = summary["area_m2"]
        if district and district not in {d["adcode"] for d in districts}:
            raise DataError(f"项目位置不在所选区县（{self.plans[district]['name']}）内", "the site does not lie in the selected district")
        layers = [screen_kind(k, site, site_area, frame, site_m, bands_m, GROUP_BY.get(key)) for key, k in self.kinds.items()]
        # versions of every district the site lies in or has a hit in (a "near" zone may be next door)
        adcodes = {d["adcode"] for d in districts} | {h["attributes"]["adcode"] for layer in layers for h in layer["hits"]}
        versions = {f"{a}/{key}": self.store.layer_version(a, key) for a in sorted(adcodes) for key in self.kinds}
        status = {}
        for layer in layers:
            for h in layer["hits"]:
                h["is_demo"] = versions[f"{h['attributes']['adcode']}/{layer['kind']}"].startswith("demo")
            involved = {d["adcode"] for d in districts} | {h["attributes"]["adcode"] for h in layer["hits"]}
            demo = any(versions[f"{a}/{layer['kind']}"].startswith("demo") for a in involved) if involved else layer["is_demo"]
            layer["is_demo"] = demo
            layer["status"] = status[layer["kind"]] = "示意数据" if demo else "正式数据"
            layer["control_rules"] = self._rules(layer)
        if name:
            summary["name"] = name
        data_info = {"version": self.store.info()["version"], "layers": status, "layer_versions": versions}
        return {"site": summary, "layers": layers, "verdict": verdict(layers, site_area), "method": method_block(crs_info, data_info, bands_m)}

    def _rules(self, layer: dict) -> list[dict]:
        """管控要求 of every plan whose zone the site touches, quoted with the plan and line."""
        rule_key = KINDS[layer["kind"]].rule_key
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


def public(result):
    """The JSON view: everything but the geometry kept for maps and exports (keys starting with _)."""
    if isinstance(result, dict):
        return {k: public(v) for k, v in result.items() if not k.startswith("_")}
    if isinstance(result, list):
        return [public(v) for v in result]
    return result


def overlap_geojson(results: list[dict]) -> dict:
    """The overlap pieces (site ∩ zone) of every hit, in lon/lat, for GIS software."""
    features = []
    for n, result in enumerate(results, 1):
        for layer in result["layers"]:
            for hit in layer["hits"]:
                if hit["_overlap_geometry"] is not None and not hit["_overlap_geometry"].is_empty:
                    features.append({"type": "Feature", "geometry": shapely.geometry.mapping(hit["_overlap_geometry"]),
                                     "properties": {"site": result["site"].get("name") or f"项目{n}", "kind": layer["kind"],
                                                    "feature_id": hit["id"], "name": hit["name"], "relation": hit["relation"],
                                                    "overlap_m2": hit["overlap_m2"], "overlap_pct_of_site": hit["overlap_pct_of_site"]}})
    return {"type": "FeatureCollection", "features": features}


CSV_COLUMNS = ("site", "kind", "layer", "feature_id", "name", "relation", "overlap_m2", "overlap_ha", "overlap_pct_of_site",
               "distance_m", "distance_band")


def result_rows(results: list[dict]) -> list[dict]:
    """One row per site × hit (and one per site with no hit), for CSV/Excel."""
    rows = []
    for n, result in enumerate(results, 1):
        site = result["site"].get("name") or f"项目{n}"
        any_hit = False
        for layer in result["layers"]:
            for hit in layer["hits"]:
                any_hit = True
                rows.append({"site": site, "kind": layer["kind"], "layer": layer["name_zh"], "feature_id": hit["id"], "name": hit["name"],
                             "relation": hit["relation"], "overlap_m2": hit["overlap_m2"], "overlap_ha": hit["overlap_ha"],
                             "overlap_pct_of_site": hit["overlap_pct_of_site"], "distance_m": hit["distance_m"],
                             "distance_band": hit["distance_band"]})
        if not any_hit:
            rows.append({"site": site, "kind": "", "layer": "", "feature_id": "", "name": "不涉及（距离分级范围内无要素）",
                         "relation": "", "overlap_m2": 0, "overlap_ha": 0, "overlap_pct_of_site": 0, "distance_m": "", "distance_band": ""})
    return rows


class ResultCache:
    """Recent screening results by id, so the result page, exports and PDF need no re-upload."""

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


def batch_rows(service: "ScreeningService", sites: list, bands_m=DEFAULT_BANDS_M) -> list[dict]:
    """Many point sites through the vectorised engine: per site and kind, the zone it lies in
    or the nearest one within the largest band (rows shaped like result_rows)."""
    from geo.screening import band_label, screen_points

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
            rows.append({"site": name, "kind": kind.key, "layer": kind.name_zh, "feature_id": str(kind.ids[i]),
                         "name": str(kind.names[i]), "relation": "within" if inside else "near", "overlap_m2": 0,
                         "overlap_ha": 0, "overlap_pct_of_site": 100.0 if inside else 0.0,
                         "distance_m": round(float(r["distance_m"][n]), 1), "distance_band": band_label(float(r["distance_m"][n]), bands_m)})
    return rows
