"""Screening (选址合规初筛): the indexes over one layer snapshot, and the application service
every adapter calls — parse the input, convert its CRS, screen it, store and audit the result.

No route or command reaches the engine around `screen()`, so no path can skip the audit.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import shapely.geometry

from geo import deadline, project_info
from geo import sites as site_input
from geo import vocabulary
from geo.control_units import admission_list
from geo.coverage import CoverageIndex
from geo.crs import GEO_EPSG, GEOD, WEB_SYSTEMS, bd09_to_wgs84, crs_label, gcj02_to_wgs84, parse_crs
from geo.errors import AuthRequiredError, DataError, NotFoundError
from geo.screening import (DEFAULT_BANDS_M, DEFAULT_SLIVER_M2, INSIDE, LINE, NEAR, WITHIN, LocalFrame, band_label, built_tree,
                           check_relations, corridor_of, group_labels, index_kind, method_block, parse_corridor_width, screen_kind,
                           screen_points, site_summary, site_type, verdict)
from layers.store import LayerStore

MAX_BAND_M = 50_000
BATCH_MIN_POINTS = 200  # above this many point sites a batch run uses the vectorised engine
BATCH_CHUNK = 10_000


class ScreeningService:
    def __init__(self, store: LayerStore, plans: dict[str, dict]):
        self.store = store
        self.vocab = store.vocab
        check_relations(self.vocab)
        self.plans = plans
        self.kinds = {}
        for kind in self.vocab.screened:
            self.kinds[kind.key] = index_kind(kind.key, kind.name_zh, store.read_all(kind.key), kind.attributes + ("adcode", "source"))
        districts = store.read_all("district")
        self.district_geoms = districts.geometry.values
        self.district_codes = districts["adcode"].to_numpy()
        self.district_tree = built_tree(self.district_geoms)
        self.coverage = CoverageIndex(zip(self.district_codes, self._district_names(districts), self.district_geoms),
                                      loaded_districts(store, list(self.kinds)))
        # per-zone projections and edge indexes for every district's zone, built now, not in a request
        for geom in self.district_geoms:
            frame = LocalFrame(geom.centroid.x, geom.centroid.y)
            for kind in self.kinds.values():
                kind.edge_chunks(frame)
            self.coverage.prepare(frame)

    def _district_names(self, districts) -> list[str]:
        names = districts["name"] if "name" in districts.columns else [""] * len(districts)
        return [self.plans.get(str(a), {}).get("name") or str(n or a) for a, n in zip(self.district_codes, names)]

    def districts_of(self, site) -> list[dict]:
        idx = self.district_tree.query(site, predicate="intersects")
        return [{"adcode": str(self.district_codes[i]), "name": self.plans.get(str(self.district_codes[i]), {}).get("name", "")}
                for i in sorted(idx, key=lambda i: self.district_codes[i])]

    def screen(self, site, crs_info: dict, bands_m=DEFAULT_BANDS_M, stated_area_ha: float | None = None,
               name: str | None = None, district: str | None = None, *, sliver_m2: float = DEFAULT_SLIVER_M2,
               corridor_width_m: float | None = None, measure_coverage: bool = True) -> dict:
        """Screen one lon/lat site against every thematic layer of every district. sliver_m2: overlaps
        below it are boundary contact; corridor_width_m: a line site is also screened as its corridor;
        measure_coverage=False (batch rows): an uncovered search area is measured only where no bound decides."""
        bands_m = validate_bands(bands_m)
        c = site.centroid if site.geom_type != "Point" else site
        frame = LocalFrame(c.x, c.y)
        site_m = frame.to_m(site)
        districts = self.districts_of(site)
        corridor = corridor_of(site, frame, corridor_width_m) if corridor_width_m and site_type(site) == LINE else None
        summary = site_summary(site, districts, crs_info, stated_area_ha, frame=frame, corridor=corridor)
        site_area = summary["area_m2"]
        if district and district not in {d["adcode"] for d in districts}:
            raise DataError(f"项目位置不在所选区县（{self.plans[district]['name']}）内", "the site does not lie in the selected district")
        layers = []
        for key, k in self.kinds.items():
            deadline.check()
            group_by, labels = group_labels(self.vocab.kinds[key])  # the verdict's grouping, from the vocabulary
            layers.append(screen_kind(k, site, site_area, frame, site_m, bands_m, group_by, labels=labels, sliver_m2=sliver_m2,
                                      corridor=corridor, zoning=self.vocab.kinds[key].zoning))
        # where the answer may say "不涉及": the site and its whole search radius inside loaded districts;
        # for a zoning kind (units that tile the district) the site itself (and its corridor) is what must be covered
        zoning = [key for key in self.kinds if self.vocab.kinds[key].zoning]
        coverage = self.coverage.check_all([key for key in self.kinds if key not in zoning], site, site_m, frame, bands_m[-1],
                                           measure=measure_coverage)
        extent, extent_m = (corridor["geometry"], corridor["geometry_m"]) if corridor is not None else (site, site_m)
        coverage.update(self.coverage.check_all(zoning, extent, extent_m, frame, 0, measure=measure_coverage))
        for layer in layers:
            layer["coverage"] = coverage[layer["kind"]]
            kind = self.vocab.kinds[layer["kind"]]
            if kind.admission_list:  # the 准入清单 of every unit the site lies in, by dimension
                for h in layer["hits"]:
                    if h["relation"] in INSIDE or h.get("corridor_relation") in INSIDE:
                        h["admission_list"] = admission_list(kind, h["attributes"], self.vocab.requirement_levels)
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
        method = method_block(crs_info, data_info, bands_m, plane={"epsg": frame.epsg, "zone": frame.zone}, sliver_m2=sliver_m2,
                              corridor_width_m=corridor["width_m"] if corridor else None)
        result = {"site": summary, "layers": layers, "verdict": verdict(layers, summary, self.vocab), "method": method}
        if corridor is not None:
            result["_corridor_geometry"] = corridor["geometry"]
        return result

    def _rules(self, layer: dict) -> list[dict]:
        """管控要求 of every plan whose zone the site touches, quoted with the plan and line."""
        rule_key = self.vocab.kinds[layer["kind"]].rule_key
        out = []
        for adcode in sorted({h["attributes"]["adcode"] for h in layer["hits"] if h["relation"] != NEAR or h.get("corridor_relation") not in (None, NEAR)}):
            plan = self.plans.get(adcode)
            if plan:
                for rule in plan["control_rules"].get(rule_key, []):
                    out.append({"text": rule["text"], "plan": plan["plan_title"], "seed": plan["seed"], "line": rule["source"]["line"]})
        return out


def loaded_districts(store, kinds) -> dict[str, set[str]]:
    """Layer kind → districts whose layer of that kind is loaded: the layer file has features of
    that kind for the district, or a version has been published for it (even an empty one)."""
    published = getattr(store, "layer_versions", None) or {}
    out = {}
    for kind in kinds:
        frame = store.read_all(kind)
        codes = set(frame["adcode"].astype(str)) if len(frame) else set()
        out[kind] = codes | {key.split("/")[0] for key in published if key.split("/")[-1] == kind}
    return out


def coverage_text(coverage: dict | None) -> str:
    """The coverage of one layer in a table cell (CSV, Excel)."""
    if coverage is None or coverage["complete"]:
        return "完整"
    return f"不完整：{coverage['note_zh']}"


def validate_bands(bands_m) -> tuple[float, ...]:
    try:
        bands = tuple(sorted(float(b) for b in bands_m))
    except (TypeError, ValueError):
        raise DataError("距离分级须为数字列表（米），如 0,100,500,1000,5000", "distance bands must be numbers in metres") from None
    if not bands or not all(np.isfinite(bands)) or bands[0] < 0 or bands[-1] > MAX_BAND_M or len(bands) > 10:
        raise DataError(f"距离分级须为 0–{MAX_BAND_M} 米之间的 1–10 个数", f"distance bands must be 1–10 values in 0–{MAX_BAND_M} m")
    return bands


CORRIDOR_IGNORED = "线路廊道宽度只用于线状项目（输变电线路、管线、道路），本项目不是线，已忽略 / corridor width applies to line sites only; ignored"


def screen_sites(service: ScreeningService, sites: list, bands_m=DEFAULT_BANDS_M, district: str | None = None, *,
                 sliver_m2: float = DEFAULT_SLIVER_M2, corridor_width_m: float | None = None) -> list[dict]:
    results = []
    for site in sites:
        result = service.screen(site.geometry, site.crs, bands_m, site.stated_area_ha, site.name, district,
                                sliver_m2=sliver_m2, corridor_width_m=corridor_width_m)
        result["site"]["notes"] = site.notes + ([CORRIDOR_IGNORED] if corridor_width_m and result["site"]["corridor"] is None else [])
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
    frame = LocalFrame(float(np.median(lons)), float(np.median(lats)))
    zoning = {k.key for k in kinds if service.vocab.kinds[k.key].zoning}  # units: the one the point is in, never the nearest
    cover = {k.key: service.coverage.check_points(k.key, lons, lats, frame, 0.0 if k.key in zoning else bands_m[-1]) for k in kinds}
    unknown = vocabulary.status("verdict", "unknown")
    rows = []
    for n, site in enumerate(sites):
        name = site.name or f"项目{n + 1}"
        for kind in kinds:
            r = out[kind.key]
            i = r["within"][n] if kind.key in zoning else r["nearest"][n]
            cov = cover[kind.key][n]
            if i < 0:
                if kind.key in zoning and (cov is None or cov["complete"]):
                    cov = {"complete": False, "note_zh": f"未落入任何已加载的{kind.name_zh}（单元数据在此处有缺口）"}
                if cov is not None and not cov["complete"]:  # no zone found where there are no data: not "clear"
                    rows.append({"site": name, "adcode": "", "kind": kind.key, "layer": kind.name_zh, "feature_id": "",
                                 "site_type": "point", "name": f"{unknown}：{cov['note_zh']}", "relation": "", "overlap_m2": "", "overlap_ha": "",
                                 "overlap_pct_of_site": "", "distance_m": "", "distance_band": "", "coverage": coverage_text(cov)})
                continue
            inside = r["within"][n] >= 0
            rows.append({"site": name, "adcode": str(kind.attrs[i].get("adcode", "")), "kind": kind.key,
                         "layer": kind.name_zh, "feature_id": str(kind.ids[i]),
                         "name": str(kind.names[i]), "site_type": "point", "relation": WITHIN if inside else NEAR,
                         "relation_zh": service.vocab.relations[WITHIN if inside else NEAR]["label"],
                         "overlap_m2": "", "overlap_ha": "", "overlap_pct_of_site": "",  # a point has no area: no figures, no 100 %
                         "distance_m": round(float(r["distance_m"][n]), 1), "distance_band": band_label(float(r["distance_m"][n]), bands_m),
                         "coverage": coverage_text(cov)})
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
    skipped: list[str] = field(default_factory=list)  # parts of the input not screened, and why (bilingual)
    warnings: list[str] = field(default_factory=list)  # batch runs: what the rows cannot say (e.g. an unstated coordinate source)

    @property
    def is_batch(self) -> bool:
        return self.rows is not None


def _summary(results: list[dict]) -> str:
    text = "；".join(f"{r['site'].get('name') or '项目'}：{r['verdict']['summary']}" for r in results)
    if any(r.get("coordinate_check", {}).get("differs") for r in results):
        text = "坐标来源未说明且各坐标系结论不同（见 coordinate_check）；" + text
    return text


# ---------------------------------------------------------------- coordinate source (坐标来源)

# What the screening form asks (no default): where the coordinates came from → the crs it means.
# None: the form's own CRS choice (or the file's declared CRS) decides; "unsure" compares systems.
COORD_SOURCES = {
    "gps": f"EPSG:{GEO_EPSG}",  # GPS/北斗接收机、CGCS2000 测绘成果、天地图
    "gcj02": "GCJ02",  # 高德、腾讯地图拾取
    "bd09": "BD09",  # 百度地图拾取
    "ovital": "EPSG:4326",  # 奥维互动地图：常用 WGS84（按其导出设置）
    "declared": None,  # 测量坐标（高斯-克吕格）或文件已声明坐标系：按所选坐标系
    "unsure": None,  # 不确定：经纬度按下列各坐标系分别初筛并比较
}
# Systems a lon/lat input of unknown source may be in, with how to undo each (None: as read).
PLAUSIBLE_SYSTEMS = (
    ("CGCS2000", f"EPSG:{GEO_EPSG}", "gps", "CGCS2000/WGS84 经纬度（GPS、天地图、奥维默认）", None),
    ("GCJ02", "GCJ02", "gcj02", WEB_SYSTEMS["GCJ02"] + "地图拾取", gcj02_to_wgs84),
    ("BD09", "BD09", "bd09", WEB_SYSTEMS["BD09"] + "地图拾取", bd09_to_wgs84),
)
_SAME_LONLAT = {GEO_EPSG, 4326}
MAX_RERUN_TEXT = 400_000  # characters of GeoJSON the result page's re-run buttons may carry (form field limit)


def crs_from_source(coord_source: str | None, crs: str | None) -> str | None:
    """The crs a request means, from the form's 坐标来源 and its CRS fields; a contradiction is a 400."""
    if not coord_source:
        return crs
    if not isinstance(coord_source, str) or coord_source not in COORD_SOURCES:
        raise DataError(f"无法识别的坐标来源：{str(coord_source)[:40]}（可选 {'、'.join(COORD_SOURCES)}）",
                        f"unknown coordinate source {str(coord_source)[:40]!r}; use one of {', '.join(COORD_SOURCES)}")
    implied = COORD_SOURCES[coord_source]
    if implied is None or not (crs and str(crs).strip()):
        return implied if implied is not None else crs
    a, b = parse_crs(implied), parse_crs(crs)
    if a != b and not ({a, b} <= _SAME_LONLAT):
        raise DataError(f"坐标来源（{coord_source}，即 {implied}）与所选坐标系（{str(crs)[:40]}）不一致，请只选其一",
                        f"the coordinate source ({implied}) contradicts the chosen CRS ({str(crs)[:40]})")
    return implied


