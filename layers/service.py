"""The district catalogue service: plans plus layers, returning plain data for any web adapter."""
from __future__ import annotations

from functools import lru_cache

from geo.area import METHOD_AREA, M2_PER_KM2
from geo.plans import indicator
from layers.catalogue import KINDS, get_kind
from layers.store import LayerStore, to_feature_collection


class NotFound(LookupError):
    def __init__(self, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


class DistrictService:
    def __init__(self, store: LayerStore, plans: dict[str, dict]):
        self.store = store
        self.plans = plans
        missing = sorted(set(plans) - set(store.adcodes()))
        if missing:
            from geo.errors import ConfigError

            raise ConfigError(store.info()["path"], "district.adcode", f"规划文件的区县在图层中没有边界 / no boundary for {missing}")
        self.area_m2 = {a: float(store.read("district", a)["area_m2"].sum()) for a in plans}
        self.layer_geojson = lru_cache(maxsize=128)(self._layer_geojson)

    def _check(self, adcode: str):
        if adcode not in self.plans:
            raise NotFound(f"未知的行政区划代码：{adcode}", f"unknown district adcode: {adcode}")

    def district_summary(self, adcode: str) -> dict:
        self._check(adcode)
        plan = self.plans[adcode]
        return {
            "adcode": adcode,
            "name": plan["name"],
            "full_name": plan["full_name"],
            "area_km2": round(self.area_m2[adcode] / M2_PER_KM2, 3),
            "area_method": METHOD_AREA,
            "plan": plan,
            "headline": [indicator(plan, k) for k in plan["headline"]],
            "layers": [k for k in KINDS],
            "data_version": self.store.info()["version"],
        }

    def districts(self) -> list[dict]:
        return [self.district_summary(a) for a in self.plans]

    def district_centre_lon(self, adcode: str) -> float:
        """Longitude used to pick a Gauss-Krüger zone for coordinates written without zone prefix."""
        minx, _, maxx, _ = self.bounds(adcode)
        return (minx + maxx) / 2

    def bounds(self, adcode: str) -> tuple[float, float, float, float]:
        self._check(adcode)
        return tuple(self.store.read("district", adcode).total_bounds)

    def _layer_geojson(self, adcode: str, kind_key: str, display: bool) -> dict:
        self._check(adcode)
        kind = get_kind(kind_key)
        if kind is None:
            raise NotFound(f"未知的图层类型：{kind_key}（可用：{'、'.join(KINDS)}）", f"unknown layer kind: {kind_key} (known: {', '.join(KINDS)})")
        fc = to_feature_collection(self.store.read(kind_key, adcode), kind, display=display)
        fc["name"] = kind.name_zh
        fc["kind"] = kind_key
        fc["crs_note"] = "CGCS2000 (EPSG:4490) 经纬度，坐标顺序 经度, 纬度 / lon, lat"
        fc["area_method"] = METHOD_AREA
        fc["data_version"] = self.store.info()["version"]
        return fc
