"""Districts: plans plus layers, as plain data for any adapter (pages, API, CLI)."""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from functools import lru_cache

import shapely
import shapely.affinity

from geo.area import METHOD_AREA, M2_PER_KM2
from geo.errors import ConfigError, DataError, NotFoundError
from geo.plans import indicator, plan_citations
from layers.store import LayerStore, feature_properties, to_feature_collection

CRS_NOTE = "CGCS2000 (EPSG:4490) 经纬度，坐标顺序 经度, 纬度 / lon, lat"
M_PER_DEG_LAT = 110_852.0  # a degree of latitude at 30° N on GRS80 (m), for the pick tolerance only
MAX_PICK_TOLERANCE_M = 1000.0
STREAM_MIN_VERTICES = 200_000  # a layer's GeoJSON this heavy is streamed, not kept
STREAM_FEATURES = 50  # features serialised per chunk of a streamed layer
PUBLIC_FIELDS = ("adcode", "name", "full_name", "area_km2", "area_method", "plan", "data_version")


class DistrictService:
    def __init__(self, store: LayerStore, plans: dict[str, dict], evidence: dict[str, dict]):
        self.store = store
        self.evidence = evidence
        self.vocab = store.vocab
        self.plans = plans
        missing = sorted(set(plans) - set(store.adcodes()))
        if missing:
            raise ConfigError(store.info()["path"], "district.adcode", f"规划文件的区县在图层中没有边界 / no boundary for {missing}")
        self.area_m2 = {a: float(store.read("district", a)["area_m2"].sum()) for a in plans}
        self.layer_geojson = lru_cache(maxsize=16)(self._layer_geojson)
        self._cached_body = lru_cache(maxsize=128)(self._layer_body)
        self.search_initials = lru_cache(maxsize=64)(self._search_initials)
        self.vertices = lru_cache(maxsize=None)(self._vertices)  # one entry per district and kind: bounded by the layers

    def check(self, adcode) -> str:
        """The adcode, or the one NotFoundError every adapter shows for an unknown district."""
        if not isinstance(adcode, str) or adcode not in self.plans:
            raise NotFoundError(f"未知的行政区划代码：{str(adcode)[:20]}", f"unknown district adcode: {str(adcode)[:20]}")
        return adcode

    def _search_initials(self, adcode: str) -> dict[str, str]:
        """Feature name → its pinyin initials (玉龙山森林公园 → ylslgy), so the map's search finds a name by them too.
        The service holds one such index per district and data version (a publish makes a new DistrictService)."""
        from pypinyin import Style, lazy_pinyin

        self.check(adcode)
        names = {str(n) for key in self.vocab.kinds for n in self.store.read(key, adcode)["name"].dropna() if str(n).strip()}
        return {n: "".join(p[0] for p in lazy_pinyin(n, style=Style.FIRST_LETTER, errors="ignore") if p).lower() for n in sorted(names)}

    def district_summary(self, adcode: str) -> dict:
        self.check(adcode)
        plan = self.plans[adcode]
        return {
            "adcode": adcode,
            "name": plan["name"],
            "full_name": plan["full_name"],
            "area_km2": round(self.area_m2[adcode] / M2_PER_KM2, 3),
            "area_method": METHOD_AREA,
            "plan": plan,
            "headline": [indicator(plan, k) for k in plan["headline"]],
            "layers": list(self.vocab.kinds),
            "data_version": self.store.info()["version"],
        }

    def public(self, adcode: str) -> dict:
        """The API view of a district: the documented fields only."""
        summary = self.district_summary(adcode)
        return {k: summary[k] for k in PUBLIC_FIELDS}

    def plan_sources(self, adcode: str) -> dict:
        """Every figure the service takes from the district's plan, with its quoted line (规划数据出处)."""
        self.check(adcode)
        plan, evidence = self.plans[adcode], self.evidence[adcode]
        return {"plan": plan, "evidence": evidence, "citations": plan_citations(plan, evidence, self.vocab.rule_labels)}

    def districts(self) -> list[dict]:
        return [self.district_summary(a) for a in self.plans]

    def district_centre_lon(self, adcode: str) -> float:
        """Longitude used to pick a Gauss-Krüger zone for coordinates written without zone prefix."""
        minx, _, maxx, _ = self.bounds(adcode)
        return (minx + maxx) / 2

    def bounds(self, adcode: str) -> tuple[float, float, float, float]:
        self.check(adcode)
        return tuple(self.store.read("district", adcode).total_bounds)

    def demo_kinds(self, adcode: str) -> frozenset:
        return frozenset(k for k in self.vocab.kinds if self.store.is_demo(adcode, k))

    def layer_etag(self, adcode: str, kind_key: str, display: bool) -> str:
        """What a layer's GeoJSON is made from (the data version, district, kind, copy), known before building it:
        a revalidation (If-None-Match) is answered without building or serialising anything."""
        self.check(adcode)
        self.vocab.kind(kind_key)
        return f"{self.store.info()['version']}-{adcode}-{kind_key}-{int(display)}"

    def layer_index(self, adcode: str, kind_key: str) -> dict:
        """Every feature's id, name and bounds, without geometry: the map's search box for a layer drawn from tiles."""
        self.check(adcode)
        kind = self.vocab.kind(kind_key)
        frame = self.store.read(kind_key, adcode)
        bounds = shapely.bounds(frame.geometry.values).round(6).tolist()
        names = frame["name"].tolist() if "name" in frame.columns else [None] * len(frame)
        return {"kind": kind.key, "name": kind.name_zh, "data_version": self.store.info()["version"],
                "features": [{"id": str(i), "name": None if n is None or n != n else str(n), "bbox": b}
                             for i, n, b in zip(frame["feature_id"], names, bounds)]}

    def layer_features_at(self, adcode: str, kind_key: str, lon, lat, tolerance_m=None) -> dict:
        """The features under a point of the map (within tolerance_m of it), with attributes and areas but no
        geometry: what a click on a layer drawn from tiles shows."""
        self.check(adcode)
        kind = self.vocab.kind(kind_key)
        try:
            x, y = float(lon), float(lat)
            tol = float(tolerance_m) if tolerance_m not in (None, "") else 0.0
        except (TypeError, ValueError):
            raise DataError("lon、lat 须为经纬度数值（tolerance_m 为米）", "lon and lat must be numbers (tolerance_m in metres)") from None
        if not (-180 <= x <= 180 and -90 <= y <= 90) or not 0 <= tol <= MAX_PICK_TOLERANCE_M:
            raise DataError(f"经纬度超出范围，或容差不在 0–{MAX_PICK_TOLERANCE_M:g} 米之间",
                            f"lon/lat out of range, or tolerance_m not within 0–{MAX_PICK_TOLERANCE_M:g} m")
        frame = self.store.read(kind_key, adcode)
        where = shapely.Point(x, y)
        if tol:  # metres to degrees at this latitude: an ellipse, close enough for picking under a cursor
            where = shapely.affinity.scale(where.buffer(tol / M_PER_DEG_LAT), max(math.cos(math.radians(y)), 1e-6) ** -1, 1)
        rows = frame.sindex.query(where, predicate="intersects")
        hits = frame.iloc[sorted(rows)]
        return {"type": "FeatureCollection", **self._layer_meta(adcode, kind),
                "features": [{"type": "Feature", "id": p["feature_id"], "properties": p, "geometry": None}
                             for p in feature_properties(hits, kind)]}

    def layer_body(self, adcode: str, kind_key: str, display: bool) -> bytes | Iterator[bytes]:
        """The GeoJSON as sent: a light layer serialised once per data version and kept; a heavy one (at least
        STREAM_MIN_VERTICES) serialised a few features at a time as it is sent, never held whole — a 5 M-vertex
        layer is some 200 MB of JSON, and the other requests go on between its chunks."""
        self.check(adcode)
        kind = self.vocab.kind(kind_key)
        if self.vertices(adcode, kind_key) < STREAM_MIN_VERTICES:
            return self._cached_body(adcode, kind_key, display)
        return self._layer_stream(self.store.read(kind_key, adcode), kind, adcode, display)

    def _vertices(self, adcode: str, kind_key: str) -> int:
        """A layer's vertex count, taken once per snapshot (the layers of a snapshot never change)."""
        return int(shapely.get_num_coordinates(self.store.read(kind_key, adcode).geometry.values).sum())

    def _layer_stream(self, frame, kind, adcode: str, display: bool) -> Iterator[bytes]:
        head = json.dumps({"type": "FeatureCollection", **self._layer_meta(adcode, kind)}, ensure_ascii=False, separators=(",", ":"))
        yield (head[:-1] + ',"features":[').encode()
        for start in range(0, len(frame), STREAM_FEATURES):
            part = to_feature_collection(frame.iloc[start:start + STREAM_FEATURES], kind, display=display)["features"]
            yield (("," if start else "") + ",".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in part)).encode()
        yield b"]}"

    def _layer_meta(self, adcode: str, kind) -> dict:
        return {"name": kind.name_zh, "kind": kind.key, "crs_note": CRS_NOTE, "area_method": METHOD_AREA,
                "data_version": self.store.info()["version"]}

    def _layer_body(self, adcode: str, kind_key: str, display: bool) -> bytes:
        return json.dumps(self._layer_geojson(adcode, kind_key, display), ensure_ascii=False, separators=(",", ":")).encode()

    def _layer_geojson(self, adcode: str, kind_key: str, display: bool) -> dict:
        self.check(adcode)
        kind = self.vocab.kind(kind_key)
        fc = to_feature_collection(self.store.read(kind_key, adcode), kind, display=display)
        fc.update(self._layer_meta(adcode, kind))
        return fc