def is_ambiguous(site, crs_value) -> bool:
    """Lon/lat whose CRS nobody stated (no crs given, none declared by the file): CGCS2000/WGS84,
    GCJ-02 and BD-09 are all plausible. Gauss-Krüger and declared systems are not ambiguous."""
    return crs_value is None and site.crs.get("assumed") == crs_label(GEO_EPSG)


def involved(result: dict) -> list[tuple[str, str, str]]:
    """The protected zones a result involves (the control units a site lies in are where it is, not an involvement)."""
    return sorted({(layer["kind"], h["id"], h["name"]) for layer in result["layers"] if not layer.get("zoning") for h in layer["hits"]
                   if h["relation"] in INSIDE or h.get("corridor_relation") in INSIDE})


def coordinate_check(service: ScreeningService, site, result: dict, bands_m, **options) -> dict:
    """The same site screened under each plausible system; whether the answers differ (verdict
    level or the zones involved), said in a note that asks the user to confirm the source."""
    base = site.geometry
    c0 = base.centroid if base.geom_type != "Point" else base
    systems, answers = [], []
    for key, value, source, label, undo in PLAUSIBLE_SYSTEMS:
        if undo is None:
            r, shift = result, 0.0
        else:
            geom, _ = site_input.valid_after_transform(undo(base), site_input.Limits(repair_budget_s=deadline.remaining()),
                                                       "坐标系比较")
            info = {"as_read": "未提供", "assumed": WEB_SYSTEMS[key],
                    "conversions": [f"比较：按 {WEB_SYSTEMS[key]} 解读 → WGS84/CGCS2000（prcoords 精确反算）"]}
            r = service.screen(geom, info, bands_m, site.stated_area_ha, site.name, **options)
            c = geom.centroid if geom.geom_type != "Point" else geom
            shift = float(GEOD.inv(c0.x, c0.y, c.x, c.y)[2])
        zones = involved(r)
        answers.append((r["verdict"]["level"], [(k, i) for k, i, _ in zones]))
        systems.append({"crs": key, "value": value, "source": source, "label": label, "level": r["verdict"]["level"],
                        "summary": r["verdict"]["summary"], "involved": [f"{n}（{i}）" for _, i, n in zones],
                        "shift_m": round(shift, 1)})
    differs = any(a != answers[0] for a in answers[1:])
    names = "、".join(s["label"] for s in systems)
    if differs:
        each = "；".join(f"按 {s['label']}：{s['level']}" + (f"（位置相差 {s['shift_m']:.0f} m）" if s["shift_m"] else "")
                        for s in systems)
        each_en = "; ".join(f"{s['crs']}: {s['level']}" + (f" ({s['shift_m']:.0f} m apart)" if s["shift_m"] else "") for s in systems)
        note_zh = (f"坐标来源未说明，结论随坐标系而不同：{each}。请确认坐标取自何处（GPS/测绘成果、高德/腾讯、百度，"
                   f"或奥维的导出设置），按该坐标来源重新初筛；下列结果暂按 {systems[0]['label']} 给出，不能直接作为结论。")
        note_en = (f"The coordinate source was not stated and the answer depends on it ({each_en}). Confirm where the "
                   f"coordinates came from and screen again with that source; the result below assumes {systems[0]['crs']}.")
    else:
        note_zh = f"坐标来源未说明；按 {names} 分别初筛，结论相同（{systems[0]['level']}）。"
        note_en = f"The coordinate source was not stated; screened as {', '.join(s['crs'] for s in systems)}: the same answer ({systems[0]['level']})."
    return {"systems": systems, "differs": differs, "assumed": systems[0]["crs"], "note_zh": note_zh, "note_en": note_en}


