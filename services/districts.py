"""Districts: plans plus layers, as plain data for any adapter (pages, API, CLI)."""
from __future__ import annotations

import json
from functools import lru_cache

from geo.area import METHOD_AREA, M2_PER_KM2
from geo.errors import ConfigError, NotFoundError
from geo.plans import indicator, plan_citations
from layers.store import LayerStore, to_feature_collection

CRS_NOTE = "CGCS2000 (EPSG:4490) 经纬度，坐标顺序 经度, 纬度 / lon, lat"
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
        self.layer_body = lru_cache(maxsize=128)(self._layer_body)
        self.search_initials = lru_cache(maxsize=64)(self._search_initials)

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

    def _layer_body(self, adcode: str, kind_key: str, display: bool) -> bytes:
        """The GeoJSON as sent, serialised once per data version (not per request)."""
        return json.dumps(self._layer_geojson(adcode, kind_key, display), ensure_ascii=False, separators=(",", ":")).encode()

    def _layer_geojson(self, adcode: str, kind_key: str, display: bool) -> dict:
        self.check(adcode)
        kind = self.vocab.kind(kind_key)
        fc = to_feature_collection(self.store.read(kind_key, adcode), kind, display=display)
        fc["name"] = kind.name_zh
        fc["kind"] = kind_key
        fc["crs_note"] = CRS_NOTE
        fc["area_method"] = METHOD_AREA
        fc["data_version"] = self.store.info()["version"]
        return fc
