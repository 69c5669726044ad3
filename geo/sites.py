"""Project sites from whatever a reviewer received: GeoJSON, KML/KMZ, GeoPackage, zipped
Shapefile, CSV of points or parcel vertices, a 界址点坐标 TXT or typed coordinates, in any CRS
they use, as CGCS2000 lon/lat.

The entry points: geo.uploads checks the upload, geo.readers reads its features, geo.crs
works out and converts the CRS, and clean_geometry checks and repairs each geometry.

Sites are points, lines (输变电线路、管线、道路) or polygons. Every entry point returns a
SiteList: a list of sites that also says, in `skipped`, which parts of the input were not
turned into a site and why (a KML 3-D model, a feature without geometry, a part with NaN
coordinates), so that an answer never reads as complete when part of the file was left out.
An input of which no part can be screened is refused with the reason for the first part.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from geo import readers
from geo.crs import to_lonlat
from geo.errors import DataError
from geo.repair import METHOD_ZH as REPAIR_METHOD_ZH
from geo.repair import repair_within
from geo.uploads import DEFAULT_LIMITS, Limits, check_size, temp_dir

__all__ = ["Limits", "Site", "SiteList", "clean_geometry", "sites_from_geojson", "sites_from_text", "sites_from_upload"]

NAME_KEYS = ("name", "名称", "NAME", "Name", "XMMC", "DKMC", "项目名称", "地块名称", "点名", "点号")
SITE_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
DIMENSION_WORDS = {2: ("面", "polygons"), 1: ("线", "lines"), 0: ("点", "points")}


@dataclass
class Site:
    geometry: object  # shapely, lon/lat CGCS2000
    crs: dict
    name: str | None = None
    stated_area_ha: float | None = None
    notes: list[str] = field(default_factory=list)
    properties: dict = field(default_factory=dict)  # the feature's attributes as read (untrusted text)
    stated_area_check: dict | None = None  # 界址点 TXT: the stated 地块面积 against the plane area (geo.jzd_txt)


class SiteList(list):
    """The sites of one input, and `skipped`: one bilingual message per part not screened."""

    def __init__(self, sites=(), skipped=()):
        super().__init__(sites)
        self.skipped: list[str] = list(skipped)


def clean_geometry(geom, limits: Limits, what: str) -> tuple[object, list[str]]:
    """2-D points, lines or polygons with finite coordinates under the vertex limit, repaired if invalid."""
    notes = []
    if geom is None or geom.is_empty:
        raise DataError(f"{what}：几何为空", f"{what}: empty geometry")
    geom = shapely.force_2d(geom)
    kind = geom.geom_type
    if kind not in SITE_TYPES:
        raise DataError(f"{what}：几何类型为 {kind}，仅支持点、线或面",
                        f"{what}: geometry type {kind} is not supported; give points, lines or polygons")
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise DataError(f"{what}：坐标含非数值（NaN 或无穷大）", f"{what}: coordinates contain NaN or infinity")
    if shapely.get_num_coordinates(geom) > limits.max_vertices:
        raise DataError(f"{what}：节点数超过上限 {limits.max_vertices}{limits.raised_by('VERTICES')}",
                        f"{what}: more than {limits.max_vertices} vertices{limits.raised_by_en('VERTICES')}")
    if kind in ("LineString", "MultiLineString"):
        parts = [p for p in shapely.get_parts(geom) if len(set(map(tuple, shapely.get_coordinates(p)))) >= 2]
        if not parts:
            raise DataError(f"{what}：线的不同节点少于 2 个", f"{what}: a line needs at least 2 distinct vertices")
        if len(parts) < len(shapely.get_parts(geom)):
            notes.append("线中不足 2 个不同节点的部分已去除 / line parts with fewer than 2 distinct vertices removed")
        return (parts[0] if len(parts) == 1 and kind == "LineString" else shapely.MultiLineString(parts)), notes
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        geom = _repaired(geom, limits, what)
        notes.append(f"几何无效（{reason}），已用 {REPAIR_METHOD_ZH} 修复 / invalid geometry repaired with make_valid (structure method)")
    if geom.is_empty:
        raise DataError(f"{what}：几何修复后为空", f"{what}: nothing left after repair")
    return geom, notes


def _repaired(geom, limits: Limits, what: str):
    """An invalid polygon repaired within the budget, its polygonal part only (make_valid may add lines or points)."""
    geom = repair_within(geom, limits.repair_budget_s, what, limits.prefix.replace("MAX_", "") + "REPAIR_BUDGET_SECONDS")
    if geom.geom_type == "GeometryCollection":
        geom = shapely.union_all([g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
    return geom


def valid_after_transform(geom, limits: Limits, what: str) -> tuple[object, list[str]]:
    """A polygon valid in its own CRS can cross itself after conversion (parts or rings a few centimetres apart move
    by different amounts): repaired again, and said, before GEOS meets it in an overlay."""
    if shapely.get_dimensions(geom) < 2 or geom.is_valid:
        return geom, []
    return _repaired(geom, limits, what), ["坐标转换后几何自相交，已再次修复 / the geometry crossed itself after the coordinate conversion; repaired again"]


def split_collection(geom, what: str) -> list[tuple[object, str, list[str]]]:
    """A GeometryCollection (KML MultiGeometry, GeoJSON, GeoPackage) as one part per dimension:
    its polygons, its lines, its points, each (geometry, what, notes); anything else as is."""
    if geom is None or geom.geom_type != "GeometryCollection":
        return [(geom, what, [])]
    by_dim: dict[int, list] = {}
    parts = list(shapely.get_parts(geom))
    while any(p.geom_type == "GeometryCollection" for p in parts):  # get_parts opens one level: collections in collections
        parts = [q for p in parts for q in (shapely.get_parts(p) if p.geom_type == "GeometryCollection" else [p])]
    for part in parts:
        if not part.is_empty:
            by_dim.setdefault(int(shapely.get_dimensions(part)), []).append(part)
    if not by_dim:
        return [(shapely.GeometryCollection(), what, [])]
    dims = sorted(by_dim, reverse=True)
    note = ([f"几何集合含{'、'.join(DIMENSION_WORDS[d][0] for d in dims)}，按几何类型分别初筛"
             f" / a geometry collection of {', '.join(DIMENSION_WORDS[d][1] for d in dims)}: screened separately"] if len(dims) > 1 else [])
    out = []
    for d in dims:
        parts = [q for p in by_dim[d] for q in shapely.get_parts(p)]
        multi = shapely.MultiPolygon(parts) if d == 2 else shapely.MultiLineString(parts) if d == 1 else shapely.MultiPoint(parts)
        single = parts[0] if len(parts) == 1 else multi
        out.append((single, f"{what}的{DIMENSION_WORDS[d][0]}部分" if len(dims) > 1 else what, list(note)))
    return out


def sites_from_upload(filename: str, data: bytes, crs=None, limits: Limits = DEFAULT_LIMITS,
                      district_lon: float | None = None, csv_mode: str | None = None, strict: bool = False) -> SiteList:
    """An uploaded file; crs (as parse_crs gives it) overrides what the file declares, None detects.

    csv_mode (CSV only): "points", "parcel" or None (auto, said in the notes). strict: refuse the
    whole file when any part cannot be read instead of listing it in `skipped`.
    """
    csv_mode = readers.parse_csv_mode(csv_mode)
    check_size(data, limits)
    with temp_dir() as tmp:
        layer = readers.read_upload(filename, data, tmp, limits, csv_mode=csv_mode)
    return _sites(layer, crs, limits, district_lon, strict)


def sites_from_geojson(obj, crs=None, limits: Limits = DEFAULT_LIMITS, district_lon: float | None = None,
                       strict: bool = False) -> SiteList:
    """A parsed GeoJSON geometry, Feature, FeatureCollection or array of Features."""
    return _sites(readers.geojson_layer(obj, limits), crs, limits, district_lon, strict)


def sites_from_text(text: str, crs=None, limits: Limits = DEFAULT_LIMITS, district_lon: float | None = None,
                    strict: bool = False) -> SiteList:
    """Typed coordinates: GeoJSON, or one 'x,y' pair per line (1 pair: point; ≥3: polygon)."""
    return _sites(readers.typed_coordinates(text, limits), crs, limits, district_lon, strict)


def _sites(layer: readers.Layer, crs, limits: Limits, district_lon: float | None, strict: bool = False) -> SiteList:
    crs_notes = []
    if crs is None:
        if layer.crs_error is not None:
            raise layer.crs_error
        crs = layer.crs
        crs_notes = [layer.crs_note] if layer.crs_note else []
    problems = [s.error for s in layer.skipped]
    sites = []
    for f in layer.features:
        name = next((str(f.properties[k]) for k in NAME_KEYS if f.properties.get(k)), None)
        for geom, what, split_notes in split_collection(f.geometry, f.what):
            try:
                geom, repair_notes = clean_geometry(geom, limits, what)
            except DataError as exc:
                problems.append(exc)
                continue
            lonlat, info = to_lonlat(geom, crs, district_lon)
            try:
                lonlat, moved_notes = valid_after_transform(lonlat, limits, what)
            except DataError as exc:
                problems.append(exc)
                continue
            repair_notes += moved_notes
            sites.append(Site(lonlat, info, name=name, stated_area_ha=f.stated_area_ha,
                              notes=f.notes + split_notes + crs_notes + repair_notes, properties=dict(f.properties),
                              stated_area_check=f.stated_area_check))
    if problems and (strict or not sites):
        first = problems[0]
        if len(problems) > 1:
            first.details = {**first.details, "skipped": [f"{p.message_zh} / {p.message_en}" for p in problems]}
        raise first
    return SiteList(sites, [readers.Skipped(p).text() for p in problems])