def rerun_form(results: list[dict]) -> dict | None:
    """What the result page needs to re-run the same input with a stated source: the sites as
    typed (GeoJSON text), district, bands and one choice per plausible system. None unless every
    site's source was ambiguous and the answers differ somewhere."""
    if not results or not all("coordinate_check" in r for r in results) or not any(r["coordinate_check"]["differs"] for r in results):
        return None
    features = [{"type": "Feature", "properties": {"name": r["site"].get("name")} if r["site"].get("name") else {},
                 "geometry": shapely.geometry.mapping(r["_site_geometry"])} for r in results]
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":"))
    request = results[0].get("_request", {})
    return {"coordinates": text if len(text) <= MAX_RERUN_TEXT else None, "district": request.get("district") or "",
            "bands": ",".join(f"{b:g}" for b in results[0]["method"]["distance_bands_m"]),
            "corridor_width_m": request.get("corridor_width_m") or "",
            "choices": [{"source": s["source"], "label": s["label"], "level": s["level"] if len(results) == 1 else None}
                        for s in results[0]["coordinate_check"]["systems"]]}


def require_login(ctx, actor) -> None:
    """REQUIRE_LOGIN_FOR_SCREENING: a screening by nobody (anonymous) is a 401."""
    if ctx.config["REQUIRE_LOGIN_FOR_SCREENING"] and not actor.username:
        raise AuthRequiredError("本服务要求登录后才能初筛（REQUIRE_LOGIN_FOR_SCREENING），请登录或在 API 中使用 HTTP Basic 认证",
                                "this deployment requires signing in to screen (REQUIRE_LOGIN_FOR_SCREENING): use HTTP Basic credentials")


