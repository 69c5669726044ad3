"""Geometry helpers for area work on lon/lat (CGCS2000) polygons: geometry arrays, dissolves,
clipping to a district, the polygonal part of overlay results, GeoJSON output.

Within a ``memo_scope()`` the same dissolves, clips and areas are computed once (a district's
area recurs in every share row, its dissolved red line in the share, the overlap matrix and the
conflicts). The memo is keyed by object identity and holds a reference to each key object, so
an id cannot be reused while the scope lives. Outside a scope nothing is cached.
"""
from __future__ import annotations

import contextlib
import contextvars

import numpy as np
import shapely
import shapely.geometry

from geo.area import area_m2

POLYGONAL_TYPE_IDS = (3, 6)  # shapely type ids of Polygon and MultiPolygon

_MEMO: contextvars.ContextVar[dict | None] = contextvars.ContextVar("geo_geometry_memo", default=None)


@contextlib.contextmanager
def memo_scope():
    """Memoise dissolve / clip / memo_area_m2 (and memoised()) calls until the block ends."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def memoised(tag: str, objs: tuple, fn):
    """fn() once per (tag, identity of objs) inside a memo_scope(); simply fn() outside one."""
    memo = _MEMO.get()
    if memo is None:
        return fn()
    key = (tag, *map(id, objs))
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = (objs, fn())
    return hit[1]


def geom_array(obj) -> np.ndarray:
    """Non-empty geometries of a GeoDataFrame / GeoSeries / sequence / single geometry, as an array."""
    if obj is None:
        return np.array([], dtype=object)
    if hasattr(obj, "geometry") and hasattr(obj, "columns"):  # GeoDataFrame
        arr = np.asarray(obj.geometry.values, dtype=object)
    elif hasattr(obj, "values") and not isinstance(obj, shapely.Geometry):  # GeoSeries
        arr = np.asarray(obj.values, dtype=object)
    elif isinstance(obj, shapely.Geometry):
        arr = np.array([obj], dtype=object)
    else:
        arr = np.asarray(list(obj), dtype=object)
    if arr.size == 0:
        return arr
    keep = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    return arr[keep]


def has_polygons(obj) -> bool:
    """Whether anything geom_array accepts holds at least one (Multi)Polygon (not only points / lines)."""
    arr = geom_array(obj)
    return bool(arr.size) and bool(np.isin(shapely.get_type_id(arr), POLYGONAL_TYPE_IDS).any())


def memo_area_m2(geom) -> float:
    """geo.area.area_m2 (ellipsoidal), memoised within a memo_scope()."""
    return memoised("area", (geom,), lambda: area_m2(geom))


def feature_areas(obj) -> np.ndarray:
    """Per-feature ellipsoidal areas: the store's area_m2 column (computed with geo.area.area_m2) when present."""
    if hasattr(obj, "columns") and "area_m2" in obj.columns and not obj["area_m2"].isna().any():
        return obj["area_m2"].to_numpy(dtype=np.float64)
    return np.array([area_m2(g) for g in geom_array(obj)], dtype=np.float64)


def dissolve(obj):
    """Dissolved (union_all) geometry of anything geom_array accepts; an empty polygon if nothing.

    A single geometry is returned as it is; otherwise memoised within a memo_scope().
    """
    if isinstance(obj, shapely.Geometry):
        return obj

    def run():
        arr = geom_array(obj)
        if arr.size == 0:
            return shapely.Polygon()
        if arr.size == 1:
            return arr[0]
        return shapely.union_all(arr)

    return memoised("union", (obj,), run)


def polygonal(geom):
    """Keep only the polygonal part of an overlay result (drop touching lines/points)."""
    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(polys) if polys else shapely.Polygon()
    return shapely.Polygon()


def clip(geom, district):
    """Polygonal part of geom ∩ district, memoised within a memo_scope()."""
    return memoised("clip", (geom, district), lambda: polygonal(shapely.intersection(geom, district)))


def geojson_geometry(geom, decimals: int = 6):
    """GeoJSON geometry dict (lon, lat) with rounded coordinates, or None when empty."""
    if geom is None or geom.is_empty:
        return None
    return shapely.geometry.mapping(shapely.transform(geom, lambda xy: xy.round(decimals)))
