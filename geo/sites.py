"""Project sites from whatever a reviewer received: GeoJSON, KML/KMZ, GeoPackage, zipped
Shapefile, CSV of points, a 界址点坐标 TXT or typed coordinates, in any CRS they use, as
CGCS2000 lon/lat.

The entry points: geo.uploads checks the upload, geo.readers reads its features, geo.crs
works out and converts the CRS, and clean_geometry checks and repairs each geometry.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from geo import readers
from geo.crs import to_lonlat
from geo.errors import DataError
from geo.uploads import DEFAULT_LIMITS, Limits, check_size, temp_dir

__all__ = ["Limits", "Site", "clean_geometry", "sites_from_geojson", "sites_from_text", "sites_from_upload"]

NAME_KEYS = ("name", "名称", "NAME", "Name", "XMMC", "DKMC", "项目名称")


@dataclass
class Site:
    geometry: object  # shapely, lon/lat CGCS2000
    crs: dict
    name: str | None = None
    stated_area_ha: float | None = None
    notes: list[str] = field(default_factory=list)
    properties: dict = field(default_factory=dict)  # the feature's attributes as read (untrusted text)


def clean_geometry(geom, limits: Limits, what: str) -> tuple[object, list[str]]:
    """2-D points or polygons with finite coordinates under the vertex limit, repaired if invalid."""
    notes = []
    if geom is None or geom.is_empty:
        raise DataError(f"{what}：几何为空", f"{what}: empty geometry")
    geom = shapely.force_2d(geom)
    kind = geom.geom_type
    if kind not in ("Point", "MultiPoint", "Polygon", "MultiPolygon"):
        raise DataError(f"{what}：几何类型为 {kind}，仅支持点或面（项目用地范围请提供面）",
                        f"{what}: geometry type {kind} is not supported; give points or polygons")
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise DataError(f"{what}：坐标含非数值（NaN 或无穷大）", f"{what}: coordinates contain NaN or infinity")
    if shapely.get_num_coordinates(geom) > limits.max_vertices:
        raise DataError(f"{what}：节点数超过上限 {limits.max_vertices}", f"{what}: more than {limits.max_vertices} vertices")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        geom = shapely.make_valid(geom)
        if geom.geom_type == "GeometryCollection":
            geom = shapely.union_all([g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
        notes.append(f"几何无效（{reason}），已用 make_valid 修复 / invalid geometry repaired with make_valid")
    if geom.is_empty:
        raise DataError(f"{what}：几何修复后为空", f"{what}: nothing left after repair")
    return geom, notes


def sites_from_upload(filename: str, data: bytes, crs=None, limits: Limits = DEFAULT_LIMITS,
                      district_lon: float | None = None) -> list[Site]:
    """An uploaded file; crs (as parse_crs gives it) overrides what the file declares, None detects."""
    check_size(data, limits)
    with temp_dir() as tmp:
        layer = readers.read_upload(filename, data, tmp, limits)
    return _sites(layer, crs, limits, district_lon)


def sites_from_geojson(obj, crs=None, limits: Limits = DEFAULT_LIMITS, district_lon: float | None = None) -> list[Site]:
    """A parsed GeoJSON geometry, Feature or FeatureCollection."""
    return _sites(readers.geojson_layer(obj, limits), crs, limits, district_lon)


def sites_from_text(text: str, crs=None, limits: Limits = DEFAULT_LIMITS, district_lon: float | None = None) -> list[Site]:
    """Typed coordinates: GeoJSON, or one 'x,y' pair per line (1 pair: point; ≥3: polygon)."""
    return _sites(readers.typed_coordinates(text, limits), crs, limits, district_lon)


def _sites(layer: readers.Layer, crs, limits: Limits, district_lon: float | None) -> list[Site]:
    crs_notes = []
    if crs is None:
        if layer.crs_error is not None:
            raise layer.crs_error
        crs = layer.crs
        crs_notes = [layer.crs_note] if layer.crs_note else []
    sites = []
    for f in layer.features:
        geom, repair_notes = clean_geometry(f.geometry, limits, f.what)
        lonlat, info = to_lonlat(geom, crs, district_lon)
        name = next((str(f.properties[k]) for k in NAME_KEYS if f.properties.get(k)), None)
        sites.append(Site(lonlat, info, name=name, stated_area_ha=f.stated_area_ha,
                          notes=f.notes + crs_notes + repair_notes, properties=dict(f.properties)))
    return sites