def screen(ctx, actor, *, upload: tuple[str, bytes] | None = None, text: str | None = None, geometry=None, crs=None,
           district=None, bands=None, raw: bytes | None = None, allow_batch: bool = False, progress=None,
           csv_mode: str | None = None, coord_source: str | None = None, corridor_width_m=None, project=None,
           rerun_of: str | None = None, compare=None) -> ScreeningRun:
    """Parse, convert, screen (one data snapshot throughout), store and audit once.

    upload: (filename, bytes); text: typed coordinates; geometry: a GeoJSON object. raw: the request
    body hashed for the audit when neither upload nor text is given. allow_batch: many point sites
    go through the vectorised engine (rows per site and kind, not stored). progress(n) is told how
    many sites were done. csv_mode (CSV uploads): "points", "parcel" or None/"auto" to guess.
    Parts of the input that could not be screened are in run.skipped and each result's "input_skipped".
    coord_source: the form's 坐标来源 (COORD_SOURCES). Lon/lat whose CRS nobody stated is screened
    under every plausible system as well, in each result's "coordinate_check".
    corridor_width_m: line sites are also screened as a corridor this wide (metres; None: no corridor).
    project: the project information (geo.project_info; the API's project object), kept in every result.
    rerun_of: the stored result this run screens again (its owner's history links the two); compare(results) → what
    differs from it, kept in the first result's "rerun_of".
    REQUIRE_LOGIN_FOR_SCREENING: nobody's screening (anonymous) is refused here, whichever adapter asks.
    """
    require_login(ctx, actor)
    project = project_info.parse(project, ctx.vocab.project_fields)
    snap = ctx.live.get()
    if not isinstance(district, (str, type(None))) or not isinstance(crs, (str, type(None))):
        raise DataError("district 与 crs 须为字符串", "district and crs must be strings")
    crs_value = parse_crs(crs_from_source(coord_source, crs))
    district = snap.districts.check(district) if district else None
    district_lon = snap.districts.district_centre_lon(district) if district else None
    bands_m = parse_bands(bands)
    options = {"sliver_m2": ctx.config.get("SLIVER_M2", DEFAULT_SLIVER_M2), "corridor_width_m": parse_corridor_width(corridor_width_m)}
    if upload is not None:
        sites = site_input.sites_from_upload(upload[0], upload[1], crs_value, ctx.limits, district_lon, csv_mode=csv_mode)
        raw = upload[1]
    elif text:
        sites = site_input.sites_from_text(text, crs_value, ctx.limits, district_lon)
        raw = text.encode()
    elif geometry is not None:
        sites = site_input.sites_from_geojson(geometry, crs_value, ctx.limits, district_lon)
    else:
        raise DataError("请上传文件或提供坐标", "upload a file or give coordinates")
    skipped = list(getattr(sites, "skipped", []))
    if allow_batch and len(sites) > BATCH_MIN_POINTS and all(s.geometry.geom_type == "Point" for s in sites):
        rows = []
        for start in range(0, len(sites), BATCH_CHUNK):
            rows.extend(batch_rows(snap.screening, sites[start:start + BATCH_CHUNK], bands_m))
            if progress:
                progress(min(BATCH_CHUNK, len(sites) - start))
        adcodes = sorted({r["adcode"] for r in rows})
        versions = {f"{a}/{k}": snap.store.layer_version(a, k) for a in adcodes for k in snap.screening.kinds}
        warnings = []
        if any(is_ambiguous(s, crs_value) for s in sites):
            warnings.append("坐标来源未说明：经纬度按 CGCS2000/WGS84 处理；批量引擎不比较 GCJ-02/BD-09，若坐标取自高德/腾讯或百度地图，"
                            "请指定 crs（GCJ02/BD09）重新初筛 / coordinate source not stated: lon/lat read as CGCS2000; give crs if they are GCJ-02/BD-09")
        ctx.record(actor, "screen", f"批量点位初筛 {len(sites)} 个点位（批量引擎），{len(rows)} 条命中", versions, raw)
        return ScreeningRun(rows=rows, skipped=skipped, warnings=warnings)
    results = []
    for site in sites:
        with deadline.within(ctx.config["SCREEN_BUDGET_SECONDS"]):  # each site, its coordinate check included
            results.extend(screen_sites(snap.screening, [site], bands_m, district, **options))
            results[-1]["input_skipped"] = skipped
            results[-1]["project"] = project
            results[-1]["_request"] = {"district": district, "corridor_width_m": options["corridor_width_m"]}
            if is_ambiguous(site, crs_value):
                results[-1]["coordinate_check"] = coordinate_check(snap.screening, site, results[-1], bands_m, **options)
        if getattr(site, "stated_area_check", None):
            results[-1]["site"]["stated_area_check"] = site.stated_area_check
        if progress:
            progress(1)
    versions = {k: v for r in results for k, v in r["method"]["data"]["layer_versions"].items()}
    if compare is not None and results:
        results[0]["rerun_of"] = compare(results)
    summary = (f"{project['name']}：" if project.get("name") else "") + _summary(results) + (
        f"；{len(skipped)} 个部分未参与初筛" if skipped else "")
    rid = ctx.results.put(results, owner=actor.username, summary=summary, rerun_of=rerun_of,  # result and audit row: both or neither
                          with_tx=lambda tx, rid: ctx.record(actor, "screen", summary, versions, raw, tx=tx, result_id=rid))
    return ScreeningRun(results=results, result_id=rid, skipped=skipped)


def stored_results(ctx, rid: str, viewer=None) -> list[dict]:
    """A stored result for viewer (an Actor). With RESULTS_PRIVATE a signed-in user's result is theirs and the
    administrators'; anyone else gets the same 404 as for an unknown id, so the link's existence is not revealed.
    An anonymous user's result stays readable by whoever has the link."""
    found = ctx.results.entry(rid)
    if found is not None and ctx.config["RESULTS_PRIVATE"] and found[1] is not None:
        if viewer is None or not (viewer.is_admin or viewer.username == found[1]):
            found = None
    if found is None:
        raise NotFoundError("初筛结果不存在或已过期，请重新初筛", f"screening result {rid[:40]} not found or expired")
    return found[0]
