"""Screening over the loaded layers: indexes built once at start-up, plan rules attached to hits."""
from __future__ import annotations

import shapely

from geo.area import area_m2
from geo.errors import DataError
from geo.screening import DEFAULT_BANDS_M, LocalFrame, index_kind, method_block, screen_kind, site_summary, verdict
from layers.catalogue import KINDS, THEMATIC_KINDS
from layers.store import LayerStore

MAX_BAND_M = 50_000
GROUP_BY = {"water_source_zone": "zone", "protected_area": "pa_type"}


class ScreeningService:
    def __init__(self, store: LayerStore, plans: dict[str, dict]):
        self.store = store
        self.plans = plans
        self.kinds = {}
        for key in THEMATIC_KINDS:
            kind = KINDS[key]
            self.kinds[key] = index_kind(key, kind.name_zh, store.read_all(key), kind.attributes + ("adcode", "source"))
        districts = store.read_all("district")
        self.district_geoms = districts.geometry.values
        self.district_codes = districts["adcode"].to_numpy()
        shapely.prepare(self.district_geoms)
        self.district_tree = shapely.STRtree(self.district_geoms)
        self.layer_status = {k: ("示意数据" if v.is_demo else "正式数据") for k, v in self.kinds.items()}

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
        site_area = area_m2(site)
        districts = self.districts_of(site)
        if district and district not in {d["adcode"] for d in districts}:
            raise DataError(f"项目位置不在所选区县（{self.plans[district]['name']}）内", "the site does not lie in the selected district")
        layers = [screen_kind(k, site, site_area, frame, site_m, bands_m, GROUP_BY.get(key)) for key, k in self.kinds.items()]
        for layer in layers:
            layer["status"] = self.layer_status[layer["kind"]]
            layer["control_rules"] = self._rules(layer)
        summary = site_summary(site, districts, crs_info, stated_area_ha)
        if name:
            summary["name"] = name
        data_info = {"version": self.store.info()["version"], "layers": self.layer_status}
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
    if not bands or bands[0] < 0 or bands[-1] > MAX_BAND_M or len(bands) > 10:
        raise DataError(f"距离分级须为 0–{MAX_BAND_M} 米之间的 1–10 个数", f"distance bands must be 1–10 values in 0–{MAX_BAND_M} m")
    return bands
